//! Every fault mode over real TCP and a real russh client, each next to a healthy neighbour that
//! must not notice.

mod common;

use anyhow::{Context, Result, bail};
use common::*;
use fanout_devsim::{Fault, FaultMix, Fleet, FleetConfig, HUGE_OUTPUT_BYTES, running_config};
use russh::ChannelMsg;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Device 0 runs `fault`, device 1 is healthy.
async fn pair(fault: Fault) -> Result<Fleet> {
    let fleet = Fleet::start(FleetConfig {
        faults: HashMap::from([(0, fault)]),
        ..fleet_config(2)
    })
    .await?;
    assert_eq!(fleet.fault_of(0), Some(fault));
    assert_eq!(fleet.fault_of(1), None);
    Ok(fleet)
}

/// The healthy neighbour logs in and answers a command, unaffected.
async fn neighbour_is_fine(fleet: &Fleet) -> Result<()> {
    let handle = login(fleet, 1).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00002>").await?;
    command(&mut shell, "terminal length 0", "r00002>").await?;
    let version = command(&mut shell, "show version", "r00002>").await?;
    anyhow::ensure!(version.contains("r00002 uptime is"), "{version}");
    Ok(())
}

/// Reads data until nothing arrives for `quiet`; returns the bytes and whether the channel ended.
async fn read_for(
    channel: &mut russh::Channel<russh::client::Msg>,
    quiet: Duration,
) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(quiet, channel.wait()).await {
            Err(_) => return (got, false),
            Ok(Some(ChannelMsg::Data { data })) => got.extend_from_slice(&data),
            Ok(Some(ChannelMsg::Eof | ChannelMsg::Close) | None) => return (got, true),
            Ok(Some(_)) => {}
        }
    }
}

