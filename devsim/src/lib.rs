//! Simulated network devices for fanout's demo, tests and benchmarks.
//!
//! A [`Fleet`] serves thousands of routers over real SSH from one process, each speaking one
//! vendor's CLI ([`Platform`]: Cisco IOS by default, or another persona, from IOS XE and Junos
//! to Huawei VRP and MikroTik RouterOS). Every device has its own loopback address
//! (`127.1.0.1`, `127.1.0.2`, ...), but a single listener on
//! the wildcard address serves them all: the device is the local address the client connected
//! to. That keeps a 10,000-device fleet within a file-descriptor limit that could never hold
//! 10,000 listeners plus their sessions.
//!
//! Everything a device says is deterministic in `(hostname, seed)`, so tests can compare collected
//! output byte for byte with [`running_config`], and host keys stay the same across runs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fanout_devsim::DevsimError> {
//! use fanout_devsim::{Fleet, FleetConfig};
//! let fleet = Fleet::start(FleetConfig { count: 20, ..FleetConfig::default() }).await?;
//! println!("{}", fleet.inventory_yaml());
//! fleet.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod churn;
mod config_gen;
mod config_store;
mod device;
mod drift;
pub mod dynamics;
mod fleet;
mod http;
mod huge;
mod inventory;
mod keys;
mod model;
mod persona;
mod session;
pub mod shell;
mod show;
mod snmp;
mod usm;

pub use config_gen::running_config;
pub use config_store::ConfigState;
pub use device::{Device, Fault, FaultMix, FleetConfig};
pub use drift::{Drift, DriftConfig, device_running_config};
pub use dynamics::{CpuVariation, Dynamics, DynamicsConfig, FlapSchedule};
pub use fleet::Fleet;
pub use http::{device_interfaces_json, device_log};
pub use huge::HUGE_OUTPUT_BYTES;
pub use keys::host_key;
pub use persona::{Platform, Quirks, command_output, session_outputs};
pub use usm::{SnmpAuth, SnmpConfig, SnmpUser};

use std::net::{Ipv4Addr, SocketAddr};

/// Why a fleet could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevsimError {
    /// The configuration asks for something the simulator cannot serve.
    #[error("invalid fleet configuration: {reason}")]
    InvalidConfig {
        /// What is wrong, in words a user can act on.
        reason: String,
    },
    /// A device address would fall outside 127.0.0.0/8; devsim only ever serves loopback (or,
    /// inside a network namespace a test built, that namespace's own addresses).
    #[error(
        "device address {address} is not a loopback address (devsim serves 127.0.0.0/8 only, except inside a private network namespace)"
    )]
    NotLoopback {
        /// The first address that would leave the loopback range.
        address: Ipv4Addr,
    },
    /// The listening socket could not be set up (port in use, permission, fd limit).
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address we tried to bind.
        address: SocketAddr,
        /// The operating system's reason; part of the message (not a `source`) so callers that
        /// print only the top error still show it.
        reason: std::io::Error,
    },
}
