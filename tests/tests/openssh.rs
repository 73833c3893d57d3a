//! The `linux` platform against a real OpenSSH `sshd` on loopback: password, public key (plain
//! and encrypted), ssh-agent, host-key pinning across runs, and a swapped host key.
//!
//! Needs root (sshd switches to the test user) and `openssh-server`; `.ci/run` installs it.
//! Without either, the test says so and passes without checking anything.

use fanout_devsim::{FleetConfig, running_config};
use fanout_tests::{Finished, Lab, closed_port, fanout, git, json_lines, wait_until};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const SSHD: &str = "/usr/sbin/sshd";
const USER: &str = "fanouttest";
const PASSWORD: &str = "pw-OpenSSH-4q9z-never-printed";
const PASSPHRASE: &str = "pp-7Hc2-never-printed";
const DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linux_hosts_over_real_openssh() {
    if !Path::new(SSHD).is_file() || command_output("id", &["-u"]).trim() != "0" {
        fanout_tests::cannot_run(&format!(
            "needs root and {SSHD} (apt-get install openssh-server)"
        ));
        return;
    }
    ensure_test_user();
    let dir = tempfile::tempdir().unwrap();
    // sshd reads authorized_keys as the test user: the scratch dir must be readable.
    set_mode(dir.path(), 0o755);
    let lab = OpensshLab::new(dir.path());
    let mut sshd = Sshd::start(&lab, "host_key_1").await;

    // Password auth; the host key is pinned on first contact.
    let run = lab.run(&[("password", PASSWORD)], &[]).await;
    let outputs = lab.outputs(&run);
    assert_eq!(outputs[0], command_output("uname", &["-a"]));
    assert_eq!(
        outputs[1],
        std::fs::read_to_string("/etc/os-release").unwrap()
    );
    let pinned = std::fs::read_to_string(&lab.known_hosts).unwrap();
    assert_eq!(pinned.lines().count(), 1, "one pinned key: {pinned}");
    assert!(!run.all_output().contains(PASSWORD));

    // A plain key, then an encrypted one with its passphrase from a file; no password at all.
    let plain = lab.key("plain_key", "");
    lab.run(&[("ssh_key_file", plain.to_str().unwrap())], &[])
        .await;
    let encrypted = lab.key("encrypted_key", PASSPHRASE);
    let passphrase_file = dir.path().join("passphrase");
    std::fs::write(&passphrase_file, format!("{PASSPHRASE}\n")).unwrap();
    let run = lab
        .run(
            &[
                ("ssh_key_file", encrypted.to_str().unwrap()),
                ("ssh_key_passphrase_file", passphrase_file.to_str().unwrap()),
            ],
            &[],
        )
        .await;
    assert!(!run.all_output().contains(PASSPHRASE));

    // The wrong passphrase stops the run before anything connects, naming the key file.
    std::fs::write(&passphrase_file, "not-the-passphrase\n").unwrap();
    let refused = lab
        .fanout(
            &[
                ("ssh_key_file", encrypted.to_str().unwrap()),
                ("ssh_key_passphrase_file", passphrase_file.to_str().unwrap()),
            ],
            &[],
        )
        .await;
    assert_eq!(refused.code, Some(2), "{}", refused.all_output());
    assert!(
        refused.stderr.contains("encrypted_key") && refused.stderr.contains("passphrase"),
        "{}",
        refused.stderr
    );

    // ssh-agent: the key lives only in a real agent.
    let agent = Agent::start(dir.path(), &plain);
    let agent_sock = agent.socket.to_str().unwrap().to_string();
    lab.run(&[("ssh_agent", "true")], &[("SSH_AUTH_SOCK", &agent_sock)])
        .await;

    // The sshd as a bastion (ProxyJump): a simulated router reached through it, with the same
    // credentials; through a bastion that is not there, the router cannot be reached.
    jump_to_a_simulated_router(&lab).await;

    // sshd comes back with another host key: refused as a mismatch, and the pin stays.
    sshd.stop();
    let _sshd = Sshd::start(&lab, "host_key_2").await;
    let mismatch = lab.fanout(&[("password", PASSWORD)], &[]).await;
    assert_eq!(mismatch.code, Some(1), "{}", mismatch.all_output());
    let record = &json_lines(&mismatch.stdout)[0];
    assert_eq!(record["failure"]["kind"], "hostkey_mismatch", "{record}");
    assert_eq!(
        std::fs::read_to_string(&lab.known_hosts).unwrap(),
        pinned,
        "a mismatch must not replace the pinned key"
    );
    assert!(!mismatch.all_output().contains(PASSWORD));
}

