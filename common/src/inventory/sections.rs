//! The top of each file: the hosts and groups mappings (names to entries, each name once) and
//! the sections of a single-file inventory.

use super::error::InventoryErrorKind;
use super::raw::{EntryExpect, Level, RawEntry};
use super::yaml::{Expect, ParseState, Scalar, Seed};
use crate::suggest::closest;
use serde::de::MapAccess;
use std::collections::HashSet;

/// A named entry in file order.
#[derive(Debug)]
pub(super) struct Named {
    pub name: String,
    pub entry: RawEntry,
}

/// A hosts or groups mapping: names to entries, each name once. Null (an empty file) is empty.
pub(super) struct Section {
    pub level: Level,
}

impl<'de> Expect<'de> for Section {
    type Out = Vec<Named>;

    fn what(&self) -> String {
        match self.level {
            Level::Host => "hosts".to_string(),
            _ => "groups".to_string(),
        }
    }

    fn expected(&self) -> String {
        match self.level {
            Level::Host => "a mapping of host names to hosts".to_string(),
            _ => "a mapping of group names to groups".to_string(),
        }
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Vec<Named>, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(Vec::new()),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, mut map: A) -> Result<Self::Out, A::Error> {
        let level = self.level;
        let mut entries = Vec::new();
        let mut names = HashSet::new();
        while let Some(name) = map.next_key_seed(Seed::new(
            state,
            EntryName {
                level,
                seen: &names,
            },
        ))? {
            state.set_subject(Some(level.subject(&name)));
            let entry = map.next_value_seed(Seed::new(state, EntryExpect { level }))?;
            state.set_subject(None);
            names.insert(name.clone());
            entries.push(Named { name, entry });
        }
        Ok(entries)
    }
}

/// A host or group name: a non-empty scalar not defined before in the same section.
struct EntryName<'n> {
    level: Level,
    seen: &'n HashSet<String>,
}

impl Expect<'_> for EntryName<'_> {
    type Out = String;

    fn what(&self) -> String {
        match self.level {
            Level::Host => "host name".to_string(),
            _ => "group name".to_string(),
        }
    }

    fn expected(&self) -> String {
        "a non-empty name".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<String, InventoryErrorKind> {
        let Some(name) = scalar.as_text().filter(|n| !n.is_empty()) else {
            return Err(self.mismatch(&scalar.describe(false)));
        };
        if self.seen.contains(&name) {
            // The first line is filled in afterwards: only the end of the file has it.
            return Err(match self.level {
                Level::Host => InventoryErrorKind::DuplicateHost {
                    name,
                    first_line: None,
                },
                _ => InventoryErrorKind::DuplicateGroup {
                    name,
                    first_line: None,
                },
            });
        }
        Ok(name)
    }
}

/// The sections of a single-file inventory.
#[derive(Debug, Default)]
pub(super) struct Sections {
    pub hosts: Vec<Named>,
    pub groups: Vec<Named>,
    pub defaults: RawEntry,
}

const SECTIONS: &[&str] = &["hosts", "groups", "defaults"];

/// A single-file inventory: a mapping with `hosts`, `groups` and `defaults`.
pub(super) struct SingleFile;

impl<'de> Expect<'de> for SingleFile {
    type Out = Sections;

    fn what(&self) -> String {
        "inventory file".to_string()
    }

    fn expected(&self) -> String {
        "a mapping with `hosts`, `groups` and `defaults`".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Sections, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(Sections::default()),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, mut map: A) -> Result<Sections, A::Error> {
        let mut sections = Sections::default();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key_seed(Seed::new(state, SectionKey { seen: &seen }))? {
            match key {
                "hosts" => {
                    sections.hosts =
                        map.next_value_seed(Seed::new(state, Section { level: Level::Host }))?
                }
                "groups" => {
                    sections.groups = map.next_value_seed(Seed::new(
                        state,
                        Section {
                            level: Level::Group,
                        },
                    ))?
                }
                _ => {
                    state.set_subject(Some("defaults".to_string()));
                    sections.defaults = map.next_value_seed(Seed::new(
                        state,
                        EntryExpect {
                            level: Level::Defaults,
                        },
                    ))?;
                    state.set_subject(None);
                }
            }
            seen.insert(key);
        }
        Ok(sections)
    }
}

/// A top-level key of a single-file inventory.
struct SectionKey<'s> {
    seen: &'s HashSet<&'static str>,
}

impl Expect<'_> for SectionKey<'_> {
    type Out = &'static str;

    fn what(&self) -> String {
        "section name".to_string()
    }

    fn expected(&self) -> String {
        "`hosts`, `groups` or `defaults`".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<&'static str, InventoryErrorKind> {
        let key = scalar.as_text().unwrap_or_else(|| scalar.describe(false));
        let Some(section) = SECTIONS.iter().copied().find(|s| *s == key) else {
            let suggestion = closest(&key, SECTIONS.iter().copied()).map(str::to_string);
            return Err(InventoryErrorKind::UnknownKey {
                what: "section",
                key,
                suggestion,
                expected: SECTIONS,
            });
        };
        if self.seen.contains(section) {
            return Err(InventoryErrorKind::DuplicateKey { key });
        }
        Ok(section)
    }
}
