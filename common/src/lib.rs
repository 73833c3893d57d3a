//! fanout's shared vocabulary. Knows no server and no device: the wire contract, the inventory,
//! what a job asks for and what a host's result looks like.

pub mod access;
pub mod backoff;
pub mod channel;
pub mod command_text;
pub mod convert;
pub mod failure;
pub mod http;
pub mod input;
pub mod inventory;
pub mod limits;
pub mod paths;
pub mod platform;
pub mod proto;
pub mod secret;
pub mod snmp_names;
pub mod suggest;
pub mod wire;

pub use backoff::Backoff;
pub use failure::FailureKind;
pub use secret::Secret;
