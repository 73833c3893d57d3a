//! Reading the inventory's files: a directory of hosts/groups/defaults files, or one file with
//! those three sections. Produces the entries as written plus what is needed to point back into
//! the files later.

use super::error::{InventoryError, InventoryErrorKind, SourceLocation};
use super::locate::{Step, locate};
use super::raw::{EntryExpect, Level, RawEntry};
use super::sections::{Named, Section, SingleFile};
use super::yaml::parse;
use crate::input::{InputFileError, MAX_INVENTORY_BYTES, read_text as read_input};
use std::fs;
use std::path::{Path, PathBuf};

/// One file of the inventory, kept until loading ends so that later checks can find lines in it.
pub(super) struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Which of the two inventory forms was loaded: decides the path from a file's root to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// hosts.yaml, groups.yaml, defaults.yaml: each file's root is its section.
    Directory,
    /// One file whose root has `hosts`, `groups` and `defaults` keys.
    SingleFile,
}

/// Which entry a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Origin {
    Host(usize),
    Group(usize),
    Defaults,
}

/// Where something of an inventory in another format (Ansible) is written, found only when a
/// message needs it.
#[derive(Debug, Clone, Default)]
pub(super) enum Place {
    /// Not in a file (a script's output).
    #[default]
    Nowhere,
    /// A node of a YAML or JSON source, by its path of keys.
    Yaml { source: usize, path: Vec<String> },
    /// A known position (INI files are read line by line).
    Line {
        source: usize,
        line: usize,
        column: usize,
    },
}

/// Where an entry of a converted inventory is written, and where each field it sets came from
/// (by fanout's field name: `platform` for Ansible's `ansible_network_os`).
#[derive(Debug, Clone, Default)]
pub(super) struct EntryPlaces {
    pub at: Place,
    pub keys: Vec<(&'static str, Place)>,
}

/// The places of every entry of a converted inventory, parallel to its hosts and groups.
#[derive(Debug, Default)]
pub(super) struct Places {
    pub hosts: Vec<EntryPlaces>,
    pub groups: Vec<EntryPlaces>,
    pub defaults: EntryPlaces,
    /// Where the inventory came from when no file is (`exec:./script`).
    pub origin: Option<PathBuf>,
}

/// Everything the files say, before inheritance.
pub(super) struct Document {
    /// Set for inventories converted from another format; `layout` is then unused.
    places: Option<Places>,
    layout: Layout,
    sources: Vec<SourceFile>,
    pub hosts: Vec<Named>,
    hosts_source: usize,
    pub groups: Vec<Named>,
    groups_source: Option<usize>,
    pub defaults: RawEntry,
    defaults_source: Option<usize>,
}

impl Document {
    /// Reads a directory inventory or a single-file one, depending on what `path` is.
    pub fn read(path: &Path) -> Result<Document, InventoryError> {
        let metadata = fs::metadata(path).map_err(|error| {
            InventoryError::new(InventoryErrorKind::Read { error }).at(SourceLocation::file(path))
        })?;
        if metadata.is_dir() {
            Self::read_directory(path)
        } else {
            Self::read_single_file(path)
        }
    }

    fn read_directory(dir: &Path) -> Result<Document, InventoryError> {
        let hosts_path = find(dir, "hosts")?.ok_or_else(|| {
            InventoryError::new(InventoryErrorKind::MissingHostsFile).at(SourceLocation::file(dir))
        })?;
        Self::read_files(hosts_path, find(dir, "groups")?, find(dir, "defaults")?)
    }

