//! `fanout-devsim`: serve a simulated fleet until Ctrl-C or SIGTERM.

use anyhow::{Context, bail};
use clap::Parser;
use fanout_devsim::{
    CpuVariation, DevsimError, DriftConfig, DynamicsConfig, Fault, FaultMix, FlapSchedule, Fleet,
    FleetConfig, Platform, Quirks,
};
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// File descriptors kept back for the listener, logs, the inventory file and the runtime.
const FD_RESERVE: u64 = 64;
/// Where devices serve HTTP unless told otherwise.
/// Not 8080, which dashboards (`fanout monitor --dashboard`) and other tools like to take.
const DEFAULT_HTTP_PORT: u16 = 8180;

/// Serve simulated Cisco IOS devices over SSH on loopback addresses, for fanout's demo, tests and
/// benchmarks.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Number of devices.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// Delay before each command's output starts (`1s`, `250ms`, `0`).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    latency: Duration,
    /// Extra random delay, uniform in 0..=jitter, per command.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    jitter: Duration,
    /// TCP port every device listens on (0 lets the OS choose).
    #[arg(long, default_value_t = 2222)]
    port: u16,
    /// TCP port of every device's HTTP API (`GET /log`, `GET /restconf/data/interfaces`; basic
    /// auth, or a bearer token equal to the password); 0 lets the OS choose. The inventory
    /// carries it as `data.http_port`. Default: 8180, or OS-chosen when --port is 0 (so scripts
    /// that ask for any free SSH port never collide on HTTP).
    #[arg(long)]
    http_port: Option<u16>,
    /// Address of the first device; the rest follow, skipping .0 and .255.
    #[arg(long, default_value = "127.1.0.1")]
    base: Ipv4Addr,
    /// Seed for configs and host keys: the same seed gives the same fleet.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Login user name of every device.
    #[arg(long, default_value = "admin")]
    username: String,
    /// Login password of every device (password and keyboard-interactive auth).
    #[arg(long, default_value = "admin")]
    password: String,
    /// The `enable` secret.
    #[arg(long, default_value = "enable")]
    secret: String,
    /// Make one device misbehave (index 0 is r00001). MODE is one of refuse, silent, stall-kex,
    /// reject-auth, reject-enable, slow, drop-mid-output, no-prompt, garbage, huge, hold-open.
    #[arg(long = "fault", value_name = "INDEX=MODE", value_parser = parse_fault)]
    faults: Vec<(usize, Fault)>,
    /// Make this share of the devices misbehave (0-100), chosen by --fault-seed; --fault wins
    /// for the devices it names.
    #[arg(long, value_name = "PERCENT")]
    fault_percent: Option<f64>,
    /// Seed of --fault-percent: the same seed gives the same devices and modes.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// Modes handed out in turn by --fault-percent (comma-separated; default all).
    #[arg(long, value_delimiter = ',', value_name = "MODE,...")]
    fault_modes: Vec<Fault>,
    /// Make this share of the devices drift from their intended configuration (0-100).
    #[arg(long, value_name = "PERCENT")]
    drift: Option<f64>,
    /// Seed of --drift: the same seed gives the same devices and drifts.
    #[arg(long, default_value_t = 1)]
    drift_seed: u64,
    /// Write which devices drifted how, as JSON `{device: [drifts]}`.
    #[arg(long, value_name = "FILE")]
    drift_report: Option<PathBuf>,
    /// Write the fleet's Nornir-style inventory here.
    #[arg(long)]
    inventory_out: Option<PathBuf>,
    /// Also write an OpenSSH known_hosts file with every device's host key.
    #[arg(long)]
    known_hosts_out: Option<PathBuf>,
    /// Make this share of the devices (0-100) flap one interface every --flap-period.
    #[arg(long, value_name = "PERCENT")]
    flap: Option<f64>,
    /// One down-and-up cycle of a flapping interface (down for the first half).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    flap_period: Duration,
    /// Seed of --flap: the same seed flaps the same devices and interfaces.
    #[arg(long, default_value_t = 1)]
    flap_seed: u64,
    /// Make CPU vary around a per-device baseline, spiking to 85-99% with this chance (0-100)
    /// in any five-second window.
    #[arg(long, value_name = "PERCENT")]
    cpu_spikes: Option<u64>,
    /// Seed of --cpu-spikes.
    #[arg(long, default_value_t = 1)]
    cpu_seed: u64,
    /// Change the configuration of this share of the devices (0-100) every --churn-every, and
    /// make `show running-config` print stamps that move every time (NVRAM, ntp clock-period):
    /// churn a backup must record, and churn it must not.
    #[arg(long, value_name = "PERCENT")]
    config_churn: Option<f64>,
    /// How often --config-churn changes devices.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    churn_every: Duration,
    /// Seed of --config-churn.
    #[arg(long, default_value_t = 1)]
    churn_seed: u64,
    /// Serve the control API (force flaps and CPU spikes over HTTP) on this loopback address;
    /// port 0 lets the OS choose, and the startup line says which.
    #[arg(long, value_name = "ADDR")]
    control: Option<SocketAddr>,
    /// Answer SNMPv2c with this community on every device (one UDP socket, on the SSH port's
    /// number when free); the inventory then carries an `snmp:` section.
    #[arg(long, value_name = "COMMUNITY")]
    snmp_community: Option<String>,
    /// Answer SNMPv3 (USM) for this user on every device: `USER` is SHA-256 authentication and
    /// AES-128 privacy; `USER:sha1` or `USER:sha256:none` choose the authentication and drop
    /// privacy. Repeatable. The passwords come from the environment variables of
    /// --snmp-auth-password-env and --snmp-priv-password-env (never from the command line,
    /// where `ps` shows them), and the inventory names the first user and those variables, so
    /// fanout run in the same environment reads them too.
    #[arg(long, value_name = "USER[:AUTH[:PRIV]]", value_parser = parse_snmp_user)]
    snmp_v3: Vec<(String, fanout_devsim::SnmpAuth, bool)>,
    /// The environment variable holding the SNMPv3 users' authentication password.
    #[arg(long, value_name = "VAR", default_value = "DEVSIM_SNMP_AUTH_PASSWORD")]
    snmp_auth_password_env: String,
    /// The environment variable holding the SNMPv3 users' privacy password.
    #[arg(long, value_name = "VAR", default_value = "DEVSIM_SNMP_PRIV_PASSWORD")]
    snmp_priv_password_env: String,
    /// The vendor CLIs devices speak, handed out in turn (r00001 the first, r00002 the second,
    /// ...): cisco_ios, cisco_xe, cisco_nxos, cisco_xr, arista_eos, juniper_junos, cisco_asa,
    /// paloalto_panos, fortinet, huawei_vrp, hp_comware, hp_procurve, dell_os10, dell_os6,
    /// brocade_fastiron, mikrotik_routeros, or `all`.
    #[arg(long, value_delimiter = ',', value_name = "PLATFORM,...", value_parser = parse_platform)]
    platforms: Vec<Vec<Platform>>,
    /// Prompt-detection traps every device sets: banner (`#` and `>` in the MOTD), timestamps
    /// (lines before each output), prompt-lines (output lines shaped like the prompt),
    /// split-writes (output and prompt sent in pieces), del-only (the line editor ignores
    /// backspace and erases only on DEL), prompt-after-message (setup and config-mode messages
    /// end without a line end, the prompt right after), lf-cr (`\n\r` line ends), ansi-prompt
    /// (prompts repainted with `\r ESC[K` and colour), or `all`.
    #[arg(long, value_delimiter = ',', value_name = "QUIRK,...", value_parser = parse_quirk)]
    quirks: Vec<Quirks>,
    /// How long one minute of Junos `commit confirmed N` lasts before the device rolls the
    /// commit back by itself (`1s` makes tests of the automatic rollback quick).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    confirm_minute: Duration,
}

