//! What a local run hands its worker processes: the environment they use, never the rest of
//! the user's, where an inventory's `password_env` variables live.

use std::process::Command;
use std::time::Duration;

const SECRET: &str = "pw-in-the-parents-environment-4711";

#[test]
fn a_local_worker_does_not_see_the_password_variables_of_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    // The worker program is a script that keeps its own environment, as the kernel shows it in
    // /proc/PID/environ, and exits: the run fails, the dump stays.
    let worker = dir.path().join("worker.sh");
    std::fs::write(
        &worker,
        "#!/bin/sh\ncat /proc/$$/environ > \"$(dirname \"$0\")/environ\"\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&worker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let inventory = dir.path().join("hosts.yaml");
    std::fs::write(
        &inventory,
        "defaults:\n  username: netops\n  password_env: FANOUT_TEST_DEVICE_PASSWORD\n  \
         platform: cisco_ios\nhosts:\n  r1:\n    hostname: 127.0.0.1\n    port: 9\n",
    )
    .unwrap();

    let run = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args([
            "run",
            "-i",
            inventory.to_str().unwrap(),
            "-c",
            "show version",
        ])
        .args(["--workers", "1"])
        .env("FANOUT_WORKER_BIN", &worker)
        .env("FANOUT_TEST_DEVICE_PASSWORD", SECRET)
        .env("FANOUT_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_ne!(
        run.status.code(),
        Some(0),
        "the script is no worker: {stderr}"
    );

    let dump = dir.path().join("environ");
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !dump.exists() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let environ = std::fs::read(&dump).unwrap_or_else(|e| panic!("{e}; fanout said:\n{stderr}"));
    let variables: Vec<String> = environ
        .split(|&b| b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .filter(|v| !v.is_empty())
        .collect();
    assert!(
        !variables.iter().any(|v| v.contains(SECRET)),
        "the password reached the worker: {variables:?}"
    );
    assert!(
        !variables
            .iter()
            .any(|v| v.starts_with("FANOUT_TEST_DEVICE_PASSWORD=")),
        "{variables:?}"
    );
    // What it does need is there: its token, where programs are, its log filter.
    for needed in ["FANOUT_WORKER_TOKEN=", "PATH=", "FANOUT_LOG=warn"] {
        assert!(
            variables.iter().any(|v| v.starts_with(needed)),
            "{needed} missing: {variables:?}"
        );
    }
}
