//! SNMPv3 User-based Security Model (RFC 3414) for devsim's agent, on its own wildcard socket.
//!
//! async-snmp's `Agent` would do this, but it owns its socket, and devsim answers every device
//! from one socket that learns the device from the destination address. So this module runs the
//! RFC 3414 section 3.2 steps itself, over async-snmp's public pieces: its BER codec for the
//! message, header and USM parameters, its password-to-key and localisation (RFC 3414 A.2),
//! HMAC-SHA-1-96 / HMAC-SHA-256-192 and AES-128-CFB (RFC 3826). No cryptography is written
//! here.
//!
//! Each device is its own authoritative engine, with its own engine ID (built from its index),
//! so a client discovers and localises keys per device, as it must against a real fleet. The
//! engine booted once when the agent started; engine time counts seconds from then.
//!
//! Failures answer as a real agent does, with a Report the client can act on: an empty or
//! foreign engine ID gets usmStatsUnknownEngineIDs (engine discovery), an unknown user
//! usmStatsUnknownUserNames, a wrong digest (wrong password) usmStatsWrongDigests, a message
//! outside the 150-second window an authenticated usmStatsNotInTimeWindows carrying the
//! engine's boots and time, and undecryptable data usmStatsDecryptionErrors.

use async_snmp::message::{
    MsgFlags, MsgGlobalData, ScopedPdu, SecurityLevel, V3Message, V3MessageData,
};
use async_snmp::v3::auth::{authenticate_message, verify_message};
use async_snmp::v3::{
    LocalizedKey, MasterKey, PrivKey, SaltCounter, UsmSecurityParams, in_authoritative_time_window,
    report_oids,
};
use async_snmp::{
    AuthProtocol, DecodeConfig, MessageSize, Oid, PrivProtocol, ResponsePdu, Value, VarBind,
    Version,
};
use bytes::Bytes;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

/// How a fleet answers SNMP: v2c with a community, v3 for USM users, or both on one socket.
#[derive(Clone, Default)]
pub struct SnmpConfig {
    /// The v2c community; `None` leaves v2c unanswered.
    pub community: Option<String>,
    /// The SNMPv3 users every device knows. The inventory devsim writes names the first one
    /// (or the community when there is none).
    pub users: Vec<SnmpUser>,
}

impl SnmpConfig {
    /// v2c only, with `community`.
    pub fn v2c(community: &str) -> Self {
        Self {
            community: Some(community.to_string()),
            users: Vec::new(),
        }
    }
}

impl std::fmt::Debug for SnmpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnmpConfig")
            .field("community", &self.community.as_ref().map(|_| "<redacted>"))
            .field("users", &self.users)
            .finish()
    }
}

/// USM authentication protocols devsim's agent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnmpAuth {
    /// HMAC-SHA-1-96 (RFC 3414).
    Sha1,
    /// HMAC-SHA-256-192 (RFC 7860).
    Sha256,
}

impl SnmpAuth {
    /// The name fanout's inventory takes.
    pub fn name(self) -> &'static str {
        match self {
            SnmpAuth::Sha1 => "sha",
            SnmpAuth::Sha256 => "sha256",
        }
    }

    fn protocol(self) -> AuthProtocol {
        match self {
            SnmpAuth::Sha1 => AuthProtocol::Sha1,
            SnmpAuth::Sha256 => AuthProtocol::Sha256,
        }
    }
}

/// One SNMPv3 user: authentication always, AES-128 privacy when `priv_password` is set. The
/// `_env` names are what the inventory tells fanout to read the passwords from; devsim itself
/// is handed the passwords. `Debug` never shows a password.
#[derive(Clone)]
pub struct SnmpUser {
    pub name: String,
    pub auth: SnmpAuth,
    pub auth_password: String,
    pub auth_password_env: String,
    /// `None`: authNoPriv only.
    pub priv_password: Option<String>,
    pub priv_password_env: String,
}

impl std::fmt::Debug for SnmpUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnmpUser")
            .field("name", &self.name)
            .field("auth", &self.auth)
            .field("auth_password_env", &self.auth_password_env)
            .field("privacy", &self.priv_password.is_some())
            .field("priv_password_env", &self.priv_password_env)
            .finish()
    }
}

