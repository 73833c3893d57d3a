//! Nornir's `connection_options`: per-plugin overrides of a host's connection parameters.
//!
//! Nornir keeps, for each connection plugin (`netmiko`, `scrapli`, `napalm`, ...), an optional
//! `hostname`, `port`, `username`, `password`, `platform` and `extras`. fanout drives its own
//! SSH sessions, so it reads the options of the one plugin that behaves most like it: netmiko's
//! if any level of the host sets them, else scrapli's, else napalm's. Other plugins (`netconf`,
//! `paramiko`, ...) are read past untouched, as Nornir would leave them to their plugin.
//!
//! The precedence is Nornir's (`Host.get_connection_parameters`): each attribute of the plugin's
//! options resolves along the host, its groups, then the defaults, and a value found there beats
//! the plain attribute at any level. `extras` resolves as a whole: the first level that has
//! `extras` for the plugin supplies all of them.

use super::error::InventoryErrorKind;
use super::values::{Mapping, Port, Text};
use super::yaml::{Expect, ParseState, Scalar, Seed};
use crate::Secret;
use crate::suggest::closest;
use serde::de::{IgnoredAny, MapAccess};
use serde_json::{Map, Value};

/// The connection plugins fanout reads, in the order it prefers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plugin {
    Netmiko,
    Scrapli,
    Napalm,
}

impl Plugin {
    pub const PREFERENCE: [Plugin; 3] = [Plugin::Netmiko, Plugin::Scrapli, Plugin::Napalm];

    pub fn name(self) -> &'static str {
        match self {
            Plugin::Netmiko => "netmiko",
            Plugin::Scrapli => "scrapli",
            Plugin::Napalm => "napalm",
        }
    }

    fn parse(name: &str) -> Option<Plugin> {
        Self::PREFERENCE.into_iter().find(|p| p.name() == name)
    }
}

/// One plugin's options at one level, as written. `None`: not set here, inherit.
#[derive(Debug, Default, Clone)]
pub(super) struct RawConnection {
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub platform: Option<String>,
    pub extras: Option<Map<String, Value>>,
}

impl RawConnection {
    fn merge_from(&mut self, base: RawConnection) {
        self.hostname = self.hostname.take().or(base.hostname);
        self.port = self.port.or(base.port);
        self.username = self.username.take().or(base.username);
        self.password = self.password.take().or(base.password);
        self.platform = self.platform.take().or(base.platform);
        self.extras = self.extras.take().or(base.extras);
    }
}

/// The `connection_options` of one level.
#[derive(Debug, Default, Clone)]
pub(super) struct RawConnections {
    pub netmiko: Option<RawConnection>,
    pub scrapli: Option<RawConnection>,
    pub napalm: Option<RawConnection>,
}

impl RawConnections {
    pub fn get(&self, plugin: Plugin) -> Option<&RawConnection> {
        match plugin {
            Plugin::Netmiko => self.netmiko.as_ref(),
            Plugin::Scrapli => self.scrapli.as_ref(),
            Plugin::Napalm => self.napalm.as_ref(),
        }
    }

    fn slot(&mut self, plugin: Plugin) -> &mut Option<RawConnection> {
        match plugin {
            Plugin::Netmiko => &mut self.netmiko,
            Plugin::Scrapli => &mut self.scrapli,
            Plugin::Napalm => &mut self.napalm,
        }
    }

    /// Fills what a mapping leaves unset from a YAML merge source (`<<: *base`).
    pub fn merge_from(&mut self, base: RawConnections) {
        for plugin in Plugin::PREFERENCE {
            let theirs = match plugin {
                Plugin::Netmiko => base.netmiko.clone(),
                Plugin::Scrapli => base.scrapli.clone(),
                Plugin::Napalm => base.napalm.clone(),
            };
            let slot = self.slot(plugin);
            match (slot.as_mut(), theirs) {
                (Some(mine), Some(theirs)) => mine.merge_from(theirs),
                (None, theirs) => *slot = theirs,
                (Some(_), None) => {}
            }
        }
    }
}

/// A `connection_options` mapping: plugin names to their options; null is empty.
pub(super) struct ConnectionOptions;

impl<'de> Expect<'de> for ConnectionOptions {
    type Out = RawConnections;

    fn what(&self) -> String {
        "`connection_options`".to_string()
    }

