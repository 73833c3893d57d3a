//! The `fanout` command line.

use crate::recorder::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "fanout",
    version,
    about = "Run network-automation jobs against fleets of devices, fast, from one host or many"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Defaults for any command's flags [default: ./fanout.yaml, else
    /// $XDG_CONFIG_HOME/fanout/config.yaml]. Every flag also reads FANOUT_<FLAG>; flags win
    /// over the environment, which wins over the file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// How log lines on stderr look: `text` for people, `json` (one object per line, local
    /// workers' lines too) for log shippers. Verbosity comes from FANOUT_LOG.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = LogFormat::Text,
        env = "FANOUT_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Write fanout.1 and one page per command (fanout-run.1, ...) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `fanout config`: what the config file and the environment set.
#[derive(Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Subcommand)]
pub enum ConfigAction {
    /// Show every flag of COMMAND with its value and where it comes from (command line,
    /// environment, config file:line, built-in); without COMMAND, which file is read.
    Show {
        /// The command whose flags to show (`run`, `validate`, ...).
        command: Option<String>,
        /// That command's flags, as you would give them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum Command {
    /// Run commands on every selected host and collect their output.
    Run(RunArgs),
    /// Check every selected host against a rules file; report for people and for CI.
    Validate(ValidateArgs),
    /// Change the configuration of every selected host from a template, in waves with a
    /// validation gate between them (a dry run unless --commit).
    Push(Box<PushArgs>),
    /// List the hosts a filter selects, with their resolved fields (never secrets).
    Inventory(InventoryArgs),
    /// List the platform profiles (built-in and from --platforms), or print one.
    Platforms(PlatformsArgs),
    /// Collect `show running-config` from a built-in simulated fleet.
    #[cfg_attr(
        not(feature = "demo"),
        command(about = "Not in this build (compiled without the `demo` feature)")
    )]
    Demo(DemoArgs),
    /// Measure sequential vs pooled vs async vs multi-process on one simulated fleet.
    #[cfg_attr(
        not(feature = "demo"),
        command(about = "Not in this build (compiled without the `demo` feature)")
    )]
    Bench(BenchArgs),
    /// Poll every selected host continuously; alert on changes and thresholds; live dashboard.
    Monitor(MonitorArgs),
    /// Make a private CA, the coordinator's TLS certificate, client certificates and a token.
    Certs(CertsArgs),
    /// Run a long-lived coordinator that remote workers attach to and clients submit jobs to.
    Serve(ServeArgs),
    /// List the jobs of a coordinator (`fanout serve`).
    Jobs(RemoteOnlyArgs),
    /// Follow a job on a coordinator: its results as they arrive, then the report.
    Watch(WatchArgs),
    /// Cancel a job on a coordinator.
    Cancel(JobIdArgs),
    /// List the workers attached to a coordinator.
    Workers(RemoteOnlyArgs),
    /// Commit every selected device's configuration to a git repository, one commit per run.
    Backup(crate::backup::args::BackupArgs),
    /// Show how a device's configuration changed (its last change, or since REV).
    Diff(crate::backup::args::DiffArgs),
    /// List the backups that changed a device's configuration.
    History(crate::backup::args::HistoryArgs),
    /// Show the settings a command would use, and where each comes from.
    Config(ConfigArgs),
    /// Print a shell completion script: `fanout completions bash > /etc/bash_completion.d/fanout`.
    Completions(CompletionsArgs),
    /// Print the man page (or write one per command with --out-dir).
    Man(ManArgs),
    /// Run as a worker (what `fanout-worker` does; used when that binary is not installed).
    #[command(hide = true)]
    Worker(fanout_worker::WorkerArgs),
}

#[derive(Args, Clone)]
pub struct Selection {
    /// Inventory: a Nornir directory (hosts.yaml, groups.yaml, defaults.yaml) or file, a
    /// nornir.yaml, an Ansible inventory (YAML, INI, or a directory with group_vars/), a .csv
    /// with a header row, or exec:PROGRAM printing Ansible's --list JSON. Repeat to merge
    /// several; a host in more than one comes from the last.
    #[arg(short, long, required = true)]
    pub inventory: Vec<PathBuf>,

