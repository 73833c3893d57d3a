//! The flags a process gives to reach a coordinator: `fanout-worker` and the clients of `fanout
//! serve` (`run --coordinator`, `jobs`, ...) share them, so they are part of the contract, not of
//! either side.

use crate::Secret;
use crate::channel::Remote;
use std::path::PathBuf;

/// How a process proves itself to a coordinator and checks it is the right one: the flags that
/// `fanout-worker` and the clients of `fanout serve` (`run --coordinator`, `jobs`, ...) share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AccessArgs {
    /// File holding the token to present: a worker presents the coordinator's worker token
    /// (`worker-token` from `fanout certs`), a client its client token (`token`). At least 32
    /// characters. (Local workers of `fanout run` get theirs in FANOUT_WORKER_TOKEN, which
    /// takes precedence.)
    #[arg(long, env = "FANOUT_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// PEM CA that signed the coordinator's certificate (default: the public webpki roots).
    #[arg(long, env = "FANOUT_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// PEM client certificate, for a coordinator that requires mTLS (with --client-key).
    #[arg(
        long,
        env = "FANOUT_CLIENT_CERT",
        value_name = "FILE",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,

    /// PEM private key of --client-cert.
    #[arg(
        long,
        env = "FANOUT_CLIENT_KEY",
        value_name = "FILE",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,

    /// Name to expect in the coordinator's certificate (default: the URL's host).
    #[arg(long, env = "FANOUT_TLS_SERVER_NAME", value_name = "NAME")]
    pub tls_server_name: Option<String>,
}

impl AccessArgs {
    /// The coordinator at `url`, reached with these files and `token`.
    pub fn remote(&self, url: String, token: Option<Secret>) -> Remote {
        Remote {
            url,
            ca_cert: self.ca_cert.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            server_name: self.tls_server_name.clone(),
            token,
        }
    }
}
