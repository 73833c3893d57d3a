//! `fanout`: flags, logging and signals; the subcommands live in the library.

use fanout_coordinator::cli::{Command, LogFormat};
use fanout_coordinator::commands;
use fanout_coordinator::interrupts::Interrupts;
use fanout_coordinator::run_report::EXIT_BAD_INPUT;
use fanout_coordinator::terminal_text;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = fanout_coordinator::config_file::parse_cli();
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("FANOUT_LOG").unwrap_or_else(|_| "warn".into())
    };
    match cli.log_format {
        LogFormat::Json => {
            // Local workers inherit it and log JSON too. Nothing else runs yet: no thread can
            // be reading the environment while it changes.
            unsafe { std::env::set_var("FANOUT_LOG_FORMAT", "json") };
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(filter())
                .with_writer(std::io::stderr)
                .log_internal_errors(false)
                .init();
        }
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            // `fanout serve` logs to journald or a container runtime: no colour codes there.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            // A log line to a reader that went away must not bring the process down.
            .log_internal_errors(false)
            .init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fanout: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let code = runtime.block_on(async {
        let interrupts = Interrupts::default();
        tokio::spawn(watch_signals(interrupts.clone()));
        match cli.command {
            Command::Run(args) => commands::run::run(args, interrupts).await,
            Command::Validate(args) => commands::validate::run(args, interrupts).await,
            Command::Push(args) => commands::push::run(*args, interrupts).await,
            Command::Inventory(args) => commands::inventory::run(args, interrupts).await,
            Command::Platforms(args) => commands::platforms::run(args),
            #[cfg(feature = "demo")]
            Command::Demo(args) => commands::demo::run(args, interrupts).await,
            #[cfg(feature = "demo")]
            Command::Bench(args) => commands::bench::run(args, interrupts).await,
            #[cfg(not(feature = "demo"))]
            Command::Demo(_) => Err(commands::CommandError::NotBuilt {
                command: "demo",
                feature: "demo",
            }),
            #[cfg(not(feature = "demo"))]
            Command::Bench(_) => Err(commands::CommandError::NotBuilt {
                command: "bench",
                feature: "demo",
            }),
            Command::Monitor(args) => commands::monitor::run(args, interrupts).await,
            Command::Certs(args) => commands::certs::run(args),
            Command::Serve(args) => commands::serve::run(args, interrupts).await,
            Command::Jobs(args) => commands::remote::jobs(args).await,
            Command::Watch(args) => commands::remote::watch(args, interrupts).await,
            Command::Cancel(args) => commands::remote::cancel(args).await,
            Command::Workers(args) => commands::remote::workers(args).await,
            Command::Backup(args) => commands::backup::backup(args, interrupts).await,
            Command::Diff(args) => commands::backup::diff(args),
            Command::History(args) => commands::backup::history(args),
            Command::Config(args) => fanout_coordinator::config_file::show(&args)
                .map_err(|e| commands::CommandError::Input(e.to_string())),
            Command::Completions(args) => Ok(fanout_coordinator::shell_docs::completions(&args)),
            Command::Man(args) => fanout_coordinator::shell_docs::man(&args)
                .map_err(|e| commands::CommandError::Internal(format!("man page: {e}"))),
            Command::Worker(args) => return run_worker(args, interrupts.abort).await,
        }
        .unwrap_or_else(|e| {
            // Errors may quote what a device, a worker or a coordinator said.
            let message = e.to_string();
            eprintln!("fanout: {}", terminal_text::block(&message));
            e.exit_code()
        })
    });
    ExitCode::from(code)
}

/// First Ctrl-C or SIGTERM drains, the second stops at once, a third exits without cleanup.
async fn watch_signals(interrupts: Interrupts) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return;
    };
    for round in 0.. {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        match round {
            0 => interrupts.drain.cancel(),
            1 => interrupts.abort.cancel(),
            _ => std::process::exit(130),
        }
    }
}

async fn run_worker(args: fanout_worker::WorkerArgs, stop: CancellationToken) -> u8 {
    let config = match fanout_worker::WorkerConfig::try_from(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fanout worker: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let _ = fanout_common::limits::raise_fd_limit();
    match fanout_worker::run(config, stop).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("fanout worker: {e}");
            1
        }
    }
}