    fn expected(&self) -> String {
        "a mapping of connection plugin names (netmiko, scrapli, napalm, ...) to options"
            .to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<RawConnections, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(RawConnections::default()),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, mut map: A) -> Result<Self::Out, A::Error> {
        let mut options = RawConnections::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key_seed(Seed::new(state, PluginKey { seen: &seen }))? {
            match Plugin::parse(&key) {
                Some(plugin) => {
                    *options.slot(plugin) =
                        map.next_value_seed(Seed::new(state, ConnectionEntry { plugin }))?;
                }
                // Another plugin's options (netconf, paramiko): Nornir hands them to that
                // plugin; fanout has no use for them.
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            seen.push(key);
        }
        Ok(options)
    }
}

/// A plugin name under `connection_options`, each once.
struct PluginKey<'s> {
    seen: &'s [String],
}

impl Expect<'_> for PluginKey<'_> {
    type Out = String;

    fn what(&self) -> String {
        "connection plugin name".to_string()
    }

    fn expected(&self) -> String {
        "a plugin name".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<String, InventoryErrorKind> {
        let Some(key) = scalar.as_text().filter(|k| !k.is_empty()) else {
            return Err(self.mismatch(&scalar.describe(false)));
        };
        if self.seen.contains(&key) {
            return Err(InventoryErrorKind::DuplicateKey { key });
        }
        Ok(key)
    }
}

/// The keys Nornir's `ConnectionOptions` has.
const CONNECTION_FIELDS: &[&str] = &[
    "hostname", "port", "username", "password", "platform", "extras",
];

/// One plugin's options: Nornir's six keys, nothing else (a typo would silently do nothing).
struct ConnectionEntry {
    plugin: Plugin,
}

impl<'de> Expect<'de> for ConnectionEntry {
    type Out = Option<RawConnection>;

    fn what(&self) -> String {
        format!("`connection_options.{}`", self.plugin.name())
    }

    fn expected(&self) -> String {
        "a mapping of connection options".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(None),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, mut map: A) -> Result<Self::Out, A::Error> {
        let mut entry = RawConnection::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key_seed(Seed::new(state, ConnectionKey { seen: &seen }))? {
            let text = |field, redact| Seed::new(state, Text { field, redact });
            match key {
                "hostname" => entry.hostname = map.next_value_seed(text("hostname", false))?,
                "port" => entry.port = map.next_value_seed(Seed::new(state, Port))?,
                "username" => entry.username = map.next_value_seed(text("username", false))?,
                "password" => {
                    entry.password = map
                        .next_value_seed(text("password", true))?
                        .map(Secret::new)
                }
                "platform" => entry.platform = map.next_value_seed(text("platform", false))?,
                _ => entry.extras = map.next_value_seed(Seed::new(state, Extras))?,
            }
            seen.push(key);
        }
        Ok(Some(entry))
    }
}

/// `extras`: a mapping, or null for "not set here" (Nornir then looks further up).
struct Extras;

impl<'de> Expect<'de> for Extras {
    type Out = Option<Map<String, Value>>;

    fn what(&self) -> String {
        "`extras`".to_string()
    }

    fn expected(&self) -> String {
        "a mapping".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(None),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, map: A) -> Result<Self::Out, A::Error> {
        Mapping { field: "extras" }.map(state, map).map(Some)
    }
}

struct ConnectionKey<'s> {
    seen: &'s [&'static str],
}

impl Expect<'_> for ConnectionKey<'_> {
    type Out = &'static str;

    fn what(&self) -> String {
        "key".to_string()
    }

    fn expected(&self) -> String {
        "a connection option name".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<&'static str, InventoryErrorKind> {
        let key = scalar.as_text().unwrap_or_else(|| scalar.describe(false));
        let Some(field) = CONNECTION_FIELDS.iter().copied().find(|f| *f == key) else {
            let suggestion = closest(&key, CONNECTION_FIELDS.iter().copied()).map(str::to_string);
            return Err(InventoryErrorKind::UnknownKey {
                what: "connection option",
                key,
                suggestion,
                expected: CONNECTION_FIELDS,
            });
        };
        if self.seen.contains(&field) {
            return Err(InventoryErrorKind::DuplicateKey { key });
        }
        Ok(field)
    }
}

