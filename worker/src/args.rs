//! Command-line flags of `fanout-worker` and the validated configuration they turn into.

use fanout_common::Secret;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Environment variable through which a coordinator hands its local children their token, so
/// the token never appears in a process listing.
pub const TOKEN_ENV: &str = "FANOUT_WORKER_TOKEN";

#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Coordinator URL, e.g. http://127.0.0.1:7443.
    #[arg(long, env = "FANOUT_COORDINATOR")]
    pub coordinator: String,

    /// File holding the token the coordinator expects (the FANOUT_WORKER_TOKEN environment
    /// variable is read when no file is given).
    #[arg(long)]
    pub token_file: Option<PathBuf>,

    /// Most device sessions this worker runs at once.
    #[arg(long, default_value_t = 1000)]
    pub concurrency: u32,

    /// Labels (key=value) that pin matching hosts to this worker.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    /// Name reported to the coordinator (defaults to a random id).
    #[arg(long)]
    pub worker_id: Option<String>,
}

/// What the runtime needs, checked.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Where to attach.
    pub coordinator: String,
    /// Sent as `authorization: Bearer ...`; `None` only for a coordinator without auth.
    pub token: Option<Secret>,
    /// Credit offered to the coordinator: never hold more hosts than this.
    pub concurrency: u32,
    /// Offered to the coordinator for host affinity.
    pub labels: BTreeMap<String, String>,
    /// Shows up in the coordinator's logs and reports.
    pub worker_id: String,
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
}

impl TryFrom<WorkerArgs> for WorkerConfig {
    type Error = ArgsError;

    fn try_from(args: WorkerArgs) -> Result<Self, ArgsError> {
        if args.concurrency == 0 {
            return Err(ArgsError::ZeroConcurrency);
        }
        let token = match &args.token_file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ArgsError::TokenFile {
                        path: path.clone(),
                        source,
                    })?;
                Some(Secret::new(text.trim()))
            }
            None => std::env::var(TOKEN_ENV).ok().map(Secret::new),
        };
        let labels = args
            .labels
            .iter()
            .map(|l| match l.split_once('=') {
                Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                _ => Err(ArgsError::BadLabel(l.clone())),
            })
            .collect::<Result<_, _>>()?;
        Ok(WorkerConfig {
            coordinator: args.coordinator,
            token,
            concurrency: args.concurrency,
            labels,
            worker_id: args.worker_id.unwrap_or_else(|| {
                format!("w-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
            }),
        })
    }
}
