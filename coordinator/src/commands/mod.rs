//! The subcommands. Each returns the process exit code, or an error that `main` prints (and
//! exits 2 for).

pub mod bench;
pub mod certs;
pub mod demo;
pub mod follow;
pub mod inventory;
pub mod monitor;
pub mod platforms;
pub mod remote;
pub mod run;
pub mod serve;
pub mod validate;

use crate::cli::{ExecutionArgs, HostKeyPolicyArg, RemoteArgs, Selection};
use crate::job::JobSettings;
use crate::recorder::Recorder;
use crate::recorder::RecorderError;
use crate::run::RunError;
use crate::run::{Interrupts, RunOutcome, run_local};
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
    Recorder(#[from] RecorderError),
    #[error("{0}")]
    Internal(String),
    /// Ctrl-C or SIGTERM before the input was loaded and checked: nothing was contacted.
    #[error("interrupted while loading the input; no host was contacted")]
    Interrupted,
}

impl CommandError {
    /// The process exit code for this error: 130 (as a shell reports Ctrl-C) when interrupted
    /// before anything ran, 2 (bad input or an internal error) otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Interrupted => 130,
            _ => crate::report::EXIT_BAD_INPUT,
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
        .map_err(|e| CommandError::Internal(format!("cannot start the loader thread: {e}")))?;
    let loaded = tokio::select! {
        loaded = loaded => loaded
            .map_err(|_| CommandError::Internal("the loader thread panicked".into()))??,
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
    let registry = PlatformRegistry::load(selection.platforms.as_deref())
        .map_err(|e| CommandError::Input(e.to_string()))?;
    let options = LoadOptions {
        known_platforms: registry.names(),
        platform_aliases: registry.aliases().clone(),
    };
    let inventory = Inventory::load(&selection.inventory, &options)?;
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
        return Err(CommandError::Input(format!(
            "{}: nothing to run: {how}",
            selection.inventory.display()
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
        platform_profiles: HashMap::new(),
        session_log: false,
    }
}

/// Runs the job through local worker processes, or through the coordinator of
/// `--coordinator`; `None` when the job was only submitted (`--detach`).
pub async fn execute(
    hosts: Vec<Host>,
    job: JobSettings,
    (execution, remote): (&ExecutionArgs, &RemoteArgs),
    (kind, detach): (&str, bool),
    recorder: Recorder,
    interrupts: Interrupts,
) -> Result<Option<RunOutcome>, CommandError> {
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
) -> Result<crate::run::LocalRun, CommandError> {
    let program = crate::supervisor::WorkerProgram::locate()
        .map_err(|e| CommandError::Internal(e.to_string()))?;
    let workers = worker_count(execution.workers, hosts.len());
    Ok(crate::run::LocalRun {
        concurrency: fit_fd_limit(execution.concurrency, hosts.len(), workers),
        workers,
        drain_grace: execution.drain_grace,
        lease_timeout: execution.lease_timeout,
        respawn: execution.respawn,
        hosts,
        job,
        program,
    })
}

/// File descriptors a worker keeps for itself (runtime, gRPC, logs, known_hosts).
const FD_RESERVE_PER_WORKER: u64 = 64;

/// The sessions each worker may hold at once: what was asked, but no more than its share of the
/// hosts and no more than the file descriptor limit allows (one socket per session). Workers
/// inherit the limit `fanout` raised at start-up.
fn fit_fd_limit(asked: u32, hosts: usize, workers: usize) -> u32 {
    let share = hosts.div_ceil(workers.max(1)) as u64;
    let wanted = u64::from(asked).min(share).max(1);
    let limit = fanout_common::limits::raise_fd_limit().unwrap_or(1024);
    let room = limit.saturating_sub(FD_RESERVE_PER_WORKER).max(1);
    if wanted > room {
        eprintln!(
            "fanout: each worker would hold {wanted} sessions but the open-file limit is {limit}; \
             using {room} per worker (raise the hard limit with `ulimit -Hn`, or add --workers)"
        );
        return room as u32;
    }
    wanted as u32
}

/// Default worker count: one per core.
pub fn default_workers() -> usize {
    cores()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Local worker processes beyond this many per core only add memory and context switches:
/// each one already runs thousands of sessions.
const MAX_WORKERS_PER_CORE: usize = 4;

/// How many local workers to start: what was asked (by default one per core), no more than
/// there are hosts, and no more than [`MAX_WORKERS_PER_CORE`] per core, said when it clamps.
pub fn worker_count(asked: Option<usize>, hosts: usize) -> usize {
    let most = cores() * MAX_WORKERS_PER_CORE;
    let wanted = asked.unwrap_or_else(default_workers);
    if wanted > most {
        eprintln!(
            "fanout: --workers {wanted} is more than {} cores can use; starting {most} \
             (each worker runs up to --concurrency sessions at once)",
            cores()
        );
    }
    wanted.clamp(1, most).min(hosts.max(1))
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