/// What fanout takes from a plugin's `extras`, and what it notes it leaves aside.
#[derive(Debug, Default)]
pub(super) struct ExtrasRead {
    /// The enable secret: netmiko `secret`, scrapli `auth_secondary`, napalm
    /// `optional_args.secret`.
    pub secret: Option<Secret>,
    /// A private key file: netmiko and napalm `key_file`, scrapli `auth_private_key`.
    pub key_file: Option<String>,
    /// scrapli `auth_private_key_passphrase`, netmiko `passphrase`.
    pub key_passphrase: Option<Secret>,
    /// netmiko and napalm `use_keys`: `false` turns key authentication off.
    pub use_keys: Option<bool>,
    /// netmiko and napalm `allow_agent`.
    pub allow_agent: Option<bool>,
    /// Keys read but without effect in fanout, each with why (`global_delay_factor`).
    pub ignored: Vec<(String, &'static str)>,
}

/// Why a setting has no effect in fanout.
const TIMING: &str = "fanout waits for the prompt instead of fixed delays";
const HOST_KEYS: &str = "host keys are checked as `--host-key-policy` says";
const NOT_USED: &str = "fanout has no such setting";

/// Reads `extras` for `plugin`. A value of the wrong type is an error naming the key path
/// below `extras` (for its line).
pub(super) fn read_extras(
    plugin: Plugin,
    extras: &Map<String, Value>,
) -> Result<ExtrasRead, (Vec<String>, InventoryErrorKind)> {
    let mut read = ExtrasRead::default();
    let (map, prefix): (&Map<String, Value>, Vec<String>) = match plugin {
        Plugin::Napalm => match extras.get("optional_args") {
            Some(Value::Object(args)) => (args, vec!["optional_args".to_string()]),
            Some(Value::Null) | None => {
                note_others(extras, &["optional_args"], "", &mut read);
                return Ok(read);
            }
            Some(_) => {
                let path = vec!["optional_args".to_string()];
                let kind = invalid("optional_args", "a mapping");
                return Err((path, kind));
            }
        },
        _ => (extras, Vec::new()),
    };
    let at = |key: &str| {
        let mut path = prefix.clone();
        path.push(key.to_string());
        path
    };
    let text = |key: &str| -> Result<Option<String>, (Vec<String>, InventoryErrorKind)> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err((at(key), invalid(key, "a string"))),
        }
    };
    let flag = |key: &str| -> Result<Option<bool>, (Vec<String>, InventoryErrorKind)> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err((at(key), invalid(key, "true or false"))),
        }
    };
    let used: &[&str] = match plugin {
        Plugin::Netmiko | Plugin::Napalm => &[
            "secret",
            "key_file",
            "passphrase",
            "use_keys",
            "allow_agent",
        ],
        Plugin::Scrapli => &[
            "auth_secondary",
            "auth_private_key",
            "auth_private_key_passphrase",
        ],
    };
    match plugin {
        Plugin::Netmiko | Plugin::Napalm => {
            read.secret = text("secret")?.map(Secret::new);
            read.key_file = text("key_file")?;
            read.key_passphrase = text("passphrase")?.map(Secret::new);
            read.use_keys = flag("use_keys")?;
            read.allow_agent = flag("allow_agent")?;
        }
        Plugin::Scrapli => {
            read.secret = text("auth_secondary")?.map(Secret::new);
            read.key_file = text("auth_private_key")?;
            read.key_passphrase = text("auth_private_key_passphrase")?.map(Secret::new);
        }
    }
    let prefix = prefix.iter().map(|p| format!("{p}.")).collect::<String>();
    note_others(map, used, &prefix, &mut read);
    Ok(read)
}

/// Notes every key of `map` not in `used`.
fn note_others(map: &Map<String, Value>, used: &[&str], prefix: &str, read: &mut ExtrasRead) {
    for key in map.keys().filter(|k| !used.contains(&k.as_str())) {
        let why = match key.as_str() {
            "global_delay_factor"
            | "delay_factor"
            | "fast_cli"
            | "timeout"
            | "conn_timeout"
            | "banner_timeout"
            | "auth_timeout"
            | "blocking_timeout"
            | "timeout_socket"
            | "timeout_transport"
            | "timeout_ops" => TIMING,
            "auth_strict_key" | "ssh_strict" | "ssh_config_file" | "system_host_keys" => HOST_KEYS,
            _ => NOT_USED,
        };
        read.ignored.push((format!("{prefix}{key}"), why));
    }
}

fn invalid(key: &str, expected: &str) -> InventoryErrorKind {
    InventoryErrorKind::InvalidValue {
        what: format!("`{key}`"),
        reason: format!("expected {expected}"),
    }
}
