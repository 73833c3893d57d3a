//! `fanout certs` as a user runs it, checked by OpenSSL rather than by our own parser: the
//! chain verifies, the coordinator certificate carries every name and address, client
//! certificates are for clients only, secrets are 0600, and nothing is overwritten by accident.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn fanout(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(args)
        .output()
        .expect("the fanout binary runs")
}

fn openssl(args: &[&str], dir: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (CI installs it with openssh-client)")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn make_certs(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "certs",
        "--dir",
        dir.to_str().unwrap(),
        "--name",
        "coord.example.net",
        "--name",
        "fanout-coordinator",
        "--ip",
        "127.0.0.1",
        "--ip",
        "::1",
        "--client",
        "worker-ams",
        "--client",
        "ci",
    ];
    args.extend_from_slice(extra);
    fanout(&args)
}

/// `openssl verify` with extra checks; returns whether it said OK, and what it said.
fn verify(dir: &Path, cert: &str, checks: &[&str]) -> (bool, String) {
    let mut args = vec!["verify", "-CAfile", "ca.pem"];
    args.extend_from_slice(checks);
    args.push(cert);
    let out = openssl(&args, dir);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    (out.status.success() && said.contains(": OK"), said)
}

#[test]
fn openssl_verifies_the_chain_names_purposes_and_key_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let out = make_certs(&dir, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    for (cert, checks) in [
        (
            "coordinator.pem",
            &[
                "-purpose",
                "sslserver",
                "-verify_hostname",
                "coord.example.net",
            ][..],
        ),
        (
            "coordinator.pem",
            &[
                "-purpose",
                "sslserver",
                "-verify_hostname",
                "fanout-coordinator",
            ],
        ),
        (
            "coordinator.pem",
            &["-purpose", "sslserver", "-verify_ip", "127.0.0.1"],
        ),
        (
            "coordinator.pem",
            &["-purpose", "sslserver", "-verify_ip", "::1"],
        ),
        ("client-worker-ams.pem", &["-purpose", "sslclient"]),
        ("client-ci.pem", &["-purpose", "sslclient"]),
    ] {
        let (ok, said) = verify(&dir, cert, checks);
        assert!(ok, "{cert} {checks:?}: {said}");
    }
    // The checks above can fail: a name or purpose the certificate lacks is refused.
    for (cert, checks) in [
        (
            "coordinator.pem",
            &[
                "-purpose",
                "sslserver",
                "-verify_hostname",
                "other.example.net",
            ][..],
        ),
        ("coordinator.pem", &["-purpose", "sslclient"]),
        ("client-ci.pem", &["-purpose", "sslserver"]),
    ] {
        let (ok, said) = verify(&dir, cert, checks);
        assert!(!ok, "{cert} {checks:?} should be refused: {said}");
    }

    let sans = openssl(
        &[
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            "coordinator.pem",
        ],
        &dir,
    );
    let sans = text(&sans.stdout);
    for san in [
        "DNS:coord.example.net",
        "DNS:fanout-coordinator",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
    ] {
        assert!(sans.contains(san), "{san} missing from:\n{sans}");
    }

    // Each key belongs to its certificate.
    for (cert, key) in [
        ("ca.pem", "ca-key.pem"),
        ("coordinator.pem", "coordinator-key.pem"),
        ("client-worker-ams.pem", "client-worker-ams-key.pem"),
        ("client-ci.pem", "client-ci-key.pem"),
    ] {
        let from_cert = openssl(&["x509", "-noout", "-pubkey", "-in", cert], &dir);
        let from_key = openssl(&["pkey", "-pubout", "-in", key], &dir);
        assert!(
            from_key.status.success(),
            "{key}: {}",
            text(&from_key.stderr)
        );
        assert_eq!(text(&from_cert.stdout), text(&from_key.stdout), "{key}");
    }

    // A CA that may sign leaves only.
    let ca = openssl(&["x509", "-noout", "-text", "-in", "ca.pem"], &dir);
    let ca = text(&ca.stdout);
    assert!(ca.contains("CA:TRUE, pathlen:0"), "{ca}");
    assert!(ca.contains("Certificate Sign"), "{ca}");
}

