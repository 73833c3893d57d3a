//! The `--output` directory, written safely. Everything fanout stores there (each command's
//! output, `results.jsonl`, and whatever else a run keeps per host) is created through an
//! [`OutputTree`], which guarantees:
//!
//! - **Injective names.** [`host_dir`] and [`command_file`] escape what a file name cannot hold
//!   instead of folding it into `_`, so two hosts (`a/b`, `a_b`, `a:b`) or two commands
//!   (`show version`, `show_version`) never share a file, while ordinary names stay as people
//!   expect them (`r00001/show_running-config.txt`). Commands are trimmed first, so two that
//!   differ only in surrounding blanks do collide; [`Collisions`] finds those before a run.
//! - **No link is followed.** The directory is opened once with `O_NOFOLLOW`, and everything
//!   below it is reached from that descriptor one component at a time (`openat` with
//!   `O_DIRECTORY | O_NOFOLLOW`, `mkdirat`, files with `O_CREAT | O_EXCL | O_NOFOLLOW`): a
//!   symbolic link anywhere in the tree is refused, never written through, and no name can
//!   leave the directory.
//! - **Private.** Directories are created 0700 and files 0600 (less if the umask says so):
//!   saved configurations hold secrets.
//! - **One run per directory.** A run starts from a directory that is new or empty
//!   ([`Reuse::Refuse`]), or from one whose earlier run it first removes ([`Reuse::Overwrite`],
//!   which only clears a tree shaped like fanout's own output). Every file is created exactly
//!   once (`O_EXCL`): nothing of an earlier run survives next to this one's files, and a name
//!   used twice in one run is an error, not an overwrite.
//!
//! Writing a file: `tree.write(&[&host_dir(host), &command_file(command)], bytes)`, or
//! `tree.create(&[..])` for a file written as it goes. Paths are given as components so that a
//! caller cannot smuggle `..` or `/` in.

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, open, openat};
use nix::sys::stat::{Mode, SFlag, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Names at the top of the output directory that are not a host's directory.
const RESERVED: [&str; 1] = ["results.jsonl"];
/// What a file name may carry as it is; everything else is percent-escaped.
fn plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.'
}

/// The directory of `host` under the output directory: the name itself when it is made of
/// letters, digits, `-`, `.` and `_`; otherwise every other byte as `%XX`, a leading `.` as
/// `%2E` (no hidden or `..` directories), and an empty name as `%`. Injective: two different
/// names never give the same directory, and none gives a name fanout keeps for itself.
pub fn host_dir(host: &str) -> String {
    let name = escape(host, |b| plain(b) || b == b'_', false);
    if RESERVED.contains(&name.as_str()) {
        // `%72esults.jsonl` decodes to the same host, and no other name escapes to it.
        return format!("%{:02X}{}", name.as_bytes()[0], &name[1..]);
    }
    name
}

/// The file of one command's output in its host's directory: the command trimmed, spaces as
/// `_`, letters, digits, `-` and `.` as they are, every other byte (`_` and `%` included) as
/// `%XX`, a leading `.` as `%2E`, then `.txt`. `show running-config` is
/// `show_running-config.txt`; `show_version` is `show%5Fversion.txt`.
pub fn command_file(command: &str) -> String {
    format!("{}.txt", escape(command.trim(), plain, true))
}

/// Percent-escaping with a choice of what stays; `space_as_underscore` writes ` ` as `_`
/// (then `_` itself must not be in `keep`, or the escaping would not be injective).
fn escape(text: &str, keep: impl Fn(u8) -> bool, space_as_underscore: bool) -> String {
    if text.is_empty() {
        // `%` alone is not an escape (those have two hex digits), so it names only this.
        return "%".into();
    }
    let mut out = String::with_capacity(text.len());
    for (i, byte) in text.bytes().enumerate() {
        if byte == b' ' && space_as_underscore {
            out.push('_');
        } else if keep(byte) && !(i == 0 && byte == b'.') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What to do with an output directory that already holds something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Refuse it: the run needs a new or empty directory.
    Refuse,
    /// Remove an earlier run first, if the directory holds `marker` (e.g. `results.jsonl`)
    /// and nothing but plain files and directories of plain files; otherwise refuse it.
    Overwrite { marker: &'static str },
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{path}: {why}")]
    Unusable { path: PathBuf, why: String },
    #[error(
        "{path} is not empty (it holds {example}): give a new or empty directory, or --overwrite to replace an earlier run's output there"
    )]
    NotEmpty { path: PathBuf, example: String },
    #[error(
        "{path} does not look like an earlier run's output ({why}); fanout removes nothing it did not write: give a new or empty directory"
    )]
    NotOurs { path: PathBuf, why: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{name:?} is not a file name under the output directory")]
    BadName { name: String },
}