    /// Only hosts matching KEY=VALUE (or KEY!=VALUE; `*` globs). Repeat to narrow further.
    #[arg(long = "filter", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,

    /// Platform profiles (*.yaml) that add to or replace the built-in ones.
    #[arg(long, value_name = "DIR", env = "FANOUT_PLATFORMS")]
    pub platforms: Option<PathBuf>,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// A command to run on every host, in order. Repeat for several.
    #[arg(
        short = 'c',
        long = "command",
        value_name = "COMMAND",
        required_unless_present_any = ["steps", "snmp_gets", "snmp_walks"]
    )]
    pub commands: Vec<String>,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub snmp: SnmpArgs,

    #[command(flatten)]
    pub execution: ExecutionArgs,

    /// Write one file per host per command, and results.jsonl, into this directory (created
    /// 0700, files 0600; it must be new or empty unless --overwrite).
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Write every byte sent to and received from each host into DIR/<host>.log, timed, with
    /// control bytes visible and the password and enable secret masked: for finding out why
    /// a new kind of device is misread.
    #[arg(long, value_name = "DIR")]
    pub session_log: Option<PathBuf>,

    /// Reuse an --output or --session-log directory that holds an earlier run: its files are
    /// removed first (only if it holds nothing fanout does not write). Without it, both must
    /// be new or empty.
    #[arg(long)]
    pub overwrite: bool,

    /// How to report on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Structured records from each output: `textfsm` for every command, or
    /// `textfsm:COMMAND` for one (repeat for several). They go into the JSON output and
    /// beside each text file as <host>/<command>.json.
    #[arg(long, value_name = "PARSER[:COMMAND]")]
    pub parse: Vec<String>,

    /// TextFSM templates for --parse (an ntc-templates `index` plus templates)
    /// [default: $NET_TEXTFSM, else python3's installed ntc_templates].
    #[arg(long, value_name = "DIR", requires = "parse")]
    pub templates: Option<PathBuf>,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// With --coordinator: submit the job, print its id and return at once (follow it with
    /// `fanout watch`, which takes --output). Nothing of this command would read the results,
    /// so what only it would write (--output, --session-log, --parse) is refused with it.
    #[arg(
        long,
        requires = "coordinator",
        conflicts_with_all = ["output", "session_log", "parse"]
    )]
    pub detach: bool,
}

/// HTTP requests a run sends to every host, after its CLI commands.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "REST / HTTP collection")]
pub struct HttpArgs {
    /// An HTTP request to send to every host, in order: a path joined to the host's base URL
    /// (`GET:/log`) or a full URL template (`GET:https://{hostname}:{data.http_port}/log`).
    /// Templates take {hostname} {port} {name} {username} {platform} {data.KEY}. Repeat for
    /// several. Responses are stored like command outputs; JSON is pretty-printed.
    #[arg(long = "http", value_name = "METHOD:PATH", value_parser = fanout_common::http::parse_step)]
    pub steps: Vec<fanout_common::proto::HttpStep>,

    /// Base URL template for paths [default: {data.http_scheme}://{hostname}:{data.http_port},
    /// https and its default port where the host's data sets neither].
    #[arg(long, value_name = "URL")]
    pub http_base: Option<String>,

    /// A header sent with every request, `NAME: VALUE` (the value may use templates). Repeat for
    /// several.
    #[arg(long = "http-header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// JSON body of every request with a method that takes one: the JSON itself or @FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    pub http_body: Option<String>,

    /// The status every response must have [default: any 2xx]. 401 and 403 are always
    /// auth_failed; another unexpected status is command_error.
    #[arg(long, value_name = "STATUS", value_parser = clap::value_parser!(u16).range(100..=599))]
    pub http_expect: Option<u16>,

    /// How requests authenticate with the host's credentials from the inventory.
    #[arg(long, value_enum, default_value_t = HttpAuthArg::Basic)]
    pub http_auth: HttpAuthArg,

