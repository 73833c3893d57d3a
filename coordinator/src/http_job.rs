//! `fanout run --http ...`: the HTTP part of a job, checked before any connection. Every selected
//! host's URLs and headers are rendered here, so a template that names a missing field is bad
//! input (exit 2) rather than a fleet of failed hosts.

use crate::cli::{HttpArgs, HttpAuthArg};
use crate::commands::CommandError;
use fanout_common::http::{render, request_url, step_label};
use fanout_common::input::{MAX_CONFIG_BYTES, read_text};
use fanout_common::inventory::Host;
use fanout_common::proto::{HttpAuth, HttpHeader, HttpJob};
use std::path::Path;

/// The job's HTTP steps with every option applied, or `None` when the run has no `--http`.
pub fn build(args: &HttpArgs, hosts: &[Host]) -> Result<Option<HttpJob>, CommandError> {
    if args.steps.is_empty() {
        let stray = args.http_base.is_some()
            || !args.headers.is_empty()
            || args.http_body.is_some()
            || args.http_expect.is_some()
            || args.http_ca.is_some()
            || args.http_insecure
            || args.http_allow_plaintext_credentials;
        if stray {
            return Err(CommandError::Input(
                "--http-* options need at least one --http METHOD:PATH request".into(),
            ));
        }
        return Ok(None);
    }
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let body = args.http_body.as_deref().map(read_body).transpose()?;
    let mut steps = args.steps.clone();
    for step in &mut steps {
        step.headers = headers.clone();
        step.expect_status = args.http_expect.map_or(0, u32::from);
        if let Some(body) = &body
            && !matches!(step.method.as_str(), "GET" | "HEAD")
        {
            step.json_body = body.clone();
        }
    }
    let job = HttpJob {
        steps,
        base_url: args.http_base.clone().unwrap_or_default(),
        auth: match args.http_auth {
            HttpAuthArg::Basic => HttpAuth::Basic,
            HttpAuthArg::Bearer => HttpAuth::Bearer,
            HttpAuthArg::None => HttpAuth::None,
        } as i32,
        ca_pem: args
            .http_ca
            .as_deref()
            .map(read_ca)
            .transpose()?
            .unwrap_or_default(),
        insecure: args.http_insecure,
    };
    check_templates(&job, hosts, args.http_allow_plaintext_credentials)?;
    Ok(Some(job))
}

/// `Name: value`, with a name HTTP allows.
fn parse_header(text: &str) -> Result<HttpHeader, CommandError> {
    let bad = |why: &str| CommandError::Input(format!("--http-header {text:?}: {why}"));
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| bad("expected NAME: VALUE"))?;
    let name = name.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(bad("the name is not a valid HTTP header name"));
    }
    if name.eq_ignore_ascii_case("authorization") {
        return Err(bad(
            "credentials come from the inventory (see --http-auth), never from the command line",
        ));
    }
    Ok(HttpHeader {
        name: name.to_string(),
        value: value.trim().to_string(),
    })
}

