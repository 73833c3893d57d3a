//! Platforms the worker's session driver knows how to talk to. Checked when the inventory loads,
//! so a typo fails before any connection instead of on every host.

pub const BUILTIN: &[&str] = &["cisco_ios", "cisco_xe", "linux"];

pub fn builtin() -> Vec<String> {
    BUILTIN.iter().map(|p| p.to_string()).collect()
}
