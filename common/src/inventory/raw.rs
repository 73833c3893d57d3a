//! Hosts, groups and defaults as written in the files, before any inheritance: what each key
//! means, which keys exist at which level, and the checks that only need one entry to make.

use super::connection::{ConnectionOptions, RawConnections};
use super::error::{InventoryErrorKind, group_subject, host_subject};
use super::values::{Flag, MERGE_KEY, Mapping, Name, NameList, Port, Text};
use super::yaml::{Expect, ParseState, Scalar, Seed};
use crate::Secret;
use crate::suggest::closest;
use serde::de::{MapAccess, SeqAccess};
use serde_json::{Map, Value};

/// Which kind of inventory entry a mapping describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Host,
    Group,
    Defaults,
}

impl Level {
    fn fields(self) -> &'static [&'static str] {
        match self {
            Level::Host | Level::Group => ENTRY_FIELDS,
            Level::Defaults => DEFAULTS_FIELDS,
        }
    }

    fn entry_name(self) -> &'static str {
        match self {
            Level::Host => "host entry",
            Level::Group => "group entry",
            Level::Defaults => "defaults",
        }
    }

    pub fn subject(self, name: &str) -> String {
        match self {
            Level::Host => host_subject(name),
            Level::Group => group_subject(name),
            Level::Defaults => "defaults".to_string(),
        }
    }
}

/// Nornir's keys plus fanout's credential references. Defaults have no `groups`, as in Nornir.
const ENTRY_FIELDS: &[&str] = &[
    "hostname",
    "port",
    "username",
    "password",
    "password_env",
    "password_file",
    "secret",
    "secret_env",
    "secret_file",
    "platform",
    "groups",
    "data",
    "connection_options",
    "ssh_key_file",
    "ssh_key_passphrase",
    "ssh_key_passphrase_env",
    "ssh_key_passphrase_file",
    "ssh_agent",
    "ssh_kex",
    "ssh_ciphers",
    "ssh_host_key_algorithms",
    "jump_host",
    "snmp",
];
const DEFAULTS_FIELDS: &[&str] = &[
    "hostname",
    "port",
    "username",
    "password",
    "password_env",
    "password_file",
    "secret",
    "secret_env",
    "secret_file",
    "platform",
    "data",
    "connection_options",
    "ssh_key_file",
    "ssh_key_passphrase",
    "ssh_key_passphrase_env",
    "ssh_key_passphrase_file",
    "ssh_agent",
    "ssh_kex",
    "ssh_ciphers",
    "ssh_host_key_algorithms",
    "jump_host",
    "snmp",
];

/// Where a credential comes from, as written at one level.
#[derive(Debug, Clone)]
pub(super) enum CredentialSource {
    Literal(Secret),
    /// An environment variable's name.
    Env(String),
    /// A path, relative to the directory of the file it is written in.
    File(String),
}

/// A credential reference together with the key it was written under (for messages and lines).
#[derive(Debug, Clone)]
pub(super) struct Credential {
    pub field: &'static str,
    pub source: CredentialSource,
}

/// One host, group or defaults mapping. `None` means "not set here: inherit".
#[derive(Debug, Default)]
pub(super) struct RawEntry {
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub platform: Option<String>,
    pub password: Option<Credential>,
    pub secret: Option<Credential>,
    /// Nornir's per-plugin overrides (see `connection`).
    pub connections: RawConnections,
    pub groups: Option<Vec<String>>,
    pub data: Map<String, Value>,
    pub ssh: RawSsh,
    /// The `snmp:` mapping as written; checked once merged (see `snmp`).
    pub snmp: Option<Map<String, Value>>,
}

/// The SSH options of one level, each inherited on its own (a group may set the algorithms
/// and the defaults the key).
#[derive(Debug, Default)]
pub(super) struct RawSsh {
    /// A private key file, relative to the directory of the file it is written in.
    pub key_file: Option<String>,
    pub key_passphrase: Option<Credential>,
    pub agent: Option<bool>,
    pub kex: Option<Vec<String>>,
    pub ciphers: Option<Vec<String>>,
    pub host_key_algorithms: Option<Vec<String>>,
    pub jump_host: Option<String>,
}