#[tokio::test]
async fn refuse_resets_before_any_byte() -> Result<()> {
    let fleet = pair(Fault::Refuse).await?;
    let mut stream = TcpStream::connect((fleet.devices()[0].address, fleet.port())).await?;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf)).await?;
    match read {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => bail!("expected a reset, read {n} bytes: {:?}", &buf[..n]),
    }
    let key = fleet.host_public_key(0).context("device 0")?;
    assert!(
        connect(fleet.devices()[0].address, fleet.port(), key)
            .await
            .is_err()
    );
    neighbour_is_fine(&fleet).await?;
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn stall_kex_sends_the_banner_then_nothing() -> Result<()> {
    let fleet = pair(Fault::StallKex).await?;
    let mut stream = TcpStream::connect((fleet.devices()[0].address, fleet.port())).await?;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(WAIT, stream.read(&mut buf)).await??;
    assert_eq!(&buf[..n], b"SSH-2.0-Cisco-1.25\r\n");
    // A real client sends its banner and KEXINIT and then waits forever.
    let key = fleet.host_public_key(0).context("device 0")?;
    let config = std::sync::Arc::new(russh::client::Config::default());
    let attempt = tokio::time::timeout(
        Duration::from_millis(800),
        russh::client::connect(
            config,
            (fleet.devices()[0].address, fleet.port()),
            Pinned { expected: key },
        ),
    )
    .await;
    assert!(
        attempt.is_err(),
        "the key exchange finished: {:?}",
        attempt.map(|r| r.is_ok())
    );
    let more = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
    assert!(more.is_err(), "the stalled device said more: {more:?}");
    neighbour_is_fine(&fleet).await?;
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn reject_enable_denies_the_right_secret() -> Result<()> {
    let fleet = pair(Fault::RejectEnable).await?;
    let handle = login(&fleet, 0).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00001>").await?;
    shell.data(&b"enable\n"[..]).await?;
    read_until(&mut shell, "Password: ").await?;
    shell.data(&b"enable\n"[..]).await?;
    let after = read_until(&mut shell, "r00001>").await?;
    assert_eq!(after, "\r\n% Access denied\r\n\r\nr00001>");
    neighbour_is_fine(&fleet).await?;
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn slow_trickles_one_byte_per_100ms() -> Result<()> {
    let fleet = pair(Fault::Slow).await?;
    let handle = login(&fleet, 0).await?;
    let mut shell = open_shell(&handle).await?;
    let started = Instant::now();
    let mut got = Vec::new();
    while got.len() < 6 {
        match tokio::time::timeout(WAIT, shell.wait()).await? {
            Some(ChannelMsg::Data { data }) => {
                assert_eq!(data.len(), 1, "more than one byte at once");
                got.extend_from_slice(&data);
            }
            Some(_) => {}
            None => bail!("closed"),
        }
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(500), "6 bytes in {took:?}");
    assert!(took < Duration::from_secs(3), "6 bytes in {took:?}");
    neighbour_is_fine(&fleet).await?;
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn no_prompt_never_prompts_after_a_command() -> Result<()> {
    let fleet = pair(Fault::NoPrompt).await?;
    let handle = login(&fleet, 0).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00001>").await?;
    shell
        .data(&b"terminal length 0\nshow version\n"[..])
        .await?;
    let (got, ended) = read_for(&mut shell, Duration::from_millis(700)).await;
    let got = String::from_utf8(got)?;
    assert!(!ended);
    assert!(
        got.ends_with("Configuration register is 0xF\r\n"),
        "{got:?}"
    );
    shell.data(&b"\n"[..]).await?;
    let (got, _) = read_for(&mut shell, Duration::from_millis(300)).await;
    assert!(
        !String::from_utf8_lossy(&got).contains("r00001>"),
        "{got:?}"
    );
    neighbour_is_fine(&fleet).await?;
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn garbage_answers_with_binary_and_no_prompt() -> Result<()> {
    let fleet = pair(Fault::Garbage).await?;
    let handle = login(&fleet, 0).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00001>").await?;
    shell.data(&b"show version\n"[..]).await?;
    let (got, _) = read_for(&mut shell, Duration::from_millis(500)).await;
    let answer = got
        .strip_prefix(&b"show version\r\n"[..])
        .context("no echo")?;
    assert!(answer.contains(&0) && answer.contains(&0x1b), "{answer:?}");
    assert!(!String::from_utf8_lossy(answer).contains("uptime is"));
    neighbour_is_fine(&fleet).await?;
    fleet.shutdown().await;
    Ok(())
}

/// Resident memory of this process, from /proc.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[tokio::test]
async fn huge_streams_100_mb_in_bounded_memory() -> Result<()> {
    let fleet = pair(Fault::Huge).await?;
    let handle = login(&fleet, 0).await?;
    let mut channel = handle.channel_open_session().await?;
    let before = rss_bytes();
    channel.exec(true, "show tech-support").await?;
    let mut total = 0u64;
    let mut peak = before;
    let mut status = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(60), channel.wait()).await? {
            Some(ChannelMsg::Data { data }) => {
                total += data.len() as u64;
                if total % (8 << 20) < data.len() as u64 {
                    peak = peak.max(rss_bytes());
                }
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status),
            Some(ChannelMsg::Close) | None => break,
            Some(_) => {}
        }
    }
    assert_eq!(total, HUGE_OUTPUT_BYTES);
    assert_eq!(status, Some(0));
    let grew = peak.saturating_sub(before);
    assert!(grew < 40 << 20, "memory grew by {} MB", grew >> 20);
    neighbour_is_fine(&fleet).await?;
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn hold_open_ignores_exit() -> Result<()> {
    let fleet = pair(Fault::HoldOpen).await?;
    let handle = login(&fleet, 0).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00001>").await?;
    shell.data(&b"exit\n"[..]).await?;
    shell.eof().await?;
    let mut saw = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(msg) = tokio::time::timeout_at(deadline, shell.wait()).await {
        match msg {
            Some(ChannelMsg::Data { .. }) => {}
            None => bail!("the channel went away"),
            Some(other) => saw.push(format!("{other:?}")),
        }
    }
    assert!(saw.is_empty(), "the held channel sent {saw:?}");
    // The healthy neighbour does close on exit.
    let handle = login(&fleet, 1).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00002>").await?;
    shell.data(&b"exit\n"[..]).await?;
    let (_, status) = read_to_close(&mut shell).await?;
    assert_eq!(status, Some(0));
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn fault_mix_picks_the_same_devices_for_the_same_seed() -> Result<()> {
    let mix = FaultMix {
        percent: 20.0,
        seed: 7,
        modes: vec![Fault::RejectAuth, Fault::DropMidOutput],
    };
    let config = || FleetConfig {
        fault_mix: Some(mix.clone()),
        ..fleet_config(20)
    };
    let fleet = Fleet::start(config()).await?;
    let again = Fleet::start(config()).await?;
    let faults: Vec<_> = (0..20).map(|i| fleet.fault_of(i)).collect();
    let faults_again: Vec<_> = (0..20).map(|i| again.fault_of(i)).collect();
    assert_eq!(faults, faults_again);
    assert_eq!(faults.iter().flatten().count(), 4);
    again.shutdown().await;

    // The devices the fleet says are faulty behave so; the others are healthy.
    for index in 0..20 {
        let name = fleet.devices()[index].name.clone();
        let key = fleet.host_public_key(index).context("key")?;
        let mut handle = connect(fleet.devices()[index].address, fleet.port(), key).await?;
        let ok = handle
            .authenticate_password("admin", "admin")
            .await?
            .success();
        assert_eq!(
            ok,
            fleet.fault_of(index) != Some(Fault::RejectAuth),
            "{name}"
        );
        if !ok {
            continue;
        }
        let mut channel = handle.channel_open_session().await?;
        channel.exec(true, "show running-config").await?;
        let (output, status) = read_to_close(&mut channel).await?;
        let complete = output.replace("\r\n", "\n") == running_config(&name, SEED);
        assert_eq!(complete, fleet.fault_of(index).is_none(), "{name}");
        assert_eq!(status.is_some(), complete, "{name}");
    }
    fleet.shutdown().await;
    Ok(())
}
