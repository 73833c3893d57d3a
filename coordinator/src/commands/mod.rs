//! The subcommands. Each returns the process exit code, or an error that `main` prints (and
//! exits 2 for).

pub mod backup;
#[cfg(feature = "demo")]
pub mod bench;
#[cfg(feature = "demo")]
pub mod bench_snmp;
#[cfg(feature = "demo")]
mod bench_snmp_exporter;
pub mod certs;
#[cfg(feature = "demo")]
pub mod demo;
pub mod follow;
pub mod inventory;
pub mod monitor;
pub mod platforms;
pub mod push;
pub mod remote;
pub mod run;
pub mod serve;
pub mod validate;

use crate::cli::{ExecutionArgs, HostKeyPolicyArg, RemoteArgs, Selection};
use crate::interrupts::Interrupts;
use crate::job::JobSettings;
use crate::local_cluster::sizing::{self, Holding};
use crate::local_cluster::worker_processes::{SupervisorError, WorkerProgram};
use crate::local_cluster::{ClusterConfig, ClusterError};
use crate::local_run::{LocalRun, RunError, RunOutcome, run_local};
use crate::recorder::Recorder;
use crate::recorder::RecorderError;
use fanout_common::inventory::{Filter, Host, Inventory, InventoryError, LoadOptions};
use fanout_common::platform::{PlatformRegistry, ProfileSource};
use fanout_common::proto::HostKeyPolicy;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{HashMap, HashSet};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The worker program cannot be found or started.
    #[error(transparent)]
    Workers(#[from] SupervisorError),
    #[error(transparent)]
    Recorder(#[from] RecorderError),
    #[error("{0}")]
    Internal(String),
    /// `--platforms`: a profile that does not load (names its file).
    #[error(transparent)]
    Platform(#[from] fanout_common::platform::PlatformError),
    /// `--checks`: the monitor's checks file is refused (names its file and line).
    #[error(transparent)]
    MonitorConfig(#[from] fanout_monitor::config::ConfigError),
    /// The monitor cannot start (its journal, a notifier).
    #[error(transparent)]
    Monitor(#[from] fanout_monitor::MonitorError),
    #[error("cannot serve the dashboard on {address}: {source}")]
    Dashboard {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// `fanout backup`, `diff`, `history`: the repository cannot be used.
    #[error(transparent)]
    BackupStore(#[from] crate::backup::store::StoreError),
    #[error(transparent)]
    BackupRead(#[from] crate::backup::history::ReadError),
    #[error("cannot start the loader thread: {0}")]
    LoaderThread(std::io::Error),
    #[error("the loader thread panicked")]
    LoaderPanicked,
    /// A command this build of `fanout` was compiled without.
    #[error(
        "`fanout {command}` is not in this build: fanout was compiled without the `{feature}` \
         feature (cargo build -p fanout-coordinator --features {feature})"
    )]
    NotBuilt {
        command: &'static str,
        feature: &'static str,
    },
    /// Ctrl-C or SIGTERM before the input was loaded and checked: nothing was contacted.
    #[error("interrupted while loading the input; no host was contacted")]
    Interrupted,
}

impl CommandError {
    /// The process exit code for this error: 130 (as a shell reports Ctrl-C) when interrupted
    /// before anything ran, 2 (bad input or an internal error) otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Interrupted
            | CommandError::Cluster(ClusterError::InterruptedWhileAttaching { .. })
            | CommandError::Run(RunError::Cluster(ClusterError::InterruptedWhileAttaching {
                ..
            })) => crate::run_report::EXIT_INTERRUPTED,
            _ => crate::run_report::EXIT_BAD_INPUT,
        }
    }
}

/// Loads and checks the input on a thread of its own, so that an interrupt is obeyed at once
/// even while a large or hostile file is being read. The thread is left to finish by itself
/// (the process exits soon after); an interrupt that came during loading also counts when the
/// loading won the race, since the user asked to stop before anything ran.
pub async fn load_interruptibly<T: Send + 'static>(
    interrupts: &Interrupts,
    load: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    let (done, loaded) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("fanout-load".into())
        .spawn(move || {
            let _ = done.send(load());
        })
        .map_err(CommandError::LoaderThread)?;
    let loaded = tokio::select! {
        loaded = loaded => loaded
            .map_err(|_| CommandError::LoaderPanicked)??,
        _ = interrupts.drain.cancelled() => return Err(CommandError::Interrupted),
    };
    if interrupts.drain.is_cancelled() {
        return Err(CommandError::Interrupted);
    }
    Ok(loaded)
}

/// Reads a token file; surrounding whitespace (a trailing newline) is not part of the token.
pub fn read_token(path: &std::path::Path) -> Result<String, CommandError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CommandError::Input(format!("cannot read token file {}: {e}", path.display()))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(CommandError::Input(format!(
            "token file {} is empty",
            path.display()
        )));
    }
    Ok(token.to_string())
}

/// The hosts a selection picked, and what workers need to drive their platforms.
pub struct Selected {
    pub hosts: Vec<Host>,
    /// Profiles from `--platforms` that these hosts use (YAML by platform name).
    pub profiles: HashMap<String, String>,
}

