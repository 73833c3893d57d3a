//! The Prometheus `snmp_exporter` column of `fanout bench --snmp`: the exporter (Debian's
//! `prometheus-snmp-exporter`, 0.21) on a loopback port with a module written here that walks
//! ifTable and ifXTable, scraped at `/snmp?target=IP:PORT&module=...` for every device with as
//! many scrapes in flight as xargs runs processes, the series counted per device.
//!
//! The module is written by hand, not by the exporter's generator, because the generator needs
//! the MIB files, which Debian does not ship (licensing). It maps every column of both tables
//! to a metric (strings as `DisplayString` / `PhysAddress48` series valued 1 with the text in a
//! label), so each varbind becomes one series and the counts compare with the other tools'
//! varbinds; the exporter's own `snmp_scrape_*` series are not counted.

use super::CommandError;
use super::bench_snmp::{MAX_REPETITIONS, Read, TABLES};
use crate::process_usage::ProcessUsage;
use fanout_common::inventory::{Host, SnmpOptions, SnmpVersion};
use futures::StreamExt as _;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The module's name in the generated `snmp.yml`.
const MODULE: &str = "fanout_bench";
/// How long one scrape may take before the device counts as failed.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(120);

/// The columns of ifTable (`1.3.6.1.2.1.2.2.1.N`) and ifXTable (`1.3.6.1.2.1.31.1.1.1.N`):
/// (table, column, name, exporter type). ifSpecific (an OID, ifTable column 22) has no
/// exporter type and is left out; devsim does not serve it.
const COLUMNS: &[(usize, u32, &str, &str)] = &[
    (0, 1, "ifIndex", "gauge"),
    (0, 2, "ifDescr", "DisplayString"),
    (0, 3, "ifType", "gauge"),
    (0, 4, "ifMtu", "gauge"),
    (0, 5, "ifSpeed", "gauge"),
    (0, 6, "ifPhysAddress", "PhysAddress48"),
    (0, 7, "ifAdminStatus", "gauge"),
    (0, 8, "ifOperStatus", "gauge"),
    (0, 9, "ifLastChange", "gauge"),
    (0, 10, "ifInOctets", "counter"),
    (0, 11, "ifInUcastPkts", "counter"),
    (0, 12, "ifInNUcastPkts", "counter"),
    (0, 13, "ifInDiscards", "counter"),
    (0, 14, "ifInErrors", "counter"),
    (0, 15, "ifInUnknownProtos", "counter"),
    (0, 16, "ifOutOctets", "counter"),
    (0, 17, "ifOutUcastPkts", "counter"),
    (0, 18, "ifOutNUcastPkts", "counter"),
    (0, 19, "ifOutDiscards", "counter"),
    (0, 20, "ifOutErrors", "counter"),
    (0, 21, "ifOutQLen", "gauge"),
    (1, 1, "ifName", "DisplayString"),
    (1, 2, "ifInMulticastPkts", "counter"),
    (1, 3, "ifInBroadcastPkts", "counter"),
    (1, 4, "ifOutMulticastPkts", "counter"),
    (1, 5, "ifOutBroadcastPkts", "counter"),
    (1, 6, "ifHCInOctets", "counter"),
    (1, 7, "ifHCInUcastPkts", "counter"),
    (1, 8, "ifHCInMulticastPkts", "counter"),
    (1, 9, "ifHCInBroadcastPkts", "counter"),
    (1, 10, "ifHCOutOctets", "counter"),
    (1, 11, "ifHCOutUcastPkts", "counter"),
    (1, 12, "ifHCOutMulticastPkts", "counter"),
    (1, 13, "ifHCOutBroadcastPkts", "counter"),
    (1, 14, "ifLinkUpDownTrapEnable", "gauge"),
    (1, 15, "ifHighSpeed", "gauge"),
    (1, 16, "ifPromiscuousMode", "gauge"),
    (1, 17, "ifConnectorPresent", "gauge"),
    (1, 18, "ifAlias", "DisplayString"),
    (1, 19, "ifCounterDiscontinuityTime", "gauge"),
];

