//! `fanout bench --snmp`: ifTable and ifXTable (GETBULK) of every device of a simulated fleet,
//! read by fanout through worker processes and, in the same run and against the same fleet, by
//! net-snmp's `snmpbulkwalk` run by `xargs -P` (one shell per device walking both tables) —
//! what a NOC scripts instead — and, when it is installed, by the Prometheus `snmp_exporter`
//! scraped for every device (see [`super::bench_snmp_exporter`]). All must read the same number
//! of varbinds from every device, none of them twice: a device where they differ counts as a
//! failure of the run.
//!
//! net-snmp runs first: its CPU is read from this process's reaped children, and fanout's
//! worker processes, once reaped, would count there too.

use super::bench::{BenchFleet, BenchSnmp, execution_defaults};
use super::{CommandError, job_settings, progress_bar};
use crate::cli::{BenchArgs, HostKeyPolicyArg, SnmpArgs};
use crate::interrupts::Interrupts;
use crate::local_cluster::ClusterConfig;
use crate::local_cluster::worker_processes::WorkerProgram;
use crate::local_run::{LocalRun, run_local};
use crate::process_usage::{ProcessUsage, reaped_children_cpu};
use crate::recorder::{Format, Recorder};
use fanout_common::inventory::Host;
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// IF-MIB::ifTable and IF-MIB::ifXTable.
pub(super) const TABLES: [&str; 2] = ["1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"];
/// GETBULK repetitions for both tools: fanout's `--snmp-max-repetitions` default, so both make
/// the same number of round trips (net-snmp's own default is 10).
pub(super) const MAX_REPETITIONS: u32 = 25;

