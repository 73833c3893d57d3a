//! The fleet over real TCP and real SSH (a russh client), on loopback.

mod common;

use anyhow::{Context, Result, bail};
use common::*;
use fanout_devsim::{Fault, Fleet, FleetConfig, running_config};
use russh::client::KeyboardInteractiveAuthResponse;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn each_device_has_its_own_key_prompt_and_running_config() -> Result<()> {
    let fleet = Fleet::start(fleet_config(20)).await?;
    assert_ne!(fleet.port(), 0);
    let mut configs = Vec::new();
    for index in [3, 17] {
        let name = fleet.devices()[index].name.clone();
        let handle = login(&fleet, index).await?;
        let mut shell = open_shell(&handle).await?;
        let banner = read_until(&mut shell, &format!("{name}>")).await?;
        assert!(banner.ends_with(&format!("\r\n{name}>")), "{banner:?}");

        shell.data(&b"enable\n"[..]).await?;
        read_until(&mut shell, "Password: ").await?;
        shell.data(&b"enable\n"[..]).await?;
        let after = read_until(&mut shell, &format!("{name}#")).await?;
        assert_eq!(after, format!("\r\n{name}#"), "the secret is not echoed");

        let prompt = format!("{name}#");
        assert_eq!(command(&mut shell, "terminal length 0", &prompt).await?, "");
        let config = command(&mut shell, "show running-config", &prompt).await?;
        assert_eq!(config, running_config(&name, SEED), "{name}");
        configs.push(config);

        shell.data(&b"exit\n"[..]).await?;
        let (rest, _) = read_to_close(&mut shell).await?;
        assert_eq!(rest, "exit\r\n");
    }
    assert_ne!(configs[0], configs[1]);
    assert_eq!(fleet.connections_accepted(), 2);

    // Device 3 presents its own key, not device 17's: a client pinning 17's key refuses it.
    let wrong = fleet.host_public_key(17).context("device 17")?;
    assert_ne!(Some(&wrong), fleet.host_public_key(3).as_ref());
    assert!(
        connect(fleet.devices()[3].address, fleet.port(), wrong)
            .await
            .is_err()
    );
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn keyboard_interactive_login_and_exec() -> Result<()> {
    let fleet = Fleet::start(fleet_config(3)).await?;
    let device = fleet.devices()[1].clone();
    let key = fleet.host_public_key(1).context("device 1")?;
    let mut handle = connect(device.address, fleet.port(), key).await?;
    let reply = handle
        .authenticate_keyboard_interactive_start("admin", None)
        .await?;
    let KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } = reply else {
        bail!("expected a password prompt, got {reply:?}");
    };
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].prompt, "Password: ");
    assert!(!prompts[0].echo);
    let reply = handle
        .authenticate_keyboard_interactive_respond(vec!["admin".into()])
        .await?;
    assert!(
        matches!(reply, KeyboardInteractiveAuthResponse::Success),
        "{reply:?}"
    );

    let mut channel = handle.channel_open_session().await?;
    channel.exec(true, "show running-config").await?;
    let (output, status) = read_to_close(&mut channel).await?;
    assert_eq!(status, Some(0));
    assert_eq!(
        output.replace("\r\n", "\n"),
        running_config(&device.name, SEED)
    );
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn wrong_password_is_rejected() -> Result<()> {
    let fleet = Fleet::start(fleet_config(2)).await?;
    let key = fleet.host_public_key(0).context("device 0")?;
    let mut handle = connect(fleet.devices()[0].address, fleet.port(), key).await?;
    assert!(
        !handle
            .authenticate_password("admin", "guess")
            .await?
            .success()
    );
    assert!(
        handle
            .authenticate_password("admin", "admin")
            .await?
            .success()
    );
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn latency_delays_command_output_but_not_login() -> Result<()> {
    let latency = Duration::from_millis(400);
    let fleet = Fleet::start(FleetConfig {
        latency,
        ..fleet_config(2)
    })
    .await?;
    let started = Instant::now();
    let handle = login(&fleet, 0).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00001>").await?;
    assert!(
        started.elapsed() < latency,
        "login took {:?}",
        started.elapsed()
    );

    let sent = Instant::now();
    let version = command(&mut shell, "terminal length 0", "r00001>").await?;
    assert_eq!(version, "");
    let took = sent.elapsed();
    assert!(took >= latency, "output came after {took:?}");
    assert!(took < latency * 3, "output came after {took:?}");
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn faults_misbehave_as_documented() -> Result<()> {
    let fleet = Fleet::start(FleetConfig {
        faults: HashMap::from([
            (0, Fault::Silent),
            (1, Fault::RejectAuth),
            (2, Fault::DropMidOutput),
        ]),
        ..fleet_config(4)
    })
    .await?;
    let port = fleet.port();
    let devices = fleet.devices().to_vec();

    // Silent: the TCP connection is accepted and stays open, but not even a banner arrives.
    let mut silent = TcpStream::connect((devices[0].address, port)).await?;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(500), silent.read(&mut buf)).await;
    assert!(read.is_err(), "the silent device said something: {read:?}");

    // RejectAuth: the right password is refused.
    let key = fleet.host_public_key(1).context("device 1")?;
    let mut handle = connect(devices[1].address, port, key).await?;
    assert!(
        !handle
            .authenticate_password("admin", "admin")
            .await?
            .success()
    );

    // DropMidOutput: half the running-config, then the channel closes without a prompt.
    let handle = login(&fleet, 2).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00003>").await?;
    shell
        .data(&b"enable\nenable\nterminal length 0\nshow running-config\n"[..])
        .await?;
    let (output, status) = read_to_close(&mut shell).await?;
    assert_eq!(status, None);
    let config = running_config("r00003", SEED).replace('\n', "\r\n");
    let got = output
        .split("show running-config\r\n")
        .nth(1)
        .context("no show running-config echo")?;
    assert!(
        !got.is_empty() && got.len() < config.len(),
        "{} bytes",
        got.len()
    );
    assert!(config.starts_with(got));

    // The healthy device is unaffected by its neighbours, even with the silent one still open.
    let handle = login(&fleet, 3).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00004>").await?;
    drop(silent);
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn large_fleet_starts_quickly_and_closes_strangers() -> Result<()> {
    let started = Instant::now();
    let fleet = Fleet::start(fleet_config(2000)).await?;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "2,000 devices took {took:?} to start"
    );
    let port = fleet.port();
    let last = fleet.devices()[1999].address;
    assert_eq!(last, Ipv4Addr::new(127, 1, 7, 222));

    // Addresses that are not fleet devices: accepted by the wildcard listener, closed at once.
    for stranger in [Ipv4Addr::new(127, 1, 200, 1), Ipv4Addr::new(127, 0, 0, 1)] {
        let mut stream = TcpStream::connect((stranger, port)).await?;
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
            .await
            .with_context(|| format!("{stranger} was not closed"))?;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "{stranger} answered: {read:?}"
        );
    }
    assert_eq!(fleet.connections_accepted(), 0);

    // The last device answers with an SSH banner like any other.
    let mut stream = TcpStream::connect((last, port)).await?;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(WAIT, stream.read(&mut buf)).await??;
    assert!(
        buf[..n].starts_with(b"SSH-2.0-Cisco-1.25"),
        "{:?}",
        &buf[..n]
    );
    assert_eq!(fleet.connections_accepted(), 1);

    fleet.shutdown().await;
    assert!(
        TcpStream::connect((last, port)).await.is_err(),
        "the port still accepts after shutdown"
    );

    // The largest fleet the fd limit is sized for starts about as fast: devices cost no sockets
    // and no keys until a client connects.
    let started = Instant::now();
    let fleet = Fleet::start(fleet_config(10_000)).await?;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "10,000 devices took {took:?} to start"
    );
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_one_device_fleet_binds_only_its_own_address() -> Result<()> {
    let fleet = Fleet::start(FleetConfig {
        base: Ipv4Addr::new(127, 1, 250, 7),
        ..fleet_config(1)
    })
    .await?;
    let handle = login(&fleet, 0).await?;
    let mut shell = open_shell(&handle).await?;
    read_until(&mut shell, "r00001>").await?;
    let refused = TcpStream::connect((Ipv4Addr::new(127, 1, 250, 8), fleet.port())).await;
    assert!(
        refused.is_err(),
        "a neighbour address reached the one-device fleet"
    );
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn output_modifiers_and_new_show_commands_over_ssh() -> Result<()> {
    let fleet = Fleet::start(fleet_config(2)).await?;
    let handle = login(&fleet, 1).await?;
    for (command, expected) in [
        (
            "show running-config | include ^hostname",
            "hostname r00002\r\n".to_string(),
        ),
        (
            "show processes cpu | include ^CPU",
            "CPU utilization for five seconds: 3%/0%; one minute: 4%; five minutes: 5%\r\n".into(),
        ),
        (
            "show tech-support | count ^------------------ show",
            "Number of lines which match regexp = 5\r\n".into(),
        ),
    ] {
        let mut channel = handle.channel_open_session().await?;
        channel.exec(true, command).await?;
        let (output, status) = read_to_close(&mut channel).await?;
        assert_eq!(output, expected, "{command}");
        assert_eq!(status, Some(0));
    }
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn drifted_devices_agree_across_config_and_show_commands() -> Result<()> {
    use fanout_devsim::{Drift, DriftConfig, device_running_config};
    let fleet = Fleet::start(FleetConfig {
        drift: Some(DriftConfig {
            percent: 50.0,
            seed: 3,
        }),
        ..fleet_config(12)
    })
    .await?;
    let drifted: Vec<usize> = (0..12).filter(|&i| !fleet.drift_of(i).is_empty()).collect();
    assert_eq!(drifted.len(), 6);
    let report: serde_json::Value = serde_json::from_str(&fleet.drift_report())?;
    assert_eq!(report.as_object().map(|o| o.len()), Some(6));
    let inventory: serde_yaml_ng::Value = serde_yaml_ng::from_str(&fleet.inventory_yaml())?;
    let mut by_role: HashMap<&str, Vec<u16>> = HashMap::new();

    for index in 0..12 {
        let device = fleet.devices()[index].clone();
        let drift = fleet.drift_of(index).to_vec();
        let handle = login(&fleet, index).await?;
        let mut outputs = Vec::new();
        for command in ["show running-config", "show vlan brief", "show ip route"] {
            let mut channel = handle.channel_open_session().await?;
            channel.exec(true, command).await?;
            outputs.push(read_to_close(&mut channel).await?.0.replace("\r\n", "\n"));
        }
        let [config, vlans, routes] = &outputs[..] else {
            unreachable!()
        };
        assert_eq!(*config, device_running_config(&device.name, SEED, &drift));
        assert_eq!(
            routes.contains("\nS*    0.0.0.0/0"),
            !drift.contains(&Drift::NoDefaultRoute),
            "{}",
            device.name
        );
        assert_eq!(
            config.contains("transport input telnet ssh"),
            drift.contains(&Drift::TelnetEnabled)
        );
        assert_eq!(
            config.contains("\nntp server 10.0.0.1\n"),
            !drift.contains(&Drift::NtpMissing)
        );
        // The inventory states the intended VLANs; the device shows all but the missing one.
        let intended: Vec<u16> = inventory["hosts"][device.name.as_str()]["data"]["vlans"]
            .as_sequence()
            .context("data.vlans")?
            .iter()
            .filter_map(|v| v.as_u64().map(|v| v as u16))
            .collect();
        assert!(!intended.is_empty());
        let same_role = by_role
            .entry(device.role)
            .or_insert_with(|| intended.clone());
        assert_eq!(
            *same_role, intended,
            "one intended set per role, drifted or not"
        );
        for id in intended {
            let missing = drift.contains(&Drift::MissingVlan(id));
            let listed = vlans.lines().any(|l| l.starts_with(&format!("{id:<4} ")));
            let defined = config.contains(&format!("\nvlan {id}\n"));
            assert_eq!(
                (listed, defined),
                (!missing, !missing),
                "{} vlan {id}",
                device.name
            );
        }
        if drift.is_empty() {
            assert!(!report.as_object().unwrap().contains_key(&device.name));
            assert_eq!(*config, running_config(&device.name, SEED));
        }
    }
    fleet.shutdown().await;
    Ok(())
}
