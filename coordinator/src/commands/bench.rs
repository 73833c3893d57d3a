//! `fanout bench`: the same job — full `show running-config` from every device — in the execution
//! styles people script fleets with, on one simulated fleet, measured in one run.
//!
//! The fleet runs as its own `fanout-devsim` process when that binary is installed next to
//! `fanout`, so its CPU is counted apart from the client's.

use super::{CommandError, job_settings, progress_bar};
use crate::cli::{BenchArgs, ExecutionArgs, HostKeyPolicyArg, Selection};
use crate::interrupts::Interrupts;
use crate::local_cluster::ClusterConfig;
use crate::local_cluster::worker_processes::WorkerProgram;
use crate::local_run::{LocalRun, RunOutcome, run_local};
use crate::process_usage::ProcessUsage;
use crate::recorder::{Format, Recorder};
use fanout_common::inventory::Host;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const BENCH_COMMAND: &str = "show running-config";

/// One execution style, as the table shows it.
#[derive(Debug, Clone)]
struct Style {
    name: String,
    workers: usize,
    concurrency: u32,
    /// Hosts actually run; fewer than the fleet means the time is extrapolated.
    sample: usize,
}

#[derive(Debug, Serialize)]
struct StyleResult {
    style: String,
    devices: usize,
    latency_ms: u64,
    workers: usize,
    concurrency: u32,
    /// Hosts run per repeat; less than `devices` means the wall time is extrapolated.
    hosts_run: usize,
    extrapolated: bool,
    wall_seconds_median: f64,
    wall_seconds_each: Vec<f64>,
    hosts_per_second: f64,
    /// Workers plus coordinator CPU per host run, milliseconds.
    client_cpu_ms_per_device: f64,
    coordinator_cpu_share: f64,
    fleet_cpu_ms_per_device: Option<f64>,
    worker_peak_rss_bytes: Vec<u64>,
    coordinator_peak_rss_bytes: u64,
    failures: usize,
}

pub async fn run(args: BenchArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    if args.snmp {
        return super::bench_snmp::run(args, interrupts).await;
    }
    if let Err(e) = fanout_common::limits::raise_fd_limit() {
        tracing::warn!(error = %e, "cannot raise the file descriptor limit");
    }
    let scratch = tempfile::tempdir().map_err(|e| CommandError::Internal(e.to_string()))?;
    let fleet = BenchFleet::start(&args, scratch.path(), None).await?;
    let hosts = fleet.hosts()?;
    crate::outln!(
        "fanout bench: {} devices, {} per command, {} ({}), median of {} repeats",
        hosts.len(),
        humantime::format_duration(args.latency),
        BENCH_COMMAND,
        fleet.describe(),
        args.repeat
    );

    let styles = styles(&args, hosts.len())?;
    let mut results = Vec::new();
    for style in &styles {
        let result = measure(style, &hosts, &args, &fleet, &interrupts).await?;
        print_row(&result, results.is_empty());
        results.push(result);
        if interrupts.drain.is_cancelled() {
            break;
        }
    }
    fleet.stop().await;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&results).expect("results serialise");
        std::fs::write(path, json + "\n")
            .map_err(|e| CommandError::Input(format!("cannot write {}: {e}", path.display())))?;
        crate::outln!("\nresults written to {}", path.display());
    }
    let failed = results.iter().any(|r| r.failures > 0);
    Ok(if failed { 1 } else { 0 })
}