    /// PEM file of the CA certificates that sign the devices' HTTPS certificates; only these are
    /// trusted [default: the system's roots]. Certificates are always verified unless
    /// --http-insecure is given.
    #[arg(long, value_name = "FILE")]
    pub http_ca: Option<PathBuf>,

    /// Accept any HTTPS certificate, unverified (lab use only).
    #[arg(long, conflicts_with = "http_ca")]
    pub http_insecure: bool,

    /// Send --http-auth basic or bearer credentials over plain http:// to hosts that are not
    /// on loopback, where anyone on the path can read them. Without it such a run is refused.
    #[arg(long)]
    pub http_allow_plaintext_credentials: bool,
}

/// SNMP requests a run sends to every host, after its CLI commands and HTTP requests.
#[derive(Args, Clone)]
#[command(next_help_heading = "SNMP polling")]
pub struct SnmpArgs {
    /// GET this object on every host: a numeric OID, a built-in name (`sysDescr.0`,
    /// `IF-MIB::ifOperStatus.1`) or a name from the --mibs files. Repeat for several. The
    /// host's `snmp:` inventory section says how (version, community or v3 user, port).
    #[arg(long = "snmp-get", value_name = "OID", id = "snmp_gets")]
    pub gets: Vec<String>,

    /// Walk this subtree on every host with GETBULK (`IF-MIB::ifTable`, `1.3.6.1.2.1.2`).
    /// Repeat for several. Results are stored like command outputs: one JSON object per
    /// varbind and line, with its type.
    #[arg(long = "snmp-walk", value_name = "OID", id = "snmp_walks")]
    pub walks: Vec<String>,

    /// Load the MIB modules in this directory and its subdirectories (SMIv1/SMIv2 files with
    /// no extension or ending .mib, .smi, .txt or .my), so their object names work in
    /// --snmp-get/--snmp-walk and name what comes back. Repeat, or separate with `:`, for
    /// several; the first directory with a module wins. Without it, numeric OIDs and the
    /// built-in table of common objects.
    #[arg(long = "mibs", value_name = "DIR", value_delimiter = ':')]
    pub mibs: Vec<PathBuf>,

    /// Varbinds asked for in each GETBULK of a walk.
    #[arg(long, value_name = "N", default_value_t = 25,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub snmp_max_repetitions: u32,

    /// How long to wait for the answer to one request before sending it again.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_positive_duration)]
    pub snmp_timeout: Duration,

    /// How many times an unanswered request is sent again before the host fails as `timeout`.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub snmp_retries: u32,

    /// Requests outstanding at once per host, so a slow agent is not flooded.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub snmp_in_flight: u32,
}

impl Default for SnmpArgs {
    fn default() -> Self {
        Self {
            gets: Vec::new(),
            walks: Vec::new(),
            mibs: Vec::new(),
            snmp_max_repetitions: 25,
            snmp_timeout: Duration::from_secs(2),
            snmp_retries: 1,
            snmp_in_flight: 4,
        }
    }
}

#[derive(Clone, Copy, Default, ValueEnum)]
pub enum HttpAuthArg {
    /// HTTP basic auth with the host's username and password.
    #[default]
    Basic,
    /// `Authorization: Bearer <the host's password>`.
    Bearer,
    /// No credentials.
    None,
}

/// How hosts are run: shared by `run` and `demo`.
#[derive(Args, Clone)]
pub struct ExecutionArgs {
    /// Worker processes to start [default: number of CPU cores; at most four per core].
    #[arg(long, value_parser = parse_workers)]
    pub workers: Option<usize>,

    /// Device sessions per worker at once.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,

    /// Deadline for TCP connect plus SSH handshake.
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub connect_timeout: Duration,

    /// Deadline for one command's output.
    #[arg(long, default_value = "60s", value_parser = parse_positive_duration)]
    pub command_timeout: Duration,

    /// Deadline for everything on one host.
    #[arg(long, default_value = "5m", value_parser = parse_positive_duration)]
    pub host_timeout: Duration,