/// One device as read by one tool.
#[derive(Debug, Clone, Default)]
pub(super) struct Read {
    pub varbinds: usize,
    pub duplicates: usize,
    /// Why the tool failed this device, if it did.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
struct ToolResult {
    tool: String,
    devices: usize,
    wall_seconds: f64,
    devices_per_second: f64,
    /// Every client process's CPU (coordinator and workers; or xargs, shells and
    /// snmpbulkwalk) per device, milliseconds.
    client_cpu_ms_per_device: f64,
    client_cpu_us_per_varbind: f64,
    /// The client's CPU over the wall time, in % of one core.
    client_cpu_percent: f64,
    /// The simulated fleet's CPU over the same wall time, in % of one core; `None` when the
    /// fleet runs inside this process (its CPU is then in the client's).
    fleet_cpu_percent: Option<f64>,
    /// Rounds run (`--repeat`); the times and CPU are their medians.
    runs: usize,
    varbinds: usize,
    /// Devices the tool failed, read the same OID twice from, or read a different number of
    /// varbinds from than the other tool did (when the other tool read it).
    failures: usize,
    /// Of those: devices whose count differs from the other tool's.
    mismatched: usize,
    duplicated_varbinds: usize,
}

pub async fn run(args: BenchArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    if let Err(e) = fanout_common::limits::raise_fd_limit() {
        tracing::warn!(error = %e, "cannot raise the file descriptor limit");
    }
    let snmpbulkwalk = which("snmpbulkwalk").ok_or_else(|| {
        CommandError::Input(
            "fanout bench --snmp compares with net-snmp's snmpbulkwalk, which is not on PATH \
             (apt-get install snmp)"
                .into(),
        )
    })?;
    let scratch = tempfile::tempdir().map_err(|e| CommandError::Internal(e.to_string()))?;
    // Only this fleet knows them; they never leave the machine, nor appear in any output.
    let secret = format!(
        "fanout-bench-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    );
    let v3 = args.snmp_version == "3";
    let snmp = match v3 {
        false => BenchSnmp::V2c { community: secret },
        true => BenchSnmp::V3 {
            user: "fanout-bench".into(),
            auth_password: format!("{secret}-auth"),
            priv_password: format!("{secret}-priv"),
        },
    };
    let fleet = BenchFleet::start(&args, scratch.path(), Some(&snmp)).await?;
    let hosts = fleet.hosts()?;
    crate::outln!(
        "fanout bench --snmp: {} devices, {} GETBULK walks of ifTable and ifXTable \
         (max-repetitions {MAX_REPETITIONS}), {} per tool ({})",
        hosts.len(),
        match v3 {
            false => "SNMPv2c",
            true => "SNMPv3 authPriv (SHA-256, AES-128)",
        },
        match args.repeat.max(1) {
            1 => "one run".to_string(),
            n => format!("{n} runs"),
        },
        fleet.describe(),
    );
    let exporter = super::bench_snmp_exporter::locate();
    if exporter.is_none() {
        crate::outln!(
            "snmp_exporter is not installed (apt-get install prometheus-snmp-exporter): \
             its row is left out"
        );
    }

    let rounds = args.repeat.max(1);
    // Per tool, one phase per round; tools run in the same order every round (net-snmp first,
    // for its CPU: see the module's comment).
    let mut runs: Vec<(String, Vec<Phase>)> = Vec::new();
    let mut record = |i: usize, name: String, phase: Phase| match runs.get_mut(i) {
        Some(run) => run.1.push(phase),
        None => runs.push((name, vec![phase])),
    };
    for round in 0..rounds {
        if interrupts.drain.is_cancelled() {
            break;
        }
        if rounds > 1 {
            crate::outln!("round {} of {rounds}", round + 1);
        }
        let mut i = 0;
        let name = format!("snmpbulkwalk, xargs -P {}", args.xargs_parallel);
        let phase = Phase::measure(
            &fleet,
            net_snmp(&snmpbulkwalk, &hosts, &args, scratch.path()),
        )
        .await?;
        record(i, name, phase);
        i += 1;
        match &exporter {
            Some(exporter) if !interrupts.drain.is_cancelled() => {
                let phase = Phase::measure(
                    &fleet,
                    super::bench_snmp_exporter::run(
                        exporter,
                        &hosts,
                        args.xargs_parallel,
                        scratch.path(),
                    ),
                )
                .await?;
                let name = format!("snmp_exporter, {} scrapes", args.xargs_parallel.max(1));
                record(i, name, phase);
                i += 1;
            }
            _ => {}
        }
        for &n in &args.processes {
            if interrupts.drain.is_cancelled() {
                break;
            }
            let n = n.clamp(1, hosts.len().max(1));
            // As many walks in flight as xargs runs processes: the same load on the fleet.
            let concurrency = args.xargs_parallel.div_ceil(n).max(1) as u32;
            let phase =
                Phase::measure(&fleet, fanout(n, concurrency, &hosts, interrupts.clone())).await?;
            record(i, format!("fanout, processes x {n}"), phase);
            i += 1;
        }
    }
    fleet.stop().await;
    if runs.iter().any(|(_, phases)| phases.len() < rounds) {
        // Interrupted: only whole rounds compare.
        let whole = runs.iter().map(|(_, p)| p.len()).min().unwrap_or(0);
        runs.iter_mut().for_each(|(_, p)| p.truncate(whole));
        runs.retain(|(_, p)| !p.is_empty());
    }

    // Each tool's counts are checked against another's, round by round: net-snmp's against
    // fanout's first row, every other row (the exporter's, fanout's) against net-snmp's. A
    // device the other tool failed has nothing to be checked against; its own failure is
    // counted against that tool only.
    let counts = |reads: &[Read]| -> Vec<Option<usize>> {
        reads
            .iter()
            .map(|r| r.error.is_none().then_some(r.varbinds))
            .collect()
    };
    let mut results = Vec::new();
    if let Some(first) = runs.first() {
        let fanout_row = runs.iter().position(|r| r.0.starts_with("fanout"));
        for (i, (tool, phases)) in runs.iter().enumerate() {
            let per_round: Vec<ToolResult> = phases
                .iter()
                .enumerate()
                .map(|(round, phase)| {
                    let reference = counts(&first.1[round].reads);
                    let compare = match (i, fanout_row) {
                        (0, Some(f)) => counts(&runs[f].1[round].reads),
                        _ => reference,
                    };
                    summarise(tool, phase, &compare)
                })
                .collect();
            let result = combine(per_round);
            print_row(&result, results.is_empty());
            results.push(result);
        }
    }
    // Rounds that ran whole: fewer than asked when interrupted.
    let whole = results.first().map_or(0, |r| r.runs);
    if whole > 1 {
        crate::outln!("medians of {whole} rounds; failed: the worst round's");
    }
    // What bounds the wall time: client and fleet share this machine's cores.
    crate::outln!(
        "client cpu % / fleet cpu %: the tool's processes' and the simulated fleet's CPU while \
         the tool ran, in % of one core (this machine has {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (tool, phases) in &runs {
        let errors: Vec<String> = phases
            .iter()
            .flat_map(|p| p.reads.iter().zip(&hosts))
            .filter_map(|(r, h)| Some(format!("{}: {}", h.name, r.error.as_ref()?)))
            .take(1)
            .collect();
        if !errors.is_empty() {
            crate::outln!("{tool}: first failure: {}", errors.join("; "));
        }
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&results).expect("results serialise");
        std::fs::write(path, json + "\n")
            .map_err(|e| CommandError::Input(format!("cannot write {}: {e}", path.display())))?;
        crate::outln!("\nresults written to {}", path.display());
    }
    let failed = results.iter().any(|r| r.failures > 0) || results.len() < 2;
    Ok(if failed { 1 } else { 0 })
}

/// One tool's run in one round.
pub(super) struct Phase {
    wall: Duration,
    cpu: Duration,
    fleet_cpu: Option<Duration>,
    reads: Vec<Read>,
}

impl Phase {
    /// Runs `tool`, with the fleet's CPU read around it.
    async fn measure(
        fleet: &BenchFleet,
        tool: impl std::future::Future<Output = Result<(Duration, Duration, Vec<Read>), CommandError>>,
    ) -> Result<Phase, CommandError> {
        let before = fleet.usage();
        let (wall, cpu, reads) = tool.await?;
        let fleet_cpu = match (before, fleet.usage()) {
            (Some(before), Some(after)) => Some(after.cpu.saturating_sub(before.cpu)),
            _ => None,
        };
        Ok(Phase {
            wall,
            cpu,
            fleet_cpu,
            reads,
        })
    }
}

fn summarise(tool: &str, phase: &Phase, compare: &[Option<usize>]) -> ToolResult {
    let Phase {
        wall,
        cpu,
        fleet_cpu,
        reads,
    } = phase;
    let differs =
        |r: &Read, c: &Option<usize>| r.error.is_none() && c.is_some_and(|c| c != r.varbinds);
    let devices = reads.len();
    let varbinds: usize = reads.iter().map(|r| r.varbinds).sum();
    let mismatched = reads
        .iter()
        .zip(compare)
        .filter(|(r, c)| differs(r, c))
        .count();
    let failures = reads
        .iter()
        .zip(compare)
        .filter(|(r, c)| r.error.is_some() || r.duplicates > 0 || r.varbinds == 0 || differs(r, c))
        .count();
    let cpu_ms = cpu.as_secs_f64() * 1000.0;
    let wall_seconds = wall.as_secs_f64().max(1e-9);
    ToolResult {
        tool: tool.to_string(),
        devices,
        wall_seconds: wall.as_secs_f64(),
        devices_per_second: devices as f64 / wall_seconds,
        client_cpu_ms_per_device: cpu_ms / devices.max(1) as f64,
        client_cpu_us_per_varbind: cpu_ms * 1000.0 / varbinds.max(1) as f64,
        client_cpu_percent: cpu.as_secs_f64() * 100.0 / wall_seconds,
        fleet_cpu_percent: fleet_cpu.map(|f| f.as_secs_f64() * 100.0 / wall_seconds),
        runs: 1,
        varbinds,
        failures,
        mismatched,
        duplicated_varbinds: reads.iter().map(|r| r.duplicates).sum(),
    }
}

/// One row from a tool's rounds: each measure's median (taken on its own), and the worst
/// round's failures, so one bad round is not hidden by good ones.
fn combine(mut rounds: Vec<ToolResult>) -> ToolResult {
    fn median(values: impl Iterator<Item = f64>) -> f64 {
        let mut values: Vec<f64> = values.collect();
        values.sort_by(f64::total_cmp);
        match values.len() {
            0 => 0.0,
            n if n % 2 == 1 => values[n / 2],
            n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        }
    }
    let n = rounds.len();
    let m = |f: fn(&ToolResult) -> f64| median(rounds.iter().map(f));
    let wall_seconds = m(|r| r.wall_seconds);
    let devices_per_second = m(|r| r.devices_per_second);
    let cpu_ms = m(|r| r.client_cpu_ms_per_device);
    let cpu_us = m(|r| r.client_cpu_us_per_varbind);
    let cpu_percent = m(|r| r.client_cpu_percent);
    let fleet = rounds
        .iter()
        .all(|r| r.fleet_cpu_percent.is_some())
        .then(|| m(|r| r.fleet_cpu_percent.unwrap_or_default()));
    let worst = |f: fn(&ToolResult) -> usize| rounds.iter().map(f).max().unwrap_or(0);
    let (failures, mismatched, duplicated) = (
        worst(|r| r.failures),
        worst(|r| r.mismatched),
        worst(|r| r.duplicated_varbinds),
    );
    let mut row = rounds.swap_remove(0);
    row.wall_seconds = wall_seconds;
    row.devices_per_second = devices_per_second;
    row.client_cpu_ms_per_device = cpu_ms;
    row.client_cpu_us_per_varbind = cpu_us;
    row.client_cpu_percent = cpu_percent;
    row.fleet_cpu_percent = fleet;
    row.runs = n;
    row.failures = failures;
    row.mismatched = mismatched;
    row.duplicated_varbinds = duplicated;
    row
}

/// `xargs -P N` running one `sh` per device that walks both tables with `snmpbulkwalk`
/// (numeric OIDs, `-On -Oq`: one `.OID value` line per varbind) into a file per device.
async fn net_snmp(
    snmpbulkwalk: &Path,
    hosts: &[Host],
    args: &BenchArgs,
    dir: &Path,
) -> Result<(Duration, Duration, Vec<Read>), CommandError> {
    let internal = |e: String| CommandError::Internal(format!("snmpbulkwalk run: {e}"));
    let out = dir.join("snmpbulkwalk");
    std::fs::create_dir_all(&out).map_err(|e| internal(e.to_string()))?;
    let mut input = String::new();
    let mut first = None;
    for (i, host) in hosts.iter().enumerate() {
        let snmp = host
            .snmp
            .as_ref()
            .ok_or_else(|| internal(format!("{} has no snmp settings", host.name)))?;
        first.get_or_insert(snmp);
        input.push_str(&format!("{i} udp:{}:{}\n", host.hostname, snmp.port));
    }
    let list = dir.join("targets");
    std::fs::write(&list, input).map_err(|e| internal(e.to_string()))?;
    // The credentials go into a snmp.conf the tools read (SNMPCONFPATH), not on their command
    // lines, where `ps` would show them; its persistent state stays in the scratch directory.
    let conf_dir = dir.join("net-snmp");
    std::fs::create_dir_all(&conf_dir).map_err(|e| internal(e.to_string()))?;
    let conf = first.map(net_snmp_conf).unwrap_or_default();
    std::fs::write(conf_dir.join("snmp.conf"), conf).map_err(|e| internal(e.to_string()))?;
    let walk =
        |table: &str| format!("\"$FANOUT_BENCH_WALK\" -On -Oq -Cr{MAX_REPETITIONS} \"$2\" {table}");
    // The exit status goes into the device's file: xargs only says whether any failed.
    let script = format!(
        "{{ {} && {}; }} > \"$FANOUT_BENCH_OUT/$1\" 2>&1; echo \"#exit $?\" >> \"$FANOUT_BENCH_OUT/$1\"",
        walk(TABLES[0]),
        walk(TABLES[1])
    );
    let cpu_before = reaped_children_cpu().unwrap_or_default();
    let started = Instant::now();
    let status = tokio::process::Command::new("xargs")
        .args([
            "-P",
            &args.xargs_parallel.max(1).to_string(),
            "-n",
            "2",
            "-a",
        ])
        .arg(&list)
        .args(["sh", "-c", &script, "sh"])
        .env("FANOUT_BENCH_WALK", snmpbulkwalk)
        .env("SNMPCONFPATH", &conf_dir)
        .env("SNMP_PERSISTENT_DIR", &conf_dir)
        .env("FANOUT_BENCH_OUT", &out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .map_err(|e| internal(format!("xargs: {e}")))?;
    let wall = started.elapsed();
    let cpu = reaped_children_cpu()
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    tracing::debug!(?status, "xargs finished");
    let reads = (0..hosts.len())
        .map(|i| match std::fs::read_to_string(out.join(i.to_string())) {
            Ok(text) => net_snmp_read(&text),
            Err(e) => Read {
                error: Some(format!("no output: {e}")),
                ..Read::default()
            },
        })
        .collect();
    Ok((wall, cpu, reads))
}

/// net-snmp's client defaults (snmp.conf(5)) for the bench's credentials: v2c with the
/// community, or v3 authPriv with SHA-256 and AES-128.
fn net_snmp_conf(snmp: &fanout_common::inventory::SnmpOptions) -> String {
    use fanout_common::inventory::SnmpVersion;
    match snmp.version {
        SnmpVersion::V2c => format!("defVersion 2c\ndefCommunity {}\n", snmp.community.expose()),
        SnmpVersion::V3 => format!(
            "defVersion 3\ndefSecurityLevel authPriv\ndefSecurityName {}\n\
             defAuthType SHA-256\ndefAuthPassphrase {}\ndefPrivType AES\ndefPrivPassphrase {}\n",
            snmp.user,
            snmp.auth_password.expose(),
            snmp.priv_password.expose()
        ),
    }
}

/// One device's `snmpbulkwalk -On -Oq` output for both tables, then `#exit STATUS`.
fn net_snmp_read(text: &str) -> Read {
    let mut seen = HashSet::new();
    let mut read = Read::default();
    let mut exit = None;
    for line in text.lines() {
        if let Some(status) = line.strip_prefix("#exit ") {
            exit = Some(status.trim().to_string());
        } else if line.starts_with(".1.") {
            let oid = line.split_whitespace().next().unwrap_or(line);
            read.varbinds += 1;
            if !seen.insert(oid.to_string()) {
                read.duplicates += 1;
            }
        } else if !line.trim().is_empty() && read.error.is_none() && !line.starts_with('"') {
            // Neither a varbind nor a string value's continuation: what snmpbulkwalk said
            // went wrong (a timeout, an error status).
            read.error = Some(line.trim().to_string());
        }
    }
    match exit.as_deref() {
        Some("0") => read.error = None,
        Some(status) => {
            read.error
                .get_or_insert_with(|| format!("snmpbulkwalk exited {status}"));
        }
        None => read.error = Some("did not finish".into()),
    }
    read
}

/// `fanout run --snmp-walk` of both tables through `workers` worker processes of
/// `concurrency` hosts each, with `fanout run`'s SNMP defaults (2 s timeout, 1 retry).
async fn fanout(
    workers: usize,
    concurrency: u32,
    hosts: &[Host],
    interrupts: Interrupts,
) -> Result<(Duration, Duration, Vec<Read>), CommandError> {
    let execution = crate::cli::ExecutionArgs {
        workers: Some(workers),
        concurrency,
        host_key_policy: HostKeyPolicyArg::Strict,
        connect_rate: 0.0,
        respawn: 0,
        ..execution_defaults()
    };
    let mut job = job_settings(&execution, Vec::new());
    job.snmp = crate::snmp_job::build(
        &SnmpArgs {
            walks: TABLES.iter().map(|t| t.to_string()).collect(),
            snmp_max_repetitions: MAX_REPETITIONS,
            ..SnmpArgs::default()
        },
        fanout_common::snmp_names::Names::builtin(),
        hosts,
    )?;
    let progress = progress_bar(hosts.len());
    progress.set_message(format!("fanout, processes x {workers}"));
    let recorder = Recorder::new(Format::Human, None, false, false, progress)?;
    let program = WorkerProgram::locate().map_err(|e| CommandError::Internal(e.to_string()))?;
    let run = LocalRun {
        job,
        cluster: ClusterConfig {
            workers,
            concurrency,
            program,
            lease_timeout: execution.lease_timeout,
            respawn: 0,
        },
        drain_grace: execution.drain_grace,
        hosts: hosts.to_vec(),
    };
    let coordinator_before = ProcessUsage::current().unwrap_or_default();
    let outcome = run_local(run, recorder, interrupts).await?;
    let coordinator = ProcessUsage::current().unwrap_or_default().cpu - coordinator_before.cpu;
    let workers_cpu: Duration = outcome.worker_usage.iter().map(|u| u.cpu).sum();
    let mut by_host: std::collections::HashMap<&str, Read> = outcome
        .records
        .iter()
        .map(|record| (record.host.as_str(), fanout_read(record)))
        .collect();
    let reads = hosts
        .iter()
        .map(|h| {
            by_host.remove(h.name.as_str()).unwrap_or_else(|| Read {
                error: Some("no result".into()),
                ..Read::default()
            })
        })
        .collect();
    Ok((outcome.wall, coordinator + workers_cpu, reads))
}

fn fanout_read(record: &crate::host_record::HostRecord) -> Read {
    let mut seen = HashSet::new();
    let mut read = Read::default();
    /// Only the OID of each varbind: the bench checks counts and duplicates, after the timed
    /// run (as it reads snmpbulkwalk's files after its run).
    #[derive(serde::Deserialize)]
    struct Oid<'a> {
        #[serde(borrow)]
        oid: std::borrow::Cow<'a, str>,
    }
    for command in &record.commands {
        // Every command of the bench is a walk: one without readable varbinds read nothing,
        // which is a failure of the device, not a smaller count.
        let oids = command
            .varbinds
            .as_ref()
            .and_then(|v| serde_json::from_str::<Vec<Oid>>(v.get()).ok());
        let Some(oids) = oids else {
            read.error = Some(format!("`{}`: no readable varbinds", command.command));
            continue;
        };
        for varbind in oids {
            read.varbinds += 1;
            if !seen.insert(varbind.oid.into_owned()) {
                read.duplicates += 1;
            }
        }
    }
    if let Some(failure) = &record.failure {
        read.error = Some(format!("{:?}: {}", failure.kind, failure.message));
    } else if !record.ok && read.error.is_none() {
        read.error = Some("failed".into());
    }
    read
}

fn print_row(r: &ToolResult, header: bool) {
    if header {
        crate::outln!(
            "\n{:<28} {:>8} {:>9} {:>10} {:>11} {:>13} {:>8} {:>8} {:>10} {:>8}",
            "tool",
            "devices",
            "wall (s)",
            "devices/s",
            "cpu/dev ms",
            "cpu/varbind µs",
            "client %",
            "fleet %",
            "varbinds",
            "failed"
        );
    }
    crate::outln!(
        "{:<28} {:>8} {:>9.2} {:>10.0} {:>11.3} {:>13.2} {:>8.0} {:>8} {:>10} {:>8}",
        r.tool,
        r.devices,
        r.wall_seconds,
        r.devices_per_second,
        r.client_cpu_ms_per_device,
        r.client_cpu_us_per_varbind,
        r.client_cpu_percent,
        r.fleet_cpu_percent
            .map_or_else(|| "-".to_string(), |f| format!("{f:.0}")),
        r.varbinds,
        r.failures
    );
}

pub(super) fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_snmp_output_counts_varbinds_duplicates_and_errors() {
        let ok = net_snmp_read(
            ".1.3.6.1.2.1.2.2.1.1.1 1\n.1.3.6.1.2.1.2.2.1.2.1 \"Gi0/1\"\n\
             .1.3.6.1.2.1.2.2.1.1.1 1\n#exit 0\n",
        );
        assert_eq!((ok.varbinds, ok.duplicates, ok.error), (3, 1, None));
        let timeout = net_snmp_read("Timeout: No Response from udp:127.0.0.2:1161\n#exit 1\n");
        assert_eq!(timeout.varbinds, 0);
        assert_eq!(
            timeout.error.as_deref(),
            Some("Timeout: No Response from udp:127.0.0.2:1161")
        );
        assert_eq!(
            net_snmp_read(".1.3 1\n").error.as_deref(),
            Some("did not finish")
        );
    }

