//! Inheritance, Nornir's way: each attribute of a host comes from the host itself, else from its
//! groups in the order listed (each group depth-first through its own parents), else from the
//! defaults. `data` resolves key by key along the same order.
//!
//! Linear in the inventory's size: each group's ancestry is computed once, hosts look groups up
//! by name in a hash map, and credentials referenced by a group or the defaults are read once.

use super::LoadOptions;
use super::connection::{Plugin, RawConnection, read_extras};
use super::error::{InventoryError, InventoryErrorKind, group_subject, host_subject};
use super::host::{Host, SshOptions};
use super::locate::Step;
use super::raw::{Credential, CredentialSource, RawEntry};
use super::source::{Document, Origin};
use crate::Secret;
use crate::suggest::closest;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

const DEFAULT_PORT: u16 = 22;
/// The largest password, secret or private key file read (an SSH key is a few KiB).
const MAX_CREDENTIAL_FILE_BYTES: u64 = 1024 * 1024;

/// Resolves every host of `doc`, in file order.
pub(super) fn resolve(
    doc: &Document,
    options: &LoadOptions,
    notes: &mut Notes,
) -> Result<Vec<Host>, InventoryError> {
    let graph = GroupGraph::build(doc)?;
    let known: HashSet<&str> = options.known_platforms.iter().map(String::as_str).collect();
    let mut credentials = CredentialCache::default();
    let mut dedup = Dedup::new(doc.groups.len());
    let mut levels = Vec::new();
    let mut hosts = Vec::with_capacity(doc.hosts.len());
    for (index, named) in doc.hosts.iter().enumerate() {
        let origin = Origin::Host(index);
        let chain = graph.host_chain(doc, index, &mut dedup)?;
        levels.clear();
        levels.push(origin);
        levels.extend(chain.iter().map(|g| Origin::Group(*g)));
        levels.push(Origin::Defaults);
        let resolver = HostResolver {
            doc,
            name: &named.name,
            levels: &levels,
            plugin: Plugin::PREFERENCE.into_iter().find(|plugin| {
                levels
                    .iter()
                    .any(|o| doc.entry(*o).connections.get(*plugin).is_some())
            }),
        };
        let extras = resolver.extras(notes)?;
        hosts.push(Host {
            name: named.name.clone(),
            hostname: resolver
                .attribute(|c| c.hostname.as_ref(), |e| e.hostname.as_ref())
                .map_or_else(|| named.name.clone(), |h| h.clone()),
            port: resolver
                .attribute(|c| c.port.as_ref(), |e| e.port.as_ref())
                .map_or(DEFAULT_PORT, |p| *p),
            username: resolver
                .attribute(|c| c.username.as_ref(), |e| e.username.as_ref())
                .cloned()
                .unwrap_or_default(),
            password: match resolver.connection_first(|c| c.password.as_ref()) {
                Some((_, password)) => password.clone(),
                None => resolver.credential(&mut credentials, |e| e.password.as_ref())?,
            },
            secret: match &extras.secret {
                Some(secret) => secret.clone(),
                None => resolver.credential(&mut credentials, |e| e.secret.as_ref())?,
            },
            platform: resolver.platform(&known, options)?,
            groups: named.entry.groups.clone().unwrap_or_default(),
            all_groups: chain.iter().map(|g| doc.groups[*g].name.clone()).collect(),
            data: resolver.data(),
            commands: Vec::new(),
            abort_commands: Vec::new(),
            ssh: resolver.ssh(&mut credentials, &extras)?,
            snmp: super::snmp::resolve(&resolver, &mut credentials)?,
        });
    }
    Ok(hosts)
}

/// One host's resolution order: the host, its groups' ancestry, the defaults.
pub(super) struct HostResolver<'d> {
    pub(super) doc: &'d Document,
    name: &'d str,
    pub(super) levels: &'d [Origin],
    /// The connection plugin whose `connection_options` apply, if any level has some.
    plugin: Option<Plugin>,
}

/// What resolved from a plugin's `extras`, with where it was written.
#[derive(Default)]
struct ResolvedExtras {
    origin: Option<Origin>,
    secret: Option<Secret>,
    key_file: Option<String>,
    key_passphrase: Option<Secret>,
    use_keys: Option<bool>,
    allow_agent: Option<bool>,
}

