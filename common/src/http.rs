//! HTTP steps as the CLI writes them (`GET:/log`) and their URLs, rendered from a host's fields.
//!
//! Both sides use this: the coordinator renders every selected host's URLs before any connection
//! so a bad template is bad input (exit 2), and the worker renders them again from the facts it
//! received, so the two can never disagree.

use crate::proto::{HttpJob, HttpStep};
use serde_json::Value;

/// Methods an HTTP step may use.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Why a template could not be rendered for a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{` without a closing `}`.
    #[error("unclosed '{{' in {template:?}")]
    Unclosed { template: String },
    /// A placeholder that names no host field.
    #[error(
        "unknown placeholder {{{name}}} in {template:?} (use hostname, port, name, username, platform or data.KEY)"
    )]
    Unknown { name: String, template: String },
    /// `{data.KEY}` for a host whose data has no such key, or not a string or number.
    #[error("host {host} has no usable data.{key} for {template:?}")]
    MissingData {
        host: String,
        key: String,
        template: String,
    },
}

/// Parses `METHOD:PATH_OR_URL` (`GET:/log`, `post:https://{hostname}/api`).
pub fn parse_step(text: &str) -> Result<HttpStep, String> {
    let (method, url) = text
        .split_once(':')
        .ok_or_else(|| format!("expected METHOD:PATH (e.g. GET:/log), got {text:?}"))?;
    let method = method.trim().to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!(
            "unknown HTTP method {method:?} in {text:?} (use {})",
            METHODS.join(", ")
        ));
    }
    let url = url.trim();
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    if !url.starts_with('/') && !absolute {
        return Err(format!(
            "{url:?} in {text:?} is neither a path starting with '/' nor an http(s):// URL"
        ));
    }
    Ok(HttpStep {
        method,
        url: url.to_string(),
        ..HttpStep::default()
    })
}

/// How a step appears in reports and output file names: `GET /log`.
pub fn step_label(step: &HttpStep) -> String {
    format!("{} {}", step.method, step.url)
}

/// The step's URL for one host. `facts` is the host as [`crate::inventory::Host::describe`]
/// gives it (no secrets, so no secret can end up in a URL).
pub fn request_url(job: &HttpJob, step: &HttpStep, facts: &Value) -> Result<String, TemplateError> {
    if !step.url.starts_with('/') {
        return render(&step.url, facts);
    }
    let base = if job.base_url.is_empty() {
        default_base(facts)
    } else {
        render(&job.base_url, facts)?
    };
    let path = render(&step.url, facts)?;
    Ok(format!("{}{path}", base.trim_end_matches('/')))
}

/// `{data.http_scheme}://{hostname}:{data.http_port}`, https and no explicit port when the host's
/// data does not say.
fn default_base(facts: &Value) -> String {
    let data = &facts["data"];
    let scheme = data["http_scheme"].as_str().unwrap_or("https");
    let hostname = facts["hostname"].as_str().unwrap_or_default();
    match scalar(&data["http_port"]) {
        Some(port) => format!("{scheme}://{hostname}:{port}"),
        None => format!("{scheme}://{hostname}"),
    }
}

/// Replaces every `{field}` in `template` with the host's value.
pub fn render(template: &str, facts: &Value) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| TemplateError::Unclosed {
            template: template.to_string(),
        })?;
        let name = after[..close].trim();
        out.push_str(&placeholder(name, template, facts)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn placeholder(name: &str, template: &str, facts: &Value) -> Result<String, TemplateError> {
    if let Some(key) = name.strip_prefix("data.") {
        return scalar(&facts["data"][key]).ok_or_else(|| TemplateError::MissingData {
            host: facts["name"].as_str().unwrap_or_default().to_string(),
            key: key.to_string(),
            template: template.to_string(),
        });
    }
    match name {
        "hostname" | "port" | "name" | "username" | "platform" => {
            Ok(scalar(&facts[name]).unwrap_or_default())
        }
        _ => Err(TemplateError::Unknown {
            name: name.to_string(),
            template: template.to_string(),
        }),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Value {
        json!({
            "name": "r1", "hostname": "127.1.0.1", "port": 22, "username": "admin",
            "platform": "cisco_ios", "data": {"http_port": 8080, "http_scheme": "http", "site": "ams"}
        })
    }

    #[test]
    fn steps_parse_and_bad_ones_say_why() {
        let step = parse_step("get:/log").unwrap();
        assert_eq!((step.method.as_str(), step.url.as_str()), ("GET", "/log"));
        assert_eq!(step_label(&step), "GET /log");
        let full = parse_step("POST:https://{hostname}:{port}/api").unwrap();
        assert_eq!(full.url, "https://{hostname}:{port}/api");
        assert!(parse_step("/log").unwrap_err().contains("METHOD:PATH"));
        assert!(
            parse_step("FETCH:/log")
                .unwrap_err()
                .contains("unknown HTTP method")
        );
        assert!(
            parse_step("GET:log")
                .unwrap_err()
                .contains("neither a path")
        );
    }

    #[test]
    fn paths_join_the_base_and_urls_render() {
        let job = HttpJob::default();
        let step = parse_step("GET:/sites/{data.site}/log").unwrap();
        assert_eq!(
            request_url(&job, &step, &facts()).unwrap(),
            "http://127.1.0.1:8080/sites/ams/log"
        );
        let bare = json!({"name": "r2", "hostname": "r2.example", "data": {}});
        let log = parse_step("GET:/log").unwrap();
        assert_eq!(
            request_url(&job, &log, &bare).unwrap(),
            "https://r2.example/log"
        );
        let custom = HttpJob {
            base_url: "https://{name}.mgmt:{port}/".into(),
            ..HttpJob::default()
        };
        assert_eq!(
            request_url(&custom, &log, &facts()).unwrap(),
            "https://r1.mgmt:22/log"
        );
        let absolute = parse_step("GET:https://{hostname}:{data.http_port}/x").unwrap();
        assert_eq!(
            request_url(&job, &absolute, &facts()).unwrap(),
            "https://127.1.0.1:8080/x"
        );
    }

    #[test]
    fn bad_placeholders_are_errors() {
        let f = facts();
        assert!(matches!(
            render("/{password}", &f),
            Err(TemplateError::Unknown { .. })
        ));
        assert!(matches!(
            render("/{data.nope}", &f),
            Err(TemplateError::MissingData { .. })
        ));
        assert!(matches!(
            render("/{oops", &f),
            Err(TemplateError::Unclosed { .. })
        ));
        assert_eq!(render("/plain", &f).unwrap(), "/plain");
    }
}
