//! Shared test helpers: a local webhook receiver, a real SMTP server process, a recording
//! notifier, and scripted polls.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use fanout_monitor::notify::{Notice, Notifier, NotifyError, SendFuture};
use fanout_monitor::{PollOutcome, PollResult, Values};
use tokio::sync::Semaphore;

pub fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
}

pub fn intfs(t: u64, host: &str, rows: &[(&str, &str)]) -> PollResult {
    let table: BTreeMap<String, String> = rows
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PollResult {
        host: host.into(),
        at: at(t),
        check: "interfaces".into(),
        outcome: PollOutcome::Ok(Values::Table(table)),
    }
}

pub fn cpu(t: u64, host: &str, v: f64) -> PollResult {
    PollResult {
        host: host.into(),
        at: at(t),
        check: "cpu".into(),
        outcome: PollOutcome::Ok(Values::Number(v)),
    }
}

/// Wait until `cond` holds, or fail after `secs` seconds with `what`.
pub async fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A webhook receiver on 127.0.0.1:0 that records every JSON body and answers 500 to the
/// first `fail_first` requests.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    pub requests: Arc<AtomicU32>,
}

impl Receiver {
    pub async fn start(fail_first: u32) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let rx = Receiver {
            addr,
            bodies: Arc::default(),
            requests: Arc::default(),
        };
        let state = (rx.clone(), fail_first);
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        rx
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().expect("lock").clone()
    }
}

async fn hook(
    State((rx, fail_first)): State<(Receiver, u32)>,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    let n = rx.requests.fetch_add(1, Ordering::SeqCst);
    if n < fail_first {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    rx.bodies.lock().expect("lock").push(body);
    StatusCode::OK
}

/// Whether a test needing `tool` should run: absent tools skip locally with a message, but
/// fail under CI, which installs them.
pub fn have(tool: &str, probe: &mut Command) -> bool {
    let ok = probe
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is missing under CI; .ci/run should install it"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    ok
}

/// A real SMTP server process (aiosmtpd) on a free loopback port, storing mail in a Maildir.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    /// None when aiosmtpd is not installed (outside CI).
    pub fn start() -> Option<SmtpServer> {
        if !have(
            "python3 aiosmtpd",
            Command::new("python3").args(["-c", "import aiosmtpd"]),
        ) {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("Maildir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::fs::File::create(dir.path().join("smtpd.log")).expect("log");
        let mut child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn aiosmtpd");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join("smtpd.log")).unwrap_or_default();
                panic!("aiosmtpd exited with {status}:\n{log}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(SmtpServer {
            port,
            maildir,
            child,
            _dir: dir,
        })
    }

    /// Every delivered message, raw.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A notifier that records what it was asked to send; it can be made to fail or to hold
/// every send until released.
#[derive(Default)]
pub struct Recorder {
    pub sent: Mutex<Vec<Notice>>,
    pub calls: AtomicU32,
    /// Fail this many first attempts.
    pub fail_first: u32,
    /// When set, each send waits for a permit.
    pub gate: Option<Arc<Semaphore>>,
}

impl Recorder {
    pub fn notices(&self) -> Vec<Notice> {
        self.sent.lock().expect("lock").clone()
    }
}

impl Notifier for Recorder {
    fn send<'a>(&'a self, notice: &'a Notice) -> SendFuture<'a> {
        Box::pin(async move {
            if let Some(gate) = &self.gate {
                gate.acquire().await.expect("gate").forget();
            }
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n < self.fail_first {
                return Err(NotifyError::Http("scripted failure".into()));
            }
            self.sent.lock().expect("lock").push(notice.clone());
            Ok(())
        })
    }
}

/// Lines of a JSON-lines file.
pub fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}
