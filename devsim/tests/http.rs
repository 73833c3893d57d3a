//! Each device's HTTP API over real TCP with a real HTTP client: the right device answers on its
//! own address, auth is checked, and the connection-level faults reach HTTP too.

mod common;

use anyhow::Result;
use common::*;
use fanout_devsim::{Fault, Fleet, FleetConfig, device_interfaces_json, device_log};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::time::Duration;

fn client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("http client builds")
}

fn url(fleet: &Fleet, index: usize, path: &str) -> String {
    let address = fleet.devices()[index].address;
    format!("http://{address}:{}{path}", fleet.http_port())
}

#[tokio::test]
async fn each_device_serves_its_own_log_and_interfaces_behind_auth() -> Result<()> {
    let fleet = Fleet::start(FleetConfig {
        faults: HashMap::from([(2, Fault::RejectAuth), (3, Fault::Refuse)]),
        ..fleet_config(4)
    })
    .await?;
    let http = client(Duration::from_secs(5));

    for index in 0..2 {
        let name = fleet.devices()[index].name.clone();
        let response = http
            .get(url(&fleet, index, "/log"))
            .basic_auth("admin", Some("admin"))
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await?, device_log(&name, SEED), "{name}");

        let response = http
            .get(url(&fleet, index, "/restconf/data/interfaces"))
            .bearer_auth("admin")
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str()?.to_owned();
        assert!(content_type.ends_with("+json"), "{content_type}");
        assert_eq!(response.text().await?, device_interfaces_json(&name, SEED));
    }
    assert_ne!(device_log("r00001", SEED), device_log("r00002", SEED));

    let unauthenticated = http.get(url(&fleet, 0, "/log")).send().await?;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    assert!(unauthenticated.headers().contains_key("www-authenticate"));
    let wrong = http
        .get(url(&fleet, 0, "/log"))
        .basic_auth("admin", Some("nope"))
        .send()
        .await?;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let missing = http
        .get(url(&fleet, 0, "/nope"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let rejected = http
        .get(url(&fleet, 2, "/log"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await?;
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED, "reject-auth");
    let refused = http
        .get(url(&fleet, 3, "/log"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await;
    assert!(refused.is_err(), "refuse: {refused:?}");

    let inventory: serde_yaml_ng::Value = serde_yaml_ng::from_str(&fleet.inventory_yaml())?;
    assert_eq!(
        inventory["defaults"]["data"]["http_port"].as_u64(),
        Some(u64::from(fleet.http_port()))
    );
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_silent_device_accepts_and_never_answers() -> Result<()> {
    let fleet = Fleet::start(FleetConfig {
        faults: HashMap::from([(0, Fault::Silent)]),
        ..fleet_config(2)
    })
    .await?;
    let http = client(Duration::from_millis(300));
    let silent = http.get(url(&fleet, 0, "/log")).send().await;
    assert!(silent.is_err_and(|e| e.is_timeout()));
    let healthy = http
        .get(url(&fleet, 1, "/log"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await?;
    assert_eq!(healthy.status(), StatusCode::OK);
    fleet.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn interfaces_show_links_taken_down_through_the_dynamics() -> Result<()> {
    let fleet = Fleet::start(fleet_config(2)).await?;
    let http = client(Duration::from_secs(5));
    let fetch = || async {
        let text = http
            .get(url(&fleet, 0, "/restconf/data/interfaces"))
            .basic_auth("admin", Some("admin"))
            .send()
            .await?
            .text()
            .await?;
        anyhow::Ok(serde_json::from_str::<serde_json::Value>(&text)?)
    };
    let before = fetch().await?;
    let status = |doc: &serde_json::Value, name: &str| {
        doc["ietf-interfaces:interfaces"]["interface"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .map(|i| i["oper-status"].as_str().unwrap().to_string())
    };
    let up = before["ietf-interfaces:interfaces"]["interface"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["oper-status"] == "up")
        .and_then(|i| i["name"].as_str())
        .expect("some interface is up")
        .to_string();
    fleet
        .dynamics()
        .set_link(0, &up, false)
        .map_err(anyhow::Error::msg)?;
    let after = fetch().await?;
    assert_eq!(status(&after, &up).as_deref(), Some("down"), "{up}");
    fleet.dynamics().clear(0).map_err(anyhow::Error::msg)?;
    assert_eq!(status(&fetch().await?, &up).as_deref(), Some("up"));
    fleet.shutdown().await;
    Ok(())
}
