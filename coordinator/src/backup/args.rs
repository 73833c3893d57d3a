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

    #[command(flatten)]
    pub options: BackupOptions,

    #[command(flatten)]
    pub execution: ExecutionArgs,

    /// How to report on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// What a backup does besides collecting: where files go, who commits, what is masked, where
/// the branch is pushed and who is told. Shared by `fanout backup` and the scheduled backups
/// of `fanout serve`.
#[derive(Args, Clone)]
pub struct BackupOptions {
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
    /// it first): a local path, `file://`, `ssh://` with the key of --push-ssh-key or
    /// ssh-agent, the server checked against --push-known-hosts, or `https://` with the
    /// credentials of FANOUT_GIT_USERNAME and FANOUT_GIT_PASSWORD (a password or a token).
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

    /// The private key --push uses for an `ssh://` remote (its passphrase, if any, in
    /// FANOUT_PUSH_SSH_PASSPHRASE); without it, ssh-agent's keys.
    #[arg(long, value_name = "FILE", env = "FANOUT_PUSH_SSH_KEY")]
    pub push_ssh_key: Option<PathBuf>,

    /// known_hosts that must hold the `ssh://` remote's host key [default: ~/.ssh/known_hosts].
    /// An unknown or different key refuses the push.
    #[arg(long, value_name = "FILE", env = "FANOUT_PUSH_KNOWN_HOSTS")]
    pub push_known_hosts: Option<PathBuf>,

    /// PEM certificate(s) of the CA that signed an `https://` remote's certificate, trusted
    /// instead of the system's roots (a private CA). The certificate is always verified.
    #[arg(long, value_name = "FILE", env = "FANOUT_PUSH_CA")]
    pub push_ca: Option<PathBuf>,

    #[command(flatten)]
    pub email: EmailArgs,
}

/// `--notify-email`: the monitor's SMTP notifier, configured by flags.
#[derive(Args, Clone)]
pub struct EmailArgs {
    /// Mail a notice for each changed or failed device to this address (needs --smtp and
    /// --smtp-from). Repeat for several.
    #[arg(long = "notify-email", value_name = "ADDRESS", requires_all = ["smtp", "smtp_from"])]
    pub to: Vec<String>,

    /// The SMTP server, HOST or HOST:PORT (587 when not given).
    #[arg(long, value_name = "HOST[:PORT]", env = "FANOUT_SMTP")]
    pub smtp: Option<String>,

    /// The sender address of the mails.
    #[arg(long, value_name = "ADDRESS", env = "FANOUT_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// Log in to the SMTP server as this user; the password is read from the environment
    /// variable FANOUT_SMTP_PASSWORD, never from a flag.
    #[arg(long, value_name = "USER", env = "FANOUT_SMTP_USER")]
    pub smtp_user: Option<String>,

