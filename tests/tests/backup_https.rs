//! `fanout backup --push` to an `https://` remote: the real `git http-backend` behind a TLS
//! server (tests/scripts/git_https_server.py) with Basic auth and a CA made here. The
//! certificate is verified (an unknown CA refuses the push, --push-ca trusts a private one),
//! credentials come from the environment and are never printed, a wrong password says
//! `authentication failed`, a redirect within the server is followed, and a redirect to
//! another host is refused before the credentials could go there.
//!
//! Needs python3 and `git http-backend` (the `git` package); without them the test says so and
//! passes without checking anything (`.ci/run` installs both).

use fanout_devsim::FleetConfig;
use fanout_tests::{Finished, Lab, RunningFanout, git};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use std::ffi::OsString;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const USER: &str = "backup";
const PASSWORD: &str = "pw-Https-5e8f-never-printed";
const WRONG: &str = "pw-Wrong-0b7d-never-printed";
const DEADLINE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_pushes_over_https_verifying_the_server_and_guarding_credentials() {
    let backend = git(None, &["--exec-path"]).map(|p| PathBuf::from(p).join("git-http-backend"));
    if !backend.is_some_and(|b| b.is_file()) || Command::new("python3").arg("-V").output().is_err()
    {
        fanout_tests::cannot_run("needs python3 and git http-backend (apt-get install git)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let root = dir.path().join("served");
    std::fs::create_dir(&root).unwrap();
    let remote = root.join("configs.git");
    git(None, &["init", "--bare", "-q", remote.to_str().unwrap()]).expect("git init --bare");

    // The git server; /old.git has moved to /configs.git on it.
    let server = Server::start(
        &pki,
        "127.0.0.1",
        &root,
        "served",
        &["--move", "/old.git=/configs.git"],
    );
    // Another host, and a server on the first that sends every request there.
    let elsewhere = Server::start(&pki, "127.0.0.2", &root, "elsewhere", &[]);
    let to = format!("https://127.0.0.2:{}", elsewhere.port);
    let redirector = Server::start(
        &pki,
        "127.0.0.1",
        &root,
        "redirector",
        &["--redirect-to", &to],
    );

    let run = Backup::first(dir.path(), 3, 5).await;
    let repo = &run.repo;
    for (name, url) in [
        (
            "origin",
            format!("https://127.0.0.1:{}/configs.git", server.port),
        ),
        (
            "moved",
            format!("https://127.0.0.1:{}/old.git", server.port),
        ),
        (
            "away",
            format!("https://127.0.0.1:{}/configs.git", redirector.port),
        ),
    ] {
        git(Some(repo), &["remote", "add", name, &url]).expect("git remote add");
    }
    let ca = pki.ca.to_str().unwrap();
    let remote_head = || {
        git(
            Some(&remote),
            &["rev-parse", "--verify", "-q", "refs/heads/main"],
        )
    };
    let good = [
        ("FANOUT_GIT_USERNAME", USER),
        ("FANOUT_GIT_PASSWORD", PASSWORD),
    ];
    let not_pushed = |finished: &Finished, says: &[&str]| {
        assert_eq!(finished.code, Some(1), "{}", finished.all_output());
        assert!(
            finished.stderr.contains("committed but not pushed")
                && says.iter().all(|s| finished.stderr.contains(s)),
            "expected {says:?} in: {}",
            finished.stderr
        );
        assert!(
            !finished.all_output().contains(PASSWORD) && !finished.all_output().contains(WRONG),
            "a password was printed: {}",
            finished.all_output()
        );
        assert_eq!(remote_head(), None, "the remote got a branch");
    };

    // The server's CA is nobody the system trusts: refused, whatever the credentials.
    let untrusted = run.go(&["--push", "origin"], &good).await;
    not_pushed(&untrusted, &["certificate", "UnknownIssuer"]);
    assert_eq!(
        server.requests(),
        Vec::<String>::new(),
        "nothing reached the server"
    );

    // Trusted, with a wrong password, or none.
    let wrong = [
        ("FANOUT_GIT_USERNAME", USER),
        ("FANOUT_GIT_PASSWORD", WRONG),
    ];
    let refused = run.go(&["--push", "origin", "--push-ca", ca], &wrong).await;
    not_pushed(
        &refused,
        &["authentication failed", "FANOUT_GIT_PASSWORD", "401"],
    );
    let anonymous = run.go(&["--push", "origin", "--push-ca", ca], &[]).await;
    not_pushed(
        &anonymous,
        &["authentication failed", "set FANOUT_GIT_USERNAME"],
    );

    // The right one: the branch lands, and again after a change, through the moved URL (the
    // POST follows the GET's redirect, within the server).
    // At the most verbose log level, which shows HTTP exchanges.
    let traced = [good[0], good[1], ("FANOUT_LOG", "trace")];
    let pushed = run
        .go(&["--push", "origin", "--push-ca", ca], &traced)
        .await;
    assert_eq!(pushed.code, Some(0), "{}", pushed.all_output());
    let basic = server
        .requests()
        .iter()
        .find_map(|r| Some(r.split_once(" Basic ")?.1.to_string()))
        .expect("the server got Basic credentials");
    assert!(!pushed.all_output().contains(PASSWORD));
    assert!(
        !pushed.all_output().contains(&basic),
        "the Authorization header was logged"
    );
    assert_eq!(remote_head(), git(Some(repo), &["rev-parse", "HEAD"]));
    let changed = run.fleet.fleet.dynamics().churn().step(100.0, 2);
    assert_eq!(changed.len(), 3);
    let moved = run.go(&["--push", "moved", "--push-ca", ca], &good).await;
    assert_eq!(moved.code, Some(0), "{}", moved.all_output());
    assert_eq!(remote_head(), git(Some(repo), &["rev-parse", "HEAD"]));
    let log = git(Some(&remote), &["log", "--format=%s", "main"]).unwrap();
    assert_eq!(
        log.lines().count(),
        2,
        "the first backup and the change: {log}"
    );
    git(Some(&remote), &["fsck", "--strict"]).expect("the remote passes git fsck --strict");
    let seen = server.requests();
    assert!(
        seen.iter()
            .any(|r| r.starts_with("GET /old.git/info/refs?service=git-receive-pack "))
            && seen
                .iter()
                .any(|r| r.starts_with("POST /configs.git/git-receive-pack Basic ")),
        "{seen:#?}"
    );

    // A redirect to another host: refused, and that host never saw a request, so never the
    // credentials; the server the user named did get them.
    let before = remote_head();
    let away = run.go(&["--push", "away", "--push-ca", ca], &good).await;
    assert_eq!(away.code, Some(1), "{}", away.all_output());
    assert!(away.stderr.contains("another origin"), "{}", away.stderr);
    assert!(!away.all_output().contains(PASSWORD));
    assert_eq!(elsewhere.requests(), Vec::<String>::new());
    let asked = redirector.requests();
    assert!(
        asked.len() == 1 && asked[0].contains(" Basic "),
        "the redirecting server: {asked:#?}"
    );
    assert_eq!(remote_head(), before);

    // What reached the servers never held the password in clear (Basic is base64 of it, on
    // TLS): checked in case a URL or a body ever carried it.
    for server in [&server, &elsewhere, &redirector] {
        assert!(!server.requests().concat().contains(PASSWORD));
    }
}

/// Servers that answer a push with what no git server sends (tests/scripts/hostile_git_https.py):
/// each push fails within seconds with a message that says why, and the message neither
/// repeats the credentials nor carries the server's terminal escapes. Before the limits, an
/// endless error page or refs advertisement was read until memory ran out (the 10-minute
/// request timeout came far later) and these runs missed their deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_https_servers_get_a_bounded_quiet_failure() {
    if Command::new("python3").arg("-V").output().is_err() {
        fanout_tests::cannot_run("needs python3");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let run = Backup::first(dir.path(), 1, 6).await;
    let repo = &run.repo;
    let good = [
        ("FANOUT_GIT_USERNAME", USER),
        ("FANOUT_GIT_PASSWORD", PASSWORD),
    ];
    let basic = data_encoding::BASE64.encode(format!("{USER}:{PASSWORD}").as_bytes());
    let ca = pki.ca.to_str().unwrap();
    for (mode, says) in [
        (
            "endless-error",
            "answered HTTP 500 Internal Server Error: xxx",
        ),
        ("endless-refs", "answered more than 64 MiB"),
        ("echo", "repeats the credentials: not shown"),
        (
            "ng-escape",
            r"refs/heads/main: \x1b[2J\x1b]52;c;aGk=\x07denied",
        ),
        // libgit2 takes a report without the branch's status as a push that landed.
        ("no-status", "did not confirm the update of refs/heads/main"),
    ] {
        let server = Hostile::start(&pki, dir.path(), mode);
        let url = format!("https://127.0.0.1:{}/configs.git", server.port);
        git(Some(repo), &["remote", "add", mode, &url]).expect("git remote add");
        let started = std::time::Instant::now();
        let pushed = run
            .go_within(
                &["--push", mode, "--push-ca", ca],
                &good,
                Duration::from_secs(60),
            )
            .await;
        let output = pushed.all_output();
        assert_eq!(pushed.code, Some(1), "{mode}: {output}");
        assert!(
            pushed.stderr.contains("committed but not pushed") && pushed.stderr.contains(says),
            "{mode}: expected {says:?} in: {}",
            pushed.stderr
        );
        assert!(
            !output.contains(PASSWORD) && !output.contains(&basic),
            "{mode}: the credentials were printed: {output}"
        );
        assert!(
            !output.contains('\x1b'),
            "{mode}: an escape was printed: {output:?}"
        );
        assert!(
            !server.requests().is_empty(),
            "{mode}: the server was asked"
        );
        eprintln!("{mode}: failed in {:?}", started.elapsed());
    }

    // An expired certificate of the trusted CA: refused, saying so, and without the advice
    // for an unknown CA (--push-ca would not help).
    let server = Hostile::start_with(&pki.expired, &pki.key, dir.path(), "echo", "expired");
    let url = format!("https://127.0.0.1:{}/configs.git", server.port);
    git(Some(repo), &["remote", "add", "expired", &url]).expect("git remote add");
    let expired = run.go(&["--push", "expired", "--push-ca", ca], &good).await;
    assert_eq!(expired.code, Some(1), "{}", expired.all_output());
    assert!(
        expired.stderr.contains("certificate expired") && !expired.stderr.contains("--push-ca"),
        "{}",
        expired.stderr
    );
    assert_eq!(server.requests(), Vec::<String>::new(), "nothing was sent");
}

/// tests/scripts/hostile_git_https.py in one of its modes.
struct Hostile;

impl Hostile {
    fn start(pki: &Pki, dir: &Path, mode: &str) -> ScriptServer {
        Self::start_with(&pki.cert, &pki.key, dir, mode, mode)
    }

    /// `name` tells its record of requests from the others'.
    fn start_with(cert: &Path, key: &Path, dir: &Path, mode: &str, name: &str) -> ScriptServer {
        let mut args: Vec<OsString> = vec!["--mode".into(), mode.into()];
        args.extend(["--cert".into(), cert.into(), "--key".into(), key.into()]);
        ScriptServer::start(
            "hostile_git_https.py",
            args,
            dir.join(format!("{name}.requests")),
        )
    }
}

/// `fanout backup` of a devsim fleet into `repo`, run again with extra flags by each step.
struct Backup {
    fleet: Lab,
    repo: PathBuf,
    known_hosts: PathBuf,
}

impl Backup {
    /// A fleet of `count` devices backed up once into `dir/repo`, before anything is pushed.
    async fn first(dir: &Path, count: usize, seed: u64) -> Self {
        let fleet = Lab::start(FleetConfig {
            count,
            port: 0,
            seed,
            ..FleetConfig::default()
        })
        .await;
        let backup = Backup {
            fleet,
            repo: dir.join("repo"),
            known_hosts: dir.join("known_hosts"),
        };
        let first = backup.go(&[], &[]).await;
        assert_eq!(first.code, Some(0), "{}", first.all_output());
        backup
    }

    async fn go(&self, extra: &[&str], env: &[(&str, &str)]) -> Finished {
        self.go_within(extra, env, DEADLINE).await
    }

    async fn go_within(
        &self,
        extra: &[&str],
        env: &[(&str, &str)],
        deadline: Duration,
    ) -> Finished {
        let mut args = vec![
            "backup",
            "-i",
            self.fleet.inventory.to_str().unwrap(),
            "--repo",
            self.repo.to_str().unwrap(),
            "--known-hosts",
            self.known_hosts.to_str().unwrap(),
            "--workers",
            "1",
        ];
        args.extend(extra);
        RunningFanout::start_with_env(&args, env)
            .finish(deadline)
            .await
    }
}

/// A CA made for this test and a server certificate it signed for 127.0.0.1 and 127.0.0.2
/// (and an expired one for 127.0.0.1, of the same key).
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    expired: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Self {
        let mut ca = CertificateParams::new(Vec::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".into(), "127.0.0.2".into()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        // The same CA's certificate for 127.0.0.1, expired since 2021.
        let mut params = CertificateParams::new(vec!["127.0.0.1".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let expired = params.signed_by(&key, &ca).unwrap();
        let pki = Pki {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server-key.pem"),
            expired: dir.join("expired.pem"),
        };
        std::fs::write(&pki.ca, ca.pem()).unwrap();
        std::fs::write(&pki.cert, cert.pem()).unwrap();
        std::fs::write(&pki.key, key.serialize_pem()).unwrap();
        std::fs::write(&pki.expired, expired.pem()).unwrap();
        pki
    }
}

/// tests/scripts/git_https_server.py: `git http-backend` behind TLS and Basic auth.
struct Server;

impl Server {
    fn start(pki: &Pki, bind: &str, root: &Path, name: &str, extra: &[&str]) -> ScriptServer {
        let mut args: Vec<OsString> = ["--bind", bind, "--user", USER, "--password", PASSWORD]
            .map(OsString::from)
            .to_vec();
        args.extend(["--cert".into(), pki.cert.clone().into()]);
        args.extend(["--key".into(), pki.key.clone().into()]);
        args.extend(["--root".into(), root.into()]);
        args.extend(extra.iter().map(OsString::from));
        let record = root.with_file_name(format!("{name}.requests"));
        ScriptServer::start("git_https_server.py", args, record)
    }
}

/// One of the Python servers of tests/scripts, on the port it prints as `PORT N`; it writes
/// each request it gets to `record`. Stopped when dropped.
struct ScriptServer {
    child: Child,
    port: u16,
    record: PathBuf,
}

impl ScriptServer {
    fn start(script: &str, args: Vec<OsString>, record: PathBuf) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scripts")
            .join(script);
        let mut child = Command::new("python3")
            .arg(&script)
            .args(args)
            .arg("--record")
            .arg(&record)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{} did not start: {line:?}", script.display()));
        ScriptServer {
            child,
            port,
            record,
        }
    }

    /// The requests so far, one line each (`METHOD PATH AUTHORIZATION` for the git server).
    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