/// The engine's boots: it booted once, when the agent started (devsim keeps no state across
/// runs, and a client that saw an earlier run rediscovers on the notInTimeWindow report).
const ENGINE_BOOTS: u32 = 1;
/// The largest message this engine accepts, advertised in every answer.
const MAX_MESSAGE: usize = 65_507;

/// Device `index`'s engine ID: RFC 3411 format, net-snmp's enterprise number (8072), octets
/// format (5), then "devsim" and the index, so every device is its own engine.
pub(crate) fn engine_id(index: usize) -> Bytes {
    let mut id = vec![0x80, 0x00, 0x1f, 0x88, 0x05];
    id.extend_from_slice(b"devsim");
    id.extend_from_slice(&(index as u32).to_be_bytes());
    Bytes::from(id)
}

/// A user's keys localised to one device's engine.
struct DeviceKeys {
    auth: LocalizedKey,
    privacy: Option<PrivKey>,
}

/// A user as the agent holds it: the master keys (the expensive one-megabyte password hash,
/// done once at start), and the keys localised to each device, made on the device's first
/// authenticated request.
struct User {
    name: Bytes,
    auth_master: MasterKey,
    priv_master: Option<MasterKey>,
    localized: Vec<OnceLock<Option<DeviceKeys>>>,
}

impl User {
    fn keys(&self, index: usize) -> Option<&DeviceKeys> {
        self.localized
            .get(index)?
            .get_or_init(|| {
                let engine = engine_id(index);
                let auth = self.auth_master.localize(&engine).ok()?;
                let privacy = match &self.priv_master {
                    Some(master) => {
                        Some(PrivKey::from_master_key(master, PrivProtocol::Aes128, &engine).ok()?)
                    }
                    None => None,
                };
                Some(DeviceKeys { auth, privacy })
            })
            .as_ref()
    }
}

/// Why a request failed USM processing: the usmStats counter it bumps and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    UnsupportedSecLevels = 0,
    NotInTimeWindows = 1,
    UnknownUserNames = 2,
    UnknownEngineIds = 3,
    WrongDigests = 4,
    DecryptionErrors = 5,
}

impl Failure {
    fn oid(self) -> Oid {
        match self {
            Failure::UnsupportedSecLevels => report_oids::unsupported_sec_levels(),
            Failure::NotInTimeWindows => report_oids::not_in_time_windows(),
            Failure::UnknownUserNames => report_oids::unknown_user_names(),
            Failure::UnknownEngineIds => report_oids::unknown_engine_ids(),
            Failure::WrongDigests => report_oids::wrong_digests(),
            Failure::DecryptionErrors => report_oids::decryption_errors(),
        }
    }
}

/// The agent's USM state: users, the AES salt counter and the usmStats counters.
pub(crate) struct Usm {
    users: Vec<User>,
    started: Instant,
    salt: SaltCounter,
    stats: [AtomicU32; 6],
}

/// A request that passed USM: what the answer needs to go back under the same security.
pub(crate) struct Accepted {
    pub pdu: async_snmp::pdu::Pdu,
    msg_id: i32,
    level: SecurityLevel,
    user: usize,
    context_name: Bytes,
    /// The requester's msgMaxSize: the answer must not be larger.
    max_size: usize,
}

/// What USM made of a v3 request.
pub(crate) enum Outcome {
    Accepted(Box<Accepted>),
    /// A Report to send back.
    Report(Bytes),
    /// Nothing to send (not reportable, or not even a v3 message).
    Drop,
}