/// `fanout backup --push` to an `ssh://` remote on the real sshd: the server's key must be in
/// --push-known-hosts (unknown or different keys refuse the push), the user authenticates with
/// --push-ssh-key, and the remote's branch ends at the backup's commit, push after push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_pushes_over_ssh_to_a_real_openssh_checking_its_host_key() {
    if !Path::new(SSHD).is_file() || command_output("id", &["-u"]).trim() != "0" {
        fanout_tests::cannot_run(&format!(
            "needs root and {SSHD} (apt-get install openssh-server)"
        ));
        return;
    }
    ensure_test_user();
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    let lab = OpensshLab::new(dir.path());
    let key = lab.key("push_key", "");
    let _sshd = Sshd::start(&lab, "host_key_1").await;
    // The bare repository belongs to the user the server runs git-receive-pack as.
    let remote = dir.path().join("configs.git");
    let remote_arg = remote.to_str().unwrap();
    git(None, &["init", "--bare", "-q", remote_arg]).expect("git init --bare");
    let chowned = std::process::Command::new("chown")
        .args(["-R", USER, remote_arg])
        .status()
        .unwrap();
    assert!(chowned.success());

    let fleet = Lab::start(FleetConfig {
        count: 3,
        port: 0,
        seed: 3,
        ..FleetConfig::default()
    })
    .await;
    let repo = dir.path().join("repo");
    let repo_arg = repo.to_str().unwrap();
    let device_keys = dir.path().join("device_known_hosts");
    let backup = |push: Vec<String>| {
        let mut args: Vec<String> = [
            "backup",
            "-i",
            fleet.inventory.to_str().unwrap(),
            "--repo",
            repo_arg,
            "--known-hosts",
            device_keys.to_str().unwrap(),
            "--workers",
            "1",
        ]
        .map(String::from)
        .to_vec();
        args.extend(push);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            fanout(&args, DEADLINE).await
        }
    };
    let first = backup(Vec::new()).await;
    assert_eq!(first.code, Some(0), "{}", first.all_output());
    let url = format!("ssh://{USER}@127.0.0.1:{}{}", lab.port, remote.display());
    git(Some(&repo), &["remote", "add", "origin", &url]).expect("git remote add");
    let server_key = std::fs::read_to_string(dir.path().join("host_key_1.pub")).unwrap();
    let with_keys = |name: &str, line: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, line).unwrap();
        let path = path.to_string_lossy().into_owned();
        [
            "--push",
            "origin",
            "--push-ssh-key",
            key.to_str().unwrap(),
            "--push-known-hosts",
            &path,
        ]
        .map(String::from)
        .to_vec()
    };
    let remote_head = || {
        git(
            Some(&remote),
            &["rev-parse", "--verify", "-q", "refs/heads/main"],
        )
    };

    // A server whose key is not known, or not the one known, gets nothing.
    let other = dir.path().join("other_key");
    ssh_keygen(&other, "");
    let other_key = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    for (known, says) in [
        (String::new(), "is not in known_hosts"),
        (
            format!("[127.0.0.1]:{} {other_key}", lab.port),
            "does not match known_hosts",
        ),
    ] {
        let refused = backup(with_keys("refusing_known_hosts", &known)).await;
        assert_eq!(refused.code, Some(1), "{}", refused.all_output());
        assert!(
            refused.stderr.contains("committed but not pushed") && refused.stderr.contains(says),
            "{}",
            refused.stderr
        );
        assert_eq!(remote_head(), None, "the remote got a branch");
    }

    // The server's key known: pushed, and again after a change.
    let known = format!("[127.0.0.1]:{} {server_key}", lab.port);
    for round in 0..2 {
        if round == 1 {
            let changed = fleet.fleet.dynamics().churn().step(100.0, 2);
            assert_eq!(changed.len(), 3);
        }
        let pushed = backup(with_keys("known_hosts_push", &known)).await;
        assert_eq!(pushed.code, Some(0), "{}", pushed.all_output());
        assert!(!pushed.stderr.contains("not pushed"), "{}", pushed.stderr);
        let local = git(Some(&repo), &["rev-parse", "HEAD"]);
        assert_eq!(remote_head(), local, "round {round}");
    }
    assert_eq!(
        git(Some(&repo), &["rev-list", "--count", "HEAD"]).as_deref(),
        Some("2"),
        "the first backup and the change"
    );
    git(Some(&remote), &["fsck", "--strict"]).expect("the remote passes git fsck");
}

