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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FANOUT_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // Local workers write into a pipe the coordinator reads; colour codes would be noise.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // When whoever read our stderr is gone, a log line must not panic the worker (the
        // subscriber would report the failed write on stderr, and that report panics).
        .log_internal_errors(false)
        .init();
    let config = match fanout_worker::WorkerConfig::try_from(Cli::parse().worker) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fanout-worker: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = fanout_common::limits::raise_fd_limit() {
        tracing::warn!(error = %e, "cannot raise the file descriptor limit");
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
