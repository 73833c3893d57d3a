//! Telling people what a backup found, through the monitor's notifiers: one notice per device
//! whose configuration changed (with its diff, cut short) or whose backup failed, and for
//! email the whole run in one mail. The diff is of the stored, normalised files, so a masked
//! secret is never in it; with `--keep-secrets` notices carry line counts only.

use super::args::{BackupOptions, EmailArgs};
use super::store::Committed;
use fanout_monitor::config::{EmailConfig, Password, WebhookConfig};
use fanout_monitor::event::{Event, EventKind};
use fanout_monitor::notify::email::EmailNotifier;
use fanout_monitor::notify::exec::ExecNotifier;
use fanout_monitor::notify::webhook::WebhookNotifier;
use fanout_monitor::notify::{Notice, Notifier};
use std::time::{Duration, SystemTime};

/// Devices notified one by one; past this, the rest are summed up in one notice, so a
/// fleet-wide change does not send ten thousand messages.
pub const MAX_NOTICES: usize = 20;
/// Lines of diff in a notice.
const DIFF_LINES: usize = 40;
/// Bytes of diff in a notice, whatever its lines.
const DIFF_BYTES: usize = 3000;
/// One delivery attempt, connect included.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Where notices go (`--notify-webhook`, `--notify-exec`, `--notify-email`).
pub struct Notifiers {
    targets: Vec<Target>,
    with_diff: bool,
}

/// One destination, and whether it gets the run's notices one by one (a webhook's channel, a
/// program that handles events) or as one digest (a mailbox: one mail a run, not a device).
struct Target {
    name: String,
    notifier: Box<dyn Notifier>,
    digest: bool,
}

impl Notifiers {
    /// The notifiers `options` asks for, checked now: a bad URL or address is refused before
    /// any device is contacted. Secrets stay out of every notice unless the run keeps them,
    /// in which case notices carry line counts only.
    pub fn new(options: &BackupOptions) -> Result<Self, String> {
        let mut targets = Vec::new();
        for url in &options.notify_webhooks {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("--notify-webhook {url:?} is not an http(s) URL"));
            }
            let config = WebhookConfig {
                url: url.clone(),
                format: options.notify_webhook_format,
            };
            let notifier = WebhookNotifier::new(&config, SEND_TIMEOUT)
                .map_err(|e| format!("--notify-webhook: {e}"))?;
            targets.push(Target {
                name: format!("webhook {url}"),
                notifier: Box::new(notifier),
                digest: false,
            });
        }
        if let Some(command) = &options.notify_exec {
            let argv: Vec<String> = command.split_whitespace().map(str::to_string).collect();
            let notifier =
                ExecNotifier::new(argv, SEND_TIMEOUT).map_err(|e| format!("--notify-exec: {e}"))?;
            targets.push(Target {
                name: format!("exec {command}"),
                notifier: Box::new(notifier),
                digest: false,
            });
        }
        if let Some(config) = email_config(&options.email, |name| std::env::var(name).ok())? {
            let notifier = EmailNotifier::new(&config, SEND_TIMEOUT)
                .map_err(|e| format!("--notify-email: {e}"))?;
            targets.push(Target {
                name: format!("email {}", config.to.join(",")),
                notifier: Box::new(notifier),
                digest: true,
            });
        }
        Ok(Notifiers {
            targets,
            with_diff: !options.keep_secrets,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Sends the run's notices to every target; a target that fails is reported on stderr and
    /// does not stop the others (the backup itself is already committed).
    pub async fn send(&self, committed: &Committed) {
        let notices = notices(committed, self.with_diff);
        if notices.is_empty() {
            return;
        }
        // Joining every diff is work only a mailbox needs.
        let digest: Vec<Notice> = match self.targets.iter().any(|t| t.digest) {
            true => vec![digest(committed, &notices)],
            false => Vec::new(),
        };
        for target in &self.targets {
            let batch = if target.digest { &digest } else { &notices };
            for notice in batch {
                if let Err(e) = target.notifier.send(notice).await {
                    eprintln!("fanout: notifying {} failed: {e}", target.name);
                    break;
                }
            }
        }
    }
}

/// The SMTP settings of `--notify-email`, `None` without recipients. The password comes from
/// the environment (FANOUT_SMTP_PASSWORD), so it is never in a process listing or a shell
/// history.
fn email_config(
    email: &EmailArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<EmailConfig>, String> {
    if email.to.is_empty() {
        return Ok(None);
    }
    let server = email.smtp.as_deref().unwrap_or_default();
    let (host, port) = match server.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("--smtp {server:?}: the port is not a number"))?;
            (host, port)
        }
        None => (server, 587),
    };
    if host.is_empty() {
        return Err(format!("--smtp {server:?}: no host"));
    }
    let credentials = match &email.smtp_user {
        None => None,
        Some(user) => {
            let password = env("FANOUT_SMTP_PASSWORD")
                .ok_or_else(|| format!("--smtp-user {user}: FANOUT_SMTP_PASSWORD is not set"))?;
            Some((user.clone(), Password::new(password)))
        }
    };
    Ok(Some(EmailConfig {
        host: host.to_string(),
        port,
        from: email.smtp_from.clone().unwrap_or_default(),
        to: email.to.clone(),
        starttls: !email.smtp_plaintext,
        credentials,
    }))
}

