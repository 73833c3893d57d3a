//! Host keys derived from `(seed, device name)`: the same fleet presents the same keys on every
//! run, so clients that pin host keys (`accept-new`, `strict`) keep working across restarts,
//! while each device still has a key of its own, as real devices do.

use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::Ed25519Keypair;
use sha2::{Digest, Sha256};

/// The ed25519 host key of device `name` in a fleet seeded with `seed`.
///
/// Derived by hashing rather than drawn from a random generator so it is stable across devsim
/// versions; it is a test key and must never guard anything real.
pub fn host_key(seed: u64, name: &str) -> PrivateKey {
    let mut hasher = Sha256::new();
    hasher.update(b"fanout-devsim host key v1\0");
    hasher.update(seed.to_le_bytes());
    hasher.update(name.as_bytes());
    let digest = hasher.finalize();
    let mut key_seed = [0u8; 32];
    key_seed.copy_from_slice(&digest);
    PrivateKey::from(Ed25519Keypair::from_seed(&key_seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        let a = host_key(1, "r00001");
        assert_eq!(a.public_key(), host_key(1, "r00001").public_key());
        assert_ne!(a.public_key(), host_key(1, "r00002").public_key());
        assert_ne!(a.public_key(), host_key(2, "r00001").public_key());
        assert_eq!(a.algorithm(), russh::keys::Algorithm::Ed25519);
    }
}