/// The exporter's binary: Debian names it `prometheus-snmp-exporter`, upstream `snmp_exporter`.
pub(super) fn locate() -> Option<PathBuf> {
    ["prometheus-snmp-exporter", "snmp_exporter"]
        .iter()
        .find_map(|name| super::bench_snmp::which(name))
}

/// The exporter's configuration (0.21's format: the module carries its own auth): walk both
/// tables with the same GETBULK size, timeout and retries as fanout's defaults, with the
/// bench's v2c community or v3 authPriv user (SHA-256, AES-128).
fn config(snmp: &SnmpOptions) -> String {
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let auth = match snmp.version {
        SnmpVersion::V2c => format!(
            "  version: 2\n  auth:\n    community: {}\n",
            quoted(snmp.community.expose())
        ),
        SnmpVersion::V3 => format!(
            "  version: 3\n  auth:\n    username: {}\n    security_level: authPriv\n    \
             auth_protocol: SHA256\n    password: {}\n    priv_protocol: AES\n    \
             priv_password: {}\n",
            quoted(&snmp.user),
            quoted(snmp.auth_password.expose()),
            quoted(snmp.priv_password.expose())
        ),
    };
    let mut yaml = format!(
        "{MODULE}:\n{auth}  max_repetitions: {MAX_REPETITIONS}\n  retries: 1\n  timeout: 2s\n  \
         walk:\n"
    );
    for table in TABLES {
        yaml.push_str(&format!("  - {table}.1\n"));
    }
    yaml.push_str("  metrics:\n");
    for (table, column, name, kind) in COLUMNS {
        yaml.push_str(&format!(
            "  - name: {name}\n    oid: {}.1.{column}\n    type: {kind}\n    indexes:\n    \
             - labelname: ifIndex\n      type: gauge\n",
            TABLES[*table]
        ));
    }
    yaml
}

