//! Flags of `fanout backup`, `fanout diff` and `fanout history`.

use crate::cli::{ExecutionArgs, RemoteArgs, Selection};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// The git repository the configurations are committed to (created if new or empty).
    #[arg(long, value_name = "DIR", env = "FANOUT_BACKUP_REPO")]
    pub repo: PathBuf,

    /// Where each device's file goes: {host}, {group} (its first), {site} (data.site),
    /// {platform}.
    #[arg(long, default_value = super::layout::DEFAULT_LAYOUT)]
    pub layout: String,

    /// Author and committer of the backup commits.
    #[arg(
        long,
        value_name = "NAME <EMAIL>",
        env = "FANOUT_BACKUP_AUTHOR",
        default_value = "fanout <fanout@localhost>"
    )]
    pub author: String,

    /// A regular expression: lines that match it are left out of every file (added to the
    /// platform's). Repeat for several.
    #[arg(long = "volatile", value_name = "REGEX")]
    pub volatile: Vec<String>,

    /// A regular expression with capture groups: what they capture is masked in every file
    /// (added to the platform's). Repeat for several.
    #[arg(long = "secret", value_name = "REGEX")]
    pub secrets: Vec<String>,

    /// Store secrets as the devices print them instead of masking them.
    #[arg(long)]
    pub keep_secrets: bool,

    /// After the commit, push the branch to this remote of the repository (`git remote add`
    /// it first). This build reaches remotes on a local path or `file://` only.
    #[arg(long, value_name = "REMOTE")]
    pub push: Option<String>,

    /// POST a notice for each changed (with its diff, cut short) or failed device to this
    /// URL. Repeat for several.
    #[arg(long = "notify-webhook", value_name = "URL")]
    pub notify_webhooks: Vec<String>,

    /// Body of --notify-webhook: `slack` (text and blocks) or `json` (the notice itself).
    #[arg(long, value_name = "slack|json", default_value = "slack", value_parser = parse_webhook_format)]
    pub notify_webhook_format: fanout_monitor::config::WebhookFormat,

    /// Run this program (words split on blanks) once per notice, the notice as JSON on stdin.
    #[arg(long, value_name = "COMMAND")]
    pub notify_exec: Option<String>,

    #[command(flatten)]
    pub execution: ExecutionArgs,

    /// How to report on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// How backup, diff and history report: a backup's result is one report, not rows, so there
/// is no CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Readable lines.
    Human,
    /// One JSON document on stdout.
    Json,
}

fn parse_webhook_format(text: &str) -> Result<fanout_monitor::config::WebhookFormat, String> {
    match text {
        "slack" => Ok(fanout_monitor::config::WebhookFormat::Slack),
        "json" => Ok(fanout_monitor::config::WebhookFormat::Json),
        _ => Err("expected `slack` or `json`".into()),
    }
}

#[derive(Args)]
pub struct DiffArgs {
    /// The host, as the inventory names it.
    pub host: String,
    /// Compare this revision (commit, `HEAD~3`, tag) with the latest backup; without it, show
    /// the host's last change.
    pub rev: Option<String>,
    #[arg(long, value_name = "DIR", env = "FANOUT_BACKUP_REPO")]
    pub repo: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The host, as the inventory names it.
    pub host: String,
    #[arg(long, value_name = "DIR", env = "FANOUT_BACKUP_REPO")]
    pub repo: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
}
