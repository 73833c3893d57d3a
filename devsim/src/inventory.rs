//! The fleet as a Nornir SimpleInventory (single-file form), the shape fanout's inventory loader
//! reads: `defaults` carry the shared connection settings, one group per site, and each host its
//! address, groups and data.

use crate::Device;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Inventory<'a> {
    defaults: Defaults<'a>,
    groups: BTreeMap<String, Group<'a>>,
    hosts: BTreeMap<&'a str, Host<'a>>,
}

#[derive(Serialize)]
struct Defaults<'a> {
    port: u16,
    username: &'a str,
    password: &'a str,
    secret: &'a str,
    /// For hosts added to the inventory by hand; every fleet host names its own.
    platform: &'static str,
    data: DefaultsData,
    /// Set when the fleet answers SNMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    snmp: Option<SnmpDefaults<'a>>,
}

/// How every device answers SNMP: v2c with the fleet's community (written out, like the SSH
/// password), or v3 as the fleet's first user, its passwords named by environment variable.
#[derive(Serialize)]
struct SnmpDefaults<'a> {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    community: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_password_env: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "priv")]
    privacy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priv_password_env: Option<&'a str>,
    port: u16,
}

impl<'a> SnmpDefaults<'a> {
    fn new(config: &'a crate::SnmpConfig, port: u16) -> Self {
        match config.users.first() {
            Some(user) => SnmpDefaults {
                version: "3",
                community: None,
                user: Some(&user.name),
                auth: Some(user.auth.name()),
                auth_password_env: Some(&user.auth_password_env),
                privacy: user.priv_password.as_ref().map(|_| "aes128"),
                priv_password_env: user
                    .priv_password
                    .as_ref()
                    .map(|_| user.priv_password_env.as_str()),
                port,
            },
            None => SnmpDefaults {
                version: "2c",
                community: config.community.as_deref(),
                user: None,
                auth: None,
                auth_password_env: None,
                privacy: None,
                priv_password_env: None,
                port,
            },
        }
    }
}

/// Data every host inherits.
#[derive(Serialize)]
struct DefaultsData {
    /// Where the device serves HTTP, for `fanout run --http` URLs (`{data.http_port}`).
    http_port: u16,
    /// devsim serves plain HTTP; fanout's default base URL is https unless the data says so.
    http_scheme: &'static str,
}

#[derive(Serialize)]
struct Group<'a> {
    data: GroupData<'a>,
}

#[derive(Serialize)]
struct GroupData<'a> {
    site: &'a str,
}

#[derive(Serialize)]
struct Host<'a> {
    hostname: String,
    platform: &'static str,
    groups: Vec<String>,
    data: HostData<'a>,
}

#[derive(Serialize)]
struct HostData<'a> {
    site: &'a str,
    role: &'a str,
    /// The VLANs the device should have (its role's set), whether or not it drifted, so a rule
    /// can check `includes: "{{ data.vlans }}"`.
    vlans: Vec<u16>,
}

/// Credentials and port shared by every device of a fleet.
pub(crate) struct Access<'a> {
    pub port: u16,
    pub http_port: u16,
    pub username: &'a str,
    pub password: &'a str,
    pub secret: &'a str,
    /// How the fleet answers SNMP and on which UDP port, when it does.
    pub snmp: Option<(&'a crate::SnmpConfig, u16)>,
}

fn site_group(site: &str) -> String {
    format!("site_{site}")
}

pub(crate) fn render(devices: &[Device], access: &Access<'_>) -> String {
    let groups = devices
        .iter()
        .map(|d| {
            (
                site_group(d.site),
                Group {
                    data: GroupData { site: d.site },
                },
            )
        })
        .collect();
    let hosts = devices
        .iter()
        .map(|d| {
            let host = Host {
                hostname: d.address.to_string(),
                platform: d.platform.name(),
                groups: vec![site_group(d.site)],
                data: HostData {
                    site: d.site,
                    role: d.role,
                    vlans: crate::model::intended_vlans(d.role),
                },
            };
            (d.name.as_str(), host)
        })
        .collect();
    let inventory = Inventory {
        defaults: Defaults {
            port: access.port,
            username: access.username,
            password: access.password,
            secret: access.secret,
            platform: crate::Platform::default().name(),
            data: DefaultsData {
                http_port: access.http_port,
                http_scheme: "http",
            },
            snmp: access
                .snmp
                .map(|(config, port)| SnmpDefaults::new(config, port)),
        },
        groups,
        hosts,
    };
    // Plain structs of strings and numbers always serialize; an error here is a devsim bug.
    serde_yaml_ng::to_string(&inventory).expect("inventory serializes to YAML")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn inventory_has_the_loader_shape() {
        let devices = vec![
            Device {
                name: "r00001".into(),
                address: Ipv4Addr::new(127, 1, 0, 1),
                index: 0,
                site: "ams",
                role: "core",
                platform: crate::Platform::CiscoIos,
            },
            Device {
                name: "r00002".into(),
                address: Ipv4Addr::new(127, 1, 0, 2),
                index: 1,
                site: "sin",
                role: "access",
                platform: crate::Platform::JuniperJunos,
            },
        ];
        let access = Access {
            port: 2222,
            http_port: 8080,
            username: "admin",
            password: "yes",
            secret: "enable",
            snmp: None,
        };
        let yaml = render(&devices, &access);
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        let defaults = &value["defaults"];
        assert_eq!(defaults["port"].as_u64(), Some(2222));
        assert_eq!(defaults["username"].as_str(), Some("admin"));
        assert_eq!(
            defaults["password"].as_str(),
            Some("yes"),
            "a YAML-ish password stays a string"
        );
        assert_eq!(defaults["secret"].as_str(), Some("enable"));
        assert_eq!(defaults["platform"].as_str(), Some("cisco_ios"));
        assert_eq!(defaults["data"]["http_port"].as_u64(), Some(8080));
        assert_eq!(defaults["data"]["http_scheme"].as_str(), Some("http"));
        assert_eq!(
            value["groups"]["site_ams"]["data"]["site"].as_str(),
            Some("ams")
        );
        let host = &value["hosts"]["r00002"];
        assert_eq!(host["hostname"].as_str(), Some("127.1.0.2"));
        assert_eq!(host["platform"].as_str(), Some("juniper_junos"));
        assert_eq!(
            value["hosts"]["r00001"]["platform"].as_str(),
            Some("cisco_ios")
        );
        assert_eq!(host["groups"][0].as_str(), Some("site_sin"));
        assert_eq!(host["data"]["site"].as_str(), Some("sin"));
        assert_eq!(host["data"]["role"].as_str(), Some("access"));
        let vlans: Vec<u64> = host["data"]["vlans"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_u64())
            .collect();
        assert_eq!(vlans, [10, 20, 30, 99, 999]);
    }
}
