//! Platform names the session driver can talk to, for inventory checks: a typo fails when the
//! inventory loads instead of on every host. The profiles themselves live in [`crate::platform`].

use crate::platform::{PlatformError, PlatformRegistry};
use std::path::Path;

/// The built-in platforms' names, sorted.
pub fn builtin() -> Vec<String> {
    PlatformRegistry::builtin().names()
}

/// The built-in platforms plus those of a user directory, sorted.
pub fn known(dir: Option<&Path>) -> Result<Vec<String>, PlatformError> {
    PlatformRegistry::load(dir).map(|r| r.names())
}
