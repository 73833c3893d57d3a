//! Arbitrary host names and commands through the output tree: every name is one plain file
//! name (so nothing lands outside the directory), no two names share a file (each decodes back
//! to exactly what it was made from), and a symbolic link planted in the tree is never
//! written through.

use fanout_coordinator::output_tree::{OutputTree, Reuse, command_file, host_dir};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Characters that broke naive escaping before, and some that might next.
const TRICKY: &[char] = &[
    'a', 'Z', '0', '-', '.', '_', ' ', '/', '\\', ':', '%', '|', '*', '?', '\0', '\n', '\r', '\t',
    '\u{1b}', 'é', '😀', '~', '"', '\'',
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(TRICKY), 0..12)
            .prop_map(|chars| chars.into_iter().collect::<String>()),
        1 => any::<String>(),
        1 => Just("results.jsonl".to_string()),
        1 => Just("..".to_string()),
    ]
}

/// The inverse of the escaping: `%XX` is a byte, `_` a space when `underscore_is_space`, `%`
/// alone the empty name. Proves injectivity: a function with a left inverse is one-to-one.
fn decode(name: &str, underscore_is_space: bool) -> Vec<u8> {
    if name == "%" {
        return Vec::new();
    }
    let bytes = name.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'_' if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn is_one_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains('/')
        && !name.contains('\0')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._%".contains(&b))
}

/// Every entry under `dir`, without following links: (path, is a symbolic link).
fn walk(dir: &Path, found: &mut Vec<(std::path::PathBuf, bool)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        found.push((path.clone(), meta.file_type().is_symlink()));
        if meta.is_dir() {
            walk(&path, found);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn names_are_plain_and_decode_to_what_they_came_from(host in name(), command in name()) {
        let dir = host_dir(&host);
        prop_assert!(is_one_plain_name(&dir), "{host:?} -> {dir:?}");
        prop_assert_ne!(dir.as_str(), "results.jsonl");
        prop_assert_eq!(decode(&dir, false), host.as_bytes());

        let file = command_file(&command);
        prop_assert!(is_one_plain_name(&file), "{command:?} -> {file:?}");
        let stem = file.strip_suffix(".txt").unwrap();
        prop_assert_eq!(decode(stem, true), command.trim().as_bytes());
    }

    #[test]
    fn a_tree_of_arbitrary_names_stays_inside_and_follows_no_link(
        hosts in prop::collection::btree_set(name(), 1..6),
        commands in prop::collection::btree_set(name(), 1..4),
        planted in any::<prop::sample::Index>(),
    ) {
        let scratch = tempfile::tempdir().unwrap();
        let outside = scratch.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let out = scratch.path().join("out");
        let tree = OutputTree::open(&out, Reuse::Refuse).unwrap();
        // One host's directory is a link to somewhere else, planted after the tree opened.
        let hosts: Vec<String> = hosts.into_iter().collect();
        let victim = planted.get(&hosts).clone();
        std::os::unix::fs::symlink(&outside, out.join(host_dir(&victim))).unwrap();
        // Commands equal after trimming are refused before a run; keep one of each here.
        let commands: BTreeMap<String, String> =
            commands.into_iter().map(|c| (command_file(&c), c)).collect();

        let mut written = BTreeSet::new();
        for host in &hosts {
            for (file, command) in &commands {
                let relative = [host_dir(host), command_file(command)];
                let relative = [relative[0].as_str(), relative[1].as_str()];
                match tree.write(&relative, command.as_bytes()) {
                    Ok(()) => {
                        prop_assert!(host != &victim);
                        prop_assert!(written.insert(out.join(host_dir(host)).join(file)));
                    }
                    Err(e) => {
                        let why = e.to_string();
                        prop_assert!(
                            (host == &victim && why.contains("symbolic link"))
                                || why.contains("too long"),
                            "{host:?} {command:?}: {why}"
                        );
                    }
                }
            }
        }
        prop_assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        let mut found = Vec::new();
        walk(&out, &mut found);
        let files: BTreeSet<_> = found
            .iter()
            .filter(|(p, link)| !link && p.is_file())
            .map(|(p, _)| p.clone())
            .collect();
        prop_assert_eq!(&files, &written);
        for file in &files {
            prop_assert!(file.starts_with(&out));
        }
    }
}
