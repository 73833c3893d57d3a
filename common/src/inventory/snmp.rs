//! The `snmp:` section of a host, group or defaults entry: how to poll the device over SNMP.
//!
//! Keys inherit one by one like `data` (the defaults can set `version` and the community, a
//! host its own `port`), except that each secret (`community`, `auth_password`,
//! `priv_password`) comes whole from the first level that supplies it in any of its three
//! forms (literal, `_env`, `_file`), so a host's `community_env` is never shadowed by a group's
//! literal `community`. The merged section is then checked as one: a combination that cannot
//! work (a v2c host with a v3 user, privacy without authentication, a short password) is bad
//! input at the line of the key that makes it so.

use super::error::{InventoryError, InventoryErrorKind};
use super::locate::Step;
use super::raw::{Credential, CredentialSource, RawEntry};
use super::resolve::{CredentialCache, HostResolver};
use super::source::Origin;
use crate::Secret;
use crate::suggest::closest;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// SNMP's well-known agent port.
pub const DEFAULT_SNMP_PORT: u16 = 161;
/// RFC 3414 (section 11.2) requires USM passwords of at least 8 characters; net-snmp refuses
/// shorter ones, so a shorter one could only ever fail as a wrong password.
const MIN_USM_PASSWORD: usize = 8;

/// The keys an `snmp:` section may hold.
pub(super) const SNMP_FIELDS: &[&str] = &[
    "version",
    "port",
    "community",
    "community_env",
    "community_file",
    "user",
    "auth",
    "auth_password",
    "auth_password_env",
    "auth_password_file",
    "priv",
    "priv_password",
    "priv_password_env",
    "priv_password_file",
];

/// A host's SNMP settings, resolved and checked. `Debug` shows the secrets as `<redacted>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpOptions {
    pub version: SnmpVersion,
    /// UDP port of the agent; 161 when nothing sets it.
    pub port: u16,
    /// v2c only.
    pub community: Secret,
    /// v3 only: the USM user name.
    pub user: String,
    /// v3: `None` is noAuthNoPriv.
    pub auth: Option<SnmpAuth>,
    pub auth_password: Secret,
    /// v3: `None` is authNoPriv (or noAuthNoPriv).
    pub privacy: Option<SnmpPriv>,
    pub priv_password: Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnmpVersion {
    V2c,
    V3,
}

impl SnmpVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            SnmpVersion::V2c => "2c",
            SnmpVersion::V3 => "3",
        }
    }
}

/// USM authentication protocols, by the names people write (`sha` is SHA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnmpAuth {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

const AUTH_NAMES: &[&str] = &["md5", "sha", "sha1", "sha224", "sha256", "sha384", "sha512"];

impl SnmpAuth {
    fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => SnmpAuth::Md5,
            "sha" | "sha1" => SnmpAuth::Sha1,
            "sha224" => SnmpAuth::Sha224,
            "sha256" => SnmpAuth::Sha256,
            "sha384" => SnmpAuth::Sha384,
            "sha512" => SnmpAuth::Sha512,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SnmpAuth::Md5 => "md5",
            SnmpAuth::Sha1 => "sha",
            SnmpAuth::Sha224 => "sha224",
            SnmpAuth::Sha256 => "sha256",
            SnmpAuth::Sha384 => "sha384",
            SnmpAuth::Sha512 => "sha512",
        }
    }
}

/// USM privacy protocols: AES-128 (RFC 3826) only; DES is broken and the longer AES keys have
/// two incompatible key-extension schemes in the field, so a choice here would be a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnmpPriv {
    Aes128,
}

const PRIV_NAMES: &[&str] = &["aes128", "aes"];

impl SnmpPriv {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "aes" | "aes128" => Some(SnmpPriv::Aes128),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        "aes128"
    }
}

/// One key of the merged section: its value and the level that wrote it (for the error line).
type Setting<'d> = (Origin, &'d str, &'d Value);