async fn jump_to_a_simulated_router(lab: &OpensshLab) {
    let router = Lab::start(FleetConfig {
        count: 1,
        port: 0,
        username: USER.into(),
        password: PASSWORD.into(),
        seed: 3,
        ..FleetConfig::default()
    })
    .await;
    // Its own known_hosts: the bastion's key and the router's are pinned side by side.
    let known_hosts = lab.dir.join("known_hosts_jump");
    let through = |bastion_port: u16| {
        let jump = format!("{USER}@127.0.0.1:{bastion_port}");
        fanout_tests::edit_inventory(&router.inventory, |doc| {
            doc["defaults"]["jump_host"] = jump.as_str().into();
        });
        show_running_config(&router.inventory, &known_hosts)
    };
    let run = through(lab.port).await;
    assert_eq!(run.code, Some(0), "{}", run.all_output());
    let record = &json_lines(&run.stdout)[0];
    assert_eq!(
        record["commands"][0]["output"].as_str().unwrap(),
        running_config("r00001", 3)
    );
    assert!(!run.all_output().contains(PASSWORD));
    let pinned = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(pinned.lines().count(), 2, "bastion and router: {pinned}");

    let run = through(closed_port()).await;
    assert_eq!(run.code, Some(1), "{}", run.all_output());
    let record = &json_lines(&run.stdout)[0];
    assert_eq!(record["failure"]["kind"], "refused", "{record}");

    // The same router from an Ansible inventory whose bastion is the ProxyCommand of
    // Ansible's documentation: fanout goes through OpenSSH's sshd as its jump host.
    let (mut hostname, mut platform, mut secret, mut port) =
        (String::new(), String::new(), String::new(), 0);
    fanout_tests::edit_inventory(&router.inventory, |doc| {
        let host = &doc["hosts"]["r00001"];
        hostname = host["hostname"].as_str().unwrap().to_string();
        platform = host["platform"].as_str().unwrap().to_string();
        secret = doc["defaults"]["secret"].as_str().unwrap().to_string();
        port = doc["defaults"]["port"].as_u64().unwrap();
    });
    let ansible = lab.dir.join("ansible-hosts");
    let through_ansible = |bastion_port: u16| {
        std::fs::write(
            &ansible,
            format!(
                "[routers]\nr00001 ansible_host={hostname} ansible_port={port} \
                 ansible_network_os={platform}\n[routers:vars]\nansible_user={USER}\n\
                 ansible_password={PASSWORD}\nansible_become_password={secret}\n\
                 ansible_ssh_common_args='-o StrictHostKeyChecking=no -o \
                 ProxyCommand=\"ssh -W %h:%p -q -p {bastion_port} {USER}@127.0.0.1\"'\n"
            ),
        )
        .unwrap();
        show_running_config(&ansible, &known_hosts)
    };
    let run = through_ansible(lab.port).await;
    assert_eq!(run.code, Some(0), "{}", run.all_output());
    let record = &json_lines(&run.stdout)[0];
    assert_eq!(
        record["commands"][0]["output"].as_str().unwrap(),
        running_config("r00001", 3)
    );
    // Through a bastion that is not there it fails, so the first run did go through sshd.
    let run = through_ansible(closed_port()).await;
    let record = &json_lines(&run.stdout)[0];
    assert_eq!(record["failure"]["kind"], "refused", "{record}");
    router.fleet.shutdown().await;
}

/// `fanout run -c "show running-config"` over `inventory`, as JSON, pinning into `known_hosts`.
fn show_running_config(
    inventory: &Path,
    known_hosts: &Path,
) -> impl std::future::Future<Output = fanout_tests::Finished> + use<> {
    let args = [
        "run",
        "-i",
        inventory.to_str().unwrap(),
        "-c",
        "show running-config",
        "--format",
        "json",
        "--known-hosts",
        known_hosts.to_str().unwrap(),
    ]
    .map(String::from);
    async move {
        fanout(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            DEADLINE,
        )
        .await
    }
}

/// The scratch directory's files: sshd config pieces, keys, the inventory, known_hosts.
struct OpensshLab {
    dir: PathBuf,
    port: u16,
    known_hosts: PathBuf,
}