    /// Send without STARTTLS (a relay on this machine). Without it, a server that cannot
    /// upgrade the connection gets nothing.
    #[arg(long)]
    pub smtp_plaintext: bool,
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

/// `fanout serve`'s scheduled backups: the same backup as `fanout backup`, run by the
/// coordinator on its own workers every interval or at the times of a cron pattern.
#[derive(Args, Clone)]
#[command(next_help_heading = "Scheduled backups")]
pub struct ScheduledBackupArgs {
    /// Back up the configurations of --backup-inventory into this git repository on the
    /// schedule of --backup-every or --backup-cron.
    // Not FANOUT_BACKUP_REPO, the generic name: that is `fanout backup --repo`'s variable,
    // and exporting it for backups by hand must not turn on a coordinator's schedule.
    #[arg(
        long,
        value_name = "DIR",
        requires = "backup_inventory",
        env = "FANOUT_SERVE_BACKUP_REPO"
    )]
    pub backup_repo: Option<PathBuf>,

    /// The inventory of the scheduled backups, read again before every run (so an edit is
    /// picked up without a restart). Repeat to merge several.
    #[arg(long, value_name = "PATH", requires = "backup_repo")]
    pub backup_inventory: Vec<PathBuf>,

    /// Only hosts matching KEY=VALUE. Repeat to narrow further.
    #[arg(
        long = "backup-filter",
        value_name = "KEY=VALUE",
        requires = "backup_repo"
    )]
    pub backup_filters: Vec<String>,

    /// Platform profiles (*.yaml) that add to or replace the built-in ones.
    #[arg(long, value_name = "DIR", requires = "backup_repo")]
    pub backup_platforms: Option<PathBuf>,

    /// Run a backup at start and then this long after each run started (e.g. 1h, 30m).
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = crate::cli::parse_positive_duration,
        requires = "backup_repo",
        conflicts_with = "backup_cron"
    )]
    pub backup_every: Option<std::time::Duration>,

    /// Run a backup at the times of this crontab pattern (five fields, the coordinator's local
    /// time zone: `0 2 * * *` is every night at two; a leading sixth field of seconds is
    /// accepted too).
    #[arg(long, value_name = "PATTERN", requires = "backup_repo")]
    pub backup_cron: Option<String>,

    /// known_hosts the workers check devices against [default: each worker's own].
    #[arg(long, value_name = "FILE", requires = "backup_repo")]
    pub backup_known_hosts: Option<PathBuf>,

    #[command(flatten)]
    pub execution: BackupExecution,

    #[command(flatten)]
    pub options: BackupOptions,
}

/// `fanout backup`'s execution flags that mean something for a job of `fanout serve`, offered
/// to scheduled backups as `--backup-<name>` (serve has flags of its own by some of those
/// names). They are the very flags of [`ExecutionArgs`], renamed: same help, defaults and
/// parsers, and what is given is parsed again by `ExecutionArgs` itself, so the two cannot
/// drift apart.
/// Boxed: `fanout serve`'s arguments are already the largest of the commands.
#[derive(Clone)]
pub struct BackupExecution(pub Box<ExecutionArgs>);

/// By their `ExecutionArgs` ids. Not offered: --workers, --respawn, --drain-grace and
/// --lease-timeout (local worker processes: serve's workers attach), --known-hosts
/// (--backup-known-hosts), --max-output (serve's own --max-output caps every job),
/// --concurrency (each worker's own setting).
const SCHEDULED_EXECUTION: &[&str] = &[
    "connect_timeout",
    "command_timeout",
    "host_timeout",
    "host_key_policy",
    "retries",
    "retry_backoff",
    "connect_rate",
];

fn scheduled_id(id: &str) -> String {
    format!("backup_{id}")
}

