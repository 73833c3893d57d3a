//! Checks a client runs before it sends a job to workers, so a mistake in its own files fails
//! the command at once, naming the file, instead of failing every host on every worker. A
//! deliberate public API: the coordinator's commands use these, not the session's internals.

use fanout_common::Secret;

/// Whether `key` (OpenSSH or PEM text) decodes as a private key with `passphrase` (empty: not
/// encrypted), exactly as a session will decode it; the reason when it does not.
pub fn check_private_key(key: &Secret, passphrase: &Secret) -> Result<(), String> {
    crate::session::check_private_key(key, passphrase)
}
