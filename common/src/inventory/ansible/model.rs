//! Ansible's inventory model (groups with hosts, children and vars; hosts with vars) and its
//! conversion to fanout's: `all`'s vars become the defaults, every other group a group, and
//! each host lists all the groups it belongs to, in Ansible's variable precedence.
//!
//! Ansible merges group vars from the shallowest group to the deepest (children override
//! parents), and among groups of one depth by `ansible_group_priority`, then by name, the
//! later winning. fanout takes the first group that sets a field, so a host's groups are listed
//! in the reverse of that order and none of them has parents: the list is already complete.

use super::super::error::{InventoryError, InventoryErrorKind, SourceLocation, group_subject};
use super::super::raw::RawEntry;
use super::super::sections::Named;
use super::super::source::{Document, Place, Places, SourceFile};
use super::vars::{Var, convert};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Default)]
pub(in crate::inventory) struct Group {
    pub name: String,
    pub vars: Vec<Var>,
    pub children: Vec<String>,
    pub at: Place,
}

#[derive(Debug, Default)]
pub(in crate::inventory) struct HostDef {
    pub name: String,
    pub vars: Vec<Var>,
    /// The groups that list the host directly.
    pub groups: Vec<String>,
    pub at: Place,
}

/// An Ansible inventory as read from any number of sources.
#[derive(Default)]
pub(in crate::inventory) struct Model {
    pub sources: Vec<SourceFile>,
    groups: Vec<Group>,
    group_index: HashMap<String, usize>,
    hosts: Vec<HostDef>,
    host_index: HashMap<String, usize>,
    /// What to name when a problem has no file (`exec:./script`).
    pub origin: Option<PathBuf>,
}

pub(in crate::inventory) const ALL: &str = "all";
const UNGROUPED: &str = "ungrouped";

