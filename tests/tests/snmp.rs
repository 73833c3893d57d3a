//! `fanout run --snmp-get/--snmp-walk` against a real net-snmp `snmpd` on loopback, through
//! worker processes: SNMPv2c and SNMPv3 authPriv (SHA-256, AES-128) answers checked against
//! net-snmp's own `snmpget`/`snmpbulkwalk`, a wrong community failing as `timeout` (silence),
//! a wrong v3 password as `auth_failed`, and no community or password anywhere in what fanout
//! printed or wrote.

use fanout_tests::{cannot_run, fanout, json_lines};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const SNMPD: &str = "/usr/sbin/snmpd";
const COMMUNITY: &str = "s14-Comm-7qv-never-printed";
const USER: &str = "fanoutv3";
const AUTH_PASSWORD: &str = "auth-Pw-s14-never-printed";
const PRIV_PASSWORD: &str = "priv-Pw-s14-never-printed";
const WRONG: &str = "wrong-Pw-s14-never-printed";

/// A net-snmp agent on a free 127.0.0.1 UDP port, configured by the test, its state files in
/// the test's temp dir; killed when dropped.
struct Snmpd {
    port: u16,
    _child: tokio::process::Child,
}

impl Snmpd {
    async fn start(dir: &Path) -> Option<Snmpd> {
        if !Path::new(SNMPD).exists() || which("snmpget").is_none() {
            cannot_run("net-snmp is not installed (apt-get install snmpd snmp)");
            return None;
        }
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let persist = dir.join("snmpd-state");
        std::fs::create_dir_all(&persist).unwrap();
        let conf = dir.join("snmpd.conf");
        std::fs::write(
            &conf,
            format!(
                "agentAddress udp:127.0.0.1:{port}\n\
                 rocommunity {COMMUNITY} 127.0.0.1\n\
                 createUser {USER} SHA-256 \"{AUTH_PASSWORD}\" AES \"{PRIV_PASSWORD}\"\n\
                 rouser {USER} priv\n"
            ),
        )
        .unwrap();
        let child = tokio::process::Command::new(SNMPD)
            // Foreground, log to stdout, only our config (not /etc/snmp), go on without root's
            // files; state (engine boots, users) in the temp dir.
            .args(["-f", "-Lo", "-C", "-r", "-c"])
            .arg(&conf)
            .env("SNMP_PERSISTENT_DIR", &persist)
            .env("MIBS", "")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("snmpd starts");
        let agent = Snmpd {
            port,
            _child: child,
        };
        for _ in 0..100 {
            if agent
                .net_snmp("snmpget", "1.3.6.1.2.1.1.5.0")
                .await
                .is_some()
            {
                return Some(agent);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("snmpd never answered on 127.0.0.1:{port}");
    }

    /// What net-snmp's own client reads over v2c: one value per line (`-Oqv`), or `None` when
    /// the agent did not answer.
    async fn net_snmp(&self, tool: &str, oid: &str) -> Option<String> {
        let out = tokio::process::Command::new(tool)
            .args(["-v2c", "-c", COMMUNITY, "-t", "0.3", "-r", "0", "-Oqv"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg(oid)
            .env("MIBS", "")
            .output()
            .await
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// What net-snmp's `tool` (`snmpget`, `snmpbulkwalk`) prints for `oid` of the agent at
/// `address`, with no MIB loaded (numeric OIDs); the test fails if the tool does.
async fn read_with_net_snmp(tool: &str, args: &[&str], address: &str, oid: &str) -> String {
    let out = tokio::process::Command::new(tool)
        .args(args)
        .args([address, oid])
        .env("MIBS", "")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    })
}

fn inventory(dir: &Path, port: u16) -> String {
    let path = dir.join("hosts.yaml");
    let v3 = |name: &str, auth_env: &str| {
        format!(
            "  {name}:\n    hostname: 127.0.0.1\n    snmp:\n      version: 3\n      user: {USER}\n      \
             auth: sha256\n      auth_password_env: {auth_env}\n      priv: aes128\n      \
             priv_password_env: FANOUT_T_SNMP_PRIV\n      port: {port}\n"
        )
    };
    let text = format!(
        "defaults:\n  platform: linux\ngroups:\n  v2:\n    snmp: {{version: 2c, community_env: \
         FANOUT_T_SNMP_COMMUNITY, port: {port}}}\nhosts:\n  \
         v2c:\n    hostname: 127.0.0.1\n    groups: [v2]\n  \
         wrong-community:\n    hostname: 127.0.0.1\n    groups: [v2]\n    snmp: \
         {{community_env: FANOUT_T_SNMP_WRONG}}\n{}{}",
        v3("v3", "FANOUT_T_SNMP_AUTH"),
        v3("wrong-password", "FANOUT_T_SNMP_WRONG"),
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Every file under `dir`, concatenated.
fn everything_under(dir: &Path) -> String {
    let mut all = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    all
}

/// A varbind's value as `snmpget -Oqv -Ox` prints it: text in quotes, hex bytes, numbers.
fn as_net_snmp_prints(varbind: &serde_json::Value) -> String {
    match (&varbind["value"], &varbind["hex"]) {
        (serde_json::Value::String(text), _) => format!("\"{text}\""),
        (serde_json::Value::Number(n), _) => n.to_string(),
        (_, serde_json::Value::String(hex)) => hex.replace(':', " ").to_uppercase(),
        other => panic!("no value in {varbind}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2c_and_v3_through_workers_match_net_snmp_and_failures_have_their_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let Some(agent) = Snmpd::start(dir.path()).await else {
        return;
    };
    let inventory = inventory(dir.path(), agent.port);
    let out = dir.path().join("out");
    let run = fanout_tests::RunningFanout::start_with_env(
        &[
            "run",
            "-i",
            &inventory,
            "--snmp-get",
            "SNMPv2-MIB::sysDescr.0",
            "--snmp-get",
            "1.3.6.1.2.1.1.99.0",
            "--snmp-walk",
            "IF-MIB::ifDescr",
            "--snmp-walk",
            "ifInOctets",
            "--snmp-max-repetitions",
            "2",
            "--snmp-timeout",
            "300ms",
            "--snmp-retries",
            "1",
            "--workers",
            "2",
            "--output",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[
            ("FANOUT_T_SNMP_COMMUNITY", COMMUNITY),
            ("FANOUT_T_SNMP_AUTH", AUTH_PASSWORD),
            ("FANOUT_T_SNMP_PRIV", PRIV_PASSWORD),
            ("FANOUT_T_SNMP_WRONG", WRONG),
        ],
    )
    .finish(Duration::from_secs(60))
    .await;
    let records = json_lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    let by_host: HashMap<&str, &serde_json::Value> = records
        .iter()
        .map(|r| (r["host"].as_str().unwrap(), r))
        .collect();
    assert_eq!(by_host.len(), 4, "{}", run.stderr);
    assert_ne!(run.code, Some(0), "two hosts fail");

    let descr = agent
        .net_snmp("snmpget", "1.3.6.1.2.1.1.1.0")
        .await
        .unwrap();
    let if_descr = agent
        .net_snmp("snmpbulkwalk", "1.3.6.1.2.1.2.2.1.2")
        .await
        .unwrap();
    let in_octets = agent
        .net_snmp("snmpbulkwalk", "1.3.6.1.2.1.2.2.1.10")
        .await
        .unwrap();
    for host in ["v2c", "v3"] {
        let record = by_host[host];
        assert_eq!(record["ok"], true, "{host}: {record}");
        let commands = record["commands"].as_array().unwrap();
        let labels: Vec<&str> = commands
            .iter()
            .map(|c| c["command"].as_str().unwrap())
            .collect();
        assert_eq!(
            labels,
            [
                "snmp-get SNMPv2-MIB::sysDescr.0",
                "snmp-get 1.3.6.1.2.1.1.99.0",
                "snmp-walk IF-MIB::ifDescr",
                "snmp-walk ifInOctets",
            ]
        );
        let varbinds = |i: usize| commands[i]["varbinds"].as_array().unwrap().clone();
        let got = varbinds(0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["name"], "SNMPv2-MIB::sysDescr.0");
        assert_eq!(got[0]["type"], "octet_string");
        assert_eq!(as_net_snmp_prints(&got[0]), descr.trim_end(), "{host}");
        let missing = varbinds(1);
        assert_eq!(missing[0]["type"], "no_such_object", "{host}: {missing:?}");
        // The whole column, in order, as net-snmp reads it.
        let walked: Vec<String> = varbinds(2).iter().map(as_net_snmp_prints).collect();
        let expected: Vec<&str> = if_descr.lines().collect();
        assert!(!expected.is_empty());
        assert_eq!(walked, expected, "{host}: ifDescr");
        let counters = varbinds(3);
        assert_eq!(counters.len(), in_octets.lines().count(), "{host}");
        assert!(
            counters.iter().all(|v| v["type"] == "counter32"),
            "{counters:?}"
        );
        assert!(
            counters[0]["name"]
                .as_str()
                .unwrap()
                .starts_with("IF-MIB::ifInOctets."),
            "{counters:?}"
        );
        // The output file holds the same lines.
        let file = commands[2]["file"].as_str().unwrap();
        let stored = std::fs::read_to_string(out.join(file)).unwrap();
        assert_eq!(stored.lines().count(), expected.len());
    }

    let silent = by_host["wrong-community"];
    assert_eq!(silent["failure"]["kind"], "timeout", "{silent}");
    let message = silent["failure"]["message"].as_str().unwrap();
    assert!(message.contains("wrong community"), "{message}");
    let refused = by_host["wrong-password"];
    assert_eq!(refused["failure"]["kind"], "auth_failed", "{refused}");
    let message = refused["failure"]["message"].as_str().unwrap();
    assert!(message.contains("password"), "{message}");

    let everything = format!("{}{}", run.all_output(), everything_under(&out));
    for secret in [COMMUNITY, AUTH_PASSWORD, PRIV_PASSWORD, WRONG] {
        assert!(
            !everything.contains(secret),
            "{secret} was printed or stored"
        );
    }
}

#[tokio::test]
async fn bad_snmp_input_is_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.yaml");
    std::fs::write(
        &inventory,
        "r1:\n  hostname: 127.0.0.1\n  platform: linux\n  snmp:\n    version: 3\n    \
         user: u\n    priv: aes128\n    priv_password: long-enough-1\n",
    )
    .unwrap();
    let inv = dir.path().to_str().unwrap();
    let run = fanout(
        &["run", "-i", inv, "--snmp-get", "sysDescr.0"],
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("hosts.yaml:7:5")
            && run.stderr.contains("privacy needs authentication"),
        "{}",
        run.stderr
    );
    assert!(!run.all_output().contains("long-enough-1"));

    std::fs::write(
        &inventory,
        "r1:\n  hostname: 127.0.0.1\n  platform: linux\n  snmp: {version: 2c, community: c}\n",
    )
    .unwrap();
    let run = fanout(
        &["run", "-i", inv, "--snmp-walk", "IF-MIB::ifOperStatsu"],
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean ifOperStatus"),
        "{}",
        run.stderr
    );
}

/// The IETF MIB modules (SNMPv2-SMI, SNMPv2-MIB, IF-MIB, ...) that `.ci/fetch-ietf-mibs`
/// unpacks from npm's net-snmp package; `None` (and a failure under CI) when it has not run.
fn ietf_mibs() -> Option<std::path::PathBuf> {
    let dir = match std::env::var_os("FANOUT_TEST_MIBS") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => Path::new(&std::env::var_os("HOME")?).join(".cache/fanout-tests/ietf-mibs"),
    };
    if dir.join("SNMPv2-MIB.mib").is_file() {
        return Some(dir);
    }
    cannot_run("the IETF MIB modules are not fetched (run .ci/fetch-ietf-mibs)");
    None
}

/// net-snmp's own MIB modules (UCD-SNMP-MIB, NET-SNMP-*), from Debian's libsnmp-base.
const NET_SNMP_MIBS: &str = "/usr/share/snmp/mibs";

/// A module that does not parse: its second object's `::=` on line 19 has no closing brace,
/// which the parser finds at `END`, line 20.
const BROKEN_MIB: &str = "BROKEN-MIB DEFINITIONS ::= BEGIN
IMPORTS
    OBJECT-TYPE, Integer32, enterprises FROM SNMPv2-SMI;

broken OBJECT IDENTIFIER ::= { enterprises 99998 }

brokenOne OBJECT-TYPE
    SYNTAX Integer32
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION \"one\"
    ::= { broken 1 }

brokenTwo OBJECT-TYPE
    SYNTAX Integer32
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION \"two\"
    ::= { broken 2
END
";

/// MIB files we did not write name what a real `snmpd` returns as net-snmp names it: the
/// IETF modules and net-snmp's UCD-SNMP-MIB, loaded by fanout (mib-rs) and by net-snmp's own
/// parser, read through worker processes. A module that does not parse is a warning with its
/// file and line, and a name no module defines is still bad input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mib_files_we_did_not_write_name_objects_and_varbinds_as_net_snmp_does() {
    let Some(ietf) = ietf_mibs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(agent) = Snmpd::start(dir.path()).await else {
        return;
    };
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("BROKEN-MIB.txt"), BROKEN_MIB).unwrap();
    let inventory = dir.path().join("hosts.yaml");
    std::fs::write(
        &inventory,
        format!(
            "hosts:\n  agent:\n    hostname: 127.0.0.1\n    platform: linux\n    snmp: \
             {{version: 2c, community_env: FANOUT_T_SNMP_COMMUNITY, port: {}}}\n",
            agent.port
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (ietf, inventory) = (ietf.to_str().unwrap(), inventory.to_str().unwrap());
    let mibs = [
        "--mibs",
        ietf,
        "--mibs",
        NET_SNMP_MIBS,
        "--mibs",
        broken.to_str().unwrap(),
    ];
    // None of these objects is in fanout's built-in table.
    let objects = [
        "--snmp-get",
        "UCD-SNMP-MIB::memTotalReal.0",
        "--snmp-walk",
        "laTable",
        "--snmp-walk",
        "SNMPv2-MIB::system",
        "--snmp-walk",
        "IF-MIB::ifTable",
    ];
    let mut args = vec!["run", "-i", inventory, "--workers", "2", "--format", "json"];
    args.extend(mibs);
    args.extend(objects);
    args.extend(["--output", out.to_str().unwrap()]);
    let run = fanout_tests::RunningFanout::start_with_env(
        &args,
        &[("FANOUT_T_SNMP_COMMUNITY", COMMUNITY)],
    )
    .finish(Duration::from_secs(60))
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("BROKEN-MIB.txt:20: BROKEN-MIB:"),
        "the broken module is named with its line: {}",
        run.stderr
    );
    let records = json_lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    let commands = records[0]["commands"].as_array().unwrap();
    let net_snmp_path = format!("{ietf}:{NET_SNMP_MIBS}");
    let address = format!("127.0.0.1:{}", agent.port);
    for (i, (tool, oid)) in [
        ("snmpget", "1.3.6.1.4.1.2021.4.5.0"),
        ("snmpbulkwalk", "1.3.6.1.4.1.2021.10"),
        ("snmpbulkwalk", "1.3.6.1.2.1.1"),
        ("snmpbulkwalk", "1.3.6.1.2.1.2.2"),
    ]
    .into_iter()
    .enumerate()
    {
        // `-Ob`: table indexes as numbers, as fanout writes them; `-OQ`: `name = value`.
        let net_snmp = tokio::process::Command::new(tool)
            .args([
                "-v2c",
                "-c",
                COMMUNITY,
                "-M",
                &net_snmp_path,
                "-m",
                "ALL",
                "-Ob",
                "-OQ",
            ])
            .args([&address, oid])
            .output()
            .await
            .unwrap();
        assert!(net_snmp.status.success(), "{tool} {oid}");
        let expected: Vec<String> = String::from_utf8_lossy(&net_snmp.stdout)
            .lines()
            .map(|line| line.split(" = ").next().unwrap().to_string())
            .collect();
        let got: Vec<&str> = commands[i]["varbinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap_or("(no name)"))
            .collect();
        assert!(expected.len() > 1 || i == 0, "{oid}: {expected:?}");
        if oid == "1.3.6.1.2.1.2.2" {
            // RFC1213-MIB and IF-MIB both name the ifTable's columns. net-snmp takes the
            // module it loaded last (RFC1213-MIB); fanout the SMIv2 one, as its built-in table.
            let object = |name: &str| name.split_once("::").map(|(_, o)| o.to_string());
            let got: Vec<_> = got.iter().map(|n| object(n)).collect();
            let expected: Vec<_> = expected.iter().map(|n| object(n)).collect();
            assert_eq!(got, expected, "{oid}");
            let modules = commands[i]["varbinds"].as_array().unwrap().iter();
            assert!(
                modules
                    .map(|v| v["name"].as_str().unwrap())
                    .all(|n| n.starts_with("IF-MIB::")),
                "{oid}"
            );
            continue;
        }
        assert_eq!(got, expected, "{oid}");
    }

    let unknown = fanout_tests::RunningFanout::start_with_env(
        &[
            &[
                "run",
                "-i",
                inventory,
                "--mibs",
                ietf,
                "--mibs",
                NET_SNMP_MIBS,
            ][..],
            &["--snmp-walk", "UCD-SNMP-MIB::laNamez"],
        ]
        .concat(),
        &[("FANOUT_T_SNMP_COMMUNITY", COMMUNITY)],
    )
    .finish(Duration::from_secs(30))
    .await;
    assert_eq!(unknown.code, Some(2), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("did you mean laNames?"),
        "{}",
        unknown.stderr
    );
    assert!(!run.all_output().contains(COMMUNITY));

    // The monitor's checks take the same names: the load averages by their names.
    let checks = dir.path().join("monitor.yaml");
    std::fs::write(
        &checks,
        "checks:\n  - name: load\n    snmp: { walk: UCD-SNMP-MIB::laLoadInt, index_by: laNames }\n    \
         alert_when: { above: 1000000 }\n",
    )
    .unwrap();
    let (monitor, dashboard) = start_monitor(
        &[
            &["-i", inventory, "--checks", checks.to_str().unwrap()][..],
            &["--mibs", ietf, "--mibs", NET_SNMP_MIBS, "--workers", "1"],
        ]
        .concat(),
        &[("FANOUT_T_SNMP_COMMUNITY", COMMUNITY)],
    )
    .await;
    let wanted =
        ["fanout_monitor_value{host=\"agent\",check=\"load\",key=\"Load-1\"} ".to_string()];
    let seen = metrics_with(dashboard, &wanted, Duration::from_secs(30)).await;
    monitor.signal(nix::sys::signal::Signal::SIGINT);
    let done = monitor.finish(Duration::from_secs(30)).await;
    assert!(
        seen.is_ok(),
        "{wanted:?} never in /metrics: {}",
        done.stderr
    );
}

const DEVSIM_COMMUNITY: &str = "devsim-Ro-s14-never-printed";

/// A devsim fleet answering SNMPv2c, its inventory rewritten to carry the `snmp:` section.
async fn snmp_lab(count: usize) -> fanout_tests::Lab {
    let lab = fanout_tests::Lab::start(fanout_devsim::FleetConfig {
        count,
        seed: 14,
        ..fanout_devsim::FleetConfig::default()
    })
    .await;
    lab.fleet.serve_snmp(DEVSIM_COMMUNITY).unwrap();
    lab.fleet.write_inventory(&lab.inventory).unwrap();
    lab
}

/// `fanout run` of `sysName.0` and `walks` over a devsim fleet through two worker processes,
/// JSON on stdout and the results under `out`. A loaded CI machine answers slowly: the timeout
/// and retries are generous, since silence is not what these tests are about.
fn fleet_poll_args(lab: &fanout_tests::Lab, out: &Path, walks: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["run", "-i", &lab.inventory_arg(), "--snmp-get", "sysName.0"]
        .map(String::from)
        .to_vec();
    args.extend(walks.iter().map(|s| s.to_string()));
    args.extend(
        [
            "--snmp-timeout",
            "5s",
            "--snmp-retries",
            "2",
            "--workers",
            "2",
            "--connect-rate",
            "0",
            "--format",
            "json",
            "--output",
        ]
        .map(String::from),
    );
    args.push(out.to_string_lossy().into_owned());
    args
}

/// Each varbind's OID and value text, in order, as `snmpbulkwalk -On -Oqv`-style lines.
fn oids_of(varbinds: &[serde_json::Value]) -> Vec<String> {
    varbinds
        .iter()
        .map(|v| v["oid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_devsim_devices_walked_through_workers_lose_and_repeat_nothing() {
    let lab = snmp_lab(500).await;
    let out = lab.dir.path().join("out");
    let args = fleet_poll_args(
        &lab,
        &out,
        &[
            "--snmp-walk",
            "IF-MIB::ifOperStatus",
            "--snmp-walk",
            "IF-MIB::ifXTable",
            "--snmp-max-repetitions",
            "50",
        ],
    );
    let run = fanout(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let records = json_lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    assert_eq!(records.len(), 500);
    let workers: std::collections::BTreeSet<String> =
        records.iter().map(|r| r["worker"].to_string()).collect();
    assert_eq!(workers.len(), 2, "both workers polled: {workers:?}");
    for record in &records {
        let host = record["host"].as_str().unwrap();
        let commands = record["commands"].as_array().unwrap();
        assert_eq!(commands[0]["varbinds"][0]["value"], host, "{record}");
        let index = lab
            .fleet
            .devices()
            .iter()
            .position(|d| d.name == host)
            .unwrap();
        let interfaces = lab.fleet.dynamics().interfaces(index).unwrap().len();
        // One ifOperStatus and 7 ifXTable columns per interface, each exactly once, in order.
        for (walk, columns) in [(1, 1), (2, 7)] {
            let oids = oids_of(commands[walk]["varbinds"].as_array().unwrap());
            assert_eq!(oids.len(), columns * interfaces, "{host} walk {walk}");
            let mut sorted = oids.clone();
            sorted.sort_by_key(|o| {
                o.split('.')
                    .map(|a| a.parse::<u32>().unwrap())
                    .collect::<Vec<_>>()
            });
            sorted.dedup();
            assert_eq!(sorted, oids, "{host}: walk {walk} out of order or repeated");
        }
    }
    assert!(!run.all_output().contains(DEVSIM_COMMUNITY));
    assert!(!everything_under(&out).contains(DEVSIM_COMMUNITY));
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_flap_shows_in_the_cli_and_over_snmp_and_net_snmp_reads_the_if_table() {
    let lab = snmp_lab(3).await;
    let port = lab.fleet.serve_snmp(DEVSIM_COMMUNITY).unwrap();
    let states = lab.fleet.dynamics().interfaces(1).unwrap();
    let position = states.iter().position(|s| s.status == "up").unwrap();
    let name = states[position].name.clone();
    lab.fleet.dynamics().set_link(1, &name, false).unwrap();
    let oper_status = format!("IF-MIB::ifOperStatus.{}", position + 1);
    let run = fanout(
        &[
            "run",
            "-i",
            &lab.inventory_arg(),
            "--filter",
            "name=r00002",
            "-c",
            "show ip interface brief",
            "--snmp-get",
            &oper_status,
            "--format",
            "json",
        ],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let record = &json_lines(&run.stdout)[0];
    let cli = record["commands"][0]["output"].as_str().unwrap();
    let line = cli.lines().find(|l| l.starts_with(&name)).unwrap();
    assert!(line.contains("down"), "{line}");
    assert_eq!(record["commands"][1]["varbinds"][0]["value"], 2, "{record}");

    if which("snmpbulkwalk").is_none() {
        cannot_run("net-snmp's snmpbulkwalk is not installed (apt-get install snmp)");
        return;
    }
    let device = &lab.fleet.devices()[1];
    let text = read_with_net_snmp(
        "snmpbulkwalk",
        &["-v2c", "-c", DEVSIM_COMMUNITY, "-On", "-Cr5"],
        &format!("{}:{port}", device.address),
        "1.3.6.1.2.1.2.2",
    )
    .await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 17 * states.len(), "{text}");
    for (i, state) in states.iter().enumerate() {
        let descr = format!(
            ".1.3.6.1.2.1.2.2.1.2.{} = STRING: \"{}\"",
            i + 1,
            state.name
        );
        assert!(lines.contains(&descr.as_str()), "{descr} not in\n{text}");
    }
    let down = format!(".1.3.6.1.2.1.2.2.1.8.{} = INTEGER: 2", position + 1);
    assert!(lines.contains(&down.as_str()), "{down} not in\n{text}");
    lab.fleet.shutdown().await;
}

/// `fanout monitor ARGS --every 1s` with its dashboard on a free loopback port, once the
/// dashboard listens.
async fn start_monitor(
    args: &[&str],
    env: &[(&str, &str)],
) -> (fanout_tests::RunningFanout, std::net::SocketAddr) {
    let dashboard: std::net::SocketAddr = format!("127.0.0.1:{}", fanout_tests::closed_port())
        .parse()
        .unwrap();
    let address = dashboard.to_string();
    let argv = [
        &["monitor"][..],
        args,
        &["--every", "1s", "--dashboard", &address],
    ]
    .concat();
    let monitor = fanout_tests::RunningFanout::start_with_env(&argv, env);
    assert!(
        fanout_tests::wait_until(Duration::from_secs(30), || {
            std::net::TcpStream::connect(dashboard).is_ok()
        })
        .await,
        "the dashboard should listen"
    );
    (monitor, dashboard)
}

/// The dashboard's /metrics once it holds every line of `wanted`; the last one read if it
/// does not within `deadline`.
async fn metrics_with(
    dashboard: std::net::SocketAddr,
    wanted: &[String],
    deadline: Duration,
) -> Result<String, String> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let (code, metrics) = fanout_tests::http(dashboard, "GET", "/metrics", "").await;
        if code == 200 && wanted.iter().all(|w| metrics.contains(w.as_str())) {
            return Ok(metrics);
        }
        if tokio::time::Instant::now() >= until {
            return Err(metrics);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The monitor's SNMP checks against an agent we did not write: net-snmp's `snmpd` answers for
/// this machine's own interfaces (`lo` is always there and up), over v2c and v3 authPriv,
/// through worker processes. The tracked status and the counter rate reach `/metrics` for
/// `lo` on both hosts, and neither secret reaches any output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_snmp_checks_read_a_real_snmpd_over_v2c_and_v3() {
    let dir = tempfile::tempdir().unwrap();
    let Some(agent) = Snmpd::start(dir.path()).await else {
        return;
    };
    let port = agent.port;
    let inventory = dir.path().join("monitored.yaml");
    std::fs::write(
        &inventory,
        format!(
            "defaults:\n  platform: linux\n  hostname: 127.0.0.1\nhosts:\n  \
             v2c:\n    snmp: {{version: 2c, community_env: FANOUT_T_SNMP_COMMUNITY, port: {port}}}\n  \
             v3:\n    snmp: {{version: 3, user: {USER}, auth: sha256, auth_password_env: \
             FANOUT_T_SNMP_AUTH, priv: aes128, priv_password_env: FANOUT_T_SNMP_PRIV, \
             port: {port}}}\n"
        ),
    )
    .unwrap();
    let checks = dir.path().join("monitor.yaml");
    std::fs::write(
        &checks,
        "checks:\n  \
         - name: links\n    snmp: { walk: IF-MIB::ifOperStatus, index_by: IF-MIB::ifName }\n    \
         track: true\n  \
         - name: in_bits\n    snmp: { walk: ifHCInOctets, index_by: ifName, rate: bits }\n",
    )
    .unwrap();
    let (monitor, dashboard) = start_monitor(
        &[
            "-i",
            inventory.to_str().unwrap(),
            "--checks",
            checks.to_str().unwrap(),
            "--workers",
            "2",
            "--snmp-timeout",
            "2s",
        ],
        &[
            ("FANOUT_T_SNMP_COMMUNITY", COMMUNITY),
            ("FANOUT_T_SNMP_AUTH", AUTH_PASSWORD),
            ("FANOUT_T_SNMP_PRIV", PRIV_PASSWORD),
        ],
    )
    .await;
    let wanted: Vec<String> = ["v2c", "v3"]
        .iter()
        .flat_map(|host| {
            [
                format!("fanout_monitor_up{{host=\"{host}\",check=\"links\",key=\"lo\"}} 1"),
                format!("fanout_monitor_value{{host=\"{host}\",check=\"in_bits\",key=\"lo\"}} "),
            ]
        })
        .collect();
    // A rate needs two readings apart on the agent's clock; snmpd refreshes its interface
    // counters every few seconds.
    let metrics = match metrics_with(dashboard, &wanted, Duration::from_secs(45)).await {
        Ok(metrics) => metrics,
        Err(last) => panic!("not all of {wanted:#?} in /metrics:\n{last}"),
    };
    let (_, hosts) = fanout_tests::http(dashboard, "GET", "/api/hosts", "").await;
    monitor.signal(nix::sys::signal::Signal::SIGINT);
    let done = monitor.finish(Duration::from_secs(30)).await;
    for secret in [COMMUNITY, AUTH_PASSWORD, PRIV_PASSWORD] {
        for (what, text) in [
            ("metrics", &metrics),
            ("dashboard", &hosts),
            ("stdout", &done.stdout),
            ("stderr", &done.stderr),
        ] {
            assert!(!text.contains(secret), "a secret in the {what}");
        }
    }
}

const DEVSIM_USER: &str = "nocv3";
const DEVSIM_AUTH: &str = "devsim-Auth-s14-never-printed";
const DEVSIM_PRIV: &str = "devsim-Priv-s14-never-printed";
const DEVSIM_WRONG: &str = "devsim-Wrong-s14-never-printed";

/// A devsim fleet answering SNMPv3 only: `nocv3` (SHA-256, AES-128; the inventory names it,
/// its passwords by variable) and `oldsha1` (SHA-1, no privacy).
async fn snmp_v3_lab(count: usize) -> (fanout_tests::Lab, u16) {
    let lab = fanout_tests::Lab::start(fanout_devsim::FleetConfig {
        count,
        seed: 14,
        ..fanout_devsim::FleetConfig::default()
    })
    .await;
    let user = |name: &str, auth, privacy: bool| fanout_devsim::SnmpUser {
        name: name.into(),
        auth,
        auth_password: DEVSIM_AUTH.into(),
        auth_password_env: "FANOUT_T_DEVSIM_AUTH".into(),
        priv_password: privacy.then(|| DEVSIM_PRIV.into()),
        priv_password_env: "FANOUT_T_DEVSIM_PRIV".into(),
    };
    let port = lab
        .fleet
        .serve_snmp_with(fanout_devsim::SnmpConfig {
            community: None,
            users: vec![
                user(DEVSIM_USER, fanout_devsim::SnmpAuth::Sha256, true),
                user("oldsha1", fanout_devsim::SnmpAuth::Sha1, false),
            ],
        })
        .unwrap();
    lab.fleet.write_inventory(&lab.inventory).unwrap();
    (lab, port)
}

/// devsim's SNMPv3: fanout walks 150 devices over authPriv (SHA-256, AES-128) through two
/// worker processes, each device its own engine (discovery, time sync, keys localised per
/// engine); net-snmp's `snmpbulkwalk -v3 -l authPriv` reads the same table from devsim, and
/// `snmpget` the SHA-1 authNoPriv user; a wrong auth password is `auth_failed` on every host;
/// no password in any output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devsim_v3_auth_priv_through_workers_matches_net_snmp_and_a_wrong_password_fails() {
    const DEVICES: usize = 150;
    let (lab, port) = snmp_v3_lab(DEVICES).await;
    let inventory = std::fs::read_to_string(&lab.inventory).unwrap();
    assert!(
        inventory.contains("auth_password_env: FANOUT_T_DEVSIM_AUTH")
            && inventory.contains("priv: aes128")
            && !inventory.contains(DEVSIM_AUTH),
        "{inventory}"
    );
    let out = lab.dir.path().join("out");
    let env = [
        ("FANOUT_T_DEVSIM_AUTH", DEVSIM_AUTH),
        ("FANOUT_T_DEVSIM_PRIV", DEVSIM_PRIV),
    ];
    let args = fleet_poll_args(
        &lab,
        &out,
        &[
            "--snmp-walk",
            "IF-MIB::ifTable",
            "--snmp-max-repetitions",
            "25",
        ],
    );
    let run = fanout_tests::RunningFanout::start_with_env(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &env,
    )
    .finish(Duration::from_secs(120))
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let records = json_lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    assert_eq!(records.len(), DEVICES);
    let workers: std::collections::BTreeSet<String> =
        records.iter().map(|r| r["worker"].to_string()).collect();
    assert_eq!(workers.len(), 2, "both workers polled: {workers:?}");
    let by_host: HashMap<&str, &serde_json::Value> = records
        .iter()
        .map(|r| (r["host"].as_str().unwrap(), r))
        .collect();
    for (index, device) in lab.fleet.devices().iter().enumerate() {
        let record = by_host[device.name.as_str()];
        let commands = record["commands"].as_array().unwrap();
        assert_eq!(commands[0]["varbinds"][0]["value"], device.name, "{record}");
        let interfaces = lab.fleet.dynamics().interfaces(index).unwrap().len();
        let walked = commands[1]["varbinds"].as_array().unwrap();
        // 17 ifEntry columns per interface, each once.
        assert_eq!(walked.len(), 17 * interfaces, "{}", device.name);
    }

    // net-snmp reads the same table over authPriv from two devices: as many rows, and the
    // columns that do not move with time (all but the counters) equal to what fanout read.
    let Some(_) = which("snmpbulkwalk") else {
        cannot_run("net-snmp's snmpbulkwalk is not installed (apt-get install snmp)");
        return;
    };
    for device in [&lab.fleet.devices()[0], &lab.fleet.devices()[DEVICES - 1]] {
        let text = read_with_net_snmp(
            "snmpbulkwalk",
            &[
                "-v3",
                "-l",
                "authPriv",
                "-u",
                DEVSIM_USER,
                "-a",
                "SHA-256",
                "-A",
                DEVSIM_AUTH,
                "-x",
                "AES",
                "-X",
                DEVSIM_PRIV,
                "-On",
                "-Oqv",
                "-Cr25",
            ],
            &format!("{}:{port}", device.address),
            "1.3.6.1.2.1.2.2.1",
        )
        .await;
        let theirs: Vec<&str> = text.lines().collect();
        let ours = by_host[device.name.as_str()]["commands"][1]["varbinds"]
            .as_array()
            .unwrap();
        assert_eq!(theirs.len(), ours.len(), "{text}");
        let mut compared = 0;
        for (mine, line) in ours.iter().zip(&theirs) {
            let counter = matches!(
                mine["type"].as_str(),
                Some("counter32" | "counter64" | "time_ticks")
            );
            // Counters and sysUpTime-based columns move between the two reads.
            if counter {
                continue;
            }
            // With -Oqv net-snmp quotes hex strings too, with a trailing space.
            let bare = |s: &str| s.trim().trim_matches('"').trim().to_string();
            assert_eq!(
                bare(&as_net_snmp_prints(mine)),
                bare(line),
                "{}: {mine}",
                device.name
            );
            compared += 1;
        }
        assert!(compared > 0);
    }
    let device = &lab.fleet.devices()[1];
    let name = read_with_net_snmp(
        "snmpget",
        &[
            "-v3",
            "-l",
            "authNoPriv",
            "-u",
            "oldsha1",
            "-a",
            "SHA",
            "-A",
            DEVSIM_AUTH,
            "-Oqv",
        ],
        &format!("{}:{port}", device.address),
        "1.3.6.1.2.1.1.5.0",
    )
    .await;
    assert_eq!(name.trim(), format!("\"{}\"", device.name));

    let wrong = lab.dir.path().join("wrong");
    let refused = fanout_tests::RunningFanout::start_with_env(
        &[
            "run",
            "-i",
            &lab.inventory_arg(),
            "--snmp-get",
            "sysName.0",
            "--snmp-timeout",
            "1s",
            "--snmp-retries",
            "0",
            "--workers",
            "2",
            "--connect-rate",
            "0",
            "--output",
            wrong.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[
            ("FANOUT_T_DEVSIM_AUTH", DEVSIM_WRONG),
            ("FANOUT_T_DEVSIM_PRIV", DEVSIM_PRIV),
        ],
    )
    .finish(Duration::from_secs(120))
    .await;
    let records = json_lines(&std::fs::read_to_string(wrong.join("results.jsonl")).unwrap());
    assert_eq!(records.len(), DEVICES, "{}", refused.stderr);
    for record in &records {
        assert_eq!(record["failure"]["kind"], "auth_failed", "{record}");
    }
    let everything = format!(
        "{}{}{}{}",
        run.all_output(),
        refused.all_output(),
        everything_under(&out),
        everything_under(&wrong)
    );
    for secret in [DEVSIM_AUTH, DEVSIM_PRIV, DEVSIM_WRONG] {
        assert!(
            !everything.contains(secret),
            "{secret} was printed or stored"
        );
    }
    lab.fleet.shutdown().await;
}