#[test]
fn keys_and_token_are_private_and_the_listing_says_which_flag_takes_which_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let out = make_certs(&dir, &["--days", "30"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    assert_eq!(mode(&dir), 0o700, "the directory holds keys");
    for secret in [
        "ca-key.pem",
        "coordinator-key.pem",
        "client-worker-ams-key.pem",
        "client-ci-key.pem",
        "token",
        "worker-token",
    ] {
        assert_eq!(mode(&dir.join(secret)), 0o600, "{secret}");
    }
    for public in [
        "ca.pem",
        "coordinator.pem",
        "client-worker-ams.pem",
        "client-ci.pem",
    ] {
        assert_eq!(mode(&dir.join(public)), 0o644, "{public}");
    }

    let token = std::fs::read_to_string(dir.join("token")).unwrap();
    let token = token.trim_end();
    let worker_token = std::fs::read_to_string(dir.join("worker-token")).unwrap();
    let worker_token = worker_token.trim_end();
    for token in [token, worker_token] {
        assert_eq!(token.len(), 64, "{token:?}");
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token:?}");
    }
    assert_ne!(
        token, worker_token,
        "workers and clients hold different tokens"
    );

    let listing = text(&out.stdout);
    assert!(!listing.contains(token), "the token is never printed");
    assert!(
        !listing.contains(worker_token),
        "the token is never printed"
    );
    for expected in [
        "coordinator.pem",
        "--tls-cert",
        "--tls-key",
        "--token-file",
        "--worker-token-file",
        "--ca-cert",
        "--client-ca",
        "--client-cert",
        "--client-key",
        "https://coord.example.net:7443",
    ] {
        assert!(listing.contains(expected), "{expected} missing:\n{listing}");
    }
    let worker_flag = format!("--token-file {}/worker-token", dir.display());
    assert!(listing.contains(&worker_flag), "workers' token:\n{listing}");

    // --days bounds the validity: 30 days from now, give or take the clock-skew allowance.
    let end = openssl(
        &[
            "x509",
            "-noout",
            "-checkend",
            &(29 * 86_400).to_string(),
            "-in",
            "coordinator.pem",
        ],
        &dir,
    );
    assert!(end.status.success(), "valid for 29 more days");
    let end = openssl(
        &[
            "x509",
            "-noout",
            "-checkend",
            &(31 * 86_400).to_string(),
            "-in",
            "coordinator.pem",
        ],
        &dir,
    );
    assert!(!end.status.success(), "but not for 31");
}

#[test]
fn existing_files_are_named_and_kept_unless_forced_and_the_token_always_survives() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    assert!(make_certs(&dir, &[]).status.success());
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let (ca, key, token) = (read("ca.pem"), read("ca-key.pem"), read("token"));
    let worker_token = read("worker-token");

    let again = make_certs(&dir, &[]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    let stderr = text(&again.stderr);
    assert!(
        stderr.contains(&dir.join("ca.pem").display().to_string()) && stderr.contains("--force"),
        "names the file and the way out:\n{stderr}"
    );
    assert_eq!(read("ca.pem"), ca, "untouched");
    assert_eq!(read("ca-key.pem"), key, "untouched");

    // A certificate alone in the way is enough to stop it.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("client-ci-key.pem"), "mine").unwrap();
    let blocked = make_certs(&other, &[]);
    assert_eq!(blocked.status.code(), Some(2));
    assert!(text(&blocked.stderr).contains("client-ci-key.pem"));
    assert!(
        !other.join("ca.pem").exists(),
        "nothing written before the check"
    );

    let forced = make_certs(&dir, &["--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_ne!(read("ca.pem"), ca, "a new CA");
    assert_eq!(read("token"), token, "running clients keep their token");
    assert_eq!(
        read("worker-token"),
        worker_token,
        "running workers keep theirs"
    );
    assert!(
        text(&forced.stdout).contains("kept"),
        "says the token was kept"
    );

    // A directory from before workers had a token of their own gets one, the clients' kept.
    std::fs::remove_file(dir.join("worker-token")).unwrap();
    let upgraded = make_certs(&dir, &["--force"]);
    assert!(upgraded.status.success(), "{}", text(&upgraded.stderr));
    assert_eq!(read("token"), token);
    let new_worker_token = read("worker-token");
    assert_ne!(new_worker_token, token);
    assert_eq!(mode(&dir.join("worker-token")), 0o600);
    assert_eq!(
        mode(&dir.join("ca-key.pem")),
        0o600,
        "still private after replacing"
    );
}

#[test]
fn names_that_cannot_work_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let dir = dir.to_str().unwrap();
    for (args, says) in [
        (vec!["certs", "--dir", dir], "--name"),
        (
            vec!["certs", "--dir", dir, "--name", "10.1.2.3"],
            "--ip 10.1.2.3",
        ),
        (
            vec!["certs", "--dir", dir, "--name", "coord_1.example"],
            "not a DNS name",
        ),
        (
            vec![
                "certs", "--dir", dir, "--name", "coord", "--client", "../etc",
            ],
            "client-NAME.pem",
        ),
        (
            vec!["certs", "--dir", dir, "--name", "coord", "--ip", "coord"],
            "--ip",
        ),
    ] {
        let out = fanout(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(!Path::new(dir).exists(), "bad input writes nothing");
}