impl From<&Args> for FleetConfig {
    fn from(args: &Args) -> Self {
        FleetConfig {
            count: args.count,
            base: args.base,
            port: args.port,
            http_port: args
                .http_port
                .unwrap_or(if args.port == 0 { 0 } else { DEFAULT_HTTP_PORT }),
            latency: args.latency,
            jitter: args.jitter,
            username: args.username.clone(),
            password: args.password.clone(),
            secret: args.secret.clone(),
            seed: args.seed,
            faults: args.faults.iter().copied().collect::<HashMap<_, _>>(),
            drift: args.drift.map(|percent| DriftConfig {
                percent,
                seed: args.drift_seed,
            }),
            fault_mix: args.fault_percent.map(|percent| FaultMix {
                percent,
                seed: args.fault_seed,
                modes: args.fault_modes.clone(),
            }),
            dynamics: DynamicsConfig {
                flap: args.flap.map(|percent| FlapSchedule {
                    percent,
                    period: args.flap_period,
                    seed: args.flap_seed,
                }),
                cpu: args.cpu_spikes.map(|spike_percent| CpuVariation {
                    spike_percent,
                    seed: args.cpu_seed,
                }),
            },
            platforms: args.platforms.concat(),
            quirks: args
                .quirks
                .iter()
                .fold(Quirks::default(), |all, q| all.union(*q)),
            confirm_minute: args.confirm_minute,
        }
    }
}