fn styles(args: &BenchArgs, devices: usize) -> Result<Vec<Style>, CommandError> {
    let mut styles = Vec::new();
    for name in &args.styles {
        match name.as_str() {
            "sequential" => styles.push(Style {
                name: "sequential".into(),
                workers: 1,
                concurrency: 1,
                sample: args.sample.clamp(1, devices),
            }),
            "pool" => styles.push(Style {
                name: format!("bounded pool ({})", args.pool_size),
                workers: 1,
                concurrency: args.pool_size,
                // A few rounds of the pool show its rate; running all of a large fleet through
                // 20 sessions would take hours for the same figure.
                sample: (args.pool_size as usize * 3).clamp(1, devices),
            }),
            "async" => styles.push(Style {
                name: "async, one process".into(),
                workers: 1,
                concurrency: devices as u32,
                sample: devices,
            }),
            "processes" => {
                for &n in &args.processes {
                    let n = n.clamp(1, devices);
                    styles.push(Style {
                        name: format!("processes x {n}"),
                        workers: n,
                        concurrency: devices.div_ceil(n) as u32,
                        sample: devices,
                    });
                }
            }
            other => {
                return Err(CommandError::Input(format!(
                    "unknown style {other:?} (sequential, pool, async, processes)"
                )));
            }
        }
    }
    Ok(styles)
}

async fn measure(
    style: &Style,
    hosts: &[Host],
    args: &BenchArgs,
    fleet: &BenchFleet,
    interrupts: &Interrupts,
) -> Result<StyleResult, CommandError> {
    let mut walls = Vec::new();
    let mut client_cpu = Vec::new();
    let mut coordinator_share = Vec::new();
    let mut fleet_cpu = Vec::new();
    let mut worker_rss = Vec::new();
    let mut failures = 0;
    for _ in 0..args.repeat.max(1) {
        let selected: Vec<Host> = hosts[..style.sample].to_vec();
        let coordinator_before = ProcessUsage::current().unwrap_or_default();
        let fleet_before = fleet.usage();
        let outcome = run_once(style, selected, fleet, interrupts.clone()).await?;
        let coordinator_cpu =
            ProcessUsage::current().unwrap_or_default().cpu - coordinator_before.cpu;
        if let (Some(before), Some(after)) = (fleet_before, fleet.usage()) {
            fleet_cpu.push((after.cpu - before.cpu).as_secs_f64() * 1000.0 / style.sample as f64);
        }
        let workers_cpu: Duration = outcome.worker_usage.iter().map(|u| u.cpu).sum();
        let total = workers_cpu + coordinator_cpu;
        client_cpu.push(total.as_secs_f64() * 1000.0 / style.sample as f64);
        coordinator_share.push(coordinator_cpu.as_secs_f64() / total.as_secs_f64().max(1e-9));
        worker_rss = outcome
            .worker_usage
            .iter()
            .map(|u| u.peak_rss_bytes)
            .collect();
        failures += outcome.failed() + outcome.unfinished.len();
        let scale = hosts.len() as f64 / style.sample as f64;
        walls.push(outcome.wall.as_secs_f64() * scale);
    }
    let wall = median(&walls);
    Ok(StyleResult {
        style: style.name.clone(),
        devices: hosts.len(),
        latency_ms: args.latency.as_millis() as u64,
        workers: style.workers,
        concurrency: style.concurrency,
        hosts_run: style.sample,
        extrapolated: style.sample < hosts.len(),
        wall_seconds_median: wall,
        wall_seconds_each: walls,
        hosts_per_second: hosts.len() as f64 / wall.max(1e-9),
        client_cpu_ms_per_device: median(&client_cpu),
        coordinator_cpu_share: median(&coordinator_share),
        fleet_cpu_ms_per_device: (!fleet_cpu.is_empty()).then(|| median(&fleet_cpu)),
        worker_peak_rss_bytes: worker_rss,
        coordinator_peak_rss_bytes: ProcessUsage::current().map_or(0, |u| u.peak_rss_bytes),
        failures,
    })
}