/// The host's SNMP settings, `None` when no level has an `snmp:` section.
pub(super) fn resolve(
    host: &HostResolver<'_>,
    cache: &mut CredentialCache,
) -> Result<Option<SnmpOptions>, InventoryError> {
    let mut merged: HashMap<&'static str, Setting<'_>> = HashMap::new();
    let mut first_section = None;
    for origin in host.levels.iter().copied() {
        let Some(section) = host.doc.entry(origin).snmp.as_ref() else {
            continue;
        };
        first_section.get_or_insert(origin);
        for (key, value) in section {
            let Some(field) = SNMP_FIELDS.iter().copied().find(|f| f == key) else {
                let kind = InventoryErrorKind::UnknownKey {
                    what: "snmp field",
                    key: key.clone(),
                    suggestion: closest(key, SNMP_FIELDS.iter().copied()).map(str::to_string),
                    expected: SNMP_FIELDS,
                };
                return Err(host.error(kind, origin, &[Step::Key("snmp"), Step::Key(key)]));
            };
            merged.entry(field).or_insert((origin, key, value));
        }
    }
    let Some(section_origin) = first_section else {
        return Ok(None);
    };
    let check = Checker {
        host,
        merged,
        limit: None,
        foreign: &[],
    };
    let bad = |origin, key: &str, reason: String| {
        let kind = InventoryErrorKind::InvalidValue {
            what: format!("snmp `{key}`"),
            reason,
        };
        let tail = [Step::Key("snmp"), Step::Key(key)];
        host.error(
            kind,
            origin,
            if key.is_empty() { &tail[..1] } else { &tail },
        )
    };
    let (version, version_origin) = match check.get("version") {
        None => {
            return Err(bad(
                section_origin,
                "",
                "`version` is required: 2c or 3".to_string(),
            ));
        }
        Some((origin, key, value)) => (
            parse_version(value).map_err(|r| bad(origin, key, r))?,
            origin,
        ),
    };
    // A level that sets `version` replaces the other version's settings it inherits: a v3
    // group under v2c defaults does not inherit their community. The other version's keys
    // written at that level or a more specific one are still mistakes.
    let mut check = check;
    let rank = |origin: Origin| host.levels.iter().position(|o| *o == origin);
    check.limit = rank(version_origin);
    let foreign: &[&str] = match version {
        SnmpVersion::V2c => &["user", "auth", "priv", "auth_password", "priv_password"],
        SnmpVersion::V3 => &["community"],
    };
    check.merged.retain(|field, (origin, _, _)| {
        let base = field.trim_end_matches("_env").trim_end_matches("_file");
        !foreign.contains(&base) || rank(*origin) <= check.limit
    });
    check.foreign = foreign;
    let port = match check.get("port") {
        None => DEFAULT_SNMP_PORT,
        Some((origin, key, value)) => value
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(origin, key, format!("{value} is not a port (1-65535)")))?,
    };
    let text = |field: &'static str| -> Result<Option<(Origin, String)>, InventoryError> {
        match check.get(field) {
            None => Ok(None),
            Some((origin, key, value)) => match value {
                Value::String(s) if !s.is_empty() => Ok(Some((origin, s.clone()))),
                _ => Err(bad(origin, key, "expected a non-empty text".to_string())),
            },
        }
    };
    let community = check.credential("community", cache)?;
    let auth_password = check.credential("auth_password", cache)?;
    let priv_password = check.credential("priv_password", cache)?;
    let user = text("user")?;
    let auth = text("auth")?;
    let privacy = text("priv")?;
    let auth = auth
        .map(|(origin, name)| {
            SnmpAuth::parse(&name).ok_or_else(|| {
                bad(
                    origin,
                    "auth",
                    format!("{name:?}; expected one of {}", AUTH_NAMES.join(", ")),
                )
            })
        })
        .transpose()?;
    let privacy = privacy
        .map(|(origin, name)| {
            SnmpPriv::parse(&name).ok_or_else(|| {
                bad(
                    origin,
                    "priv",
                    format!("{name:?}; expected one of {}", PRIV_NAMES.join(", ")),
                )
            })
        })
        .transpose()?;
    match version {
        SnmpVersion::V2c => {
            for field in ["user", "auth", "priv", "auth_password", "priv_password"] {
                if let Some((origin, key)) = check.written(field) {
                    return Err(bad(origin, key, "only for `version: 3`".to_string()));
                }
            }
            if community.is_none() {
                return Err(bad(
                    section_origin,
                    "",
                    "`version: 2c` needs `community`, `community_env` or `community_file`"
                        .to_string(),
                ));
            }
        }
        SnmpVersion::V3 => {
            if let Some((origin, key)) = check.written("community") {
                return Err(bad(
                    origin,
                    key,
                    "only for `version: 2c` (v3 uses `user` and passwords)".to_string(),
                ));
            }
            if user.is_none() {
                return Err(bad(
                    section_origin,
                    "",
                    "`version: 3` needs `user`".to_string(),
                ));
            }
            check.paired("auth", auth.is_some(), "auth_password", &auth_password)?;
            check.paired("priv", privacy.is_some(), "priv_password", &priv_password)?;
            if privacy.is_some() && auth.is_none() {
                let (origin, key) = check.written("priv").expect("priv is set");
                return Err(bad(
                    origin,
                    key,
                    "privacy needs authentication: set `auth` too (USM has no privNoAuth)"
                        .to_string(),
                ));
            }
            for (field, secret) in [
                ("auth_password", &auth_password),
                ("priv_password", &priv_password),
            ] {
                if let Some(secret) = secret
                    && secret.expose().chars().count() < MIN_USM_PASSWORD
                {
                    let (origin, key) = check.written(field).expect("the password is set");
                    return Err(bad(
                        origin,
                        key,
                        format!(
                            "the password is shorter than {MIN_USM_PASSWORD} characters, which \
                             USM (RFC 3414) does not allow"
                        ),
                    ));
                }
            }
        }
    }
    Ok(Some(SnmpOptions {
        version,
        port,
        community: community.unwrap_or_default(),
        user: user.map(|(_, u)| u).unwrap_or_default(),
        auth,
        auth_password: auth_password.unwrap_or_default(),
        privacy,
        priv_password: priv_password.unwrap_or_default(),
    }))
}