    /// Reads SimpleInventory's three files; groups and defaults are optional.
    pub fn read_files(
        hosts_path: PathBuf,
        groups_path: Option<PathBuf>,
        defaults_path: Option<PathBuf>,
    ) -> Result<Document, InventoryError> {
        let mut sources = Vec::new();
        let hosts_file = read_text(&hosts_path)?;
        let hosts = parse(
            &hosts_path,
            &hosts_file,
            None,
            Section { level: Level::Host },
        )
        .map_err(|e| with_first_line(e, &hosts_file, &[]))?;
        sources.push(SourceFile {
            path: hosts_path,
            text: hosts_file,
        });

        let mut groups = Vec::new();
        let mut groups_source = None;
        if let Some(path) = groups_path {
            let text = read_text(&path)?;
            groups = parse(
                &path,
                &text,
                None,
                Section {
                    level: Level::Group,
                },
            )
            .map_err(|e| with_first_line(e, &text, &[]))?;
            groups_source = Some(sources.len());
            sources.push(SourceFile { path, text });
        }

        let mut defaults = RawEntry::default();
        let mut defaults_source = None;
        if let Some(path) = defaults_path {
            let text = read_text(&path)?;
            let subject = Some(Level::Defaults.subject(""));
            defaults = parse(
                &path,
                &text,
                subject,
                EntryExpect {
                    level: Level::Defaults,
                },
            )?;
            defaults_source = Some(sources.len());
            sources.push(SourceFile { path, text });
        }

        Ok(Document {
            places: None,
            layout: Layout::Directory,
            sources,
            hosts,
            hosts_source: 0,
            groups,
            groups_source,
            defaults,
            defaults_source,
        })
    }

    fn read_single_file(path: &Path) -> Result<Document, InventoryError> {
        let text = read_text(path)?;
        let parsed = parse(path, &text, None, SingleFile);
        // A Nornir configuration (`nornir.yaml`) names the inventory's files rather than
        // holding hosts; its top-level keys tell it apart.
        if let Err(error) = &parsed
            && let InventoryErrorKind::UnknownKey {
                what: "section",
                key,
                ..
            } = error.kind()
            && super::nornir_config::is_config_key(key)
        {
            let files = super::nornir_config::read(path, &text)?;
            return Self::read_files(files.hosts, files.groups, files.defaults);
        }
        let sections = parsed.map_err(|e| {
            let section = match e.kind() {
                InventoryErrorKind::DuplicateGroup { .. } => "groups",
                _ => "hosts",
            };
            with_first_line(e, &text, &[Step::Key(section)])
        })?;
        Ok(Document {
            places: None,
            layout: Layout::SingleFile,
            sources: vec![SourceFile {
                path: path.to_path_buf(),
                text,
            }],
            hosts: sections.hosts,
            hosts_source: 0,
            groups: sections.groups,
            groups_source: Some(0),
            defaults: sections.defaults,
            defaults_source: Some(0),
        })
    }

    /// An inventory converted from another format, with where each entry is written.
    pub fn converted(
        sources: Vec<SourceFile>,
        hosts: Vec<Named>,
        groups: Vec<Named>,
        defaults: RawEntry,
        places: Places,
    ) -> Document {
        Document {
            places: Some(places),
            layout: Layout::Directory,
            sources,
            hosts,
            hosts_source: 0,
            groups,
            groups_source: None,
            defaults,
            defaults_source: None,
        }
    }

    fn entry_places(&self, origin: Origin) -> Option<&EntryPlaces> {
        let places = self.places.as_ref()?;
        match origin {
            Origin::Host(i) => places.hosts.get(i),
            Origin::Group(i) => places.groups.get(i),
            Origin::Defaults => Some(&places.defaults),
        }
    }

    /// The location of a place, or of the inventory as a whole.
    fn place_location(&self, place: &Place) -> Option<SourceLocation> {
        match place {
            Place::Nowhere => None,
            Place::Yaml { source, path } => {
                let source = &self.sources[*source];
                let steps: Vec<Step<'_>> = path.iter().map(|k| Step::Key(k)).collect();
                let mut location = SourceLocation::file(&source.path);
                if let Some((line, column)) = locate(&source.text, &steps) {
                    location.line = Some(line);
                    location.column = Some(column);
                }
                Some(location)
            }
            Place::Line {
                source,
                line,
                column,
            } => {
                let mut location = SourceLocation::file(&self.sources[*source].path);
                location.line = Some(*line);
                location.column = Some(*column);
                Some(location)
            }
        }
    }

