//! The live dashboard in a real browser: headless Chromium (driven over WebDriver by
//! chromedriver) loads `fanout monitor`'s page, a flap forced through devsim's control API turns
//! the interface's cell red without a reload, and a screenshot is kept as a test artifact.
//!
//! Skipped with a message when chromedriver is not installed; under CI (which installs
//! `chromium` and `chromium-driver`) a missing driver fails the test instead.

#[path = "../../monitor/tests/support/mod.rs"]
mod support;

use fanout_devsim::FleetConfig;
use fanout_tests::{Lab, RunningFanout, closed_port, http, wait_until};
use fantoccini::{ClientBuilder, Locator};
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const DEVICE: &str = "r00005";
const INTERFACE: &str = "Loopback0";

/// A chromedriver process on a free loopback port, killed on drop.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> Option<ChromeDriver> {
        if !support::have(
            "chromedriver",
            Command::new("chromedriver").arg("--version"),
        ) {
            return None;
        }
        let port = closed_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        Some(ChromeDriver { child, port })
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where test artifacts go: `target/test-artifacts/`, next to the build that made them.
fn artifact(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("tests live in target/<profile>/deps")
        .to_path_buf();
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_flap_turns_the_cell_red_without_a_reload() {
    let Some(driver) = ChromeDriver::start() else {
        return;
    };
    let lab = Lab::start(FleetConfig {
        count: 20,
        seed: 4,
        ..FleetConfig::default()
    })
    .await;
    let control = lab
        .fleet
        .serve_control("127.0.0.1:0".parse().unwrap())
        .await
        .expect("control api");
    std::fs::write(
        lab.path("monitor.yaml"),
        "checks:\n  - name: interfaces\n    command: show ip interface brief\n    parse: textfsm\n    \
         track: { key: intf, field: status }\nalerts: []\n",
    )
    .unwrap();
    let dashboard = format!("127.0.0.1:{}", closed_port());
    let fanout = RunningFanout::start(&[
        "monitor",
        "-i",
        &lab.inventory_arg(),
        "--checks",
        &lab.path("monitor.yaml"),
        "--every",
        "1s",
        "--workers",
        "1",
        "--host-key-policy",
        "off",
        "--journal",
        &lab.path("alerts.jsonl"),
        "--dashboard",
        &dashboard,
    ]);

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"],
        }),
    );
    let webdriver = format!("http://127.0.0.1:{}", driver.port);
    let mut connected = None;
    for _ in 0..100 {
        let attempt = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await;
        match attempt {
            Ok(client) => {
                connected = Some(client);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let browser = connected.expect("chromedriver accepts a session within 10s");

    let cell = format!("tr[data-h=\"{DEVICE}\"] td[data-c=\"{INTERFACE}\"]");
    let class_of_cell = |browser: fantoccini::Client, cell: String| async move {
        match browser.find(Locator::Css(&cell)).await {
            Ok(element) => element.attr("class").await.ok().flatten(),
            Err(_) => None,
        }
    };
    // The monitor needs a moment to attach its worker and poll; the page shows it as it comes.
    let mut loaded = false;
    for _ in 0..60 {
        if browser.goto(&format!("http://{dashboard}/")).await.is_ok() {
            loaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(loaded, "the dashboard never answered");
    let mut green = false;
    for _ in 0..150 {
        if class_of_cell(browser.clone(), cell.clone())
            .await
            .as_deref()
            == Some("ok")
        {
            green = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(green, "{DEVICE} {INTERFACE} never showed green");
    // A marker that a reload would wipe.
    browser
        .execute("window.__not_reloaded = 42; return 0;", vec![])
        .await
        .unwrap();

    let (status, _) = http(
        control,
        "POST",
        &format!("/devices/{DEVICE}/link"),
        &format!(r#"{{"interface": "{INTERFACE}", "up": false}}"#),
    )
    .await;
    assert_eq!(status, 200);
    let mut red = false;
    for _ in 0..100 {
        if class_of_cell(browser.clone(), cell.clone())
            .await
            .as_deref()
            == Some("bad")
        {
            red = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Bring the flapped cell into the picture; the grid is wider than the window.
    browser
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center', inline: 'center'}); return 0;",
            vec![serde_json::json!(cell)],
        )
        .await
        .expect("scroll to the cell");
    let screenshot = browser.screenshot().await.expect("screenshot");
    let path = artifact("dashboard-flap.png");
    std::fs::write(&path, &screenshot).expect("save screenshot");
    eprintln!("screenshot saved to {}", path.display());
    assert!(
        red,
        "{DEVICE} {INTERFACE} never turned red (see {})",
        path.display()
    );
    let marker = browser
        .execute("return window.__not_reloaded;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, serde_json::json!(42), "the page was reloaded");
    assert!(screenshot.starts_with(b"\x89PNG"), "a PNG screenshot");
    browser.close().await.expect("session closes");

    fanout.signal(Signal::SIGINT);
    let workers = fanout.workers();
    let finished = fanout.finish(Duration::from_secs(30)).await;
    assert_eq!(finished.code, Some(0), "{}", finished.all_output());
    assert!(
        wait_until(Duration::from_secs(5), || workers
            .iter()
            .all(|p| !fanout_tests::process_alive(*p)))
        .await
    );
}