    /// How SSH host keys are checked against known_hosts.
    #[arg(long, value_enum, default_value_t = HostKeyPolicyArg::AcceptNew)]
    pub host_key_policy: HostKeyPolicyArg,

    /// known_hosts file [default: $XDG_STATE_HOME/fanout/known_hosts].
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,

    /// Largest output of one command (e.g. 256MiB, at most 1GiB); beyond it the host fails
    /// with output_too_large. Outputs are never cut short.
    #[arg(long, default_value = "256MiB", value_parser = parse_output_limit)]
    pub max_output: u64,

    /// After Ctrl-C, how long hosts in flight may take to finish.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub drain_grace: Duration,

    /// Try a host again this many times when it fails in a way that may pass (refused,
    /// timeout, disconnected, unreachable); never for auth, host key or command errors.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,

    /// Pause before the first retry; it doubles for each further one, with jitter.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub retry_backoff: Duration,

    /// A worker silent this long is presumed dead and its hosts run elsewhere (at least 2s:
    /// workers heartbeat every 2s).
    #[arg(long, default_value = "10s", value_parser = parse_lease_timeout)]
    pub lease_timeout: Duration,

    /// New SSH connections per second across all workers, so the network's AAA servers are
    /// not flooded at the start of a large run; 0 = no limit.
    #[arg(long, default_value_t = 100.0, value_parser = parse_connect_rate)]
    pub connect_rate: f64,

    /// Replace local workers that die during the run, at most this many times.
    #[arg(long, default_value_t = 0)]
    pub respawn: u32,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum HostKeyPolicyArg {
    /// Pin a device's key on first contact; refuse a changed key.
    AcceptNew,
    /// Refuse any device whose key is not already in known_hosts.
    Strict,
    /// Do not check host keys at all (lab use only).
    Off,
}

#[derive(Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// The rules file (rules: [{name, command, parse, expect}]).
    #[arg(short, long)]
    pub rules: PathBuf,

    /// ntc-templates-style directory (an `index` plus templates), searched before the
    /// templates fanout ships [default: $NET_TEXTFSM].
    #[arg(long)]
    pub templates: Option<PathBuf>,

    #[command(flatten)]
    pub execution: ExecutionArgs,

    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,

    /// Also keep every collected output and results.jsonl here.
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Write every byte sent to and received from each host into DIR/<host>.log, timed, with
    /// control bytes visible and the password and enable secret masked: for finding out why
    /// a new kind of device is misread.
    #[arg(long, value_name = "DIR")]
    pub session_log: Option<PathBuf>,

    /// Reuse an --output or --session-log directory that holds an earlier run: its files are
    /// removed first (only if it holds nothing fanout does not write). Without it, both must
    /// be new or empty.
    #[arg(long)]
    pub overwrite: bool,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// With --coordinator: submit the job, print its id and return at once (follow it with
    /// `fanout watch`, which takes --output). Nothing of this command would read the results,
    /// so what only it would write (--output, --session-log) is refused with it.
    #[arg(
        long,
        requires = "coordinator",
        conflicts_with_all = ["output", "session_log"]
    )]
    pub detach: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Rules with pass/fail counts, then each failure with its reason and line.
    Human,
    /// One JSON document: summary, rules, hosts.
    Json,
    /// JUnit XML: one testcase per host and rule, for CI systems.
    Junit,
    /// A Markdown report for pull requests and wikis.
    Markdown,
    /// CSV: one row per host and rule (one per host not evaluated), for spreadsheets.
    Csv,
}