async fn run_once(
    style: &Style,
    hosts: Vec<Host>,
    fleet: &BenchFleet,
    interrupts: Interrupts,
) -> Result<RunOutcome, CommandError> {
    // What `fanout run` does with its defaults, but for what the bench decides.
    let execution = ExecutionArgs {
        workers: Some(style.workers),
        concurrency: style.concurrency,
        connect_timeout: Duration::from_secs(30),
        // The fleet wrote its keys: check them strictly, and pin nothing during the timing.
        host_key_policy: HostKeyPolicyArg::Strict,
        known_hosts: Some(fleet.known_hosts.clone()),
        drain_grace: Duration::from_secs(5),
        // A simulated fleet has no AAA server to protect: measure fanout, not a throttle.
        connect_rate: 0.0,
        lease_timeout: Duration::from_secs(30),
        respawn: 0,
        ..execution_defaults()
    };
    let progress = progress_bar(hosts.len());
    progress.set_message(style.name.clone());
    let recorder = Recorder::new(Format::Human, None, false, false, progress)?;
    let program = WorkerProgram::locate().map_err(|e| CommandError::Internal(e.to_string()))?;
    let run = LocalRun {
        job: job_settings(&execution, vec![BENCH_COMMAND.to_string()]),
        cluster: ClusterConfig {
            workers: style.workers,
            concurrency: style.concurrency,
            program,
            lease_timeout: execution.lease_timeout,
            respawn: 0,
        },
        drain_grace: execution.drain_grace,
        hosts,
    };
    Ok(run_local(run, recorder, interrupts).await?)
}