impl RawSsh {
    fn merge_from(&mut self, base: RawSsh) {
        self.key_file = self.key_file.take().or(base.key_file);
        self.key_passphrase = self.key_passphrase.take().or(base.key_passphrase);
        self.agent = self.agent.or(base.agent);
        self.kex = self.kex.take().or(base.kex);
        self.ciphers = self.ciphers.take().or(base.ciphers);
        self.host_key_algorithms = self.host_key_algorithms.take().or(base.host_key_algorithms);
        self.jump_host = self.jump_host.take().or(base.jump_host);
    }
}

impl RawEntry {
    /// Fills what this mapping leaves unset from a YAML merge source (`<<: *base`).
    fn merge_from(&mut self, base: RawEntry) {
        self.hostname = self.hostname.take().or(base.hostname);
        self.port = self.port.or(base.port);
        self.username = self.username.take().or(base.username);
        self.platform = self.platform.take().or(base.platform);
        self.password = self.password.take().or(base.password);
        self.secret = self.secret.take().or(base.secret);
        self.connections.merge_from(base.connections);
        self.groups = self.groups.take().or(base.groups);
        self.ssh.merge_from(base.ssh);
        self.snmp = self.snmp.take().or(base.snmp);
        for (key, value) in base.data {
            self.data.entry(key).or_insert(value);
        }
    }
}

/// The keys of an entry mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Hostname,
    Port,
    Username,
    Password,
    PasswordEnv,
    PasswordFile,
    Secret,
    SecretEnv,
    SecretFile,
    Platform,
    Groups,
    Data,
    ConnectionOptions,
    SshKeyFile,
    SshKeyPassphrase,
    SshKeyPassphraseEnv,
    SshKeyPassphraseFile,
    SshAgent,
    SshKex,
    SshCiphers,
    SshHostKeyAlgorithms,
    JumpHost,
    Snmp,
    Merge,
}

impl Field {
    fn parse(key: &str, level: Level) -> Option<Field> {
        let field = match key {
            "hostname" => Field::Hostname,
            "port" => Field::Port,
            "username" => Field::Username,
            "password" => Field::Password,
            "password_env" => Field::PasswordEnv,
            "password_file" => Field::PasswordFile,
            "secret" => Field::Secret,
            "secret_env" => Field::SecretEnv,
            "secret_file" => Field::SecretFile,
            "platform" => Field::Platform,
            "groups" if level != Level::Defaults => Field::Groups,
            "data" => Field::Data,
            "connection_options" => Field::ConnectionOptions,
            "ssh_key_file" => Field::SshKeyFile,
            "ssh_key_passphrase" => Field::SshKeyPassphrase,
            "ssh_key_passphrase_env" => Field::SshKeyPassphraseEnv,
            "ssh_key_passphrase_file" => Field::SshKeyPassphraseFile,
            "ssh_agent" => Field::SshAgent,
            "ssh_kex" => Field::SshKex,
            "ssh_ciphers" => Field::SshCiphers,
            "ssh_host_key_algorithms" => Field::SshHostKeyAlgorithms,
            "jump_host" => Field::JumpHost,
            "snmp" => Field::Snmp,
            MERGE_KEY => Field::Merge,
            _ => return None,
        };
        Some(field)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// For credential keys: the credential's base name and every key that supplies it.
    fn credential(self) -> Option<(&'static str, [Field; 3])> {
        const PASSWORD: [Field; 3] = [Field::Password, Field::PasswordEnv, Field::PasswordFile];
        const SECRET: [Field; 3] = [Field::Secret, Field::SecretEnv, Field::SecretFile];
        const PASSPHRASE: [Field; 3] = [
            Field::SshKeyPassphrase,
            Field::SshKeyPassphraseEnv,
            Field::SshKeyPassphraseFile,
        ];
        match self {
            Field::Password | Field::PasswordEnv | Field::PasswordFile => {
                Some(("password", PASSWORD))
            }
            Field::Secret | Field::SecretEnv | Field::SecretFile => Some(("secret", SECRET)),
            Field::SshKeyPassphrase | Field::SshKeyPassphraseEnv | Field::SshKeyPassphraseFile => {
                Some(("ssh_key_passphrase", PASSPHRASE))
            }
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::Hostname => "hostname",
            Field::Port => "port",
            Field::Username => "username",
            Field::Password => "password",
            Field::PasswordEnv => "password_env",
            Field::PasswordFile => "password_file",
            Field::Secret => "secret",
            Field::SecretEnv => "secret_env",
            Field::SecretFile => "secret_file",
            Field::Platform => "platform",
            Field::Groups => "groups",
            Field::Data => "data",
            Field::ConnectionOptions => "connection_options",
            Field::SshKeyFile => "ssh_key_file",
            Field::SshKeyPassphrase => "ssh_key_passphrase",
            Field::SshKeyPassphraseEnv => "ssh_key_passphrase_env",
            Field::SshKeyPassphraseFile => "ssh_key_passphrase_file",
            Field::SshAgent => "ssh_agent",
            Field::SshKex => "ssh_kex",
            Field::SshCiphers => "ssh_ciphers",
            Field::SshHostKeyAlgorithms => "ssh_host_key_algorithms",
            Field::JumpHost => "jump_host",
            Field::Snmp => "snmp",
            Field::Merge => MERGE_KEY,
        }
    }
}

/// One key of an entry: known at this level, not repeated, not a second source for a credential.
struct FieldKey {
    level: Level,
    /// Bit set of the fields already read in this mapping.
    seen: u32,
}

impl Expect<'_> for FieldKey {
    type Out = Field;

