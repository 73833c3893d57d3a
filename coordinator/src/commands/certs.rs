//! `fanout certs`: a small private CA for one fanout deployment. It signs the coordinator's
//! server certificate (every name and address workers dial it by) and, for mTLS, one client
//! certificate per worker or client, and writes two tokens: the clients' and the workers'
//! (workers receive device credentials, so a client's token must not let it attach as one).
//! Enough to run `fanout serve` off loopback without an outside PKI; an organisation with one
//! passes its own files instead.

use super::CommandError;
use crate::cli::CertsArgs;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::fs::Permissions;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Private keys and the token: readable by the service account only.
const SECRET_MODE: u32 = 0o600;
/// Certificates are public.
const PUBLIC_MODE: u32 = 0o644;
/// Certificates start an hour in the past so a host whose clock runs a little behind accepts
/// them at once.
const CLOCK_SKEW: Duration = Duration::from_secs(3600);

/// One file `fanout certs` writes.
struct Output {
    path: PathBuf,
    contents: String,
    secret: bool,
    /// What the file is for, in the listing printed at the end.
    purpose: String,
}

pub fn run(args: CertsArgs) -> Result<u8, CommandError> {
    for name in &args.names {
        check_dns_name(name)?;
    }
    let dir = &args.dir;
    let mut outputs = issue(&args)?;
    let existing: Vec<String> = outputs
        .iter()
        .filter(|o| o.path.symlink_metadata().is_ok())
        .map(|o| o.path.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(CommandError::Input(format!(
            "{} already exist{}; pass --force to replace {}, or choose another --dir",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" },
            if existing.len() == 1 { "it" } else { "them" },
        )));
    }
    // The tokens are what every running worker and client already holds, so existing ones are
    // kept even with --force: reissuing certificates (a new CA, whose ca.pem they need anyway)
    // should not also mean handing out new tokens. A directory from before workers had a token
    // of their own gets its worker token now.
    let tokens = [
        (
            dir.join("token"),
            "client token: --token-file of serve and of clients (run, jobs, watch, ...)",
        ),
        (
            dir.join("worker-token"),
            "worker token: --worker-token-file of serve, --token-file of workers",
        ),
    ];
    let mut kept = Vec::new();
    for (path, purpose) in tokens {
        if path.symlink_metadata().is_ok() {
            kept.push(path);
            continue;
        }
        outputs.push(Output {
            path,
            contents: format!("{}\n", crate::local_cluster::random_token()),
            secret: true,
            purpose: purpose.into(),
        });
    }

    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CommandError::Input(format!("{}: cannot create: {e}", dir.display())))?;
    for output in &outputs {
        write_file(output)?;
    }

    let mut report = String::new();
    for output in &outputs {
        report.push_str(&format!(
            "wrote {}  ({})\n",
            output.path.display(),
            output.purpose
        ));
    }
    for token in kept {
        report.push_str(&format!(
            "kept  {}  (existing token; delete it to have a new one made)\n",
            token.display()
        ));
    }
    report.push_str(&next_steps(&args));
    crate::out!("{report}");
    Ok(0)
}

/// The CA, the coordinator's certificate and the client certificates, in memory: nothing is
/// written until all of them exist.
fn issue(args: &CertsArgs) -> Result<Vec<Output>, CommandError> {
    let dir = &args.dir;
    let not_before = SystemTime::now()
        .checked_sub(CLOCK_SKEW)
        .unwrap_or(UNIX_EPOCH);
    let not_after = SystemTime::now() + Duration::from_secs(u64::from(args.days) * 86_400);
    let validity = |params: &mut CertificateParams| {
        params.not_before = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_before);
        params.not_after = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_after);
    };

    let mut ca = CertificateParams::default();
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("fanout CA for {}", args.names[0]),
    );
    ca.distinguished_name
        .push(DnType::OrganizationName, "fanout");
    // It signs leaf certificates only, never another CA.
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut ca);
    let ca_key = new_key()?;
    let ca_cert = ca.self_signed(&ca_key).map_err(cert_error)?;
    let issuer = Issuer::new(ca, &ca_key);

    let mut server = leaf_params(&args.names[0], ExtendedKeyUsagePurpose::ServerAuth);
    for name in &args.names {
        let name = name.clone().try_into().map_err(|e| {
            CommandError::Input(format!("--name {name:?} is not a valid DNS name: {e}"))
        })?;
        server.subject_alt_names.push(SanType::DnsName(name));
    }
    for ip in &args.ips {
        server.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    validity(&mut server);
    let server_key = new_key()?;
    let server_cert = server.signed_by(&server_key, &issuer).map_err(cert_error)?;

    let mut outputs = vec![
        Output {
            path: dir.join("ca.pem"),
            contents: ca_cert.pem(),
            secret: false,
            purpose:
                "CA certificate: --ca-cert of workers and clients, --client-ca of serve for mTLS"
                    .into(),
        },
        Output {
            path: dir.join("ca-key.pem"),
            contents: ca_key.serialize_pem(),
            secret: true,
            purpose: "CA key: keep it off the servers; only `fanout certs` needs it".into(),
        },
        Output {
            path: dir.join("coordinator.pem"),
            contents: server_cert.pem(),
            secret: false,
            purpose: "coordinator certificate: --tls-cert of serve".into(),
        },
        Output {
            path: dir.join("coordinator-key.pem"),
            contents: server_key.serialize_pem(),
            secret: true,
            purpose: "coordinator key: --tls-key of serve".into(),
        },
    ];
    for client in &args.clients {
        let mut params = leaf_params(client, ExtendedKeyUsagePurpose::ClientAuth);
        validity(&mut params);
        let key = new_key()?;
        let cert = params.signed_by(&key, &issuer).map_err(cert_error)?;
        outputs.push(Output {
            path: dir.join(format!("client-{client}.pem")),
            contents: cert.pem(),
            secret: false,
            purpose: format!("client certificate of {client}: --client-cert"),
        });
        outputs.push(Output {
            path: dir.join(format!("client-{client}-key.pem")),
            contents: key.serialize_pem(),
            secret: true,
            purpose: format!("client key of {client}: --client-key"),
        });
    }
    Ok(outputs)
}