/// `USER[:sha1|sha256[:aes128|none]]`: the user, its authentication, whether it has privacy.
fn parse_snmp_user(text: &str) -> Result<(String, fanout_devsim::SnmpAuth, bool), String> {
    use fanout_devsim::SnmpAuth;
    let mut parts = text.split(':');
    let user = parts.next().unwrap_or_default();
    if user.is_empty() || user.len() > 32 {
        return Err("a user name of 1 to 32 characters".into());
    }
    let auth = match parts.next() {
        None | Some("sha256") => SnmpAuth::Sha256,
        Some("sha1" | "sha") => SnmpAuth::Sha1,
        Some(other) => return Err(format!("unknown auth {other:?} (sha1 or sha256)")),
    };
    let privacy = match parts.next() {
        None | Some("aes128" | "aes") => true,
        Some("none") => false,
        Some(other) => return Err(format!("unknown priv {other:?} (aes128 or none)")),
    };
    if parts.next().is_some() {
        return Err("USER[:AUTH[:PRIV]] has at most three parts".into());
    }
    Ok((user.to_string(), auth, privacy))
}

/// The SNMP the fleet answers, from --snmp-community and --snmp-v3 (reading the passwords from
/// the environment); `None` when neither is given.
fn snmp_config(args: &Args) -> anyhow::Result<Option<fanout_devsim::SnmpConfig>> {
    if args.snmp_community.is_none() && args.snmp_v3.is_empty() {
        return Ok(None);
    }
    let password = |var: &str| {
        std::env::var(var)
            .with_context(|| format!("--snmp-v3 reads a password from ${var}, which is not set"))
    };
    let mut users = Vec::new();
    for (name, auth, privacy) in &args.snmp_v3 {
        users.push(fanout_devsim::SnmpUser {
            name: name.clone(),
            auth: *auth,
            auth_password: password(&args.snmp_auth_password_env)?,
            auth_password_env: args.snmp_auth_password_env.clone(),
            priv_password: match privacy {
                true => Some(password(&args.snmp_priv_password_env)?),
                false => None,
            },
            priv_password_env: args.snmp_priv_password_env.clone(),
        });
    }
    Ok(Some(fanout_devsim::SnmpConfig {
        community: args.snmp_community.clone(),
        users,
    }))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 1s, 250ms, 0)"))
}

/// One quirk by name, or `all`.
fn parse_quirk(text: &str) -> Result<Quirks, String> {
    let mut quirks = Quirks::default();
    quirks.enable(text)?;
    Ok(quirks)
}

/// One platform name, or `all` for every persona.
fn parse_platform(text: &str) -> Result<Vec<Platform>, String> {
    if text.trim() == "all" {
        return Ok(Platform::ALL.to_vec());
    }
    Ok(vec![text.parse()?])
}

fn parse_fault(text: &str) -> Result<(usize, Fault), String> {
    let (index, mode) = text
        .split_once('=')
        .ok_or_else(|| format!("expected INDEX=MODE, got {text:?}"))?;
    let index = index
        .trim()
        .parse()
        .map_err(|_| format!("device index {index:?} is not a number"))?;
    let fault = mode.parse()?;
    Ok((index, fault))
}