impl<'d> HostResolver<'d> {
    /// The first level that sets the attribute `get` reads, and its value.
    fn first<T: ?Sized>(
        &self,
        get: impl Fn(&'d RawEntry) -> Option<&'d T>,
    ) -> Option<(Origin, &'d T)> {
        self.levels
            .iter()
            .find_map(|origin| get(self.doc.entry(*origin)).map(|value| (*origin, value)))
    }

    /// The first level whose options for the chosen plugin set the attribute `get` reads.
    fn connection_first<T: ?Sized>(
        &self,
        get: impl Fn(&'d RawConnection) -> Option<&'d T>,
    ) -> Option<(Origin, &'d T)> {
        let plugin = self.plugin?;
        self.levels.iter().find_map(|origin| {
            let options = self.doc.entry(*origin).connections.get(plugin)?;
            get(options).map(|value| (*origin, value))
        })
    }

    /// Nornir's rule: the plugin's option from any level, else the attribute from any level.
    fn attribute<T: ?Sized>(
        &self,
        option: impl Fn(&'d RawConnection) -> Option<&'d T>,
        plain: impl Fn(&'d RawEntry) -> Option<&'d T>,
    ) -> Option<&'d T> {
        self.connection_first(option)
            .or_else(|| self.first(plain))
            .map(|(_, value)| value)
    }

    /// The path to the chosen plugin's options, then `tail`.
    fn connection_path<'t>(&self, tail: &[Step<'t>]) -> Vec<Step<'t>> {
        let plugin = self.plugin.map_or("netmiko", Plugin::name);
        let mut path = vec![Step::Key("connection_options"), Step::Key(plugin)];
        path.extend_from_slice(tail);
        path
    }

    /// The plugin's `extras`, from the first level that has them (whole, as Nornir takes them).
    /// Settings fanout has no use for become notes.
    fn extras(&self, notes: &mut Notes) -> Result<ResolvedExtras, InventoryError> {
        let (Some(plugin), Some((origin, extras))) =
            (self.plugin, self.connection_first(|c| c.extras.as_ref()))
        else {
            return Ok(ResolvedExtras::default());
        };
        let read = read_extras(plugin, extras).map_err(|(path, kind)| {
            let mut tail = vec![Step::Key("extras")];
            tail.extend(path.iter().map(|p| Step::Key(p.as_str())));
            self.error(kind, origin, &self.connection_path(&tail))
        })?;
        for (key, why) in &read.ignored {
            notes.add(self, origin, plugin, key, why);
        }
        Ok(ResolvedExtras {
            origin: Some(origin),
            secret: read.secret,
            key_file: read.key_file,
            key_passphrase: read.key_passphrase,
            use_keys: read.use_keys,
            allow_agent: read.allow_agent,
        })
    }