/// One notice per changed or failed device, at most [`MAX_NOTICES`], then one for the rest.
pub fn notices(committed: &Committed, with_diff: bool) -> Vec<Notice> {
    let at = SystemTime::now();
    let commit = committed.commit.as_deref().map(|c| &c[..c.len().min(12)]);
    let mut notices = Vec::new();
    for change in &committed.changed {
        let mut summary = format!(
            "{}: configuration {} (+{} -{}){}",
            change.host,
            if change.new { "backed up" } else { "changed" },
            change.added,
            change.removed,
            commit
                .map(|c| format!(" in backup {c}"))
                .unwrap_or_default()
        );
        if with_diff && !change.new {
            summary.push('\n');
            summary.push_str(&truncated(&change.patch));
        }
        notices.push(event(&change.host, "config", summary, at));
    }
    for failure in &committed.failed {
        let summary = format!(
            "{}: backup failed ({}): {}",
            failure.host, failure.kind, failure.message
        );
        notices.push(event(&failure.host, "backup", summary, at));
    }
    if notices.len() > MAX_NOTICES {
        let rest = notices.len() - MAX_NOTICES;
        notices.truncate(MAX_NOTICES);
        notices.push(Notice::Suppressed { count: rest as u32 });
    }
    notices
}

/// The run's notices as one: a first line that counts them (a mail's subject), then each
/// notice's text, the devices past [`MAX_NOTICES`] counted.
pub fn digest(committed: &Committed, notices: &[Notice]) -> Notice {
    let commit = committed.commit.as_deref().map(|c| &c[..c.len().min(12)]);
    let mut summary = format!(
        "backup{}: {} changed, {} failed",
        commit.map(|c| format!(" {c}")).unwrap_or_default(),
        committed.changed.len(),
        committed.failed.len()
    );
    for notice in notices {
        summary.push_str("\n\n");
        match notice {
            Notice::Event(event) => summary.push_str(&event.summary),
            Notice::Suppressed { count } => summary.push_str(&format!(
                "... and {count} more devices (see the repository)"
            )),
        }
    }
    let at = SystemTime::now();
    event("*", "backup", summary, at)
}

fn event(host: &str, check: &str, summary: String, at: SystemTime) -> Notice {
    Notice::Event(Event {
        kind: EventKind::Alert,
        incident: format!("{host}/{check}"),
        host: host.to_string(),
        check: check.to_string(),
        key: None,
        from: None,
        to: None,
        at,
        summary,
    })
}

/// The diff's first lines, within [`DIFF_BYTES`], saying how much was left out.
fn truncated(patch: &str) -> String {
    let lines: Vec<&str> = patch.lines().collect();
    let mut out = String::new();
    let mut shown = 0;
    for line in &lines {
        if shown == DIFF_LINES || out.len() + line.len() + 1 > DIFF_BYTES {
            break;
        }
        out.push_str(line);
        out.push('\n');
        shown += 1;
    }
    if shown < lines.len() {
        out.push_str(&format!("... {} more diff lines\n", lines.len() - shown));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::store::{Change, Failure};

    fn committed(changes: usize, patch: &str) -> Committed {
        Committed {
            commit: Some("0123456789abcdef".into()),
            summary: String::new(),
            changed: (0..changes)
                .map(|i| Change {
                    host: format!("r{i}"),
                    path: format!("g/r{i}.cfg"),
                    new: false,
                    added: 1,
                    removed: 0,
                    patch: patch.to_string(),
                })
                .collect(),
            unchanged: 0,
            failed: vec![Failure {
                host: "down".into(),
                kind: "refused".into(),
                message: "connection refused".into(),
                kept: None,
            }],
        }
    }

    fn summaries(notices: &[Notice]) -> Vec<String> {
        notices.iter().map(Notice::text).collect()
    }

    #[test]
    fn a_change_carries_its_diff_and_a_failure_its_reason() {
        let notices = notices(&committed(1, "@@ -1 +1,2 @@\n a\n+b\n"), true);
        let texts = summaries(&notices);
        assert_eq!(texts.len(), 2);
        assert!(
            texts[0]
                .starts_with("ALERT: r0: configuration changed (+1 -0) in backup 0123456789ab\n@@")
        );
        assert!(texts[0].contains("\n+b\n"), "{}", texts[0]);
        assert_eq!(
            texts[1],
            "ALERT: down: backup failed (refused): connection refused"
        );
        let counts_only = notices_text(&committed(1, "+secret-ish\n"), false);
        assert!(!counts_only.contains("secret-ish"));
    }

    fn notices_text(committed: &Committed, with_diff: bool) -> String {
        summaries(&notices(committed, with_diff)).join("\n")
    }

    #[test]
    fn long_diffs_and_many_devices_are_cut_short() {
        let long: String = (0..500).map(|i| format!("+line {i}\n")).collect();
        let text = &summaries(&notices(&committed(1, &long), true))[0];
        assert!(text.len() < DIFF_BYTES + 200, "{}", text.len());
        assert!(text.ends_with("... 460 more diff lines\n"), "{text}");
        let many = notices(&committed(100, "+x\n"), true);
        assert_eq!(many.len(), MAX_NOTICES + 1);
        assert_eq!(many[MAX_NOTICES], Notice::Suppressed { count: 81 });
    }

    #[test]
    fn a_digest_counts_the_run_first_and_holds_every_notice() {
        let run = committed(100, "+x\n");
        let digest = digest(&run, &notices(&run, true));
        let text = &summaries(std::slice::from_ref(&digest))[0];
        let first = text.lines().next().unwrap();
        assert_eq!(first, "ALERT: backup 0123456789ab: 100 changed, 1 failed");
        assert_eq!(text.matches("configuration changed").count(), MAX_NOTICES);
        assert!(
            text.ends_with("... and 81 more devices (see the repository)"),
            "{text}"
        );
    }
}
