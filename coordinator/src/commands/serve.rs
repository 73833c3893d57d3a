//! `fanout serve`: flags to a [`ServeConfig`], then serve until a signal.

use super::CommandError;
use crate::backup::scheduled::ScheduledBackups;
use crate::cli::ServeArgs;
use crate::interrupts::Interrupts;
use crate::serve::hub::HubSettings;
use crate::serve::retention::Retention;
use crate::serve::{ServeConfig, serve};
use fanout_common::Secret;

pub async fn run(args: ServeArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let read = |path: &Option<std::path::PathBuf>| {
        path.as_deref()
            .map(super::read_token)
            .transpose()
            .map(|token| token.map(Secret::new))
    };
    let backup = ScheduledBackups::new(args.backup)
        .map_err(CommandError::Input)?
        .map(std::sync::Arc::new);
    let config = ServeConfig {
        listen: args.listen,
        tls: args.tls_cert.zip(args.tls_key),
        client_ca: args.client_ca,
        client_token: read(&args.token_file)?,
        worker_token: read(&args.worker_token_file)?,
        state_dir: args.state_dir,
        metrics_listen: args.metrics_listen,
        lease_timeout: args.lease_timeout,
        max_output_bytes: args.max_output,
        backup,
        hub: HubSettings {
            affinity_keys: args
                .affinity_keys
                .into_iter()
                .filter(|k| !k.is_empty())
                .collect(),
            placement_wait: args.placement_wait,
            retention: Retention {
                max_age: (!args.keep.is_zero()).then_some(args.keep),
                max_jobs: (args.keep_jobs > 0).then_some(args.keep_jobs),
            },
        },
    };
    // The first signal stops serving; running jobs resume from the state directory.
    serve(config, interrupts.drain)
        .await
        .map_err(|e| CommandError::Input(e.to_string()))?;
    Ok(0)
}