/// Loads the platforms and the inventory and applies the filters; an empty selection is bad
/// input, not success. Private keys are checked here, so a wrong passphrase stops the run
/// before anything connects.
pub fn select_hosts(selection: &Selection) -> Result<Selected, CommandError> {
    let filters = selection
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let registry = PlatformRegistry::load(selection.platforms.as_deref())?;
    let options = LoadOptions {
        known_platforms: registry.names(),
        platform_aliases: registry.aliases().clone(),
        ..Default::default()
    };
    let inventory = Inventory::load_all(&selection.inventory, &options)?;
    for note in inventory.notes() {
        eprintln!("fanout: note: {note}");
    }
    let hosts: Vec<Host> = inventory.select(&filters).into_iter().cloned().collect();
    check_private_keys(&hosts)?;
    let profiles = hosts
        .iter()
        .filter_map(|h| registry.get(&h.platform))
        .filter(|loaded| loaded.source != ProfileSource::Builtin)
        .map(|loaded| (loaded.profile.name.clone(), loaded.yaml.clone()))
        .collect();
    if hosts.is_empty() {
        let how = if filters.is_empty() {
            "it has no hosts".to_string()
        } else {
            format!("no host matches {}", selection.filters.join(" and "))
        };
        let sources: Vec<String> = selection
            .inventory
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(CommandError::Input(format!(
            "{}: nothing to run: {how}",
            sources.join(" + ")
        )));
    }
    Ok(Selected { hosts, profiles })
}

/// Each distinct private key decrypts with its passphrase. Checked once per key file, and
/// the message names the file and the host, never the key or the passphrase.
fn check_private_keys(hosts: &[Host]) -> Result<(), CommandError> {
    let mut checked = HashSet::new();
    for host in hosts {
        let ssh = &host.ssh;
        let Some(path) = &ssh.key_file else { continue };
        if !checked.insert((path, ssh.key_passphrase.expose())) {
            continue;
        }
        if let Err(why) = fanout_worker::preflight::check_private_key(&ssh.key, &ssh.key_passphrase)
        {
            return Err(CommandError::Input(format!(
                "host {:?}: ssh_key_file {}: {why}",
                host.name,
                path.display()
            )));
        }
    }
    Ok(())
}

pub fn job_settings(execution: &ExecutionArgs, commands: Vec<String>) -> JobSettings {
    JobSettings {
        commands,
        connect_timeout: execution.connect_timeout,
        command_timeout: execution.command_timeout,
        host_timeout: execution.host_timeout,
        host_key_policy: match execution.host_key_policy {
            HostKeyPolicyArg::AcceptNew => HostKeyPolicy::AcceptNew,
            HostKeyPolicyArg::Strict => HostKeyPolicy::Strict,
            HostKeyPolicyArg::Off => HostKeyPolicy::Off,
        },
        known_hosts: execution
            .known_hosts
            .clone()
            .unwrap_or_else(fanout_common::paths::default_known_hosts),
        max_output_bytes: execution.max_output,
        retries: execution.retries,
        retry_backoff: execution.retry_backoff,
        connect_rate: execution.connect_rate,
        validation: None,
        http: None,
        snmp: None,
        platform_profiles: HashMap::new(),
        session_log: false,
        platform_commands: HashMap::new(),
        host_commands: HashMap::new(),
        backup_secrets: None,
    }
}

/// A job ready to run, and how the command that built it asked for it to run.
pub struct JobRequest<'a> {
    pub hosts: Vec<Host>,
    pub job: JobSettings,
    pub execution: &'a ExecutionArgs,
    /// `--coordinator` and its credentials; without one the job runs on local workers.
    pub remote: &'a RemoteArgs,
    /// The command (`run`, `validate`), as a coordinator lists the job.
    pub kind: &'static str,
    /// Submit to the coordinator and return without following the job.
    pub detach: bool,
}

/// Runs the job through local worker processes, or through the coordinator of
/// `--coordinator`; `None` when the job was only submitted (`--detach`).
pub async fn execute(
    request: JobRequest<'_>,
    recorder: Recorder,
    interrupts: Interrupts,
) -> Result<Option<RunOutcome>, CommandError> {
    let JobRequest {
        hosts,
        job,
        execution,
        remote,
        kind,
        detach,
    } = request;
    if remote.coordinator.is_none() {
        let run = local_run(hosts, job, execution)?;
        return Ok(Some(run_local(run, recorder, interrupts).await?));
    }
    let submission = remote::Submission {
        hosts: &hosts,
        settings: &job,
        execution,
        kind,
        detach,
    };
    let submitted = remote::submit(remote, submission, recorder, interrupts).await?;
    Ok(match submitted {
        remote::Submitted::Followed(outcome) => Some(outcome),
        remote::Submitted::Detached(_) => None,
    })
}

/// The local run every command that executes a job sets up the same way.
pub fn local_run(
    hosts: Vec<Host>,
    job: JobSettings,
    execution: &ExecutionArgs,
) -> Result<LocalRun, CommandError> {
    let program = WorkerProgram::locate()?;
    let sizing = sizing::size(
        execution.workers,
        execution.concurrency,
        hosts.len(),
        Holding::Share,
    );
    for note in &sizing.notes {
        eprintln!("fanout: {note}");
    }
    Ok(LocalRun {
        cluster: ClusterConfig {
            workers: sizing.workers,
            concurrency: sizing.concurrency,
            program,
            lease_timeout: execution.lease_timeout,
            respawn: execution.respawn,
        },
        drain_grace: execution.drain_grace,
        hosts,
        job,
    })
}

/// A live bar on stderr; invisible when stderr is not a terminal.
pub fn progress_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} hosts done, {msg} {prefix}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}