    #[test]
    fn a_device_counts_as_failed_when_the_tools_disagree() {
        let reads = vec![
            Read {
                varbinds: 10,
                ..Read::default()
            },
            Read {
                varbinds: 9,
                ..Read::default()
            },
        ];
        let phase = |cpu| Phase {
            wall: Duration::from_secs(1),
            cpu,
            fleet_cpu: Some(Duration::from_millis(500)),
            reads: reads.clone(),
        };
        let r = summarise(
            "t",
            &phase(Duration::from_millis(20)),
            &[Some(10), Some(10)],
        );
        assert_eq!((r.failures, r.mismatched, r.varbinds), (1, 1, 19));
        assert!((r.client_cpu_ms_per_device - 10.0).abs() < 1e-9);
        assert!((r.client_cpu_percent - 2.0).abs() < 1e-9);
        // A device the other tool failed is not held against this one.
        let r = summarise("t", &phase(Duration::ZERO), &[None, None]);
        assert_eq!((r.failures, r.mismatched), (0, 0));
        assert_eq!(r.fleet_cpu_percent, Some(50.0));
    }

    #[test]
    fn rounds_combine_to_medians_and_the_worst_failures() {
        let round = |wall_ms, fleet_ms, failed: bool| {
            let reads = vec![Read {
                varbinds: 10,
                error: failed.then(|| "timeout".to_string()),
                ..Read::default()
            }];
            let phase = Phase {
                wall: Duration::from_millis(wall_ms),
                cpu: Duration::from_millis(wall_ms / 2),
                fleet_cpu: Some(Duration::from_millis(fleet_ms)),
                reads,
            };
            summarise("t", &phase, &[Some(10)])
        };
        let r = combine(vec![
            round(3000, 3000, false),
            round(1000, 500, true),
            round(2000, 1000, false),
        ]);
        assert_eq!((r.runs, r.failures), (3, 1));
        assert!((r.wall_seconds - 2.0).abs() < 1e-9);
        assert!((r.client_cpu_percent - 50.0).abs() < 1e-9);
        // Each measure's own median: 100%, 50%, 50%.
        assert_eq!(r.fleet_cpu_percent, Some(50.0));
    }
}