/// `2c` or `3`, as YAML gives them (`3` is a number, `2c` text); v1 is refused by name.
fn parse_version(value: &Value) -> Result<SnmpVersion, String> {
    let text = match value {
        Value::String(s) => s.to_ascii_lowercase(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("{other} is not 2c or 3")),
    };
    match text.trim_start_matches('v') {
        "2c" => Ok(SnmpVersion::V2c),
        "3" => Ok(SnmpVersion::V3),
        "1" => Err("SNMPv1 is not supported; use 2c or 3".to_string()),
        "2" => Err("write `2c` (community-based SNMPv2)".to_string()),
        _ => Err(format!("{text:?} is not 2c or 3")),
    }
}

/// A key that supplies a secret and how its value becomes the secret's source.
type CredentialForm = (&'static str, fn(String) -> CredentialSource);

/// The merged keys, with the lookups the checks need.
struct Checker<'h, 'd> {
    host: &'h HostResolver<'d>,
    merged: HashMap<&'static str, Setting<'d>>,
    /// The rank (in resolution order) of the level that set `version`.
    limit: Option<usize>,
    /// The other version's keys, only read at `limit` or more specific levels.
    foreign: &'static [&'static str],
}

impl Checker<'_, '_> {
    fn get(&self, field: &str) -> Option<Setting<'_>> {
        self.merged.get(field).copied()
    }

    /// Where any of the forms of `base` (`base`, `base_env`, `base_file`) is written, or the
    /// plain key's own place for other keys.
    fn written(&self, base: &str) -> Option<(Origin, &str)> {
        [String::new(), "_env".into(), "_file".into()]
            .iter()
            .filter_map(|suffix| self.merged.get(format!("{base}{suffix}").as_str()))
            .map(|(origin, key, _)| (*origin, *key))
            .next()
    }

    /// A secret from the first level that writes any of its forms; two forms at that level
    /// are a conflict, as for `password`.
    fn credential(
        &self,
        base: &'static str,
        cache: &mut CredentialCache,
    ) -> Result<Option<Secret>, InventoryError> {
        let forms: [CredentialForm; 3] = match base {
            "community" => [
                ("community", |s| CredentialSource::Literal(Secret::new(s))),
                ("community_env", CredentialSource::Env),
                ("community_file", CredentialSource::File),
            ],
            "auth_password" => [
                ("auth_password", |s| {
                    CredentialSource::Literal(Secret::new(s))
                }),
                ("auth_password_env", CredentialSource::Env),
                ("auth_password_file", CredentialSource::File),
            ],
            _ => [
                ("priv_password", |s| {
                    CredentialSource::Literal(Secret::new(s))
                }),
                ("priv_password_env", CredentialSource::Env),
                ("priv_password_file", CredentialSource::File),
            ],
        };
        let levels = match self.foreign.contains(&base) {
            true => &self.host.levels[..self.limit.map_or(0, |l| l + 1)],
            false => self.host.levels,
        };
        let Some(level) = levels.iter().copied().find(|origin| {
            snmp_section(self.host.doc.entry(*origin))
                .is_some_and(|s| forms.iter().any(|(f, _)| s.contains_key(*f)))
        }) else {
            return Ok(None);
        };
        let section = snmp_section(self.host.doc.entry(level)).expect("found above");
        let mut present = forms.iter().filter(|(f, _)| section.contains_key(*f));
        let (field, wrap) = present.next().expect("found above");
        if let Some((other, _)) = present.next() {
            let kind = InventoryErrorKind::ConflictingCredential {
                field: other,
                other: field,
                base,
            };
            return Err(self
                .host
                .error(kind, level, &[Step::Key("snmp"), Step::Key(other)]));
        }
        let value = match &section[*field] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                let kind = InventoryErrorKind::InvalidValue {
                    what: format!("snmp `{field}`"),
                    reason: "expected a text".to_string(),
                };
                return Err(self
                    .host
                    .error(kind, level, &[Step::Key("snmp"), Step::Key(field)]));
            }
        };
        let credential = Credential {
            field,
            source: wrap(value),
        };
        // The cache and the error both point at `field`; the location finder looks it up
        // under `snmp:`.
        cache
            .read_in(
                level,
                &credential,
                self.host,
                &[Step::Key("snmp"), Step::Key(field)],
            )
            .map(Some)
    }

    /// `auth` needs its password and the password needs `auth` (same for `priv`).
    fn paired(
        &self,
        protocol: &str,
        has_protocol: bool,
        password: &str,
        secret: &Option<Secret>,
    ) -> Result<(), InventoryError> {
        let (origin, key, reason) = match (has_protocol, secret.is_some()) {
            (true, false) => {
                let (origin, key) = self.written(protocol).expect("protocol is set");
                let reason = format!(
                    "`{protocol}` needs `{password}`, `{password}_env` or `{password}_file`"
                );
                (origin, key, reason)
            }
            (false, true) => {
                let (origin, key) = self.written(password).expect("password is set");
                let reason = format!("a password without `{protocol}` (which protocol?)");
                (origin, key, reason)
            }
            _ => return Ok(()),
        };
        let kind = InventoryErrorKind::InvalidValue {
            what: format!("snmp `{key}`"),
            reason,
        };
        Err(self
            .host
            .error(kind, origin, &[Step::Key("snmp"), Step::Key(key)]))
    }
}

fn snmp_section(entry: &RawEntry) -> Option<&Map<String, Value>> {
    entry.snmp.as_ref()
}
