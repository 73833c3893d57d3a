//! No inventory, however mangled, makes the loader panic: every input is either an inventory or
//! an error that names the file.

use fanout_common::inventory::{Inventory, LoadOptions};
use proptest::prelude::*;

/// Fragments real inventories are made of, so mutations reach deep into the loader rather than
/// failing at the first byte.
const FRAGMENTS: &[&str] = &[
    "hosts:\n",
    "groups:\n",
    "defaults:\n",
    "  r1:\n",
    "  r2:\n",
    "  core:\n",
    "    hostname: 10.0.0.1\n",
    "    port: 22\n",
    "    port: 70000\n",
    "    port: abc\n",
    "    platform: cisco_ios\n",
    "    platform: nope\n",
    "    groups: [core]\n",
    "    groups: [missing]\n",
    "    groups: core\n",
    "    data: {site: ams}\n",
    "    data: [1, 2]\n",
    "    password: x\n",
    "    password_env: NOPE_UNSET_VAR\n",
    "    password_file: /nonexistent\n",
    "    secret: y\n",
    "    connection_options: {netmiko: {extras: {secret: z}}}\n",
    "    <<: *base\n",
    "  &base b:\n",
    "    hostnme: typo\n",
    "- list\n",
    "{",
    "}",
    "[",
    "]",
    ":",
    "\t",
    "'",
    "\"",
    "~\n",
    "null\n",
    "\n",
    "    ",
    "!!binary aGk=\n",
    "? complex\n",
    "r1:\n",
    "hosts: []\n",
];

fn assemble(picks: &[usize], noise: &[u8]) -> Vec<u8> {
    let mut text: Vec<u8> = picks
        .iter()
        .flat_map(|i| FRAGMENTS[i % FRAGMENTS.len()].bytes())
        .collect();
    if let Some(&at) = noise.first() {
        let at = at as usize % (text.len() + 1);
        text.splice(at..at, noise[1..].iter().copied());
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mangled_inventories_never_panic(
        picks in proptest::collection::vec(0usize..1000, 0..40),
        noise in proptest::collection::vec(any::<u8>(), 0..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.yaml");
        std::fs::write(&path, assemble(&picks, &noise)).unwrap();
        let options = LoadOptions { known_platforms: vec!["cisco_ios".into()], ..LoadOptions::default() };
        match Inventory::load(&path, &options) {
            Ok(inventory) => {
                for host in inventory.hosts() {
                    let _ = host.describe();
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("inv.yaml") || e.to_string().contains("host"), "error without context: {e}"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.yaml");
        std::fs::write(&path, &bytes).unwrap();
        let _ = Inventory::load(&path, &LoadOptions::default());
    }
}
