//! Ansible's YAML (and JSON) inventory format, and the JSON a dynamic inventory script prints
//! for `--list`.
//!
//! ```yaml
//! all:
//!   vars: {ansible_user: ops}
//!   children:
//!     ios:
//!       hosts:
//!         r1: {ansible_host: 10.0.0.1}
//!       vars: {ansible_network_os: cisco.ios.ios}
//! ```

use super::super::error::{InventoryError, InventoryErrorKind};
use super::super::source::Place;
use super::model::{Model, expand_hosts};
use super::vars::{VAULT, Var, var_error};
use serde_json::Value as Json;
use serde_yaml_ng::Value;

/// Whether a parsed YAML document is in Ansible's shape: a mapping of groups, one of which has
/// `hosts`, `children` or `vars`.
pub(super) fn looks_ansible(value: &Value) -> bool {
    let Value::Mapping(top) = value else {
        return false;
    };
    top.values().any(|group| match group {
        Value::Mapping(g) => ["hosts", "children", "vars"]
            .iter()
            .any(|k| g.contains_key(*k)),
        _ => false,
    })
}

/// Whether a parsed document is a script's `--list` output: `_meta`, or a group whose hosts
/// or children are lists (or that is a bare list of hosts).
pub(super) fn looks_script(value: &Value) -> bool {
    let Value::Mapping(top) = value else {
        return false;
    };
    top.contains_key("_meta")
        || top.values().any(|group| match group {
            Value::Sequence(_) => true,
            Value::Mapping(g) => ["hosts", "children"]
                .iter()
                .any(|k| matches!(g.get(*k), Some(Value::Sequence(_)))),
            _ => false,
        })
}

/// Reads one YAML-format source (already parsed) into `model`.
pub(super) fn read(model: &mut Model, source: usize, value: &Value) -> Result<(), InventoryError> {
    let Value::Mapping(top) = value else {
        return Ok(());
    };
    for (name, group) in top {
        let name = key_text(name);
        read_group(model, source, &name, group, vec![name.clone()])?;
    }
    Ok(())
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn fail(model: &Model, place: &Place, kind: InventoryErrorKind) -> InventoryError {
    let error = InventoryError::new(kind);
    match model.locate(place) {
        Some(location) => error.at(location),
        None => error,
    }
}

fn read_group(
    model: &mut Model,
    source: usize,
    name: &str,
    group: &Value,
    path: Vec<String>,
) -> Result<(), InventoryError> {
    let place = |path: &[String]| Place::Yaml {
        source,
        path: path.to_vec(),
    };
    model.group(name, place(&path));
    let map = match group {
        Value::Null => return Ok(()),
        Value::Mapping(map) => map,
        _ => {
            let kind = var_error(
                name,
                "expected a group: a mapping of `hosts`, `children`, `vars`".into(),
            );
            return Err(fail(model, &place(&path), kind));
        }
    };
    for (key, value) in map {
        let key = key_text(key);
        let mut at = path.clone();
        at.push(key.clone());
        match key.as_str() {
            "vars" => {
                let vars = vars_of(model, source, value, &at)?;
                model.group(name, Place::Nowhere).vars.extend(vars);
            }
            "hosts" => match value {
                Value::Null => {}
                Value::Mapping(hosts) => {
                    for (host, vars) in hosts {
                        let pattern = key_text(host);
                        let mut host_path = at.clone();
                        host_path.push(pattern.clone());
                        let vars = vars_of(model, source, vars, &host_path)?;
                        let (names, port) = split_port(&pattern);
                        let names = expand_hosts(names).map_err(|reason| {
                            fail(model, &place(&host_path), var_error(&pattern, reason))
                        })?;
                        for host in names {
                            let entry = model.add_host(name, &host, place(&host_path));
                            if let Some(port) = port {
                                entry.vars.push(Var {
                                    key: "ansible_port".into(),
                                    value: Json::from(port),
                                    at: place(&host_path),
                                });
                            }
                            entry.vars.extend(vars.iter().cloned());
                        }
                    }
                }
                _ => {
                    let kind = var_error("hosts", "expected a mapping of host names".into());
                    return Err(fail(model, &place(&at), kind));
                }
            },
            "children" => match value {
                Value::Null => {}
                Value::Mapping(children) => {
                    for (child, body) in children {
                        let child = key_text(child);
                        let mut child_path = at.clone();
                        child_path.push(child.clone());
                        model.add_child(name, &child, place(&child_path));
                        read_group(model, source, &child, body, child_path)?;
                    }
                }
                _ => {
                    let kind = var_error("children", "expected a mapping of group names".into());
                    return Err(fail(model, &place(&at), kind));
                }
            },
            _ => {
                let kind = InventoryErrorKind::UnknownKey {
                    what: "group key",
                    suggestion: crate::suggest::closest(&key, GROUP_KEYS.iter().copied())
                        .map(str::to_string),
                    key,
                    expected: GROUP_KEYS,
                };
                return Err(fail(model, &place(&at), kind));
            }
        }
    }
    Ok(())
}

const GROUP_KEYS: &[&str] = &["hosts", "children", "vars"];

/// `r1:2222` is host `r1` on port 2222 (not an IPv6 address, which has more colons).
pub(super) fn split_port(pattern: &str) -> (&str, Option<u16>) {
    if let Some((name, port)) = pattern.rsplit_once(':')
        && !name.contains(':')
        && !name.ends_with(']')
        && let Ok(port) = port.parse::<u16>()
    {
        return (name, Some(port));
    }
    (pattern, None)
}

/// A vars mapping (null is none), each var with its path; vault-tagged values are refused.
pub(super) fn vars_of(
    model: &Model,
    source: usize,
    value: &Value,
    path: &[String],
) -> Result<Vec<Var>, InventoryError> {
    let map = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Mapping(map) => map,
        _ => {
            let place = Place::Yaml {
                source,
                path: path.to_vec(),
            };
            let kind = var_error("vars", "expected a mapping of variables".into());
            return Err(fail(model, &place, kind));
        }
    };
    let mut vars = Vec::with_capacity(map.len());
    for (key, value) in map {
        let key = key_text(key);
        let mut at = path.to_vec();
        at.push(key.clone());
        let place = Place::Yaml { source, path: at };
        let value =
            to_json(value).map_err(|reason| fail(model, &place, var_error(&key, reason)))?;
        vars.push(Var {
            key,
            value,
            at: place,
        });
    }
    Ok(vars)
}

