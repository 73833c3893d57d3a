//! A load check, not run by default: many devices at once, each logging in and collecting its
//! running-config over SSH, as a fanout benchmark would.
//!
//! `DEVSIM_LOAD_SESSIONS=2000 cargo test -p fanout-devsim --test load -- --ignored --nocapture`

mod common;

use anyhow::{Context, Result};
use common::*;
use fanout_devsim::{Fleet, FleetConfig, running_config};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "load test; run with --ignored"]
async fn many_concurrent_sessions_collect_their_configs() -> Result<()> {
    let sessions: usize = std::env::var("DEVSIM_LOAD_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let latency = Duration::from_millis(500);
    let fleet = Arc::new(
        Fleet::start(FleetConfig {
            latency,
            ..fleet_config(sessions)
        })
        .await?,
    );
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..sessions {
        let fleet = fleet.clone();
        tasks.spawn(async move {
            let name = fleet.devices()[index].name.clone();
            let handle = login(&fleet, index).await?;
            let mut shell = open_shell(&handle).await?;
            read_until(&mut shell, &format!("{name}>")).await?;
            shell.data(&b"enable\n"[..]).await?;
            read_until(&mut shell, "Password: ").await?;
            shell.data(&b"enable\n"[..]).await?;
            let prompt = format!("{name}#");
            read_until(&mut shell, &prompt).await?;
            command(&mut shell, "terminal length 0", &prompt).await?;
            let config = command(&mut shell, "show running-config", &prompt).await?;
            anyhow::ensure!(
                config == running_config(&name, SEED),
                "{name}: config differs"
            );
            Ok::<_, anyhow::Error>(())
        });
    }
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done.context("task panicked")? {
            failed += 1;
            eprintln!("{e:#}");
        }
    }
    let took = started.elapsed();
    eprintln!(
        "{sessions} sessions, 3 commands each at {latency:?}: {took:?} ({:.0} sessions/s), {failed} failed",
        sessions as f64 / took.as_secs_f64()
    );
    assert_eq!(failed, 0);
    Ok(())
}