impl Usm {
    /// Derives every user's master keys; an unusable password (under 8 characters) is an error
    /// naming the user, never the password.
    pub(crate) fn new(users: &[SnmpUser], devices: usize) -> Result<Self, String> {
        let users = users
            .iter()
            .map(|u| {
                let short = |what: &str| {
                    format!(
                        "snmp v3 user {}: the {what} password must be at least 8 characters",
                        u.name
                    )
                };
                let auth_master = MasterKey::from_str_password(u.auth.protocol(), &u.auth_password)
                    .map_err(|_| short("auth"))?;
                let priv_master = match &u.priv_password {
                    Some(p) => Some(
                        MasterKey::from_str_password(u.auth.protocol(), p)
                            .map_err(|_| short("priv"))?,
                    ),
                    None => None,
                };
                Ok(User {
                    name: Bytes::copy_from_slice(u.name.as_bytes()),
                    auth_master,
                    priv_master,
                    localized: (0..devices).map(|_| OnceLock::new()).collect(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            users,
            started: Instant::now(),
            salt: SaltCounter::new().map_err(|e| format!("snmp v3 salt: {e}"))?,
            stats: Default::default(),
        })
    }

    /// `(boots, time)` now.
    fn clock(&self) -> (u32, u32) {
        let seconds = self.started.elapsed().as_secs();
        (ENGINE_BOOTS, seconds.min(i32::MAX as u64) as u32)
    }

    /// RFC 3414 section 3.2 over one request `data` (already decoded as `message`) for device
    /// `index`.
    pub(crate) fn accept(&self, index: usize, data: &Bytes, message: V3Message) -> Outcome {
        let Ok(usm) =
            UsmSecurityParams::decode(message.security_params().clone(), DecodeConfig::default())
        else {
            return Outcome::Drop;
        };
        let usm = usm.value;
        let global = message.global_data();
        let level = global.msg_flags().security_level;
        let fail = |failure: Failure, auth: Option<&LocalizedKey>| {
            let count = self.stats[failure as usize]
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1);
            if !global.msg_flags().reportable {
                return Outcome::Drop;
            }
            self.report(index, global.msg_id(), usm.username(), failure, count, auth)
                .map_or(Outcome::Drop, Outcome::Report)
        };
        let engine = engine_id(index);
        // Step 3: an empty engine ID is discovery; a foreign one is not ours to answer.
        if usm.engine_id() != &engine {
            return fail(Failure::UnknownEngineIds, None);
        }
        // Step 4.
        let Some(user) = self.users.iter().position(|u| u.name == usm.username()) else {
            return fail(Failure::UnknownUserNames, None);
        };
        let Some(keys) = self.users[user].keys(index) else {
            return Outcome::Drop;
        };
        // Step 5: every user here authenticates; the data is never served without it.
        if !level.requires_auth() || (level.requires_priv() && keys.privacy.is_none()) {
            return fail(Failure::UnsupportedSecLevels, None);
        }
        // Step 6: the digest, computed over the message with the digest field zeroed.
        let digest_ok = UsmSecurityParams::find_auth_params_offset(data)
            .map(|(offset, len)| verify_message(&keys.auth, data, offset, len).unwrap_or(false))
            .unwrap_or(false);
        if !digest_ok {
            return fail(Failure::WrongDigests, None);
        }
        // Step 7a: this engine is authoritative; the report is authenticated so the client can
        // trust the boots and time it carries and resynchronise.
        let (boots, time) = self.clock();
        if !in_authoritative_time_window(boots, time, usm.engine_boots(), usm.engine_time()) {
            return fail(Failure::NotInTimeWindows, Some(&keys.auth));
        }
        let scoped = match message.data() {
            V3MessageData::Plaintext(scoped) => scoped.clone(),
            V3MessageData::Encrypted(ciphertext) => {
                let Some(privacy) = &keys.privacy else {
                    return fail(Failure::UnsupportedSecLevels, None);
                };
                let plain = match privacy.decrypt(
                    ciphertext,
                    usm.engine_boots(),
                    usm.engine_time(),
                    usm.priv_params(),
                ) {
                    Ok(plain) => plain,
                    Err(_) => return fail(Failure::DecryptionErrors, None),
                };
                let mut decoder = async_snmp::ber::Decoder::new(plain);
                match ScopedPdu::decode(&mut decoder) {
                    Ok(scoped) => scoped,
                    // Decrypted garbage: the privacy password was wrong.
                    Err(_) => return fail(Failure::DecryptionErrors, None),
                }
            }
        };
        Outcome::Accepted(Box::new(Accepted {
            pdu: scoped.pdu,
            msg_id: global.msg_id(),
            level,
            user,
            context_name: scoped.context_name,
            max_size: global.msg_max_size().as_usize(),
        }))
    }

    /// The Report for `failure`, from device `index`'s engine: noAuthNoPriv, or authNoPriv
    /// under `auth`.
    fn report(
        &self,
        index: usize,
        msg_id: i32,
        username: &Bytes,
        failure: Failure,
        count: u32,
        auth: Option<&LocalizedKey>,
    ) -> Option<Bytes> {
        let engine = engine_id(index);
        let (boots, time) = self.clock();
        let pdu = ResponsePdu::report(
            0,
            vec![VarBind::new(failure.oid(), Value::Counter32(count))],
        )
        .ok()?
        .into_raw();
        let mut params =
            UsmSecurityParams::new(engine.clone(), boots, time, username.clone()).ok()?;
        let level = match auth {
            Some(key) => {
                params = params.with_auth_placeholder(key.mac_len()).ok()?;
                SecurityLevel::AuthNoPriv
            }
            None => SecurityLevel::NoAuthNoPriv,
        };
        let global = MsgGlobalData::new(
            msg_id,
            MessageSize::new(MAX_MESSAGE).ok()?,
            MsgFlags::new(level, false),
        )
        .ok()?;
        let message = V3Message::new(
            global,
            params.encode().ok()?,
            ScopedPdu::new(engine, Bytes::new(), pdu),
        )
        .ok()?;
        let mut encoded = message.encode().ok()?.to_vec();
        if let Some(key) = auth {
            let (offset, len) = UsmSecurityParams::find_auth_params_offset(&encoded)?;
            authenticate_message(key, &mut encoded, offset, len).ok()?;
        }
        Some(Bytes::from(encoded))
    }

    /// The Response carrying `varbinds` to `request`, under its security level, at most
    /// `limit` bytes (and never above the requester's msgMaxSize): trailing varbinds are
    /// dropped until it fits, as a GETBULK may answer with fewer repetitions than asked.
    pub(crate) fn respond(
        &self,
        index: usize,
        request: &Accepted,
        request_id: i32,
        mut varbinds: Vec<VarBind>,
        limit: usize,
    ) -> Option<Bytes> {
        let limit = limit.min(request.max_size);
        let user = &self.users[request.user];
        let keys = user.keys(index)?;
        let engine = engine_id(index);
        loop {
            let pdu = ResponsePdu::success(Version::V3, request_id, varbinds.clone())
                .ok()?
                .into_raw();
            let scoped = ScopedPdu::new(engine.clone(), request.context_name.clone(), pdu);
            let (boots, time) = self.clock();
            let mut params =
                UsmSecurityParams::new(engine.clone(), boots, time, user.name.clone()).ok()?;
            params = params.with_auth_placeholder(keys.auth.mac_len()).ok()?;
            let global = MsgGlobalData::new(
                request.msg_id,
                MessageSize::new(MAX_MESSAGE).ok()?,
                MsgFlags::new(request.level, false),
            )
            .ok()?;
            let message = match (&keys.privacy, request.level.requires_priv()) {
                (Some(privacy), true) => {
                    let plain = scoped.encode_to_bytes().ok()?;
                    let (ciphertext, salt) =
                        privacy.encrypt_aes(&plain, boots, time, &self.salt).ok()?;
                    params = params.with_priv_params(salt).ok()?;
                    V3Message::new_with_opaque_encrypted_scoped_pdu(
                        global,
                        params.encode().ok()?,
                        ciphertext,
                    )
                    .ok()?
                }
                _ => V3Message::new(global, params.encode().ok()?, scoped).ok()?,
            };
            let mut encoded = message.encode().ok()?.to_vec();
            if encoded.len() > limit && varbinds.len() > 1 {
                varbinds.truncate(varbinds.len() / 2);
                continue;
            }
            let (offset, len) = UsmSecurityParams::find_auth_params_offset(&encoded)?;
            authenticate_message(&keys.auth, &mut encoded, offset, len).ok()?;
            return Some(Bytes::from(encoded));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_device_is_its_own_valid_engine() {
        let (a, b) = (engine_id(0), engine_id(1));
        assert_ne!(a, b);
        async_snmp::v3::validate_engine_id(&a).unwrap();
    }

    #[test]
    fn a_short_password_is_refused_without_showing_it() {
        let user = SnmpUser {
            name: "noc".into(),
            auth: SnmpAuth::Sha256,
            auth_password: "short".into(),
            auth_password_env: "A".into(),
            priv_password: None,
            priv_password_env: "P".into(),
        };
        let error = Usm::new(std::slice::from_ref(&user), 1)
            .err()
            .expect("refused");
        assert!(error.contains("noc") && !error.contains("short"), "{error}");
        assert!(!format!("{user:?}").contains("short"));
    }
}