    fn what(&self) -> String {
        "key".to_string()
    }

    fn expected(&self) -> String {
        "a field name".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Field, InventoryErrorKind> {
        let key = scalar.as_text().unwrap_or_else(|| scalar.describe(false));
        let fields = self.level.fields();
        let Some(field) = Field::parse(&key, self.level) else {
            let suggestion = closest(&key, fields.iter().copied()).map(str::to_string);
            return Err(InventoryErrorKind::UnknownKey {
                what: "field",
                key,
                suggestion,
                expected: fields,
            });
        };
        if self.seen & field.bit() != 0 {
            return Err(InventoryErrorKind::DuplicateKey { key });
        }
        if let Some((base, sources)) = field.credential()
            && let Some(other) = sources.iter().find(|f| self.seen & f.bit() != 0)
        {
            return Err(InventoryErrorKind::ConflictingCredential {
                field: field.name(),
                other: other.name(),
                base,
            });
        }
        Ok(field)
    }
}

/// One host, group or defaults mapping. An empty entry (`r1:`) is a host with nothing set.
pub(super) struct EntryExpect {
    pub level: Level,
}

impl<'de> Expect<'de> for EntryExpect {
    type Out = RawEntry;

    fn what(&self) -> String {
        self.level.entry_name().to_string()
    }