/// A YAML value as JSON; a `!vault` value is refused, `!unsafe` is taken as written.
fn to_json(value: &Value) -> Result<Json, String> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                Json::from(n.as_f64().unwrap_or_default())
            }
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Sequence(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Mapping(map) => {
            let mut object = serde_json::Map::new();
            for (k, v) in map {
                object.insert(key_text(k), to_json(v)?);
            }
            Json::Object(object)
        }
        Value::Tagged(tagged) => {
            if tagged.tag == "vault" {
                return Err(VAULT.to_string());
            }
            to_json(&tagged.value)?
        }
    })
}

/// The JSON a dynamic inventory script prints for `--list`: groups with `hosts` and
/// `children` as lists (or a group given as a bare list of hosts), host vars under
/// `_meta.hostvars`.
pub(super) fn read_script(model: &mut Model, value: &Json) -> Result<(), InventoryError> {
    let bad = |model: &Model, what: &str, reason: &str| {
        fail(model, &Place::Nowhere, var_error(what, reason.to_string()))
    };
    let Json::Object(top) = value else {
        return Err(bad(model, "output", "expected a JSON object of groups"));
    };
    for (name, group) in top {
        if name == "_meta" {
            continue;
        }
        model.group(name, Place::Nowhere);
        let (hosts, children, vars) = match group {
            Json::Array(hosts) => (Some(hosts), None, None),
            Json::Object(g) => (
                g.get("hosts").and_then(Json::as_array),
                g.get("children").and_then(Json::as_array),
                g.get("vars").and_then(Json::as_object),
            ),
            Json::Null => (None, None, None),
            _ => {
                return Err(bad(
                    model,
                    name,
                    "expected a group object or a list of hosts",
                ));
            }
        };
        for host in hosts.into_iter().flatten() {
            let Some(host) = host.as_str() else {
                return Err(bad(model, name, "host names must be strings"));
            };
            model.add_host(name, host, Place::Nowhere);
        }
        for child in children.into_iter().flatten() {
            let Some(child) = child.as_str() else {
                return Err(bad(model, name, "child group names must be strings"));
            };
            model.add_child(name, child, Place::Nowhere);
        }
        let vars: Vec<Var> = vars
            .into_iter()
            .flatten()
            .map(|(key, value)| Var {
                key: key.clone(),
                value: value.clone(),
                at: Place::Nowhere,
            })
            .collect();
        model.group(name, Place::Nowhere).vars.extend(vars);
    }
    let hostvars = top
        .get("_meta")
        .and_then(|m| m.get("hostvars"))
        .and_then(Json::as_object);
    for (host, vars) in hostvars.into_iter().flatten() {
        let Some(vars) = vars.as_object() else {
            return Err(bad(model, host, "host vars must be an object"));
        };
        // Ansible lists hosts under groups; hostvars alone do not make a host.
        if !model.has_host(host) {
            continue;
        }
        let entry = model.host(host, Place::Nowhere);
        entry.vars.extend(vars.iter().map(|(key, value)| Var {
            key: key.clone(),
            value: value.clone(),
            at: Place::Nowhere,
        }));
    }
    Ok(())
}
