//! Ansible's connection variables as fanout's fields; every other variable is data.

use super::super::error::{InventoryError, InventoryErrorKind};
use super::super::raw::{Credential, CredentialSource, RawEntry};
use super::super::source::{EntryPlaces, Place};
use crate::Secret;
use serde_json::Value;

/// One variable as written, with where.
#[derive(Debug, Clone)]
pub(in crate::inventory) struct Var {
    pub key: String,
    pub value: Value,
    pub at: Place,
}

/// Which fanout field an Ansible variable sets. Ansible's older `ansible_ssh_*` spellings too.
fn field_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "ansible_host" | "ansible_ssh_host" => "hostname",
        "ansible_port" | "ansible_ssh_port" => "port",
        "ansible_user" | "ansible_ssh_user" => "username",
        "ansible_password" | "ansible_ssh_pass" | "ansible_ssh_password" => "password",
        "ansible_become_password" | "ansible_become_pass" | "ansible_enable_password" => "secret",
        "ansible_network_os" => "platform",
        "ansible_ssh_private_key_file" | "ansible_private_key_file" => "ssh_key_file",
        _ => return None,
    })
}

/// What a vault-encrypted value is told: fanout does not decrypt, and what to do instead.
pub(super) const VAULT: &str = "encrypted with Ansible Vault, which fanout does not decrypt; \
     give it as `\"{{ lookup('env', 'VAR') }}\"` and set VAR (for example from \
     `ansible-vault view`)";

/// The error for a variable at `place`; the caller adds the location.
pub(super) fn var_error(key: &str, reason: String) -> InventoryErrorKind {
    InventoryErrorKind::InvalidValue {
        what: format!("`{key}`"),
        reason,
    }
}

/// Turns an entry's variables (later ones win) into a raw entry and the places of its fields.
/// `locate` turns a place into a location for errors.
pub(super) fn convert(
    vars: &[Var],
    at: Place,
    locate: &dyn Fn(&Place) -> Option<crate::inventory::SourceLocation>,
) -> Result<(RawEntry, EntryPlaces), InventoryError> {
    let mut entry = RawEntry::default();
    let mut places = EntryPlaces {
        at,
        keys: Vec::new(),
    };
    for var in vars {
        let fail = |reason: String| {
            let error = InventoryError::new(var_error(&var.key, reason));
            match locate(&var.at) {
                Some(location) => error.at(location),
                None => error,
            }
        };
        if let Value::String(s) = &var.value
            && s.trim_start().starts_with("$ANSIBLE_VAULT")
        {
            return Err(fail(VAULT.to_string()));
        }
        if matches!(
            var.key.as_str(),
            "ansible_ssh_common_args" | "ansible_ssh_extra_args"
        ) && let Value::String(args) = &var.value
        {
            // OpenSSH's options stay data; a jump host among them becomes fanout's.
            if let Some(jump) = super::ssh_args::jump_host(args).map_err(fail)? {
                entry.ssh.jump_host = Some(jump);
                places.keys.push(("jump_host", var.at.clone()));
            }
        }
        let Some(field) = field_of(&var.key) else {
            entry.data.insert(var.key.clone(), var.value.clone());
            continue;
        };
        places.keys.push((field, var.at.clone()));
        let text = match &var.value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Null => continue,
            _ => return Err(fail("expected a string".to_string())),
        };
        let credential = |source| Credential { field, source };
        let source = match templated(&text) {
            Template::None => CredentialSource::Literal(Secret::new(text.clone())),
            Template::Env(name) => CredentialSource::Env(name),
            Template::Other => {
                return Err(fail(
                    "Jinja2 templates are not evaluated by fanout; only \
                     `{{ lookup('env', 'VAR') }}` is understood"
                        .to_string(),
                ));
            }
        };
        let plain = || match &source {
            CredentialSource::Literal(_) => Ok(text.clone()),
            _ => Err(fail(
                "an environment lookup works for passwords only".to_string(),
            )),
        };
        match field {
            "hostname" => entry.hostname = Some(plain()?),
            "username" => entry.username = Some(plain()?),
            "port" => {
                let port = plain()?.trim().parse::<u16>().ok().filter(|p| *p != 0);
                let Some(port) = port else {
                    return Err(fail(format!(
                        "expected a port number from 1 to 65535, found {text:?}"
                    )));
                };
                entry.port = Some(port);
            }
            "platform" => entry.platform = Some(network_os(&plain()?)),
            "ssh_key_file" => entry.ssh.key_file = Some(plain()?),
            "password" => entry.password = Some(credential(source)),
            _ => entry.secret = Some(credential(source)),
        }
    }
    Ok((entry, places))
}

/// `cisco.ios.ios` → `ios`: a collection's fully qualified name ends with the platform's
/// short name, which the platform aliases know.
fn network_os(value: &str) -> String {
    let parts: Vec<&str> = value.split('.').collect();
    match parts.as_slice() {
        [_, _, short] if !short.is_empty() => short.to_string(),
        _ => value.to_string(),
    }
}

enum Template {
    None,
    Env(String),
    Other,
}

/// Whether a value is a Jinja2 template, and the one kind fanout understands:
/// `{{ lookup('env', 'NAME') }}`.
fn templated(text: &str) -> Template {
    if !text.contains("{{") && !text.contains("{%") {
        return Template::None;
    }
    let inner = text
        .trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .map(str::trim);
    let Some(call) = inner
        .and_then(|t| t.strip_prefix("lookup"))
        .map(str::trim_start)
        .and_then(|t| t.strip_prefix('('))
        .and_then(|t| t.strip_suffix(')'))
    else {
        return Template::Other;
    };
    let args: Vec<&str> = call.split(',').map(str::trim).collect();
    let unquote = |arg: &str| {
        arg.strip_prefix('\'')
            .and_then(|a| a.strip_suffix('\''))
            .or_else(|| arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')))
            .map(str::to_string)
    };
    match args.as_slice() {
        [kind, name] if unquote(kind).as_deref() == Some("env") => match unquote(name) {
            Some(name) if !name.is_empty() => Template::Env(name),
            _ => Template::Other,
        },
        _ => Template::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert!(matches!(templated("plain"), Template::None));
        assert!(matches!(templated("{{ lookup('env', 'PW') }}"), Template::Env(n) if n == "PW"));
        assert!(matches!(templated("{{lookup(\"env\",\"PW\")}}"), Template::Env(n) if n == "PW"));
        assert!(matches!(templated("{{ vault_pw }}"), Template::Other));
        assert!(matches!(
            templated("{{ lookup('file', 'x') }}"),
            Template::Other
        ));
        assert_eq!(network_os("cisco.ios.ios"), "ios");
        assert_eq!(network_os("junipernetworks.junos.junos"), "junos");
        assert_eq!(network_os("eos"), "eos");
    }
}