/// Raises the soft open-file limit to the hard limit: every session holds one descriptor.
fn raise_fd_limit(count: usize) -> anyhow::Result<()> {
    let limit = rlimit::increase_nofile_limit(u64::MAX).context("cannot raise RLIMIT_NOFILE")?;
    let needed = count as u64 + FD_RESERVE;
    if limit < needed {
        tracing::warn!(
            limit,
            devices = count,
            max_sessions = limit.saturating_sub(FD_RESERVE),
            "open-file limit is below the device count, so not every device can hold a session at \
             once; raise the hard limit (ulimit -Hn) to serve them all"
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fanout-devsim: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fanout-devsim: {e:#}");
            // Bad input (exit 2) is told apart from failures of the machine (exit 1).
            let bad_input = matches!(
                e.downcast_ref::<DevsimError>(),
                Some(DevsimError::InvalidConfig { .. } | DevsimError::NotLoopback { .. })
            );
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,russh=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Err(e) = raise_fd_limit(args.count) {
        tracing::warn!(error = %format!("{e:#}"), "keeping the current open-file limit");
    }

    let fleet = Fleet::start(FleetConfig::from(&args)).await?;
    let devices = fleet.devices();
    let (first, last) = match (devices.first(), devices.last()) {
        (Some(first), Some(last)) => (first.address, last.address),
        _ => bail!("the fleet has no devices"),
    };
    let mut summary = format!(
        "serving {} devices on {first}..{last} port {} (http port {})",
        devices.len(),
        fleet.port(),
        fleet.http_port()
    );
    if let Some(address) = args.control {
        let bound = fleet.serve_control(address).await?;
        summary.push_str(&format!("; control api on http://{bound}"));
    }
    if let Some(config) = snmp_config(&args)? {
        let port = fleet.serve_snmp_with(config.clone())?;
        let versions = match (&config.community, config.users.len()) {
            (Some(_), 0) => "v2c".to_string(),
            (None, users) => format!("v3 ({users} users)"),
            (Some(_), users) => format!("v2c and v3 ({users} users)"),
        };
        summary.push_str(&format!("; snmp {versions} on udp port {port}"));
    }
    if let Some(path) = &args.inventory_out {
        fleet
            .write_inventory(path)
            .with_context(|| format!("cannot write the inventory to {}", path.display()))?;
        summary.push_str(&format!("; inventory written to {}", path.display()));
    }
    if let Some(path) = &args.drift_report {
        std::fs::write(path, fleet.drift_report())
            .with_context(|| format!("cannot write the drift report to {}", path.display()))?;
        summary.push_str(&format!("; drift report written to {}", path.display()));
    }
    if let Some(path) = &args.known_hosts_out {
        std::fs::write(path, fleet.known_hosts())
            .with_context(|| format!("cannot write known_hosts to {}", path.display()))?;
        summary.push_str(&format!("; known_hosts written to {}", path.display()));
    }
    if let Some(percent) = args.config_churn {
        if !(0.0..=100.0).contains(&percent) || args.churn_every.is_zero() {
            bail!("--config-churn takes 0-100 and --churn-every a non-zero duration");
        }
        let dynamics = fleet.dynamics().clone();
        dynamics.churn().set_moving_stamps(true);
        let (every, seed) = (args.churn_every, args.churn_seed);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                let changed = dynamics.churn().step(percent, seed);
                tracing::info!(devices = changed.len(), "configurations changed");
            }
        });
        summary.push_str(&format!(
            "; {percent}% of configurations change every {}",
            humantime::format_duration(every)
        ));
    }
    // Scripts wait for this line: it is printed only once the fleet accepts connections.
    println!("{summary}");

    wait_for_stop_signal().await?;
    tracing::info!("stopping");
    fleet.shutdown().await;
    Ok(())
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot listen for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_the_docs_say() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn faults_parse() {
        assert_eq!(parse_fault("3=silent"), Ok((3, Fault::Silent)));
        assert_eq!(
            parse_fault("0=drop-mid-output"),
            Ok((0, Fault::DropMidOutput))
        );
        assert!(parse_fault("x=silent").is_err());
        assert!(parse_fault("1=explode").is_err());
    }

    #[test]
    fn args_parse() {
        Args::try_parse_from([
            "fanout-devsim",
            "--count",
            "5",
            "--latency",
            "1s",
            "--fault",
            "1=reject-auth",
            "--fault-percent",
            "10",
            "--fault-seed",
            "7",
            "--fault-modes",
            "slow,huge",
            "--drift",
            "10",
            "--drift-seed",
            "3",
            "--drift-report",
            "drift.json",
            "--flap",
            "5",
            "--flap-period",
            "20s",
            "--cpu-spikes",
            "10",
            "--control",
            "127.0.0.1:0",
        ])
        .unwrap();
        let args = Args::try_parse_from(["fanout-devsim", "--fault-percent", "10"]).unwrap();
        let mix = FleetConfig::from(&args).fault_mix.unwrap();
        assert_eq!((mix.percent, mix.seed, mix.modes.len()), (10.0, 1, 0));
        assert!(Args::try_parse_from(["fanout-devsim", "--fault-modes", "slow,bogus"]).is_err());
    }

    #[test]
    fn platforms_and_quirks_parse() {
        let args = Args::try_parse_from([
            "fanout-devsim",
            "--platforms",
            "juniper_junos,cisco_xr",
            "--quirks",
            "banner,split-writes,del-only,lf-cr",
        ])
        .unwrap();
        let cfg = FleetConfig::from(&args);
        assert_eq!(cfg.platforms, [Platform::JuniperJunos, Platform::CiscoXr]);
        assert!(cfg.quirks.banner && cfg.quirks.split_writes && !cfg.quirks.timestamps);
        assert!(cfg.quirks.del_only && cfg.quirks.lf_cr && !cfg.quirks.ansi_prompt);
        let all = Args::try_parse_from(["fanout-devsim", "--platforms", "all", "--quirks", "all"])
            .unwrap();
        let cfg = FleetConfig::from(&all);
        assert_eq!(cfg.platforms, Platform::ALL);
        assert_eq!(cfg.quirks, Quirks::ALL);
        assert!(Args::try_parse_from(["fanout-devsim", "--platforms", "cisco_ioz"]).is_err());
        assert!(Args::try_parse_from(["fanout-devsim", "--quirks", "wobbly"]).is_err());
    }
}