/// An output directory, opened once; every file below it is created relative to it.
#[derive(Debug)]
pub struct OutputTree {
    /// As given, for messages.
    path: PathBuf,
    /// The directory itself, so nothing that happens to the path later redirects a write.
    root: OwnedFd,
}

impl OutputTree {
    /// Creates the directory (0700) if it does not exist, refuses it if it is a symbolic link
    /// or not a directory, and applies `reuse` to what it already holds.
    pub fn open(path: &Path, reuse: Reuse) -> Result<Self, TreeError> {
        // `out/` with a trailing slash would follow a link named `out`; the components do not.
        let path: PathBuf = path.components().collect();
        let unusable = |why: String| TreeError::Unusable {
            path: path.clone(),
            why,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| unusable(e.to_string()))?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(unusable(e.to_string())),
        }
        let root = open(&path, dir_flags(), Mode::empty()).map_err(|e| {
            // Linux says ENOTDIR (with O_DIRECTORY) or ELOOP for a link: look for ourselves.
            let link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            unusable(match e {
                _ if link => "is a symbolic link; fanout follows no links in its output directory: give the directory itself".into(),
                Errno::ENOTDIR => "is not a directory".into(),
                e => io::Error::from(e).to_string(),
            })
        })?;
        let entries = Self {
            path: path.clone(),
            root: root.try_clone().map_err(|e| unusable(e.to_string()))?,
        }
        .entries(&[])
        .map_err(|e| unusable(e.to_string()))?;
        let tree = Self { path, root };
        if let Some(first) = entries.first() {
            match reuse {
                Reuse::Refuse => {
                    return Err(TreeError::NotEmpty {
                        path: tree.path.clone(),
                        example: first.clone(),
                    });
                }
                Reuse::Overwrite { marker } => tree.clear(&entries, marker)?,
            }
        }
        Ok(tree)
    }

    /// The directory as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where `relative` is, for messages and for people.
    pub fn display(&self, relative: &[&str]) -> PathBuf {
        relative.iter().fold(self.path.clone(), |p, c| p.join(c))
    }

    /// Creates the file `relative` (directories as needed) for writing, following no link; an
    /// existing file of that name is an error, never truncated.
    pub fn create(&self, relative: &[&str]) -> Result<File, TreeError> {
        let (name, dirs) = split(relative)?;
        let failed = |source: io::Error| TreeError::Write {
            path: self.display(relative),
            source,
        };
        let parent = self.descend(dirs, true).map_err(failed)?;
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let dir = parent.as_ref().unwrap_or(&self.root);
        match openat(dir, name, flags, Mode::from_bits_truncate(0o600)) {
            Ok(fd) => Ok(File::from(fd)),
            Err(Errno::EEXIST) => Err(failed(exists(dir, name))),
            Err(e) => Err(failed(e.into())),
        }
    }

    /// Writes `data` as the new file `relative`. A file that could not be written whole is
    /// removed, so what is there is always complete.
    pub fn write(&self, relative: &[&str], data: &[u8]) -> Result<(), TreeError> {
        let mut file = self.create(relative)?;
        if let Err(source) = file.write_all(data) {
            drop(file);
            let _ = self.remove(relative);
            return Err(TreeError::Write {
                path: self.display(relative),
                source,
            });
        }
        Ok(())
    }

    /// Removes the file `relative`, following no link.
    pub fn remove(&self, relative: &[&str]) -> io::Result<()> {
        let (name, dirs) = split(relative).map_err(io::Error::other)?;
        let parent = self.descend(dirs, false)?;
        let dir = parent.as_ref().unwrap_or(&self.root);
        Ok(unlinkat(dir, name, UnlinkatFlags::NoRemoveDir)?)
    }

    /// Opens the directories `dirs` below the root one by one without following links,
    /// creating them (0700) when `create`; `None` for the root itself.
    fn descend(&self, dirs: &[&str], create: bool) -> io::Result<Option<OwnedFd>> {
        let mut current: Option<OwnedFd> = None;
        for dir in dirs {
            let parent = current.as_ref().unwrap_or(&self.root);
            if create {
                match mkdirat(parent, *dir, Mode::from_bits_truncate(0o700)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let next = openat(parent, *dir, dir_flags(), Mode::empty()).map_err(|e| match e {
                // A link gives ENOTDIR (O_DIRECTORY) or ELOOP (O_NOFOLLOW), whichever is
                // checked first: tell the two apart for the message.
                Errno::ELOOP | Errno::ENOTDIR if is_link(parent, dir) => link_refused(dir),
                Errno::ENOTDIR => io::Error::other(format!("{dir} is not a directory")),
                e => e.into(),
            })?;
            current = Some(next);
        }
        Ok(current)
    }

    /// The names in directory `relative` (the root when empty), sorted.
    fn entries(&self, relative: &[&str]) -> io::Result<Vec<String>> {
        let dir = self.descend(relative, false)?;
        let dir = dir.as_ref().unwrap_or(&self.root);
        let mut listing = nix::dir::Dir::openat(dir, ".", dir_flags(), Mode::empty())?;
        let mut names = Vec::new();
        for entry in listing.iter() {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// What the entry `relative` is, without following it.
    fn kind(&self, relative: &[&str]) -> io::Result<SFlag> {
        let (name, dirs) = split(relative).map_err(io::Error::other)?;
        let parent = self.descend(dirs, false)?;
        let stat = fstatat(
            parent.as_ref().unwrap_or(&self.root),
            name,
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
        Ok(SFlag::from_bits_truncate(
            stat.st_mode & SFlag::S_IFMT.bits(),
        ))
    }

    /// Removes an earlier run: checks first that everything is ours to remove (the marker is
    /// there; only plain files, and directories holding only plain files), then removes it.
    fn clear(&self, entries: &[String], marker: &str) -> Result<(), TreeError> {
        let not_ours = |why: String| TreeError::NotOurs {
            path: self.path.clone(),
            why,
        };
        let io_failed = |e: io::Error| TreeError::Unusable {
            path: self.path.clone(),
            why: e.to_string(),
        };
        if !entries.iter().any(|e| e == marker) {
            return Err(not_ours(format!("no {marker}")));
        }
        let mut files: Vec<Vec<String>> = Vec::new();
        let mut dirs: Vec<String> = Vec::new();
        for entry in entries {
            let kind = self.kind(&[entry]).map_err(io_failed)?;
            if kind == SFlag::S_IFREG {
                files.push(vec![entry.clone()]);
            } else if kind == SFlag::S_IFDIR && entry != marker {
                for inner in self.entries(&[entry]).map_err(io_failed)? {
                    let inner_kind = self.kind(&[entry, &inner]).map_err(io_failed)?;
                    if inner_kind != SFlag::S_IFREG {
                        return Err(not_ours(format!(
                            "{entry}/{inner} is {}",
                            describe(inner_kind)
                        )));
                    }
                    files.push(vec![entry.clone(), inner]);
                }
                dirs.push(entry.clone());
            } else {
                return Err(not_ours(format!("{entry} is {}", describe(kind))));
            }
        }
        for file in &files {
            let parts: Vec<&str> = file.iter().map(String::as_str).collect();
            self.remove(&parts).map_err(io_failed)?;
        }
        for dir in &dirs {
            unlinkat(&self.root, dir.as_str(), UnlinkatFlags::RemoveDir)
                .map_err(|e| io_failed(e.into()))?;
        }
        Ok(())
    }
}

/// `O_DIRECTORY | O_NOFOLLOW`: a directory, and not through a link.
fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// The last component and the directories before it, each a single plain name.
fn split<'a>(relative: &'a [&'a str]) -> Result<(&'a str, &'a [&'a str]), TreeError> {
    for part in relative {
        if part.is_empty()
            || *part == "."
            || *part == ".."
            || part.contains('/')
            || part.contains('\0')
        {
            return Err(TreeError::BadName {
                name: relative.join("/"),
            });
        }
    }
    relative
        .split_last()
        .map(|(n, d)| (*n, d))
        .ok_or(TreeError::BadName {
            name: String::new(),
        })
}

fn is_link(dir: &OwnedFd, name: &str) -> bool {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|s| {
        SFlag::from_bits_truncate(s.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFLNK
    })
}

/// Why `O_EXCL` refused `name`: a link planted there, or a name this run already used.
fn exists(dir: &OwnedFd, name: &str) -> io::Error {
    if is_link(dir, name) {
        link_refused(name)
    } else {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            "already exists (written earlier in this run, or by something else meanwhile); not overwritten",
        )
    }
}

fn link_refused(name: &str) -> io::Error {
    io::Error::other(format!(
        "{name} is a symbolic link; fanout follows no links in its output directory"
    ))
}

fn describe(kind: SFlag) -> &'static str {
    match kind {
        SFlag::S_IFLNK => "a symbolic link",
        SFlag::S_IFDIR => "a directory",
        SFlag::S_IFREG => "a file",
        _ => "not a plain file",
    }
}

/// Two names of a job that would be stored in one file.
#[derive(Debug, Default)]
pub struct Collisions {
    hosts: std::collections::HashMap<String, String>,
    commands: std::collections::HashMap<String, String>,
}

impl Collisions {
    /// Notes a host; `Err` names the host already stored in the same directory.
    pub fn host(&mut self, host: &str) -> Result<(), String> {
        note(&mut self.hosts, host_dir(host), host, "hosts")
    }

    /// Notes a command; `Err` names the command already stored in the same file.
    pub fn command(&mut self, command: &str) -> Result<(), String> {
        note(
            &mut self.commands,
            command_file(command),
            command,
            "commands",
        )
    }
}

fn note(
    seen: &mut std::collections::HashMap<String, String>,
    file: String,
    name: &str,
    what: &str,
) -> Result<(), String> {
    match seen.get(&file) {
        Some(earlier) => Err(format!(
            "{what} {earlier:?} and {name:?} would both be saved as {file}"
        )),
        None => {
            seen.insert(file, name.to_string());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn ordinary_names_stay_readable() {
        assert_eq!(host_dir("r00001"), "r00001");
        assert_eq!(host_dir("core_sw1.ams"), "core_sw1.ams");
        assert_eq!(
            command_file("show running-config"),
            "show_running-config.txt"
        );
        assert_eq!(command_file("  show version "), "show_version.txt");
        assert_eq!(
            command_file("show ip route | include 0.0.0.0/0"),
            "show_ip_route_%7C_include_0.0.0.0%2F0.txt"
        );
    }

    #[test]
    fn names_that_used_to_merge_are_kept_apart() {
        let hosts = ["a/b", "a_b", "a:b", "a b", "a%2Fb"];
        let dirs: std::collections::HashSet<String> = hosts.iter().map(|h| host_dir(h)).collect();
        assert_eq!(dirs.len(), hosts.len(), "{dirs:?}");
        assert_eq!(host_dir("a/b"), "a%2Fb");
        assert_eq!(host_dir("a%2Fb"), "a%252Fb");
        assert_ne!(command_file("show version"), command_file("show_version"));
        assert_eq!(command_file("show_version"), "show%5Fversion.txt");
    }

    #[test]
    fn no_name_is_hidden_a_parent_or_fanouts_own() {
        assert_eq!(host_dir(".."), "%2E.");
        assert_eq!(host_dir("."), "%2E");
        assert_eq!(host_dir(""), "%");
        assert_eq!(host_dir("results.jsonl"), "%72esults.jsonl");
        assert_eq!(command_file(".hidden"), "%2Ehidden.txt");
        assert_eq!(command_file("   "), "%.txt");
    }

    #[test]
    fn collisions_left_after_trimming_are_named() {
        let mut names = Collisions::default();
        names.command("show version").unwrap();
        names.command("show_version").unwrap();
        let twice = names.command(" show version").unwrap_err();
        assert!(twice.contains("show_version.txt"), "{twice}");
        names.host("a/b").unwrap();
        names.host("a_b").unwrap();
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_directories_are_private_and_created_once() {
        let scratch = tempfile::tempdir().unwrap();
        let out = scratch.path().join("a/b/out");
        let tree = OutputTree::open(&out, Reuse::Refuse).unwrap();
        tree.write(&["r1", "show_version.txt"], b"12.2\n").unwrap();
        tree.write(&["r1", "show_clock.txt"], b"noon\n").unwrap();
        assert_eq!(
            std::fs::read(out.join("r1/show_version.txt")).unwrap(),
            b"12.2\n"
        );
        assert_eq!(mode(&out), 0o700);
        assert_eq!(mode(&out.join("r1")), 0o700);
        assert_eq!(mode(&out.join("r1/show_version.txt")), 0o600);
        let again = tree.write(&["r1", "show_version.txt"], b"other");
        assert!(matches!(again, Err(TreeError::Write { .. })), "{again:?}");
        assert_eq!(
            std::fs::read(out.join("r1/show_version.txt")).unwrap(),
            b"12.2\n"
        );
    }

    #[test]
    fn names_that_could_leave_the_directory_are_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let tree = OutputTree::open(&scratch.path().join("out"), Reuse::Refuse).unwrap();
        for bad in [&["..", "x"][..], &["a/b"], &["."], &[""], &[]] {
            assert!(
                matches!(tree.write(bad, b"x"), Err(TreeError::BadName { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 1);
    }

    #[test]
    fn links_inside_the_tree_are_refused_not_followed() {
        let scratch = tempfile::tempdir().unwrap();
        let elsewhere = scratch.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let out = scratch.path().join("out");
        let tree = OutputTree::open(&out, Reuse::Refuse).unwrap();
        // Planted after the run started: a directory link and a file link.
        symlink(&elsewhere, out.join("r3")).unwrap();
        std::fs::create_dir(out.join("r4")).unwrap();
        symlink(elsewhere.join("stolen"), out.join("r4/show_version.txt")).unwrap();
        for relative in [["r3", "show_version.txt"], ["r4", "show_version.txt"]] {
            let err = tree.write(&relative, b"secret").unwrap_err().to_string();
            assert!(err.contains("symbolic link"), "{err}");
        }
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn the_directory_itself_may_not_be_a_link() {
        let scratch = tempfile::tempdir().unwrap();
        let real = scratch.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = scratch.path().join("out");
        symlink(&real, &link).unwrap();
        for given in [link.clone(), scratch.path().join("out/")] {
            let err = OutputTree::open(&given, Reuse::Refuse).unwrap_err();
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
    }

    #[test]
    fn a_used_directory_is_refused_unless_overwriting_an_earlier_run() {
        let scratch = tempfile::tempdir().unwrap();
        let out = scratch.path().join("out");
        let overwrite = Reuse::Overwrite {
            marker: "results.jsonl",
        };
        let first = OutputTree::open(&out, Reuse::Refuse).unwrap();
        first.write(&["results.jsonl"], b"{}\n").unwrap();
        first.write(&["r1", "show_version.txt"], b"old").unwrap();
        first.write(&["r2", "show_version.txt"], b"old").unwrap();
        drop(first);
        let err = OutputTree::open(&out, Reuse::Refuse).unwrap_err();
        assert!(matches!(err, TreeError::NotEmpty { .. }), "{err}");
        // Nothing of the earlier run is left to be taken for this one's.
        let second = OutputTree::open(&out, overwrite).unwrap();
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
        second.write(&["results.jsonl"], b"").unwrap();
        second.write(&["r1", "show_version.txt"], b"new").unwrap();
        drop(second);

        // What fanout did not write, it does not remove.
        std::fs::write(out.join("r1/notes.md"), "mine").unwrap();
        std::fs::create_dir(out.join("r1/deeper")).unwrap();
        let err = OutputTree::open(&out, overwrite).unwrap_err();
        assert!(matches!(err, TreeError::NotOurs { .. }), "{err}");
        assert!(out.join("r1/notes.md").exists());
        let home = scratch.path().join("home");
        std::fs::create_dir_all(home.join("docs")).unwrap();
        std::fs::write(home.join("docs/cv.txt"), "mine").unwrap();
        let err = OutputTree::open(&home, overwrite).unwrap_err();
        assert!(err.to_string().contains("no results.jsonl"), "{err}");
        assert!(home.join("docs/cv.txt").exists());
    }

    #[test]
    fn an_earlier_run_with_links_in_it_is_not_cleared() {
        let scratch = tempfile::tempdir().unwrap();
        let elsewhere = scratch.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("keep.txt"), "keep").unwrap();
        let out = scratch.path().join("out");
        std::fs::create_dir(&out).unwrap();
        symlink(elsewhere.join("keep.txt"), out.join("results.jsonl")).unwrap();
        let overwrite = Reuse::Overwrite {
            marker: "results.jsonl",
        };
        let err = OutputTree::open(&out, overwrite).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        std::fs::remove_file(out.join("results.jsonl")).unwrap();
        std::fs::write(out.join("results.jsonl"), "").unwrap();
        symlink(&elsewhere, out.join("r3")).unwrap();
        let err = OutputTree::open(&out, overwrite).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(elsewhere.join("keep.txt").exists());
    }
}