/// Whether a request to `url` would send credentials where others can read them: plain
/// `http://` to anything but a loopback address (`localhost`, 127.0.0.0/8, `::1`).
fn exposes_credentials(url: &str) -> bool {
    let Some(rest) = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

/// The body as given or read from `@FILE`; it must be JSON.
fn read_body(text: &str) -> Result<String, CommandError> {
    let (body, origin) = match text.strip_prefix('@') {
        Some(path) => (
            read_text(Path::new(path), MAX_CONFIG_BYTES).map_err(|e| {
                CommandError::Input(format!("--http-body: cannot read {path}: {e}"))
            })?,
            path.to_string(),
        ),
        None => (text.to_string(), "--http-body".to_string()),
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&body) {
        return Err(CommandError::Input(format!(
            "{origin}: not JSON: line {}, column {}: {e}",
            e.line(),
            e.column()
        )));
    }
    Ok(body)
}

/// The CA file's text; it must hold at least one PEM certificate.
fn read_ca(path: &Path) -> Result<String, CommandError> {
    let text = read_text(path, MAX_CONFIG_BYTES).map_err(|e| {
        CommandError::Input(format!("--http-ca: cannot read {}: {e}", path.display()))
    })?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(CommandError::Input(format!(
            "--http-ca: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(text)
}

/// Renders every step's URL and headers for every host; the first failure names the host. A
/// request that would carry the host's credentials in clear text over the network is refused
/// unless `plaintext_credentials` allows it.
fn check_templates(
    job: &HttpJob,
    hosts: &[Host],
    plaintext_credentials: bool,
) -> Result<(), CommandError> {
    let sends_credentials = job.auth() != HttpAuth::None;
    for host in hosts {
        let facts = host.describe();
        for step in &job.steps {
            let problem = |e: fanout_common::http::TemplateError| {
                CommandError::Input(format!(
                    "--http {}: host {}: {e}",
                    step_label(step),
                    host.name
                ))
            };
            let url = request_url(job, step, &facts).map_err(problem)?;
            if sends_credentials && !plaintext_credentials && exposes_credentials(&url) {
                return Err(CommandError::Input(format!(
                    "--http {}: host {}: {url} is plain http to a host off loopback: the \
                     {} credentials would cross the network in clear text; use https, \
                     --http-auth none, or --http-allow-plaintext-credentials",
                    step_label(step),
                    host.name,
                    job.auth().as_str_name().to_ascii_lowercase(),
                )));
            }
            for header in &step.headers {
                render(&header.value, &facts).map_err(problem)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::http::parse_step;

    #[test]
    fn headers_parse_and_credentials_are_refused() {
        let h = parse_header("X-Trace:  {name} ").unwrap();
        assert_eq!((h.name.as_str(), h.value.as_str()), ("X-Trace", "{name}"));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header("Authorization: Bearer x").is_err());
    }

    #[test]
    fn bodies_must_be_json_and_options_need_a_request() {
        assert_eq!(read_body(r#"{"a": 1}"#).unwrap(), r#"{"a": 1}"#);
        let err = read_body("{oops").unwrap_err().to_string();
        assert!(err.contains("not JSON") && err.contains("line 1"), "{err}");
        let stray = HttpArgs {
            http_insecure: true,
            ..HttpArgs::default()
        };
        assert!(build(&stray, &[]).is_err());
        assert!(build(&HttpArgs::default(), &[]).unwrap().is_none());
    }

    #[test]
    fn credentials_never_cross_the_network_in_clear_text_unless_allowed() {
        for url in [
            "http://10.1.0.1:8080/log",
            "HTTP://r1.example.net/log",
            "http://user@10.1.0.1/x",
            "http://[2001:db8::1]:80/x",
            "http://127.0.0.1.example.net/x",
        ] {
            assert!(exposes_credentials(url), "{url}");
        }
        for url in [
            "https://10.1.0.1/log",
            "http://127.1.0.7:8180/log",
            "http://localhost/x",
            "http://[::1]:8080/x",
        ] {
            assert!(!exposes_credentials(url), "{url}");
        }
        let host = |name: &str, hostname: &str| {
            let yaml = format!(
                "hosts:\n  {name}:\n    hostname: {hostname}\n    platform: cisco_ios\n    \
                 data: {{ http_port: 8080, http_scheme: http }}\n"
            );
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("hosts.yaml");
            std::fs::write(&path, yaml).unwrap();
            let options = fanout_common::inventory::LoadOptions {
                known_platforms: vec!["cisco_ios".into()],
                ..Default::default()
            };
            fanout_common::inventory::Inventory::load(&path, &options)
                .unwrap()
                .select(&[])
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        let args = |auth, allow| HttpArgs {
            steps: vec![parse_step("GET:/log").unwrap()],
            http_auth: auth,
            http_allow_plaintext_credentials: allow,
            ..HttpArgs::default()
        };
        let remote = host("r1", "10.1.0.1");
        let refused = build(&args(HttpAuthArg::Basic, false), &remote)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("host r1: http://10.1.0.1:8080/log is plain http")
                && refused.contains("--http-allow-plaintext-credentials"),
            "{refused}"
        );
        assert!(build(&args(HttpAuthArg::Bearer, false), &remote).is_err());
        assert!(build(&args(HttpAuthArg::Basic, true), &remote).is_ok());
        assert!(build(&args(HttpAuthArg::None, false), &remote).is_ok());
        let lab = host("r1", "127.1.0.1");
        assert!(build(&args(HttpAuthArg::Basic, false), &lab).is_ok());
    }

    #[test]
    fn the_body_goes_only_to_methods_that_take_one() {
        let args = HttpArgs {
            steps: vec![
                parse_step("GET:/a").unwrap(),
                parse_step("POST:/b").unwrap(),
            ],
            http_body: Some("[1]".into()),
            http_expect: Some(201),
            ..HttpArgs::default()
        };
        let job = build(&args, &[]).unwrap().unwrap();
        assert_eq!(job.steps[0].json_body, "");
        assert_eq!(job.steps[1].json_body, "[1]");
        assert_eq!(job.steps[1].expect_status, 201);
    }
}