#[derive(Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// A table, or one JSON object per host per line.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Args)]
pub struct MonitorArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// The checks and alert destinations (monitor.yaml).
    #[arg(long, value_name = "FILE")]
    pub checks: PathBuf,

    /// Poll every host this often; polls are spread over the interval.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub every: Duration,

    /// Serve the live dashboard (and /api, /metrics) on this address, e.g. 127.0.0.1:8080;
    /// port 0 lets the OS choose and the startup line says which.
    #[arg(long, value_name = "ADDR")]
    pub dashboard: Option<std::net::SocketAddr>,

    /// Serve the dashboard on a non-loopback --dashboard address although it has no
    /// authentication or TLS (put a reverse proxy that authenticates in front of it).
    #[arg(long, requires = "dashboard")]
    pub dashboard_allow_remote: bool,

    /// Append every alert and recovery to this JSON-lines file.
    #[arg(long, default_value = "alerts.jsonl", value_name = "FILE")]
    pub journal: PathBuf,

    /// Stop by itself after this long (for benchmarks and scripts) instead of at Ctrl-C.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// SNMP checks: how long to wait for one request's answer before sending it again.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_positive_duration)]
    pub snmp_timeout: Duration,

    /// SNMP checks: how many times an unanswered request is sent again before the poll
    /// counts as unanswered.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub snmp_retries: u32,

    /// SNMP checks: varbinds asked for in each GETBULK of a walk.
    #[arg(long, value_name = "N", default_value_t = 25,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub snmp_max_repetitions: u32,

    /// SNMP checks: load the MIB modules in this directory and its subdirectories, so the
    /// checks' `walk`, `index_by` and `utilisation_of` may name their objects. Repeat, or
    /// separate with `:`, for several.
    #[arg(long = "mibs", value_name = "DIR", value_delimiter = ':')]
    pub mibs: Vec<PathBuf>,

    #[command(flatten)]
    pub execution: ExecutionArgs,
}

#[derive(Args)]
pub struct PlatformsArgs {
    /// Print this platform's profile as YAML (a starting point for your own).
    pub name: Option<String>,

    /// Platform profiles (*.yaml) that add to or replace the built-in ones.
    #[arg(long, value_name = "DIR", env = "FANOUT_PLATFORMS")]
    pub platforms: Option<PathBuf>,

    /// A table, or one JSON object per platform per line.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Simulated devices.
    #[arg(long, default_value_t = 200)]
    pub devices: usize,

    /// Simulated per-command latency.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub latency: Duration,

    /// Worker processes.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,

    /// Also write every collected config here.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Reuse an --output or --session-log directory that holds an earlier run: its files are
    /// removed first (only if it holds nothing fanout does not write). Without it, both must
    /// be new or empty.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Simulated devices.
    #[arg(long, default_value_t = 1000)]
    pub devices: usize,

    /// Simulated per-command latency.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub latency: Duration,

    /// Runs per style (with `--snmp`: rounds of every tool); the table shows the median.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,

    /// Styles to run, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sequential,pool,async,processes"
    )]
    pub styles: Vec<String>,

    /// Worker process counts for the `processes` style.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub processes: Vec<usize>,

    /// Devices the sequential style runs before extrapolating.
    #[arg(long, default_value_t = 5)]
    pub sample: usize,

    /// Sessions of the bounded-pool style (what a 20-thread pool script gets).
    #[arg(long, default_value_t = 20)]
    pub pool_size: u32,

    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// Benchmark SNMP instead: walk ifTable and ifXTable (GETBULK) of every device with fanout
    /// (worker processes, one row per `--processes` count, as many walks in flight as xargs
    /// runs), with net-snmp's `snmpbulkwalk` run by `xargs -P`, and with the Prometheus
    /// `snmp_exporter` when installed (as many scrapes in flight), and check all read the same
    /// varbinds. `--latency`, `--styles`, `--sample` and `--pool-size` do not apply.
    #[arg(long)]
    pub snmp: bool,

    /// `--snmp`: parallel `snmpbulkwalk` processes (`xargs -P`), and snmp_exporter scrapes.
    #[arg(long, default_value_t = 100)]
    pub xargs_parallel: usize,

    /// `--snmp`: the SNMP version every tool polls with: `2c` (a community), or `3` (authPriv,
    /// SHA-256 and AES-128, a user the bench makes up; snmp_exporter's row too, from its module
    /// configuration).
    #[arg(long, default_value = "2c", value_parser = ["2c", "3"])]
    pub snmp_version: String,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text).map_err(|e| format!("{e} (write e.g. 10s, 500ms, 5m)"))
}