impl clap::Args for BackupExecution {
    fn augment_args(mut command: clap::Command) -> clap::Command {
        let template = ExecutionArgs::augment_args(clap::Command::new("backup"));
        for (order, arg) in template.get_arguments().enumerate() {
            let id = arg.get_id().as_str();
            if !SCHEDULED_EXECUTION.contains(&id) {
                continue;
            }
            let long = arg.get_long().unwrap_or(id);
            // clap wants 'static names without its `string` feature; a handful, once.
            let renamed_id: &'static str = Box::leak(scheduled_id(id).into_boxed_str());
            let renamed_long: &'static str = Box::leak(format!("backup-{long}").into_boxed_str());
            command = command.arg(
                arg.clone()
                    .id(renamed_id)
                    .long(renamed_long)
                    .requires("backup_repo")
                    // With the other scheduled-backup flags, after them, in `fanout backup`'s
                    // order.
                    .help_heading("Scheduled backups")
                    .display_order(1000 + order),
            );
        }
        command
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

impl clap::FromArgMatches for BackupExecution {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        // What was given, as `fanout backup` would have been given it; the rest defaults.
        let mut argv = vec!["backup".to_string()];
        let template = ExecutionArgs::augment_args(clap::Command::new("backup"));
        for arg in template.get_arguments() {
            let id = arg.get_id().as_str();
            if !SCHEDULED_EXECUTION.contains(&id) {
                continue;
            }
            let renamed = scheduled_id(id);
            // Given on the command line, or by FANOUT_BACKUP_* (fanout.yaml ends up there).
            use clap::parser::ValueSource::{CommandLine, EnvVariable};
            if !matches!(
                matches.value_source(&renamed),
                Some(CommandLine | EnvVariable)
            ) {
                continue;
            }
            for raw in matches.get_raw(&renamed).into_iter().flatten() {
                argv.push(format!("--{}", arg.get_long().unwrap_or(id)));
                argv.push(raw.to_string_lossy().into_owned());
            }
        }
        let parsed = template.try_get_matches_from(argv)?;
        Ok(BackupExecution(Box::new(ExecutionArgs::from_arg_matches(
            &parsed,
        )?)))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::FromArgMatches;

    /// The renamed flags read FANOUT_BACKUP_<FLAG> only: were `ExecutionArgs` ever to name
    /// an environment variable of its own, the clones would keep it (and `fanout run`'s
    /// FANOUT_CONNECT_TIMEOUT would set scheduled backups), and the template that parses them
    /// again would read it too.
    #[test]
    fn scheduled_execution_flags_read_only_their_own_environment_variables() {
        let command = crate::config_file::layered();
        let serve = command.find_subcommand("serve").unwrap();
        for id in SCHEDULED_EXECUTION {
            let renamed = scheduled_id(id);
            let arg = serve
                .get_arguments()
                .find(|a| a.get_id().as_str() == renamed)
                .unwrap_or_else(|| panic!("serve has no {renamed}"));
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            let long = arg.get_long().unwrap();
            assert_eq!(env, Some(crate::config_file::env_name(long)), "{renamed}");
            assert!(long.starts_with("backup-"), "{long}");
        }
        let template = ExecutionArgs::augment_args(clap::Command::new("backup"));
        for arg in template.get_arguments() {
            assert!(
                arg.get_env().is_none(),
                "{:?} reads the environment",
                arg.get_id()
            );
        }
    }

    #[test]
    fn scheduled_execution_flags_reach_the_backups_settings() {
        let argv = [
            "fanout",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--backup-repo",
            "r",
            "--backup-inventory",
            "i",
            "--backup-retries",
            "3",
            "--backup-connect-timeout",
            "7s",
            "--backup-host-key-policy",
            "strict",
        ];
        let matches = crate::config_file::layered()
            .try_get_matches_from(argv)
            .unwrap();
        let Command::Serve(serve) = Cli::from_arg_matches(&matches).unwrap().command else {
            panic!("not serve");
        };
        let execution = &serve.backup.execution.0;
        assert_eq!(execution.retries, 3);
        assert_eq!(execution.connect_timeout, std::time::Duration::from_secs(7));
        assert!(matches!(
            execution.host_key_policy,
            crate::cli::HostKeyPolicyArg::Strict
        ));
        // Not given: `fanout backup`'s defaults.
        assert_eq!(
            execution.command_timeout,
            std::time::Duration::from_secs(60)
        );
    }

    /// `FANOUT_BACKUP_REPO` is `fanout backup --repo`'s; serve's schedule has its own name,
    /// and `fanout backup`'s push and notify settings reaching a serve without a schedule are
    /// ignored, not a refusal to start.
    #[test]
    fn backup_settings_meant_for_fanout_backup_do_not_stop_serve() {
        let command = crate::config_file::layered();
        let env_of = |sub: &str, id: &str| {
            command
                .find_subcommand(sub)
                .and_then(|s| s.get_arguments().find(|a| a.get_id().as_str() == id))
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(
            env_of("backup", "repo").as_deref(),
            Some("FANOUT_BACKUP_REPO")
        );
        assert_eq!(
            env_of("serve", "backup_repo").as_deref(),
            Some("FANOUT_SERVE_BACKUP_REPO")
        );
        let matches = command
            .try_get_matches_from(["fanout", "serve", "--push", "origin"])
            .unwrap();
        let Command::Serve(serve) = Cli::from_arg_matches(&matches).unwrap().command else {
            panic!("not serve");
        };
        assert!(serve.backup.options.push.is_some());
        let scheduled = crate::backup::scheduled::ScheduledBackups::new(serve.backup);
        assert!(matches!(scheduled, Ok(None)));
    }
}
