//! `--format csv` for `run` and `validate`: a row per host and command or rule, parseable by
//! any CSV reader, failures included.

use fanout_devsim::FleetConfig;
use fanout_tests::{Lab, closed_port, edit_inventory, fanout};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(60);

/// Splits RFC 4180 text into rows of fields (enough for these reports).
fn rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

async fn lab_with_a_dead_host() -> Lab {
    let lab = Lab::start(FleetConfig {
        count: 2,
        port: 0,
        ..FleetConfig::default()
    })
    .await;
    let port = closed_port();
    edit_inventory(&lab.inventory, |doc| {
        doc["hosts"]["dead"] = serde_yaml_ng::from_str(&format!(
            "{{hostname: 127.0.0.1, port: {port}, groups: [{}]}}",
            doc["hosts"]["r00001"]["groups"][0].as_str().unwrap()
        ))
        .unwrap();
    });
    lab
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_csv_has_a_row_per_host_and_command() {
    let lab = lab_with_a_dead_host().await;
    let run = fanout(
        &[
            "run",
            "-i",
            &lab.inventory_arg(),
            "-c",
            "show version",
            "-c",
            "show ip interface brief",
            "--format",
            "csv",
        ],
        DEADLINE,
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let table = rows(&run.stdout);
    assert_eq!(table[0][..4], ["host", "hostname", "platform", "ok"]);
    let width = table[0].len();
    assert!(table.iter().all(|r| r.len() == width), "{table:?}");
    let for_host = |h: &str| table.iter().filter(|r| r[0] == h).collect::<Vec<_>>();
    let r1 = for_host("r00001");
    assert_eq!(r1.len(), 2);
    assert_eq!(
        (r1[0][3].as_str(), r1[0][9].as_str()),
        ("true", "show version")
    );
    assert_eq!(r1[1][9], "show ip interface brief");
    let dead = for_host("dead");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        (dead[0][3].as_str(), dead[0][4].as_str()),
        ("false", "refused")
    );
    assert_eq!(table[1][0], "dead", "hosts in name order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_csv_has_a_row_per_host_and_rule() {
    let lab = lab_with_a_dead_host().await;
    let rules = lab.dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  - name: is ios\n    command: show version\n    expect: {contains: \"Cisco IOS\"}\n  \
         - name: says nonsense\n    command: show version\n    expect: {contains: \"no, such\"}\n",
    )
    .unwrap();
    let run = fanout(
        &[
            "validate",
            "-i",
            &lab.inventory_arg(),
            "-r",
            rules.to_str().unwrap(),
            "--format",
            "csv",
        ],
        DEADLINE,
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let table = rows(&run.stdout);
    assert_eq!(
        table[0],
        [
            "host",
            "status",
            "rule",
            "passed",
            "reason",
            "offending_line",
            "error"
        ]
    );
    assert_eq!(table[1][..2], ["dead", "error"]);
    assert!(table[1][6].starts_with("refused"), "{:?}", table[1]);
    let r1: Vec<&Vec<String>> = table.iter().filter(|r| r[0] == "r00001").collect();
    assert_eq!(r1.len(), 2);
    assert_eq!(r1[0][1..4], ["failed", "is ios", "true"]);
    assert_eq!(r1[1][2..4], ["says nonsense", "false"]);
    assert!(
        r1[1][4].contains("no, such"),
        "the reason keeps its comma: {:?}",
        r1[1]
    );
}