    pub(super) fn error(
        &self,
        kind: InventoryErrorKind,
        origin: Origin,
        tail: &[Step<'_>],
    ) -> InventoryError {
        let error = InventoryError::new(kind).about(Some(host_subject(self.name)));
        match self.doc.locate(origin, tail) {
            Some(location) => error.at(location),
            None => error,
        }
    }

    fn platform(
        &self,
        known: &HashSet<&str>,
        options: &LoadOptions,
    ) -> Result<String, InventoryError> {
        let host = self.levels[0];
        let (origin, platform, at) =
            if let Some((origin, platform)) = self.connection_first(|c| c.platform.as_ref()) {
                (
                    origin,
                    platform,
                    self.connection_path(&[Step::Key("platform")]),
                )
            } else if let Some((origin, platform)) = self.first(|e| e.platform.as_ref()) {
                (origin, platform, vec![Step::Key("platform")])
            } else {
                return Err(self.error(InventoryErrorKind::MissingPlatform, host, &[]));
            };
        if platform.is_empty() {
            return Err(self.error(InventoryErrorKind::MissingPlatform, origin, &at));
        }
        if let Some(canonical) = options.platform_aliases.get(platform)
            && !known.contains(platform.as_str())
        {
            return Ok(canonical.clone());
        }
        if !known.is_empty() && !known.contains(platform.as_str()) {
            let names = known
                .iter()
                .copied()
                .chain(options.platform_aliases.keys().map(String::as_str));
            let kind = InventoryErrorKind::UnknownPlatform {
                platform: platform.clone(),
                suggestion: closest(platform, names).map(str::to_string),
                known: options.known_platforms.clone(),
            };
            return Err(self.error(kind, origin, &at));
        }
        Ok(platform.clone())
    }

    fn credential(
        &self,
        cache: &mut CredentialCache,
        get: impl Fn(&'d RawEntry) -> Option<&'d Credential>,
    ) -> Result<Secret, InventoryError> {
        match self.first(get) {
            None => Ok(Secret::default()),
            Some((origin, credential)) => cache.read(origin, credential, self),
        }
    }

    fn ssh(
        &self,
        cache: &mut CredentialCache,
        extras: &ResolvedExtras,
    ) -> Result<SshOptions, InventoryError> {
        let list = |get: fn(&'d RawEntry) -> Option<&'d Vec<String>>| {
            self.first(get).map(|(_, v)| v.clone()).unwrap_or_default()
        };
        let key_file = match (&extras.key_file, extras.origin) {
            // netmiko's `use_keys: false`: no key, wherever one is named.
            _ if extras.use_keys == Some(false) => None,
            (Some(file), Some(origin)) => Some((origin, file)),
            _ => self.first(|e| e.ssh.key_file.as_ref()),
        };
        let (key_file, key) = match key_file {
            None => (None, Secret::default()),
            Some((origin, relative)) => {
                let credential = Credential {
                    field: "ssh_key_file",
                    source: CredentialSource::File(relative.clone()),
                };
                let path = credential_path(relative, self.doc.source_path(origin));
                (Some(path), cache.read(origin, &credential, self)?)
            }
        };
        Ok(SshOptions {
            key_file,
            key,
            key_passphrase: match &extras.key_passphrase {
                Some(passphrase) => passphrase.clone(),
                None => self.credential(cache, |e| e.ssh.key_passphrase.as_ref())?,
            },
            agent: match extras.allow_agent {
                Some(allow) => allow,
                None => self
                    .first(|e| e.ssh.agent.as_ref())
                    .is_some_and(|(_, a)| *a),
            },
            kex: list(|e| e.ssh.kex.as_ref()),
            ciphers: list(|e| e.ssh.ciphers.as_ref()),
            host_key_algorithms: list(|e| e.ssh.host_key_algorithms.as_ref()),
            jump_host: self
                .first(|e| e.ssh.jump_host.as_ref())
                .map(|(_, j)| j.clone()),
        })
    }

    /// Host keys, then each group's in order, then the defaults': the first level with a key wins.
    fn data(&self) -> serde_json::Map<String, serde_json::Value> {
        let (host, inherited) = self
            .levels
            .split_first()
            .expect("levels start with the host");
        let mut data = self.doc.entry(*host).data.clone();
        for origin in inherited {
            for (key, value) in &self.doc.entry(*origin).data {
                if !data.contains_key(key) {
                    data.insert(key.clone(), value.clone());
                }
            }
        }
        data
    }
}

/// Credentials read from the environment or files, kept per group/defaults entry so a thousand
/// hosts sharing a group's `password_file` cause one read.
#[derive(Default)]
pub(super) struct CredentialCache {
    read: HashMap<(Origin, &'static str), Secret>,
}

impl CredentialCache {
    fn read(
        &mut self,
        origin: Origin,
        credential: &Credential,
        host: &HostResolver<'_>,
    ) -> Result<Secret, InventoryError> {
        self.read_in(origin, credential, host, &[Step::Key(credential.field)])
    }

    /// As `read`, for a credential written at `tail` in its entry (under `snmp:`, say).
    pub(super) fn read_in(
        &mut self,
        origin: Origin,
        credential: &Credential,
        host: &HostResolver<'_>,
        tail: &[Step<'_>],
    ) -> Result<Secret, InventoryError> {
        if let CredentialSource::Literal(secret) = &credential.source {
            return Ok(secret.clone());
        }
        let key = (origin, credential.field);
        if let Some(secret) = self.read.get(&key) {
            return Ok(secret.clone());
        }
        let secret = fetch(credential, host.doc.source_path(origin))
            .map_err(|kind| host.error(kind, origin, tail))?;
        if !matches!(origin, Origin::Host(_)) {
            self.read.insert(key, secret.clone());
        }
        Ok(secret)
    }
}

/// Reads an environment or file credential; `written_in` is the inventory file naming it.
fn fetch(credential: &Credential, written_in: Option<&Path>) -> Result<Secret, InventoryErrorKind> {
    match &credential.source {
        CredentialSource::Literal(secret) => Ok(secret.clone()),
        CredentialSource::Env(var) => match std::env::var(var) {
            Ok(value) => Ok(Secret::new(value)),
            Err(std::env::VarError::NotPresent) => Err(InventoryErrorKind::EnvVar {
                field: credential.field,
                var: var.clone(),
                problem: "is not set",
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(InventoryErrorKind::EnvVar {
                field: credential.field,
                var: var.clone(),
                problem: "is not valid UTF-8",
            }),
        },
        CredentialSource::File(relative) => {
            let path = credential_path(relative, written_in);
            // A regular file of bounded size only: a FIFO would block the load forever.
            match crate::input::read_text(&path, MAX_CREDENTIAL_FILE_BYTES) {
                // `echo pw > file` leaves a newline that is not part of the password.
                Ok(text) => Ok(Secret::new(text.trim_end_matches(['\n', '\r']))),
                Err(error) => Err(InventoryErrorKind::CredentialFile {
                    field: credential.field,
                    path,
                    error: match error {
                        crate::input::InputFileError::Io(io) => io,
                        other => std::io::Error::other(other.to_string()),
                    },
                }),
            }
        }
    }
}

/// A file an inventory names: `~/` is the user's home, a relative path is taken from the
/// directory of the file that names it.
fn credential_path(written: &str, written_in: Option<&Path>) -> PathBuf {
    if let Some(rest) = written.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    let base = written_in.and_then(Path::parent).unwrap_or(Path::new(""));
    base.join(written)
}

/// The groups, checked once: every parent exists, no cycles, and each group's ancestry in
/// resolution order.
struct GroupGraph<'d> {
    index: HashMap<&'d str, usize>,
    /// For each group: itself, then each parent's ancestry in order, each group once.
    ancestry: Vec<Vec<usize>>,
}

impl<'d> GroupGraph<'d> {
    fn build(doc: &'d Document) -> Result<Self, InventoryError> {
        let groups = &doc.groups;
        let index: HashMap<&str, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.as_str(), i))
            .collect();
        let mut parents = Vec::with_capacity(groups.len());
        for (g, named) in groups.iter().enumerate() {
            let names = named.entry.groups.as_deref().unwrap_or_default();
            let mut resolved = Vec::with_capacity(names.len());
            for (position, name) in names.iter().enumerate() {
                match index.get(name.as_str()) {
                    Some(parent) => resolved.push(*parent),
                    None => {
                        return Err(unknown_group(doc, &index, Origin::Group(g), position, name)
                            .about(Some(group_subject(&named.name))));
                    }
                }
            }
            parents.push(resolved);
        }
        let ancestry = ancestry(doc, &parents)?;
        Ok(Self { index, ancestry })
    }

    /// The groups host `index` inherits from, in resolution order.
    fn host_chain(
        &self,
        doc: &Document,
        index: usize,
        dedup: &mut Dedup,
    ) -> Result<Vec<usize>, InventoryError> {
        let named = &doc.hosts[index];
        let names = named.entry.groups.as_deref().unwrap_or_default();
        dedup.start();
        let mut chain = Vec::new();
        for (position, name) in names.iter().enumerate() {
            let Some(group) = self.index.get(name.as_str()) else {
                return Err(
                    unknown_group(doc, &self.index, Origin::Host(index), position, name)
                        .about(Some(host_subject(&named.name))),
                );
            };
            chain.extend(self.ancestry[*group].iter().filter(|g| dedup.insert(**g)));
        }
        Ok(chain)
    }
}

fn unknown_group(
    doc: &Document,
    index: &HashMap<&str, usize>,
    origin: Origin,
    position: usize,
    name: &str,
) -> InventoryError {
    let kind = InventoryErrorKind::UnknownGroup {
        name: name.to_string(),
        suggestion: closest(name, index.keys().copied()).map(str::to_string),
    };
    let error = InventoryError::new(kind);
    match doc.locate(origin, &[Step::Key("groups"), Step::Index(position)]) {
        Some(location) => error.at(location),
        None => error,
    }
}

/// Each group's ancestry, by an iterative depth-first walk that also finds cycles.
fn ancestry(doc: &Document, parents: &[Vec<usize>]) -> Result<Vec<Vec<usize>>, InventoryError> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        /// On the walk's current path: reaching it again closes a cycle.
        Open,
        Done,
    }
    let count = parents.len();
    let mut state = vec![State::New; count];
    let mut ancestry: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut dedup = Dedup::new(count);
    for root in 0..count {
        if state[root] != State::New {
            continue;
        }
        // (group, how many of its parents have been visited)
        let mut path = vec![(root, 0usize)];
        state[root] = State::Open;
        while let Some((group, next)) = path.last_mut() {
            let group = *group;
            if let Some(parent) = parents[group].get(*next).copied() {
                *next += 1;
                match state[parent] {
                    State::New => {
                        state[parent] = State::Open;
                        path.push((parent, 0));
                    }
                    State::Open => return Err(cycle(doc, &path, parent)),
                    State::Done => {}
                }
                continue;
            }
            dedup.start();
            let mut own = vec![group];
            dedup.insert(group);
            for parent in &parents[group] {
                own.extend(ancestry[*parent].iter().filter(|g| dedup.insert(**g)));
            }
            ancestry[group] = own;
            state[group] = State::Done;
            path.pop();
        }
    }
    Ok(ancestry)
}

/// The error for a walk `path` whose last group lists `back`, a group already on the path.
fn cycle(doc: &Document, path: &[(usize, usize)], back: usize) -> InventoryError {
    let start = path.iter().position(|(g, _)| *g == back).unwrap_or(0);
    let mut names: Vec<String> = path[start..]
        .iter()
        .map(|(g, _)| doc.groups[*g].name.clone())
        .collect();
    names.push(doc.groups[back].name.clone());
    let (last, visited) = path[path.len() - 1];
    let origin = Origin::Group(last);
    let error = InventoryError::new(InventoryErrorKind::GroupCycle { cycle: names })
        .about(Some(group_subject(&doc.groups[last].name)));
    // `visited` was advanced past the parent that closed the cycle.
    match doc.locate(origin, &[Step::Key("groups"), Step::Index(visited - 1)]) {
        Some(location) => error.at(location),
        None => error,
    }
}

/// A reusable "seen" set over group indices: clearing it is O(1).
struct Dedup {
    stamp: Vec<u32>,
    current: u32,
}

impl Dedup {
    fn new(count: usize) -> Self {
        Self {
            stamp: vec![0; count],
            current: 0,
        }
    }

    fn start(&mut self) {
        self.current += 1;
    }

    /// True the first time `group` is inserted since `start`.
    fn insert(&mut self, group: usize) -> bool {
        let fresh = self.stamp[group] != self.current;
        self.stamp[group] = self.current;
        fresh
    }
}

/// Settings read but without effect, said once per place they are written: a note for each
/// group or defaults entry, one for all hosts that write the same key.
#[derive(Default)]
pub(super) struct Notes {
    seen: HashSet<(Option<Origin>, String)>,
    /// Per key written on hosts: the first host's note and how many hosts wrote it.
    on_hosts: Vec<(String, String, usize)>,
    notes: Vec<String>,
}

impl Notes {
    fn add(
        &mut self,
        host: &HostResolver<'_>,
        origin: Origin,
        plugin: Plugin,
        key: &str,
        why: &str,
    ) {
        let path = format!("connection_options.{}.extras.{key}", plugin.name());
        if let Origin::Host(_) = origin {
            if let Some(entry) = self.on_hosts.iter_mut().find(|(p, _, _)| *p == path) {
                entry.2 += 1;
                return;
            }
        } else if !self.seen.insert((Some(origin), path.clone())) {
            return;
        }
        let steps: Vec<Step<'_>> = path.split('.').map(Step::Key).collect();
        let subject = match origin {
            Origin::Host(_) => host_subject(host.name),
            Origin::Group(g) => group_subject(&host.doc.groups[g].name),
            Origin::Defaults => "defaults".to_string(),
        };
        let location = host
            .doc
            .locate(origin, &steps)
            .map_or_else(String::new, |l| format!("{l}: "));
        let note = format!("{location}{subject}: `{path}` is ignored: {why}");
        match origin {
            Origin::Host(_) => self.on_hosts.push((path, note, 1)),
            _ => self.notes.push(note),
        }
    }

    pub fn into_notes(self) -> Vec<String> {
        let mut notes = self.notes;
        notes.extend(
            self.on_hosts
                .into_iter()
                .map(|(_, note, count)| match count {
                    1 => note,
                    n => format!("{note} (and on {} more hosts)", n - 1),
                }),
        );
        notes
    }
}