    fn locate_converted(&self, origin: Origin, tail: &[Step<'_>]) -> Option<SourceLocation> {
        let entry = self.entry_places(origin)?;
        let field = match tail.first() {
            Some(Step::Key(key)) => Some(*key),
            _ => None,
        };
        let place = field
            .and_then(|f| entry.keys.iter().rev().find(|(k, _)| *k == f))
            .map_or(&entry.at, |(_, place)| place);
        self.place_location(place)
            .or_else(|| self.place_location(&entry.at))
            .or_else(|| {
                let origin = self.places.as_ref()?.origin.as_ref()?;
                Some(SourceLocation::file(origin))
            })
    }

    pub fn entry(&self, origin: Origin) -> &RawEntry {
        match origin {
            Origin::Host(i) => &self.hosts[i].entry,
            Origin::Group(i) => &self.groups[i].entry,
            Origin::Defaults => &self.defaults,
        }
    }

    /// The file an entry is written in (relative credential files are found next to it).
    pub fn source_path(&self, origin: Origin) -> Option<&Path> {
        self.source_index(origin)
            .map(|i| self.sources[i].path.as_path())
    }

    fn source_index(&self, origin: Origin) -> Option<usize> {
        if let Some(entry) = self.entry_places(origin) {
            let key_source = entry.keys.iter().find_map(|(_, p)| match p {
                Place::Yaml { source, .. } | Place::Line { source, .. } => Some(*source),
                Place::Nowhere => None,
            });
            return match &entry.at {
                Place::Yaml { source, .. } | Place::Line { source, .. } => Some(*source),
                Place::Nowhere => key_source,
            };
        }
        match origin {
            Origin::Host(_) => Some(self.hosts_source),
            Origin::Group(_) => self.groups_source,
            Origin::Defaults => self.defaults_source,
        }
    }

    /// Where `tail` (a key of the entry, or deeper) is written; failing that, where the entry
    /// starts; failing that, the file.
    pub fn locate(&self, origin: Origin, tail: &[Step<'_>]) -> Option<SourceLocation> {
        if self.places.is_some() {
            return self.locate_converted(origin, tail);
        }
        let source = &self.sources[self.source_index(origin)?];
        let mut path = Vec::with_capacity(2 + tail.len());
        let (section, name) = match origin {
            Origin::Host(i) => ("hosts", Some(self.hosts[i].name.as_str())),
            Origin::Group(i) => ("groups", Some(self.groups[i].name.as_str())),
            Origin::Defaults => ("defaults", None),
        };
        if self.layout == Layout::SingleFile {
            path.push(Step::Key(section));
        }
        path.extend(name.map(Step::Key));
        let entry_len = path.len();
        path.extend_from_slice(tail);
        let found =
            locate(&source.text, &path).or_else(|| locate(&source.text, &path[..entry_len]));
        let mut location = SourceLocation::file(&source.path);
        if let Some((line, column)) = found {
            location.line = Some(line);
            location.column = Some(column);
        }
        Some(location)
    }
}

/// `dir/STEM.yaml` or `dir/STEM.yml`, whichever exists; both is an error. Whatever exists
/// under the name counts: a FIFO or a directory called `hosts.yaml` is refused when read, not
/// mistaken for a missing file.
fn find(dir: &Path, stem: &str) -> Result<Option<PathBuf>, InventoryError> {
    let yaml = dir.join(format!("{stem}.yaml"));
    let yml = dir.join(format!("{stem}.yml"));
    match (yaml.exists(), yml.exists()) {
        (true, true) => Err(InventoryError::new(InventoryErrorKind::AmbiguousFile {
            first: format!("{stem}.yaml"),
            second: format!("{stem}.yml"),
        })
        .at(SourceLocation::file(dir))),
        (true, false) => Ok(Some(yaml)),
        (false, true) => Ok(Some(yml)),
        (false, false) => Ok(None),
    }
}

/// The file's text: a regular file (a FIFO or a device is refused rather than read) of at most
/// [`MAX_INVENTORY_BYTES`].
fn read_text(path: &Path) -> Result<String, InventoryError> {
    read_input(path, MAX_INVENTORY_BYTES).map_err(|e| {
        let error = match e {
            InputFileError::Io(error) => error,
            other => std::io::Error::other(other),
        };
        InventoryError::new(InventoryErrorKind::Read { error }).at(SourceLocation::file(path))
    })
}

/// A duplicate name's error knows the second definition's line; this adds the first one's.
fn with_first_line(mut error: InventoryError, text: &str, section: &[Step<'_>]) -> InventoryError {
    if let InventoryErrorKind::DuplicateHost { name, first_line }
    | InventoryErrorKind::DuplicateGroup { name, first_line } = error.kind_mut()
    {
        let mut path = section.to_vec();
        path.push(Step::Key(name));
        *first_line = locate(text, &path).map(|(line, _)| line);
    }
    error
}