impl OpensshLab {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            port: closed_port(),
            known_hosts: dir.join("known_hosts"),
        }
    }

    /// A fresh key pair, authorised for the test user; returns the private key's path.
    fn key(&self, name: &str, passphrase: &str) -> PathBuf {
        let path = self.dir.join(name);
        ssh_keygen(&path, passphrase);
        let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        let authorized = self.dir.join("authorized_keys");
        let mut keys = std::fs::read_to_string(&authorized).unwrap_or_default();
        keys.push_str(&public);
        std::fs::write(&authorized, keys).unwrap();
        set_mode(&authorized, 0o644);
        path
    }

    /// `fanout run` of the two commands against the sshd, with these inventory fields.
    async fn fanout(&self, fields: &[(&str, &str)], env: &[(&str, &str)]) -> Finished {
        let mut host = serde_yaml_ng::Mapping::new();
        host.insert("hostname".into(), "127.0.0.1".into());
        host.insert("port".into(), self.port.into());
        host.insert("username".into(), USER.into());
        host.insert("platform".into(), "linux".into());
        for (key, value) in fields {
            // Each value as YAML reads it: `true` a flag, paths and passwords strings.
            let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(value).unwrap();
            host.insert((*key).into(), value);
        }
        let mut hosts = serde_yaml_ng::Mapping::new();
        hosts.insert("linux1".into(), host.into());
        let mut doc = serde_yaml_ng::Mapping::new();
        doc.insert("hosts".into(), hosts.into());
        let inventory = self.dir.join("hosts.yaml");
        std::fs::write(&inventory, serde_yaml_ng::to_string(&doc).unwrap()).unwrap();
        let args = [
            "run",
            "-i",
            inventory.to_str().unwrap(),
            "-c",
            "uname -a",
            "-c",
            "cat /etc/os-release",
            "--format",
            "json",
            "--workers",
            "1",
            "--known-hosts",
            self.known_hosts.to_str().unwrap(),
        ];
        if env.is_empty() {
            return fanout(&args, DEADLINE).await;
        }
        fanout_tests::RunningFanout::start_with_env(&args, env)
            .finish(DEADLINE)
            .await
    }

    /// Like [`Self::fanout`], but the run must succeed.
    async fn run(&self, fields: &[(&str, &str)], env: &[(&str, &str)]) -> Finished {
        let run = self.fanout(fields, env).await;
        assert_eq!(
            run.code,
            Some(0),
            "with {:?}: {}",
            fields.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            run.all_output()
        );
        run
    }

    fn outputs(&self, run: &Finished) -> Vec<String> {
        let record = &json_lines(&run.stdout)[0];
        record["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["output"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A real `sshd -D` on the lab's port with its own config and host key.
struct Sshd {
    child: std::process::Child,
}

impl Sshd {
    async fn start(lab: &OpensshLab, host_key: &str) -> Self {
        let dir = &lab.dir;
        let host_key = dir.join(host_key);
        if !host_key.exists() {
            ssh_keygen(&host_key, "");
        }
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {dir}/authorized_keys\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nAllowUsers {USER}\nLogLevel ERROR\n",
                port = lab.port,
                key = host_key.display(),
                dir = dir.display(),
            ),
        )
        .unwrap();
        // The privilege-separation directory a fresh install may not have yet.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let child = std::process::Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let address = format!("127.0.0.1:{}", lab.port);
        let listening = wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(&address).is_ok()
        })
        .await;
        assert!(listening, "sshd does not listen on {address}");
        Self { child }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A real `ssh-agent` holding one key, on a socket in the scratch dir.
struct Agent {
    socket: PathBuf,
    child: std::process::Child,
}

impl Agent {
    fn start(dir: &Path, key: &Path) -> Self {
        let socket = dir.join("agent.sock");
        let child = std::process::Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while !socket.exists() && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        let added = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &socket)
            .stderr(Stdio::null())
            .status()
            .expect("ssh-add runs");
        assert!(added.success(), "ssh-add failed");
        Self { socket, child }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test user exists with the test password (idempotent: CI machines are fresh, developer
/// machines keep the user between runs). Once per process: the tests run side by side.
fn ensure_test_user() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(create_test_user);
}

fn create_test_user() {
    let exists = std::process::Command::new("id")
        .arg(USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    if !exists {
        let created = std::process::Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", USER])
            .status()
            .expect("useradd runs");
        assert!(created.success(), "useradd {USER} failed");
    }
    let mut chpasswd = std::process::Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .expect("chpasswd runs");
    use std::io::Write;
    chpasswd
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{USER}:{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
}

fn ssh_keygen(path: &Path, passphrase: &str) {
    let status = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "fanout-test",
            "-f",
        ])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn command_output(program: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}