/// The largest `--max-output`: a command's output is held whole in memory by the worker and
/// the coordinator, so anything above this is a typo rather than a plan.
pub const MAX_OUTPUT_CEILING: u64 = 1 << 30;

/// `--max-output`: a size above 0 and at most [`MAX_OUTPUT_CEILING`]. 0 used to mean "no
/// output at all" to one side and "the default" to the other; now it is refused.
pub fn parse_output_limit(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err("must be more than 0: every output would be too large".into()),
        n if n > MAX_OUTPUT_CEILING => Err(format!(
            "{} is more than the 1GiB one command's output may be (outputs are held in memory)",
            text.trim()
        )),
        n => Ok(n),
    }
}

/// A deadline: zero would fail every host at once, so it is refused.
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than 0 (write e.g. 10s, 500ms)".into());
    }
    Ok(duration)
}

/// Workers heartbeat every 2 s (when idle; results count too); a lease shorter than one
/// heartbeat would take hosts away from healthy workers (every host would end up "never
/// ran"). A few heartbeats' worth is what a busy machine needs; the default is 10 s.
pub const MIN_LEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// `--lease-timeout`: at least [`MIN_LEASE_TIMEOUT`].
pub fn parse_lease_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < MIN_LEASE_TIMEOUT {
        return Err(format!(
            "must be at least {}s: workers heartbeat every 2s, so a shorter lease takes hosts \
             away from healthy workers",
            MIN_LEASE_TIMEOUT.as_secs()
        ));
    }
    Ok(duration)
}

/// `--workers`: at least one (the upper bound depends on the machine and is applied, with a
/// message, when the run starts).
pub fn parse_workers(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a number of processes")),
    }
}

/// `--connect-rate`: logins per second, 0 for no limit; never negative.
pub fn parse_connect_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a rate (logins per second, 0 for no limit)"
        )),
    }
}