/// Runs the exporter, scrapes every host `parallel` at a time, stops it. The CPU is the
/// exporter's plus this process's while it scraped (the part Prometheus would play).
pub(super) async fn run(
    exporter: &Path,
    hosts: &[Host],
    parallel: usize,
    dir: &Path,
) -> Result<(Duration, Duration, Vec<Read>), CommandError> {
    let internal = |e: String| CommandError::Internal(format!("snmp_exporter run: {e}"));
    let snmp = hosts
        .first()
        .and_then(|h| h.snmp.clone())
        .ok_or_else(|| internal("the hosts have no snmp settings".into()))?;
    let config_file = dir.join("snmp.yml");
    std::fs::write(&config_file, config(&snmp)).map_err(|e| internal(e.to_string()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| internal(e.to_string()))?
        .port();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let log = std::fs::File::create(dir.join("snmp_exporter.log"))
        .map_err(|e| internal(e.to_string()))?;
    let mut child = tokio::process::Command::new(exporter)
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!("--web.listen-address={address}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| internal(format!("{}: {e}", exporter.display())))?;
    let pid = child.id().unwrap_or_default();
    let ready = Instant::now();
    while get(address, "/").await.is_err() {
        if ready.elapsed() > Duration::from_secs(20) || child.try_wait().ok().flatten().is_some() {
            let said = std::fs::read_to_string(dir.join("snmp_exporter.log")).unwrap_or_default();
            return Err(internal(format!(
                "it did not start listening on {address}: {}",
                said.lines().last().unwrap_or("no message")
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names: HashSet<&str> = COLUMNS.iter().map(|c| c.2).collect();
    let exporter_before = ProcessUsage::of(pid).unwrap_or_default().cpu;
    let own_before = ProcessUsage::current().unwrap_or_default().cpu;
    let started = Instant::now();
    let mut reads: Vec<(usize, Read)> = futures::stream::iter(hosts.iter().enumerate())
        .map(|(i, host)| {
            let names = &names;
            async move {
                let port = host.snmp.as_ref().map_or(161, |s| s.port);
                let path = format!("/snmp?module={MODULE}&target={}:{port}", host.hostname);
                let read = match tokio::time::timeout(SCRAPE_TIMEOUT, get(address, &path)).await {
                    Ok(Ok(body)) => count_series(&body, names),
                    Ok(Err(e)) => Read {
                        error: Some(e),
                        ..Read::default()
                    },
                    Err(_) => Read {
                        error: Some(format!("no answer in {SCRAPE_TIMEOUT:?}")),
                        ..Read::default()
                    },
                };
                (i, read)
            }
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    let wall = started.elapsed();
    let cpu = ProcessUsage::of(pid)
        .unwrap_or_default()
        .cpu
        .saturating_sub(exporter_before)
        + ProcessUsage::current()
            .unwrap_or_default()
            .cpu
            .saturating_sub(own_before);
    let _ = child.kill().await;
    reads.sort_by_key(|(i, _)| *i);
    Ok((wall, cpu, reads.into_iter().map(|(_, r)| r).collect()))
}

/// One scrape's body: the series of the module's metrics, each once. A failed walk shows as
/// an `HTTP 500` (the exporter's error text) before this is reached.
fn count_series(body: &str, names: &HashSet<&str>) -> Read {
    let mut seen = HashSet::new();
    let mut read = Read::default();
    for line in body.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        if !names.contains(&line[..name_end]) {
            continue;
        }
        read.varbinds += 1;
        let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
        if !seen.insert(series) {
            read.duplicates += 1;
        }
    }
    read
}

/// A plain HTTP/1.0 GET of `path` on `address`: the body of a 200, else the status line and
/// the start of the body as the error.
async fn get(address: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(body.to_string())
    } else {
        Err(format!(
            "{status}: {}",
            body.lines().next().unwrap_or_default().trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_maps_every_column_once() {
        let v2c = SnmpOptions {
            version: SnmpVersion::V2c,
            port: 161,
            community: fanout_common::Secret::new("c\"o"),
            user: String::new(),
            auth: None,
            auth_password: Default::default(),
            privacy: None,
            priv_password: Default::default(),
        };
        let v3 = SnmpOptions {
            version: SnmpVersion::V3,
            community: Default::default(),
            user: "u".into(),
            auth_password: fanout_common::Secret::new("a: b"),
            priv_password: fanout_common::Secret::new("p"),
            ..v2c.clone()
        };
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&config(&v3)).unwrap();
        let auth = &value[MODULE]["auth"];
        assert_eq!(value[MODULE]["version"].as_u64(), Some(3));
        assert_eq!(auth["security_level"].as_str(), Some("authPriv"));
        assert_eq!(auth["password"].as_str(), Some("a: b"));
        assert_eq!(auth["priv_password"].as_str(), Some("p"));
        let yaml = config(&v2c);
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        let module = &value[MODULE];
        assert_eq!(module["auth"]["community"].as_str(), Some("c\"o"));
        assert_eq!(module["walk"].as_sequence().unwrap().len(), 2);
        let metrics = module["metrics"].as_sequence().unwrap();
        assert_eq!(metrics.len(), COLUMNS.len());
        let oids: HashSet<&str> = metrics.iter().map(|m| m["oid"].as_str().unwrap()).collect();
        assert_eq!(oids.len(), COLUMNS.len());
        assert!(oids.contains("1.3.6.1.2.1.31.1.1.1.6"));
    }

    #[test]
    fn series_are_counted_by_metric_and_duplicates_found() {
        let names: HashSet<&str> = ["ifDescr", "ifInOctets"].into_iter().collect();
        let body = "# HELP ifDescr x\n# TYPE ifDescr gauge\n\
                    ifDescr{ifDescr=\"Gi 0/1\",ifIndex=\"1\"} 1\n\
                    ifInOctets{ifIndex=\"1\"} 12\n\
                    ifInOctets{ifIndex=\"1\"} 13\n\
                    snmp_scrape_duration_seconds 0.1\n";
        let read = count_series(body, &names);
        assert_eq!((read.varbinds, read.duplicates), (3, 1));
    }
}