    fn expected(&self) -> String {
        "a mapping of fields".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<RawEntry, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(RawEntry::default()),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, mut map: A) -> Result<RawEntry, A::Error> {
        let mut entry = RawEntry::default();
        let mut seen = 0u32;
        let mut bases = Vec::new();
        let level = self.level;
        while let Some(field) = map.next_key_seed(Seed::new(state, FieldKey { level, seen }))? {
            seen |= field.bit();
            let text = |field, redact| Seed::new(state, Text { field, redact });
            let name = |field| Seed::new(state, Name { field });
            let names = |field| {
                let (item, example) = ("name", "a, b");
                Seed::new(
                    state,
                    NameList {
                        field,
                        item,
                        example,
                    },
                )
            };
            let credential = |source: Option<String>, wrap: fn(String) -> CredentialSource| {
                source.map(|s| Credential {
                    field: field.name(),
                    source: wrap(s),
                })
            };
            let literal = |s: String| CredentialSource::Literal(Secret::new(s));
            match field {
                Field::Hostname => entry.hostname = map.next_value_seed(text("hostname", false))?,
                Field::Port => entry.port = map.next_value_seed(Seed::new(state, Port))?,
                Field::Username => entry.username = map.next_value_seed(text("username", false))?,
                Field::Platform => entry.platform = map.next_value_seed(text("platform", false))?,
                Field::Password => {
                    let value = map.next_value_seed(text("password", true))?;
                    entry.password = credential(value, literal);
                }
                Field::PasswordEnv => {
                    let value = map.next_value_seed(name("password_env"))?;
                    entry.password = credential(value, CredentialSource::Env);
                }
                Field::PasswordFile => {
                    let value = map.next_value_seed(name("password_file"))?;
                    entry.password = credential(value, CredentialSource::File);
                }
                Field::Secret => {
                    let value = map.next_value_seed(text("secret", true))?;
                    entry.secret = credential(value, literal);
                }
                Field::SecretEnv => {
                    let value = map.next_value_seed(name("secret_env"))?;
                    entry.secret = credential(value, CredentialSource::Env);
                }
                Field::SecretFile => {
                    let value = map.next_value_seed(name("secret_file"))?;
                    entry.secret = credential(value, CredentialSource::File);
                }
                Field::Groups => {
                    let (field, item, example) = ("groups", "group name", "core");
                    let groups = NameList {
                        field,
                        item,
                        example,
                    };
                    entry.groups = map.next_value_seed(Seed::new(state, groups))?
                }
                Field::Data => {
                    entry.data = map.next_value_seed(Seed::new(state, Mapping { field: "data" }))?
                }
                Field::ConnectionOptions => {
                    entry.connections = map.next_value_seed(Seed::new(state, ConnectionOptions))?
                }
                Field::SshKeyFile => {
                    entry.ssh.key_file = map.next_value_seed(name("ssh_key_file"))?
                }
                Field::SshKeyPassphrase => {
                    let value = map.next_value_seed(text("ssh_key_passphrase", true))?;
                    entry.ssh.key_passphrase = credential(value, literal);
                }
                Field::SshKeyPassphraseEnv => {
                    let value = map.next_value_seed(name("ssh_key_passphrase_env"))?;
                    entry.ssh.key_passphrase = credential(value, CredentialSource::Env);
                }
                Field::SshKeyPassphraseFile => {
                    let value = map.next_value_seed(name("ssh_key_passphrase_file"))?;
                    entry.ssh.key_passphrase = credential(value, CredentialSource::File);
                }
                Field::SshAgent => {
                    let field = "ssh_agent";
                    entry.ssh.agent = map.next_value_seed(Seed::new(state, Flag { field }))?
                }
                Field::SshKex => entry.ssh.kex = map.next_value_seed(names("ssh_kex"))?,
                Field::SshCiphers => {
                    entry.ssh.ciphers = map.next_value_seed(names("ssh_ciphers"))?
                }
                Field::SshHostKeyAlgorithms => {
                    let field = "ssh_host_key_algorithms";
                    entry.ssh.host_key_algorithms = map.next_value_seed(names(field))?
                }
                Field::JumpHost => entry.ssh.jump_host = map.next_value_seed(name("jump_host"))?,
                Field::Snmp => {
                    let field = "snmp";
                    entry.snmp = Some(map.next_value_seed(Seed::new(state, Mapping { field }))?)
                }
                Field::Merge => {
                    bases.extend(map.next_value_seed(Seed::new(state, Bases { level }))?)
                }
            }
        }
        for base in bases {
            entry.merge_from(base);
        }
        Ok(entry)
    }
}

/// The value of a merge key in an entry: one mapping or a list of them, earlier ones winning.
struct Bases {
    level: Level,
}

impl<'de> Expect<'de> for Bases {
    type Out = Vec<RawEntry>;

    fn what(&self) -> String {
        format!("`{MERGE_KEY}`")
    }

    fn expected(&self) -> String {
        "a mapping or a list of mappings".to_string()
    }

    fn seq<A: SeqAccess<'de>>(self, state: &ParseState, mut seq: A) -> Result<Self::Out, A::Error> {
        let mut bases = Vec::new();
        let level = self.level;
        while let Some(base) = seq.next_element_seed(Seed::new(state, EntryExpect { level }))? {
            bases.push(base);
        }
        Ok(bases)
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, map: A) -> Result<Self::Out, A::Error> {
        let level = self.level;
        EntryExpect { level }.map(state, map).map(|base| vec![base])
    }
}