/// `1048576`, `64KiB`, `256MiB`, `1GiB` (and KB/MB/GB as powers of ten).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (write e.g. 256MiB)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse_as_people_write_them() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5parsecs").is_err());
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn output_limits_are_one_number_both_ends_agree_on() {
        assert!(parse_output_limit("0").is_err());
        assert!(parse_output_limit("0MiB").is_err());
        assert!(parse_output_limit("2GiB").is_err());
        assert!(parse_output_limit("18446744073709551615").is_err());
        assert_eq!(parse_output_limit("4KiB"), Ok(4096));
        assert_eq!(parse_output_limit("1GiB"), Ok(MAX_OUTPUT_CEILING));
        // The default the flags document is the one a worker applies to a job that names none.
        assert_eq!(
            parse_output_limit("256MiB"),
            Ok(fanout_common::wire::DEFAULT_MAX_OUTPUT_BYTES)
        );
    }

    #[test]
    fn absurd_values_are_refused() {
        assert!(parse_positive_duration("0s").is_err());
        assert!(parse_positive_duration("0").is_err());
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
        assert!(parse_lease_timeout("0s").is_err());
        assert!(parse_lease_timeout("1500ms").is_err());
        assert_eq!(parse_lease_timeout("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_workers("0").is_err());
        assert!(parse_workers("-1").is_err());
        assert_eq!(parse_workers("10000"), Ok(10000));
        for rate in ["-1", "NaN", "inf", "fast"] {
            assert!(parse_connect_rate(rate).is_err(), "{rate}");
        }
        assert_eq!(parse_connect_rate("0"), Ok(0.0));
        use clap::Parser as _;
        let run = |extra: &[&str]| {
            let mut args = vec!["fanout", "run", "-i", "x", "-c", "show version"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(run(&["--concurrency", "0"]).is_err());
        assert!(run(&["--command-timeout", "0s"]).is_err());
        assert!(run(&["--host-timeout", "0s"]).is_err());
        assert!(run(&["--connect-timeout", "0s"]).is_err());
        assert!(run(&["--lease-timeout", "0s"]).is_err());
        assert!(run(&["--workers", "0"]).is_err());
        assert_eq!(run(&["--workers", "3", "--concurrency", "1"]), Ok(()));
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

/// `fanout certs`: the files `fanout serve` and remote workers need for TLS and auth.
#[derive(Args)]
pub struct CertsArgs {
    /// Directory to write into (created, mode 0700, if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,

    /// DNS name workers and clients dial the coordinator by; it goes into the coordinator
    /// certificate. Repeat for several (the first is also its common name).
    #[arg(long = "name", value_name = "DNSNAME", required = true)]
    pub names: Vec<String>,

    /// IP address workers may dial the coordinator at, as an IP SAN. Repeat for several.
    #[arg(long = "ip", value_name = "ADDR")]
    pub ips: Vec<std::net::IpAddr>,

    /// Also issue a client certificate for mTLS, client-NAME.pem with client-NAME-key.pem.
    /// Repeat for several.
    #[arg(long = "client", value_name = "NAME", value_parser = crate::commands::certs::parse_client_name)]
    pub clients: Vec<String>,

    /// Days the CA and the certificates stay valid.
    #[arg(long, default_value_t = 825, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,

    /// Replace certificates and keys that already exist. An existing token is always kept.
    #[arg(long)]
    pub force: bool,
}

/// Where a client finds a coordinator (`fanout serve`), and how it proves who it is.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Remote coordinator")]
pub struct RemoteArgs {
    /// Submit to this coordinator (https://host:7443) instead of starting local workers.
    #[arg(long, env = "FANOUT_COORDINATOR", value_name = "URL")]
    pub coordinator: Option<String>,

    #[command(flatten)]
    pub access: fanout_common::access::AccessArgs,
}

/// Commands that only talk to a coordinator.
#[derive(Args, Clone)]
pub struct RemoteOnlyArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone)]
pub struct JobIdArgs {
    /// The job's id (from `fanout jobs` or `run --detach`).
    pub job: String,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Args, Clone)]
pub struct WatchArgs {
    /// The job's id (from `fanout jobs` or `run --detach`).
    pub job: String,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Write one file per host per command, and results.jsonl, into this directory.
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Reuse an --output or --session-log directory that holds an earlier run: its files are
    /// removed first (only if it holds nothing fanout does not write). Without it, both must
    /// be new or empty.
    #[arg(long)]
    pub overwrite: bool,

    /// How to report on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address workers and clients connect to (gRPC).
    #[arg(long, env = "FANOUT_LISTEN", default_value = "127.0.0.1:7443")]
    pub listen: std::net::SocketAddr,

    /// Server certificate chain (PEM). Without TLS, only a loopback address may be served.
    #[arg(
        long,
        env = "FANOUT_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// Key of --tls-cert (PEM).
    #[arg(
        long,
        env = "FANOUT_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Require client certificates signed by this CA (mutual TLS) from workers and clients.
    #[arg(
        long,
        env = "FANOUT_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub client_ca: Option<PathBuf>,

    /// File holding the token clients must present (`run --coordinator`, `jobs`, `watch`,
    /// `cancel`, `workers`); with --client-ca it may be left out.
    #[arg(long, env = "FANOUT_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// File holding the token workers must present to attach (`worker-token` from `fanout
    /// certs`). Required, and never the clients' token: workers receive the jobs' credentials.
    #[arg(long, env = "FANOUT_WORKER_TOKEN_FILE", value_name = "FILE")]
    pub worker_token_file: Option<PathBuf>,

    /// Keep jobs here: finished ones are listed after a restart, unfinished ones resume.
    #[arg(long, env = "FANOUT_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Forget finished jobs (their results and outputs too) this long after they ended; 0
    /// keeps them however old.
    #[arg(long, env = "FANOUT_KEEP", default_value = "30d", value_parser = parse_duration)]
    pub keep: Duration,

    /// Keep at most this many finished jobs, forgetting the oldest first; 0 keeps them all.
    #[arg(
        long,
        env = "FANOUT_KEEP_JOBS",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub keep_jobs: usize,

    /// Plain-HTTP address for GET /metrics (Prometheus) and GET /healthz.
    #[arg(long, env = "FANOUT_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// A worker silent this long is presumed dead and its hosts run elsewhere.
    #[arg(long, default_value = "15s", value_parser = parse_lease_timeout)]
    pub lease_timeout: Duration,

    /// Label key to honour even while no worker carrying it is attached. Labels pin hosts by
    /// themselves: once a worker started with --labels site=ams attaches, hosts whose data says
    /// `site: ams` run only on workers labelled site=ams (hosts without `site` run anywhere).
    /// Naming the key here keeps that true while such workers are still connecting.
    #[arg(long = "affinity-key", value_name = "KEY")]
    pub affinity_keys: Vec<String>,

    /// How long a host waits for a worker with its labels before it fails as `no_worker`.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub placement_wait: Duration,

    /// Largest output of one command any job may have (at most 1GiB): a job asking for more
    /// runs with this limit, and an output beyond it fails its host with output_too_large.
    #[arg(long, default_value = "256MiB", value_parser = parse_output_limit)]
    pub max_output: u64,

    #[command(flatten)]
    pub backup: crate::backup::args::ScheduledBackupArgs,
}

/// `fanout push`: see `crate::push`.
#[derive(Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// A MiniJinja template rendered per host with its inventory fields (`name`, `platform`,
    /// `data.*`, ...): one configuration line per output line.
    #[arg(long, value_name = "FILE", required_unless_present = "lines")]
    pub template: Option<PathBuf>,

    /// The same configuration lines for every host, one per line, sent as written.
    #[arg(long, value_name = "FILE", conflicts_with = "template")]
    pub lines: Option<PathBuf>,

    /// Only show per host the lines and a diff; change nothing (the default).
    #[arg(long, conflicts_with = "commit")]
    pub dry_run: bool,

    /// Apply the change.
    #[arg(long)]
    pub commit: bool,

    /// Hosts changed first, alone, before any wave.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub canary: usize,

    /// Where each wave ends, as a share of all selected hosts (`10%,50%,100%`) or a host count
    /// (`30,150,300`); the last must reach every host. Default: one wave.
    #[arg(long, value_delimiter = ',', value_name = "END,...")]
    pub waves: Vec<String>,

    /// Failed hosts a wave (canary included) may have, pushes and gate together, before the
    /// rollout stops.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_failures: usize,

    /// The gate between waves: this rules file (as `fanout validate` takes) on the hosts just
    /// changed.
    #[arg(long, value_name = "RULES")]
    pub validate: Option<PathBuf>,

    /// TextFSM templates for the gate's rules (as `fanout validate --templates`).
    #[arg(long, value_name = "DIR", requires = "validate")]
    pub templates: Option<PathBuf>,

    /// When a wave fails, roll back the hosts that wave changed.
    #[arg(long)]
    pub rollback_on_failure: bool,

    /// Minutes a `commit confirmed` waits for its confirmation before the device rolls it
    /// back by itself (platforms with candidates).
    #[arg(long, default_value_t = 10, value_name = "MINUTES")]
    pub confirm_minutes: u32,

    /// How to report on stdout.
    #[arg(long, value_enum, default_value_t = PushFormat::Human)]
    pub format: PushFormat,

    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Keep every session's transcript (secrets masked) under DIR, one subdirectory per step
    /// of the push (`01-push`, `02-push-gate`, ...), DIR/<step>/<host>.log.
    #[arg(long, value_name = "DIR")]
    pub session_log: Option<PathBuf>,

    #[command(flatten)]
    pub execution: ExecutionArgs,

    // `--coordinator`: each step of the push (dry run, wave, gate, confirmation, rollback)
    // runs as a job of that coordinator, on its workers.
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PushFormat {
    Human,
    Json,
    Markdown,
}