/// An end-entity certificate for one purpose, naming its subject and its issuer's key.
fn leaf_params(common_name: &str, purpose: ExtendedKeyUsagePurpose) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "fanout");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![purpose];
    params.use_authority_key_identifier_extension = true;
    params
}

/// ECDSA P-256: small, fast, and what rustls, OpenSSL and Go all accept.
fn new_key() -> Result<KeyPair, CommandError> {
    KeyPair::generate().map_err(cert_error)
}

fn cert_error(e: rcgen::Error) -> CommandError {
    CommandError::Internal(format!("cannot make a certificate: {e}"))
}

/// rcgen takes `time`'s date type; adding to its epoch spares a direct dependency on `time`.
fn since_epoch(at: SystemTime) -> Duration {
    at.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// A host name workers can dial: letters, digits and hyphens in dot-separated labels, with an
/// optional leading `*.` wildcard. Addresses belong in --ip, where they become IP SANs (a DNS
/// SAN holding an address matches nothing).
fn check_dns_name(name: &str) -> Result<(), CommandError> {
    if name.parse::<IpAddr>().is_ok() {
        return Err(CommandError::Input(format!(
            "--name {name}: an IP address; pass it as --ip {name}"
        )));
    }
    let labels = name.strip_prefix("*.").unwrap_or(name);
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if name.len() > 253 || !labels.split('.').all(valid_label) {
        return Err(CommandError::Input(format!(
            "--name {name:?}: not a DNS name (letters, digits and hyphens in dot-separated labels)"
        )));
    }
    Ok(())
}

/// Client names become file names, so they stay plain.
pub fn parse_client_name(name: &str) -> Result<String, String> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(name.to_string())
    } else {
        Err("use letters, digits, '-', '_' and '.' (it names client-NAME.pem)".into())
    }
}

/// Writes through a temporary file in the same directory and renames it into place, so the
/// file never exists with another mode or half written, and --force replaces it atomically.
fn write_file(output: &Output) -> Result<(), CommandError> {
    let failed = |e: std::io::Error| {
        CommandError::Input(format!("{}: cannot write: {e}", output.path.display()))
    };
    let dir = output.path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    let mode = if output.secret {
        SECRET_MODE
    } else {
        PUBLIC_MODE
    };
    file.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(failed)?;
    file.write_all(output.contents.as_bytes()).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(&output.path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Which flag takes which file, with the first name and directory filled in.
fn next_steps(args: &CertsArgs) -> String {
    let dir = args.dir.display();
    let host = &args.names[0];
    let mut text = format!(
        "\nNext steps (copy ca.pem to every host, worker-token to worker hosts only and token to \
         client hosts only; the keys stay where they are used):\n\
         \x20 coordinator: fanout serve --listen 0.0.0.0:7443 --tls-cert {dir}/coordinator.pem \
         --tls-key {dir}/coordinator-key.pem --token-file {dir}/token --worker-token-file \
         {dir}/worker-token --state-dir /var/lib/fanout\n\
         \x20 each worker: fanout-worker --coordinator https://{host}:7443 --ca-cert {dir}/ca.pem \
         --token-file {dir}/worker-token --labels site=NAME\n\
         \x20 clients:     fanout run --coordinator https://{host}:7443 --ca-cert {dir}/ca.pem \
         --token-file {dir}/token -i INVENTORY -c COMMAND\n"
    );
    if let Some(client) = args.clients.first() {
        text.push_str(&format!(
            "  mTLS:        add --client-ca {dir}/ca.pem to serve, and --client-cert \
             {dir}/client-{client}.pem --client-key {dir}/client-{client}-key.pem to a worker \
             or client (each its own NAME)\n"
        ));
    }
    text
}
