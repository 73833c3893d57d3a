//! Helpers shared by the integration tests: a russh client that pins the expected host key and
//! reads a device's CLI the way fanout's client does.
#![allow(dead_code)]

use anyhow::{Context, Result, bail};
use fanout_devsim::{Fleet, FleetConfig};
use russh::client::{self, Handle};
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use russh::{Channel, ChannelMsg};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const SEED: u64 = 42;
pub const WAIT: Duration = Duration::from_secs(10);

/// Accepts the server only if it presents the expected key, and records what it saw.
pub struct Pinned {
    pub expected: PublicKey,
}

impl client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(matches!(key, PublicKeyOrCertificate::PublicKey { key, .. } if *key == self.expected))
    }
}

pub async fn connect(address: Ipv4Addr, port: u16, expected: PublicKey) -> Result<Handle<Pinned>> {
    let config = Arc::new(client::Config::default());
    let handle = tokio::time::timeout(
        WAIT,
        client::connect(
            config,
            SocketAddr::from((address, port)),
            Pinned { expected },
        ),
    )
    .await
    .context("connect timed out")??;
    Ok(handle)
}

pub async fn login(fleet: &Fleet, index: usize) -> Result<Handle<Pinned>> {
    let device = &fleet.devices()[index];
    let key = fleet.host_public_key(index).context("no such device")?;
    let mut handle = connect(device.address, fleet.port(), key).await?;
    let auth = handle.authenticate_password("admin", "admin").await?;
    if !auth.success() {
        bail!("password rejected by {}", device.name);
    }
    Ok(handle)
}

pub async fn open_shell(handle: &Handle<Pinned>) -> Result<Channel<client::Msg>> {
    let channel = handle.channel_open_session().await?;
    channel
        .request_pty(true, "vt100", 80, 24, 0, 0, &[])
        .await?;
    channel.request_shell(true).await?;
    Ok(channel)
}

/// Reads channel data until the text read so far ends with `suffix`.
pub async fn read_until(channel: &mut Channel<client::Msg>, suffix: &str) -> Result<String> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if String::from_utf8_lossy(&got).ends_with(suffix) {
            return Ok(String::from_utf8(got)?);
        }
        let msg = tokio::time::timeout_at(deadline, channel.wait())
            .await
            .with_context(|| {
                format!(
                    "timed out waiting for {suffix:?}; got {:?}",
                    String::from_utf8_lossy(&got)
                )
            })?;
        match msg {
            Some(ChannelMsg::Data { data }) => got.extend_from_slice(&data),
            Some(ChannelMsg::Eof | ChannelMsg::Close) | None => bail!(
                "channel closed before {suffix:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
            Some(_) => {}
        }
    }
}

/// Sends a command line and returns its output: echo and trailing prompt stripped, CRLF → LF,
/// which is what fanout's client does.
pub async fn command(
    channel: &mut Channel<client::Msg>,
    line: &str,
    prompt: &str,
) -> Result<String> {
    channel.data(format!("{line}\n").as_bytes()).await?;
    let raw = read_until(channel, prompt).await?;
    let body = raw
        .strip_prefix(&format!("{line}\r\n"))
        .with_context(|| format!("no echo of {line:?} in {raw:?}"))?;
    let body = body.strip_suffix(prompt).unwrap_or(body);
    Ok(body.replace("\r\n", "\n"))
}

/// Reads everything until the server closes the channel; returns the data and the exit status.
pub async fn read_to_close(channel: &mut Channel<client::Msg>) -> Result<(String, Option<u32>)> {
    let mut got = Vec::new();
    let mut status = None;
    loop {
        match tokio::time::timeout(WAIT, channel.wait()).await? {
            Some(ChannelMsg::Data { data }) => got.extend_from_slice(&data),
            Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status),
            Some(ChannelMsg::Close) | None => return Ok((String::from_utf8(got)?, status)),
            Some(_) => {}
        }
    }
}

pub fn fleet_config(count: usize) -> FleetConfig {
    FleetConfig {
        count,
        seed: SEED,
        ..FleetConfig::default()
    }
}