impl Model {
    pub fn group(&mut self, name: &str, at: Place) -> &mut Group {
        let index = match self.group_index.get(name) {
            Some(index) => *index,
            None => {
                self.groups.push(Group {
                    name: name.to_string(),
                    ..Group::default()
                });
                self.group_index
                    .insert(name.to_string(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[index];
        if matches!(group.at, Place::Nowhere) {
            group.at = at;
        }
        group
    }

    pub fn has_group(&self, name: &str) -> bool {
        self.group_index.contains_key(name)
    }

    pub fn host(&mut self, name: &str, at: Place) -> &mut HostDef {
        let index = match self.host_index.get(name) {
            Some(index) => *index,
            None => {
                self.hosts.push(HostDef {
                    name: name.to_string(),
                    ..HostDef::default()
                });
                self.host_index
                    .insert(name.to_string(), self.hosts.len() - 1);
                self.hosts.len() - 1
            }
        };
        let host = &mut self.hosts[index];
        if matches!(host.at, Place::Nowhere) {
            host.at = at;
        }
        host
    }

    pub fn has_host(&self, name: &str) -> bool {
        self.host_index.contains_key(name)
    }

    /// Puts `host` in `group` (creating both as needed).
    pub fn add_host(&mut self, group: &str, host: &str, at: Place) -> &mut HostDef {
        self.group(group, Place::Nowhere);
        let host = self.host(host, at);
        if !host.groups.iter().any(|g| g == group) {
            host.groups.push(group.to_string());
        }
        host
    }

    pub fn add_child(&mut self, parent: &str, child: &str, at: Place) {
        self.group(child, at);
        let parent = self.group(parent, Place::Nowhere);
        if !parent.children.iter().any(|c| c == child) {
            parent.children.push(child.to_string());
        }
    }

    pub fn locate(&self, place: &Place) -> Option<SourceLocation> {
        match place {
            Place::Nowhere => self.origin.as_ref().map(SourceLocation::file),
            Place::Yaml { source, path } => {
                let source = &self.sources[*source];
                let steps: Vec<_> = path
                    .iter()
                    .map(|k| super::super::locate::Step::Key(k))
                    .collect();
                let mut location = SourceLocation::file(&source.path);
                if let Some((line, column)) = super::super::locate::locate(&source.text, &steps) {
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

    pub fn into_document(mut self) -> Result<Document, InventoryError> {
        self.group(ALL, Place::Nowhere);
        // Hosts no group lists are in `ungrouped`, as in Ansible.
        let lonely: Vec<String> = self
            .hosts
            .iter()
            .filter(|h| h.groups.iter().all(|g| g == ALL))
            .map(|h| h.name.clone())
            .collect();
        for name in lonely {
            self.add_host(UNGROUPED, &name, Place::Nowhere);
        }
        let count = self.groups.len();
        let mut parents: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (index, group) in self.groups.iter().enumerate() {
            for child in &group.children {
                parents[self.group_index[child]].push(index);
            }
        }
        let all = self.group_index[ALL];
        for (index, list) in parents.iter_mut().enumerate() {
            if index != all && list.is_empty() {
                list.push(all);
            }
        }
        let walk = Walk::run(&self, &parents)?;
        let priority: Vec<i64> = self
            .groups
            .iter()
            .map(|g| {
                g.vars
                    .iter()
                    .rev()
                    .find(|v| v.key == "ansible_group_priority")
                    .and_then(|v| match &v.value {
                        serde_json::Value::Number(n) => n.as_i64(),
                        serde_json::Value::String(s) => s.trim().parse().ok(),
                        _ => None,
                    })
                    .unwrap_or(1)
            })
            .collect();

        let locate = |place: &Place| self.locate(place);
        // Groups keep their order of appearance; `all` is the defaults.
        let mut places = Places {
            origin: self.origin.clone(),
            ..Places::default()
        };
        let mut groups = Vec::new();
        let mut defaults = RawEntry::default();
        for (index, group) in self.groups.iter().enumerate() {
            let (entry, entry_places) = convert(&group.vars, group.at.clone(), &locate)
                .map_err(|e| e.about(Some(group_subject(&group.name))))?;
            if index == all {
                defaults = entry;
                places.defaults = entry_places;
                continue;
            }
            groups.push(Named {
                name: group.name.clone(),
                entry,
            });
            places.groups.push(entry_places);
        }
        let mut hosts = Vec::with_capacity(self.hosts.len());
        for host in &self.hosts {
            let mut member: Vec<usize> = Vec::new();
            for name in &host.groups {
                for ancestor in &walk.ancestors[self.group_index[name]] {
                    if *ancestor != all && !member.contains(ancestor) {
                        member.push(*ancestor);
                    }
                }
            }
            // Highest precedence first: deepest, then highest priority, then last by name.
            member.sort_by(|a, b| {
                let key = |g: &usize| (walk.depth[*g], priority[*g], &self.groups[*g].name);
                key(b).cmp(&key(a))
            });
            let (mut entry, entry_places) = convert(&host.vars, host.at.clone(), &locate)
                .map_err(|e| e.about(Some(super::super::error::host_subject(&host.name))))?;
            entry.groups = Some(
                member
                    .iter()
                    .map(|g| self.groups[*g].name.clone())
                    .collect(),
            );
            hosts.push(Named {
                name: host.name.clone(),
                entry,
            });
            places.hosts.push(entry_places);
        }
        Ok(Document::converted(
            self.sources,
            hosts,
            groups,
            defaults,
            places,
        ))
    }
}

/// Each group's depth below `all` (its longest path, as Ansible counts) and its ancestors.
struct Walk {
    depth: Vec<usize>,
    /// The group itself and every group above it.
    ancestors: Vec<Vec<usize>>,
}

impl Walk {
    fn run(model: &Model, parents: &[Vec<usize>]) -> Result<Walk, InventoryError> {
        let count = parents.len();
        let mut walk = Walk {
            depth: vec![0; count],
            ancestors: vec![Vec::new(); count],
        };
        let mut state = vec![0u8; count]; // 0 new, 1 on the path, 2 done
        for root in 0..count {
            walk.visit(model, parents, root, &mut state, &mut Vec::new())?;
        }
        Ok(walk)
    }

    fn visit(
        &mut self,
        model: &Model,
        parents: &[Vec<usize>],
        group: usize,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Result<(), InventoryError> {
        match state[group] {
            2 => return Ok(()),
            1 => {
                let start = path.iter().position(|g| *g == group).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..]
                    .iter()
                    .map(|g| model.groups[*g].name.clone())
                    .collect();
                cycle.push(model.groups[group].name.clone());
                // Walking goes child to parent; Ansible's users think parent to child.
                cycle.reverse();
                let error = InventoryError::new(InventoryErrorKind::GroupCycle { cycle });
                return Err(match model.locate(&model.groups[group].at) {
                    Some(location) => error.at(location),
                    None => error,
                });
            }
            _ => {}
        }
        state[group] = 1;
        path.push(group);
        let mut depth = 0;
        let mut ancestors = vec![group];
        for parent in &parents[group] {
            self.visit(model, parents, *parent, state, path)?;
            depth = depth.max(self.depth[*parent] + 1);
            for a in &self.ancestors[*parent] {
                if !ancestors.contains(a) {
                    ancestors.push(*a);
                }
            }
        }
        path.pop();
        self.depth[group] = depth;
        self.ancestors[group] = ancestors;
        state[group] = 2;
        Ok(())
    }
}

/// A host pattern with ranges, as Ansible writes many hosts at once: `www[01:50].example.com`,
/// `db-[a:f]`, `r[1:10:2]`. Returns the names, or the pattern itself when it has no range.
pub(in crate::inventory) fn expand_hosts(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let Some(close) = pattern[open..].find(']').map(|c| open + c) else {
        return Ok(vec![pattern.to_string()]);
    };
    let inner = &pattern[open + 1..close];
    let parts: Vec<&str> = inner.split(':').collect();
    let (start, end, stride) = match parts.as_slice() {
        [start, end] => (*start, *end, 1usize),
        [start, end, stride] => (
            *start,
            *end,
            stride
                .parse::<usize>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("bad stride in host range {pattern:?}"))?,
        ),
        // An IPv6 address or something else bracketed: not a range.
        _ => return Ok(vec![pattern.to_string()]),
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut names = Vec::new();
    let rest = expand_hosts(tail)?;
    let items: Vec<String> = if let (Ok(a), Ok(b)) = (start.parse::<u64>(), end.parse::<u64>()) {
        if a > b {
            return Err(format!("host range {pattern:?} runs backwards"));
        }
        let width = if start.starts_with('0') {
            start.len()
        } else {
            0
        };
        (a..=b)
            .step_by(stride)
            .map(|n| format!("{n:0width$}"))
            .collect()
    } else if let ([a], [b]) = (start.as_bytes(), end.as_bytes())
        && a.is_ascii_alphabetic()
        && b.is_ascii_alphabetic()
        && a <= b
    {
        (*a..=*b)
            .step_by(stride)
            .map(|c| (c as char).to_string())
            .collect()
    } else {
        return Err(format!("bad host range {pattern:?}"));
    };
    if items.len() > 1_000_000 {
        return Err(format!("host range {pattern:?} is too large"));
    }
    for item in items {
        for r in &rest {
            names.push(format!("{head}{item}{r}"));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ranges() {
        assert_eq!(expand_hosts("r1").unwrap(), ["r1"]);
        assert_eq!(
            expand_hosts("www[01:03].x").unwrap(),
            ["www01.x", "www02.x", "www03.x"]
        );
        assert_eq!(expand_hosts("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand_hosts("r[1:5:2]").unwrap(), ["r1", "r3", "r5"]);
        assert!(expand_hosts("r[5:1]").is_err());
    }
}
