//! Diagnosing a device fanout misreads: `--session-log` transcripts and failure messages that
//! name what the device last said.

use fanout_devsim::{Fault, FleetConfig};
use fanout_tests::{Lab, edit_inventory, fanout, json_lines};
use std::collections::HashMap;
use std::time::Duration;

const PASSWORD: &str = "pw-Transcr1pt-never-shown";
const SECRET: &str = "en-Transcr1pt-never-shown";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_logs_show_every_byte_both_ways_with_secrets_masked() {
    let lab = Lab::start(FleetConfig {
        count: 3,
        port: 0,
        password: PASSWORD.into(),
        secret: SECRET.into(),
        faults: HashMap::from([(2, Fault::NoPrompt)]),
        ..FleetConfig::default()
    })
    .await;
    // r00003 stays in user mode (no enable), so its prompt goes missing after a command whose
    // echo the device did send.
    edit_inventory(&lab.inventory, |doc| {
        doc["hosts"]["r00003"]["secret"] = "".into();
    });
    let logs = lab.dir.path().join("logs");
    let run = fanout(
        &[
            "run",
            "-i",
            &lab.inventory_arg(),
            "-c",
            "show version",
            "-c",
            "show clock",
            "--session-log",
            logs.to_str().unwrap(),
            "--known-hosts",
            &lab.path("known_hosts"),
            "--command-timeout",
            "2s",
            "--format",
            "json",
        ],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(run.code, Some(1), "r00003 cannot succeed:\n{}", run.stderr);
    assert!(!run.all_output().contains(PASSWORD) && !run.all_output().contains(SECRET));

    let log = std::fs::read_to_string(logs.join("r00001.log")).expect("a transcript per host");
    // Both directions, in order, control bytes visible.
    let sent_enable = log.find(r#"> "enable\n""#).expect(&log);
    let sent_secret = log.find(r#"> "********\n""#).expect(&log);
    let sent_show = log.find(r#"> "show version\n""#).expect(&log);
    assert!(
        sent_enable < sent_secret && sent_secret < sent_show,
        "{log}"
    );
    assert!(log.contains(r#"< "show version\r\n"#), "{log}");
    assert!(log.contains(r#"> "exit\n""#), "{log}");
    // Nothing fanout did not type: no backspaces, no stray words.
    assert!(!log.contains(r"\x08"), "{log}");
    let sent: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("] > ").map(|(_, s)| s))
        .collect();
    assert_eq!(
        sent,
        [
            r#""enable\n""#,
            r#""********\n""#,
            r#""terminal length 0\n""#,
            r#""terminal width 511\n""#,
            r#""show version\n""#,
            r#""show clock\n""#,
            r#""exit\n""#,
        ],
        "{log}"
    );
    for name in ["r00001.log", "r00002.log", "r00003.log"] {
        let text = std::fs::read_to_string(logs.join(name)).unwrap();
        assert!(!text.contains(PASSWORD) && !text.contains(SECRET), "{name}");
    }

    // The host whose prompt never came back says what the device showed last.
    let records = json_lines(&run.stdout);
    let stuck = records.iter().find(|r| r["host"] == "r00003").unwrap();
    let message = stuck["failure"]["message"].as_str().unwrap();
    assert_eq!(stuck["failure"]["kind"], "timeout", "{stuck}");
    assert!(
        message.contains(r#"the device's last line was "terminal length 0""#),
        "a timeout names the last line: {message}"
    );
    lab.fleet.shutdown().await;
}
