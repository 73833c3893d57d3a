//! Flaps and CPU spikes forced through the control API show over real SSH, on the chosen device
//! only, and clear again.

mod common;

use anyhow::{Context, Result, bail};
use common::{fleet_config, login, read_to_close};
use fanout_devsim::{DynamicsConfig, FlapSchedule, Fleet, FleetConfig};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One HTTP/1.1 request with `Connection: close`; returns the status code and body.
async fn http(control: SocketAddr, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(control).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {control}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .context("control api did not answer")??;
    let raw = String::from_utf8(raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").context("no header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .context("no status")?
        .parse()?;
    Ok((status, body.to_string()))
}

async fn exec(fleet: &Fleet, index: usize, command: &str) -> Result<String> {
    let handle = login(fleet, index).await?;
    let mut channel = handle.channel_open_session().await?;
    channel.exec(true, command).await?;
    let (output, status) = read_to_close(&mut channel).await?;
    if status != Some(0) {
        bail!("{command} exited with {status:?}: {output}");
    }
    Ok(output.replace("\r\n", "\n"))
}

/// The status column of `interface` in `show ip interface brief`.
fn status_of(brief: &str, interface: &str) -> Option<String> {
    let line = brief
        .lines()
        .find(|l| l.split_whitespace().next() == Some(interface))?;
    // Columns: name 22, address 15, OK? 3, method 6, then the 21-wide status.
    Some(line.get(50..71)?.trim().to_string())
}

#[tokio::test]
async fn control_api_forces_flaps_and_cpu_spikes_on_one_device() -> Result<()> {
    let fleet = Fleet::start(fleet_config(3)).await?;
    let control = fleet.serve_control("127.0.0.1:0".parse()?).await?;
    let interface = "Loopback0";
    let cpu = "show processes cpu | include ^CPU";

    assert_eq!(
        status_of(
            &exec(&fleet, 1, "show ip interface brief").await?,
            interface
        )
        .as_deref(),
        Some("up")
    );
    let (code, body) = http(
        control,
        "POST",
        "/devices/r00002/link",
        &format!(r#"{{"interface": "{interface}", "up": false}}"#),
    )
    .await?;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(r#"{"name":"Loopback0","status":"down"}"#),
        "{body}"
    );
    let (code, body) = http(control, "POST", "/devices/r00002/cpu", r#"{"percent": 96}"#).await?;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""cpu":96"#), "{body}");

    let brief = exec(&fleet, 1, "show ip interface brief").await?;
    assert_eq!(
        status_of(&brief, interface).as_deref(),
        Some("down"),
        "{brief}"
    );
    assert!(
        exec(&fleet, 1, cpu)
            .await?
            .starts_with("CPU utilization for five seconds: 96%/0%;")
    );
    // The neighbour is untouched.
    let other = exec(&fleet, 2, "show ip interface brief").await?;
    assert_eq!(status_of(&other, interface).as_deref(), Some("up"));
    assert!(
        exec(&fleet, 2, cpu)
            .await?
            .starts_with("CPU utilization for five seconds: 3%/0%;")
    );

    let (code, body) = http(control, "POST", "/devices/r00002/clear", "").await?;
    assert_eq!(code, 200, "{body}");
    let brief = exec(&fleet, 1, "show ip interface brief").await?;
    assert_eq!(status_of(&brief, interface).as_deref(), Some("up"));
    assert!(
        exec(&fleet, 1, cpu)
            .await?
            .starts_with("CPU utilization for five seconds: 3%/0%;")
    );

    // Mistakes are named.
    let (code, body) = http(control, "GET", "/devices/r99999", "").await?;
    assert_eq!((code, body.as_str()), (404, r#"no device named "r99999""#));
    let (code, body) = http(
        control,
        "POST",
        "/devices/r00001/link",
        r#"{"interface": "Serial9/9", "up": false}"#,
    )
    .await?;
    assert_eq!(code, 400);
    assert!(body.contains("Serial9/9"), "{body}");
    let (code, _) = http(
        control,
        "POST",
        "/devices/r00001/cpu",
        r#"{"percent": 300}"#,
    )
    .await?;
    assert!(
        code >= 400,
        "an impossible percentage is refused, got {code}"
    );
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn control_api_only_listens_on_loopback() -> Result<()> {
    let fleet = Fleet::start(fleet_config(1)).await?;
    let err = fleet
        .serve_control("0.0.0.0:0".parse()?)
        .await
        .expect_err("a wildcard control address must be refused");
    assert!(err.to_string().contains("127.0.0.0/8"), "{err}");
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn scheduled_flaps_show_over_ssh() -> Result<()> {
    let fleet = Fleet::start(FleetConfig {
        dynamics: DynamicsConfig {
            flap: Some(FlapSchedule {
                percent: 100.0,
                period: Duration::from_millis(600),
                seed: 3,
            }),
            cpu: None,
        },
        ..fleet_config(1)
    })
    .await?;
    let mut downs = std::collections::BTreeSet::new();
    for _ in 0..12 {
        let output = exec(&fleet, 0, "show ip interface brief").await?;
        downs.insert(output.matches(" down ").count());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        downs.len() >= 2,
        "one interface should go down and come back: {downs:?}"
    );
    fleet.shutdown().await;
    Ok(())
}
