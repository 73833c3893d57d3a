//! `fanout-worker`: flags, logging and signals; everything else is in the library.

use clap::Parser;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    version,
    about = "fanout worker: runs device sessions for a coordinator"
)]
struct Cli {
    #[command(flatten)]
    worker: fanout_worker::WorkerArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = || {
        // The SNMP library logs every failed request as an error; each is the host's result
        // already (FANOUT_LOG=async_snmp=debug shows them).
        tracing_subscriber::EnvFilter::try_from_env("FANOUT_LOG")
            .unwrap_or_else(|_| "warn,async_snmp=off".into())
    };
    // `fanout --log-format json` sets this for the workers it starts: one JSON object a line.
    if std::env::var("FANOUT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .log_internal_errors(false)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            // Local workers write into a pipe the coordinator reads; colour codes would be noise.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            // When whoever read our stderr is gone, a log line must not panic the worker (the
            // subscriber would report the failed write on stderr, and that report panics).
            .log_internal_errors(false)
            .init();
    }
    let mut config = match fanout_worker::WorkerConfig::try_from(Cli::parse().worker) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fanout-worker: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // Every session holds a socket: use all the descriptors we may, and no more sessions than
    // they allow.
    let limit = fanout_common::limits::raise_fd_limit().or_else(|e| {
        tracing::warn!(error = %e, "cannot raise the open-file limit");
        fanout_common::limits::fd_limit()
    });
    match limit {
        Ok(limit) => {
            if let Some(warning) = config.fit_fd_limit(limit) {
                tracing::warn!("{warning}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the open-file limit"),
    }
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    match fanout_worker::run(config, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fanout-worker: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