fn print_row(r: &StyleResult, header: bool) {
    if header {
        crate::outln!(
            "\n{:<22} {:>8} {:>10} {:>10} {:>11} {:>10} {:>16} {:>11} {:>8}",
            "style",
            "devices",
            "wall (s)",
            "hosts/s",
            "cpu/dev ms",
            "coord cpu",
            "worker rss MB",
            "fleet cpu",
            "failed"
        );
    }
    let rss: Vec<String> = r
        .worker_peak_rss_bytes
        .iter()
        .map(|b| format!("{:.0}", *b as f64 / 1e6))
        .collect();
    let wall = if r.extrapolated {
        format!("{:.1}*", r.wall_seconds_median)
    } else {
        format!("{:.2}", r.wall_seconds_median)
    };
    crate::outln!(
        "{:<22} {:>8} {:>10} {:>10.0} {:>11.3} {:>9.0}% {:>16} {:>11} {:>8}",
        r.style,
        r.devices,
        wall,
        r.hosts_per_second,
        r.client_cpu_ms_per_device,
        r.coordinator_cpu_share * 100.0,
        rss.join("+"),
        r.fleet_cpu_ms_per_device
            .map_or("-".to_string(), |c| format!("{c:.3} ms")),
        r.failures
    );
    if r.extrapolated {
        crate::outln!(
            "{:<22} * extrapolated from {} of {} devices",
            "",
            r.hosts_run,
            r.devices
        );
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The simulated fleet: a `fanout-devsim` process when one is installed next to `fanout`,
/// otherwise in this process (its CPU then mixes with the coordinator's, and the table says so).
pub(super) struct BenchFleet {
    pub(super) inventory: PathBuf,
    known_hosts: PathBuf,
    process: Option<tokio::process::Child>,
    in_process: Option<fanout_devsim::Fleet>,
}

impl BenchFleet {
    /// The fleet's devices as hosts, read from the inventory it wrote.
    pub(super) fn hosts(&self) -> Result<Vec<Host>, CommandError> {
        let selection = Selection {
            inventory: vec![self.inventory.clone()],
            filters: Vec::new(),
            platforms: None,
        };
        Ok(super::select_hosts(&selection)?.hosts)
    }

    /// With `snmp`, every device also answers SNMP with those credentials and the inventory
    /// says so.
    pub(super) async fn start(
        args: &BenchArgs,
        dir: &Path,
        snmp: Option<&BenchSnmp>,
    ) -> Result<Self, CommandError> {
        let inventory = dir.join("fleet.yaml");
        let known_hosts = dir.join("known_hosts");
        let internal = |e: String| CommandError::Internal(format!("cannot start the fleet: {e}"));
        let devsim = std::env::current_exe()
            .map_err(|e| internal(e.to_string()))?
            .with_file_name("fanout-devsim");
        if devsim.is_file() {
            let mut command = tokio::process::Command::new(&devsim);
            match snmp {
                Some(BenchSnmp::V2c { community }) => {
                    command.args(["--snmp-community", community]);
                }
                // The passwords through the environment devsim reads them from, never argv.
                Some(BenchSnmp::V3 {
                    user,
                    auth_password,
                    priv_password,
                }) => {
                    command
                        .args(["--snmp-v3", &format!("{user}:sha256:aes128")])
                        .env(DEVSIM_AUTH_ENV, auth_password)
                        .env(DEVSIM_PRIV_ENV, priv_password);
                }
                None => {}
            }
            let mut child = command
                .args(["--count", &args.devices.to_string(), "--port", "0"])
                .args(["--latency", &format!("{}ms", args.latency.as_millis())])
                .arg("--inventory-out")
                .arg(&inventory)
                .arg("--known-hosts-out")
                .arg(&known_hosts)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| internal(format!("{}: {e}", devsim.display())))?;
            let stdout = child
                .stdout
                .take()
                .ok_or_else(|| internal("no stdout".into()))?;
            // devsim prints one line once every device accepts connections.
            let mut lines = BufReader::new(stdout).lines();
            let ready = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await;
            match ready {
                Ok(Ok(Some(line))) if line.starts_with("serving") => {}
                other => return Err(internal(format!("fanout-devsim did not start: {other:?}"))),
            }
            if let Some(snmp) = snmp {
                snmp.passwords_from_files(&inventory, dir)?;
            }
            return Ok(Self {
                inventory,
                known_hosts,
                process: Some(child),
                in_process: None,
            });
        }
        let fleet = fanout_devsim::Fleet::start(fanout_devsim::FleetConfig {
            count: args.devices,
            port: 0,
            latency: args.latency,
            ..Default::default()
        })
        .await
        .map_err(|e| internal(e.to_string()))?;
        if let Some(snmp) = snmp {
            fleet
                .serve_snmp_with(snmp.devsim_config())
                .map_err(|e| internal(e.to_string()))?;
        }
        fleet
            .write_inventory(&inventory)
            .map_err(|e| internal(e.to_string()))?;
        if let Some(snmp) = snmp {
            snmp.passwords_from_files(&inventory, dir)?;
        }
        std::fs::write(&known_hosts, fleet.known_hosts()).map_err(|e| internal(e.to_string()))?;
        Ok(Self {
            inventory,
            known_hosts,
            process: None,
            in_process: Some(fleet),
        })
    }

    pub(super) fn describe(&self) -> String {
        match &self.process {
            Some(child) => format!("fleet in its own process, pid {}", child.id().unwrap_or(0)),
            None => "fleet inside this process: its CPU counts as the coordinator's".into(),
        }
    }

    pub(super) fn usage(&self) -> Option<ProcessUsage> {
        ProcessUsage::of(self.process.as_ref()?.id()?)
    }

    pub(super) async fn stop(self) {
        if let Some(mut child) = self.process {
            let _ = child.kill().await;
        }
        if let Some(fleet) = self.in_process {
            fleet.shutdown().await;
        }
    }
}

/// The environment variables devsim reads its SNMPv3 user's passwords from (its defaults).
const DEVSIM_AUTH_ENV: &str = "DEVSIM_SNMP_AUTH_PASSWORD";
const DEVSIM_PRIV_ENV: &str = "DEVSIM_SNMP_PRIV_PASSWORD";

/// The SNMP credentials a bench fleet answers to: made up per run, known only to the bench.
pub(super) enum BenchSnmp {
    V2c {
        community: String,
    },
    /// authPriv: SHA-256 authentication, AES-128 privacy.
    V3 {
        user: String,
        auth_password: String,
        priv_password: String,
    },
}

impl BenchSnmp {
    fn devsim_config(&self) -> fanout_devsim::SnmpConfig {
        match self {
            BenchSnmp::V2c { community } => fanout_devsim::SnmpConfig::v2c(community),
            BenchSnmp::V3 {
                user,
                auth_password,
                priv_password,
            } => fanout_devsim::SnmpConfig {
                community: None,
                users: vec![fanout_devsim::SnmpUser {
                    name: user.clone(),
                    auth: fanout_devsim::SnmpAuth::Sha256,
                    auth_password: auth_password.clone(),
                    auth_password_env: DEVSIM_AUTH_ENV.into(),
                    priv_password: Some(priv_password.clone()),
                    priv_password_env: DEVSIM_PRIV_ENV.into(),
                }],
            },
        }
    }

    /// devsim's inventory names the variables its passwords came from, which this process
    /// does not have (setting them here would race the runtime's threads): point the
    /// inventory at files holding them instead, written owner-only beside it.
    fn passwords_from_files(&self, inventory: &Path, dir: &Path) -> Result<(), CommandError> {
        let BenchSnmp::V3 {
            auth_password,
            priv_password,
            ..
        } = self
        else {
            return Ok(());
        };
        let internal = |e: String| CommandError::Internal(format!("bench inventory: {e}"));
        let mut files = Vec::new();
        for (key, password) in [
            ("auth_password", auth_password),
            ("priv_password", priv_password),
        ] {
            let file = dir.join(key);
            write_private(&file, password.as_bytes()).map_err(|e| internal(e.to_string()))?;
            files.push((key, file));
        }
        let text = std::fs::read_to_string(inventory).map_err(|e| internal(e.to_string()))?;
        let mut yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).map_err(|e| internal(e.to_string()))?;
        let replaced = replace_env_keys(&mut yaml, &files);
        if replaced == 0 {
            return Err(internal(
                "no SNMPv3 password variables in devsim's inventory".into(),
            ));
        }
        let text = serde_yaml_ng::to_string(&yaml).map_err(|e| internal(e.to_string()))?;
        std::fs::write(inventory, text).map_err(|e| internal(e.to_string()))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

/// Replaces every `KEY_env: VAR` with `KEY_file: FILE` for the given keys, at any depth;
/// returns how many it replaced.
fn replace_env_keys(yaml: &mut serde_yaml_ng::Value, files: &[(&str, PathBuf)]) -> usize {
    let mut replaced = 0;
    match yaml {
        serde_yaml_ng::Value::Mapping(map) => {
            for (key, file) in files {
                if map.remove(format!("{key}_env")).is_some() {
                    map.insert(
                        format!("{key}_file").into(),
                        file.display().to_string().into(),
                    );
                    replaced += 1;
                }
            }
            for (_, value) in map.iter_mut() {
                replaced += replace_env_keys(value, files);
            }
        }
        serde_yaml_ng::Value::Sequence(items) => {
            for item in items {
                replaced += replace_env_keys(item, files);
            }
        }
        _ => {}
    }
    replaced
}

/// The execution flags as `fanout run` has them when none is given: the bench states only
/// where it differs, so a changed default (the output cap, the retries) reaches it too.
pub(super) fn execution_defaults() -> ExecutionArgs {
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        execution: ExecutionArgs,
    }
    <Defaults as clap::Parser>::parse_from(["fanout bench"]).execution
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bench runs what `fanout run` runs: the flags' own defaults, not copies of them.
    #[test]
    fn the_bench_starts_from_the_flags_defaults() {
        let defaults = execution_defaults();
        assert_eq!(
            defaults.max_output,
            fanout_common::wire::DEFAULT_MAX_OUTPUT_BYTES
        );
        assert_eq!(defaults.command_timeout, Duration::from_secs(60));
        assert_eq!(defaults.retries, 0);
    }

    #[test]
    fn password_variables_become_files_at_any_depth() {
        let mut yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "defaults:\n  snmp:\n    version: '3'\n    auth_password_env: A\n    \
             priv_password_env: P\nhosts:\n  r1: {}\n",
        )
        .unwrap();
        let files = [
            ("auth_password", PathBuf::from("/s/auth")),
            ("priv_password", PathBuf::from("/s/priv")),
        ];
        assert_eq!(replace_env_keys(&mut yaml, &files), 2);
        let snmp = &yaml["defaults"]["snmp"];
        assert_eq!(snmp["auth_password_file"].as_str(), Some("/s/auth"));
        assert_eq!(snmp["priv_password_file"].as_str(), Some("/s/priv"));
        assert!(snmp.get("auth_password_env").is_none());
        assert_eq!(snmp["version"].as_str(), Some("3"));
    }
}
