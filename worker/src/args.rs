//! Command-line flags of `fanout-worker` and the validated configuration they turn into.

use fanout_common::Secret;
use fanout_common::access::AccessArgs;
use fanout_common::channel::{self, ChannelError, Remote};
use fanout_common::wire::TOKEN_ENV;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Coordinator URL: https://coord:7443 (http:// only to this machine, e.g. http://127.0.0.1:7443).
    #[arg(long, env = "FANOUT_COORDINATOR", value_name = "URL")]
    pub coordinator: String,

    #[command(flatten)]
    pub access: AccessArgs,

    /// Most device sessions this worker runs at once.
    #[arg(long, env = "FANOUT_CONCURRENCY", default_value_t = 1000)]
    pub concurrency: u32,

    /// Labels that pin matching hosts to this worker, e.g. site=ams,rack=4 (--label K=V may be
    /// repeated instead).
    #[arg(
        long = "labels",
        alias = "label",
        env = "FANOUT_LABELS",
        value_name = "K=V[,K=V]",
        value_delimiter = ','
    )]
    pub labels: Vec<String>,

    /// Name reported to the coordinator (defaults to a random id).
    #[arg(long, env = "FANOUT_WORKER_ID")]
    pub worker_id: Option<String>,

    /// Exit when the coordinator goes away instead of attaching again with backoff (local
    /// workers of `fanout run` use it, so none outlives its coordinator).
    #[arg(long)]
    pub no_reconnect: bool,
}

/// What the runtime needs, checked.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Where to attach and with which credentials.
    pub remote: Remote,
    /// Credit offered to the coordinator: never hold more hosts than this.
    pub concurrency: u32,
    /// Offered to the coordinator for host affinity.
    pub labels: BTreeMap<String, String>,
    /// Shows up in the coordinator's logs and reports.
    pub worker_id: String,
    /// Attach again (with backoff) when the stream breaks or the coordinator is unreachable.
    pub reconnect: bool,
}

impl WorkerConfig {
    /// Lowers the concurrency to the sessions that fit under an open-file limit of `limit` (one
    /// socket each, beside the worker's own descriptors), so that sessions past the limit do
    /// not fail as if their devices were at fault. Returns the warning to give when it did.
    pub fn fit_fd_limit(&mut self, limit: u64) -> Option<String> {
        let fits = fanout_common::limits::sessions_within(limit, self.concurrency);
        if fits >= self.concurrency {
            return None;
        }
        let asked = std::mem::replace(&mut self.concurrency, fits);
        Some(format!(
            "--concurrency {asked} does not fit the open-file limit of {limit}: running {fits} \
             sessions at once (raise the hard limit: `ulimit -Hn`, LimitNOFILE=)"
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// The token file could not be read.
    #[error("cannot read token file {path}: {source}")]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A label is not key=value.
    #[error("label {0:?} is not key=value")]
    BadLabel(String),
    /// Concurrency of zero would never run anything.
    #[error("--concurrency must be at least 1")]
    ZeroConcurrency,
    /// The coordinator URL, a certificate file or the token is unusable.
    #[error(transparent)]
    Remote(#[from] ChannelError),
}

impl TryFrom<WorkerArgs> for WorkerConfig {
    type Error = ArgsError;

    fn try_from(args: WorkerArgs) -> Result<Self, ArgsError> {
        if args.concurrency == 0 {
            return Err(ArgsError::ZeroConcurrency);
        }
        let token = match (std::env::var(TOKEN_ENV), &args.access.token_file) {
            (Ok(token), _) => Some(Secret::new(token)),
            (Err(_), Some(path)) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ArgsError::TokenFile {
                        path: path.clone(),
                        source,
                    })?;
                Some(Secret::new(text.trim()))
            }
            (Err(_), None) => None,
        };
        let labels = args
            .labels
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .map(|l| match l.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    Ok((k.trim().to_string(), v.trim().to_string()))
                }
                _ => Err(ArgsError::BadLabel(l.to_string())),
            })
            .collect::<Result<_, _>>()?;
        let remote = args.access.remote(args.coordinator, token);
        // Everything that can be wrong without the network is a bad flag (exit 2), found now
        // rather than after the first failed attach.
        channel::endpoint(&remote)?;
        channel::authorization(&remote)?;
        Ok(WorkerConfig {
            remote,
            concurrency: args.concurrency,
            labels,
            worker_id: args.worker_id.unwrap_or_else(|| {
                format!("w-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
            }),
            reconnect: !args.no_reconnect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        worker: WorkerArgs,
    }

    fn parse(args: &[&str]) -> Result<WorkerConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("fanout-worker").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        WorkerConfig::try_from(cli.worker).map_err(|e| e.to_string())
    }

    #[test]
    fn labels_come_comma_separated_or_one_flag_each() {
        let config = parse(&[
            "--coordinator=http://127.0.0.1:1",
            "--labels",
            "site=ams,rack=4",
            "--label",
            "role=edge",
        ])
        .unwrap();
        let labels: Vec<_> = config
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(labels, ["rack=4", "role=edge", "site=ams"]);
        assert!(config.reconnect);
        let error = parse(&["--coordinator=http://127.0.0.1:1", "--labels", "site"]).unwrap_err();
        assert!(error.contains("\"site\" is not key=value"), "{error}");
    }

    #[test]
    fn concurrency_is_cut_to_what_the_open_file_limit_holds() {
        let mut config =
            parse(&["--coordinator=http://127.0.0.1:1", "--concurrency=2000"]).unwrap();
        assert_eq!(config.fit_fd_limit(65_536), None);
        assert_eq!(config.concurrency, 2000);
        let warning = config.fit_fd_limit(1024).unwrap();
        assert_eq!(config.concurrency, 960);
        assert!(
            warning.contains("--concurrency 2000") && warning.contains("open-file limit of 1024"),
            "{warning}"
        );
    }

    #[test]
    fn unusable_remote_settings_are_flag_errors() {
        let error = parse(&["--coordinator=http://10.1.2.3:7443"]).unwrap_err();
        assert!(error.contains("use https://"), "{error}");
        let error = parse(&[
            "--coordinator=https://coord:7443",
            "--ca-cert=/nonexistent/ca.pem",
        ])
        .unwrap_err();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
        let error = parse(&[
            "--coordinator=https://coord:7443",
            "--client-cert=/tmp/c.pem",
        ])
        .unwrap_err();
        assert!(error.contains("--client-key"), "{error}");
        let config = parse(&["--coordinator=https://coord:7443", "--no-reconnect"]).unwrap();
        assert!(!config.reconnect);
        assert!(config.remote.is_tls());
    }
}
