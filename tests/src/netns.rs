//! A small network of Linux network namespaces for multi-host tests: one namespace per
//! "machine", each with an `eth0` cabled by a veth pair to a bridge in a switch namespace of
//! its own. Everything is created by the test and removed when the [`Network`] is dropped; no
//! interface or address of the host's own namespace is touched or used.

use std::net::Ipv4Addr;
use std::process::Command;

/// The switch: a bridge every machine's cable plugs into.
const BRIDGE: &str = "br0";

pub struct Network {
    prefix: String,
    switch: String,
    machines: Vec<String>,
}

/// Why the test cannot build namespaces here (not root, no `ip`, no netns support).
pub fn unavailable() -> Option<String> {
    // Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): the probe says so when it is missing.
    let probe = format!("fo-probe-{}", std::process::id());
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Ok(out) if out.status.success() => {
            let _ = Command::new("ip").args(["netns", "del", &probe]).output();
            None
        }
        Ok(out) => Some(format!(
            "`ip netns add` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run `ip` (iproute2): {e}")),
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (iproute2) runs");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

impl Network {
    /// A switch and no machines yet. `tag` keeps concurrent tests' namespaces apart.
    pub fn new(tag: &str) -> Self {
        let prefix = format!("fo-{tag}-{}", std::process::id());
        let switch = format!("{prefix}-sw");
        ip(&["netns", "add", &switch]);
        let network = Self {
            prefix,
            switch,
            machines: Vec::new(),
        };
        ip(&["-n", &network.switch, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &network.switch,
            "link",
            "add",
            BRIDGE,
            "type",
            "bridge",
        ]);
        ip(&["-n", &network.switch, "link", "set", BRIDGE, "up"]);
        network
    }

    /// Adds a machine with `address`/16 on its eth0, cabled to the switch; returns its
    /// namespace's name.
    pub fn machine(&mut self, name: &str, address: Ipv4Addr) -> String {
        let ns = format!("{}-{name}", self.prefix);
        ip(&["netns", "add", &ns]);
        self.machines.push(ns.clone());
        let port = self.port_of(name);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        // Both ends are created inside our namespaces: the host's namespace never sees them.
        ip(&[
            "-n",
            &ns,
            "link",
            "add",
            "eth0",
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &self.switch,
        ]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{address}/16"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        ip(&["-n", &self.switch, "link", "set", &port, "master", BRIDGE]);
        ip(&["-n", &self.switch, "link", "set", &port, "up"]);
        ns
    }

    /// More addresses on a machine's eth0 (a simulated fleet's devices), in one `ip -batch`.
    pub fn add_addresses(&self, name: &str, addresses: &[Ipv4Addr]) {
        let ns = format!("{}-{name}", self.prefix);
        let batch: String = addresses
            .iter()
            .map(|a| format!("addr add {a}/16 dev eth0\n"))
            .collect();
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), batch).expect("write batch");
        ip(&[
            "-n",
            &ns,
            "-batch",
            file.path().to_str().expect("utf-8 path"),
        ]);
    }

    /// Pulls the machine's cable out of the switch: nothing reaches it or leaves it any more.
    pub fn cut(&self, name: &str) {
        ip(&[
            "-n",
            &self.switch,
            "link",
            "set",
            &self.port_of(name),
            "down",
        ]);
    }

    /// A command that runs `program` inside the machine's namespace.
    pub fn command(&self, name: &str, program: &std::path::Path) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("ip");
        command
            .args(["netns", "exec", &format!("{}-{name}", self.prefix)])
            .arg(program);
        command
    }

    /// The switch-side interface name (at most 15 bytes, unique within the switch).
    fn port_of(&self, name: &str) -> String {
        let mut port = format!("p-{name}");
        port.truncate(15);
        port
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Deleting a namespace destroys the veth ends inside it, and with them their peers.
        for ns in self.machines.iter().chain(std::iter::once(&self.switch)) {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
