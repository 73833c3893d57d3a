//! Finding the TextFSM template for a platform and command, the way ntc-templates (through
//! TextFSM's clitable) does: an `index` file of `Template, Hostname, Platform, Command` rows,
//! where each field but the first is a regex matched at the start of the attribute and the first
//! matching row wins, and `sh[[ow]]` in a command stands for `sh`, `sho` or `show`.
//!
//! A [`TemplateIndex`] searches a user directory first (a path, or `NET_TEXTFSM` as Netmiko
//! reads it), then the templates fanout ships for its simulated IOS devices.

use crate::textfsm::{Table, Template, TextFsmError, join, translate};
use fancy_regex::Regex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Environment variable naming a template directory, as Netmiko uses it.
pub const TEMPLATE_DIR_ENV: &str = "NET_TEXTFSM";

/// Templates shipped in the crate (rules/templates), so a worker needs no files on disk.
const BUNDLED_INDEX: &str = include_str!("../templates/index");
const BUNDLED: &[(&str, &str)] = &[
    (
        "cisco_ios_show_vlan_brief.textfsm",
        include_str!("../templates/cisco_ios_show_vlan_brief.textfsm"),
    ),
    (
        "cisco_ios_show_ip_interface_brief.textfsm",
        include_str!("../templates/cisco_ios_show_ip_interface_brief.textfsm"),
    ),
    (
        "cisco_ios_show_ip_route.textfsm",
        include_str!("../templates/cisco_ios_show_ip_route.textfsm"),
    ),
];

/// Why a template could not be found or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// The index or a template file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A row of the index file is malformed.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The index file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No row matches.
    #[error(
        "no TextFSM template for platform `{platform}` and command `{command}` (searched {searched})"
    )]
    NotFound {
        /// The host's platform.
        platform: String,
        /// The command.
        command: String,
        /// The indexes searched, for the user to check.
        searched: String,
    },
    /// The template exists but does not compile or failed on the output.
    #[error(transparent)]
    Template(#[from] TextFsmError),
    /// The templates of an index row cannot be joined as clitable joins them.
    #[error(
        "cannot join the templates for platform `{platform}` and command `{command}`: {message}"
    )]
    Join {
        /// The host's platform.
        platform: String,
        /// The command.
        command: String,
        /// Which key is missing where.
        message: String,
    },
}

/// Where a template's text comes from.
#[derive(Debug, Clone)]
enum Source {
    Dir(PathBuf),
    /// Templates shipped by the coordinator in a [`TemplateBundle`].
    Memory(HashMap<String, String>),
    Bundled,
}

/// The templates a rules file needs on a set of platforms, with an index that finds them, so a
/// worker on another machine parses exactly as the coordinator checked, and compiles nothing
/// else. Travels as the files of a small ntc-templates directory ([`TemplateBundle::files`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TemplateBundle {
    /// Index text in the ntc-templates layout, one literal row per platform and command.
    pub index: String,
    /// Template file name and text.
    pub templates: Vec<(String, String)>,
}

/// The index's file name in an ntc-templates directory.
const INDEX_FILE: &str = "index";

impl TemplateBundle {
    /// The bundle as the files of an ntc-templates directory: `index` and the templates, by
    /// file name.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        let index = std::iter::once((INDEX_FILE, self.index.as_str()));
        index.chain(self.templates.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// A bundle from the files of an ntc-templates directory (which [`TemplateBundle::files`]
    /// makes); `None` without an `index`.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Option<Self> {
        let mut index = None;
        let mut templates = Vec::new();
        for (name, text) in files {
            if name == INDEX_FILE {
                index = Some(text);
            } else {
                templates.push((name, text));
            }
        }
        Some(Self {
            index: index?,
            templates,
        })
    }
}

/// A template compiled at most once: hosts that need it at the same time wait for the first.
type CompiledSlot = Arc<OnceLock<Result<Arc<Template>, IndexError>>>;

#[derive(Debug, Clone)]
struct Entry {
    /// Template file names (clitable allows several, `a:b`).
    templates: Vec<String>,
    platform: Option<Regex>,
    command: Option<Regex>,
    source: usize,
}

/// The template lookup: index rows from every source, in search order, and the templates
/// compiled so far.
#[derive(Debug)]
pub struct TemplateIndex {
    sources: Vec<Source>,
    entries: Vec<Entry>,
    /// Templates by (source, file name), compiled on first use and shared by every host; only
    /// the templates some host's command needs are ever compiled.
    cache: Mutex<HashMap<(usize, String), CompiledSlot>>,
}

impl TemplateIndex {
    /// Only the templates fanout ships.
    pub fn bundled() -> TemplateIndex {
        let mut index = TemplateIndex {
            sources: Vec::new(),
            entries: Vec::new(),
            cache: Mutex::new(HashMap::new()),
        };
        index
            .add_source(Source::Bundled, "<bundled>/index", BUNDLED_INDEX)
            .expect("the bundled index is valid (tested)");
        index
    }

    /// The index of `dir` (or, when `dir` is `None`, of `$NET_TEXTFSM` if set), searched before
    /// the bundled templates.
    pub fn load(dir: Option<&Path>) -> Result<TemplateIndex, IndexError> {
        let from_env = std::env::var_os(TEMPLATE_DIR_ENV).map(PathBuf::from);
        let dir = dir.map(Path::to_path_buf).or(from_env);
        let mut index = TemplateIndex {
            sources: Vec::new(),
            entries: Vec::new(),
            cache: Mutex::new(HashMap::new()),
        };
        if let Some(dir) = dir {
            let path = dir.join("index");
            let text = std::fs::read_to_string(&path).map_err(|e| IndexError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            index.add_source(Source::Dir(dir), &path.display().to_string(), &text)?;
        }
        index.add_source(Source::Bundled, "<bundled>/index", BUNDLED_INDEX)?;
        Ok(index)
    }

    fn add_source(&mut self, source: Source, name: &str, text: &str) -> Result<(), IndexError> {
        let id = self.sources.len();
        self.sources.push(source);
        let mut header: Option<Vec<String>> = None;
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = trimmed.split(',').map(str::trim).collect();
            let err = |message: String| IndexError::Syntax {
                file: name.to_string(),
                line: line_no,
                message,
            };
            let Some(cols) = &header else {
                if !fields.contains(&"Template") {
                    return Err(err(
                        "the first row must be the header, with a `Template` column".into(),
                    ));
                }
                header = Some(fields.iter().map(|s| s.to_string()).collect());
                continue;
            };
            if fields.len() != cols.len() {
                return Err(err(format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    cols.len()
                )));
            }
            let field = |col: &str| {
                cols.iter()
                    .position(|c| c == col)
                    .map(|i| fields[i])
                    .filter(|f| !f.is_empty())
            };
            let compile = |col: &str, pattern: String| {
                Regex::new(&translate(&format!("^(?:{pattern})")))
                    .map_err(|e| err(format!("bad regex in {col} `{pattern}`: {e}")))
            };
            let templates = field("Template")
                .ok_or_else(|| err("empty Template field".into()))?
                .split(':')
                .map(str::to_string)
                .collect();
            let platform = field("Platform")
                .map(|p| compile("Platform", p.to_string()))
                .transpose()?;
            let command = field("Command")
                .map(|c| compile("Command", expand_completion(c)))
                .transpose()?;
            self.entries.push(Entry {
                templates,
                platform,
                command,
                source: id,
            });
        }
        if header.is_none() {
            return Err(IndexError::Syntax {
                file: name.to_string(),
                line: 1,
                message: "no header row".into(),
            });
        }
        Ok(())
    }

    /// The template file names for `platform` and `command` (the first matching row).
    pub fn lookup(&self, platform: &str, command: &str) -> Result<Vec<String>, IndexError> {
        self.find(platform, command)
            .map(|e| e.templates.clone())
            .ok_or_else(|| self.not_found(platform, command))
    }

    fn find(&self, platform: &str, command: &str) -> Option<&Entry> {
        let command = command.split_whitespace().collect::<Vec<_>>().join(" ");
        self.entries.iter().find(|e| {
            // A regex that gives up (backtrack limit) counts as no match.
            let hit = |re: &Option<Regex>, s: &str| {
                re.as_ref().is_none_or(|re| re.is_match(s).unwrap_or(false))
            };
            hit(&e.platform, platform) && hit(&e.command, &command)
        })
    }

    fn not_found(&self, platform: &str, command: &str) -> IndexError {
        let searched = self
            .sources
            .iter()
            .map(|s| match s {
                Source::Dir(d) => d.join("index").display().to_string(),
                Source::Memory(_) => "the coordinator's template bundle".to_string(),
                Source::Bundled => "fanout's bundled templates".to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        IndexError::NotFound {
            platform: platform.to_string(),
            command: command.to_string(),
            searched,
        }
    }

    /// The compiled template(s) for `platform` and `command`; compiling reports template
    /// errors with the template's file and line.
    pub fn templates(
        &self,
        platform: &str,
        command: &str,
    ) -> Result<Vec<Arc<Template>>, IndexError> {
        let entry = self
            .find(platform, command)
            .ok_or_else(|| self.not_found(platform, command))?;
        entry
            .templates
            .iter()
            .map(|name| self.compiled(entry.source, name))
            .collect()
    }

    fn compiled(&self, source: usize, name: &str) -> Result<Arc<Template>, IndexError> {
        let slot = Arc::clone(
            self.cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((source, name.to_string()))
                .or_default(),
        );
        // Compiled outside the map's lock, so other templates are not held up.
        slot.get_or_init(|| {
            let (label, text) = self.template_text(source, name)?;
            Ok(Arc::new(Template::parse(&label, &text)?))
        })
        .clone()
    }

    /// A template's text and the name it goes by in messages.
    fn template_text(&self, source: usize, name: &str) -> Result<(String, String), IndexError> {
        let missing = |label: String, reason: &str| IndexError::Io {
            path: label,
            reason: reason.to_string(),
        };
        match &self.sources[source] {
            Source::Dir(dir) => {
                let path = dir.join(name);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| missing(path.display().to_string(), &e.to_string()))?;
                Ok((path.display().to_string(), text))
            }
            Source::Memory(files) => {
                let label = format!("<bundle>/{name}");
                let text = files
                    .get(name)
                    .ok_or_else(|| missing(label.clone(), "not in the bundle"))?;
                Ok((label, text.clone()))
            }
            Source::Bundled => {
                let label = format!("<bundled>/{name}");
                let text = BUNDLED
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, t)| t.to_string())
                    .ok_or_else(|| missing(label.clone(), "not bundled"))?;
                Ok((label, text))
            }
        }
    }

    /// The templates `commands` need on `platforms`, for workers that cannot read this
    /// machine's template directory. Fails as [`TemplateIndex::templates`] would.
    pub fn bundle_for(
        &self,
        commands: &[String],
        platforms: &[&str],
    ) -> Result<TemplateBundle, IndexError> {
        let mut index = String::from("Template, Platform, Command\n");
        let mut templates: Vec<(String, String)> = Vec::new();
        for platform in platforms {
            for command in commands {
                let entry = self
                    .find(platform, command)
                    .ok_or_else(|| self.not_found(platform, command))?;
                let mut names = Vec::new();
                for name in &entry.templates {
                    self.compiled(entry.source, name)?;
                    let (_, text) = self.template_text(entry.source, name)?;
                    // Names are unique within a source but two sources may share one.
                    let unique = format!("{}-{name}", entry.source);
                    if !templates.iter().any(|(n, _)| *n == unique) {
                        templates.push((unique.clone(), text));
                    }
                    names.push(unique);
                }
                let literal = |s: &str| regex::escape(s).replace(',', "\\x2C");
                index.push_str(&format!(
                    "{}, {}$, {}$\n",
                    names.join(":"),
                    literal(platform),
                    literal(&command.split_whitespace().collect::<Vec<_>>().join(" "))
                ));
            }
        }
        Ok(TemplateBundle { index, templates })
    }

    /// An index that searches `bundle` first, then fanout's own templates.
    pub fn from_bundle(bundle: &TemplateBundle) -> Result<TemplateIndex, IndexError> {
        let mut index = TemplateIndex {
            sources: Vec::new(),
            entries: Vec::new(),
            cache: Mutex::new(HashMap::new()),
        };
        let files = bundle.templates.iter().cloned().collect();
        index.add_source(Source::Memory(files), "<bundle>/index", &bundle.index)?;
        index.add_source(Source::Bundled, "<bundled>/index", BUNDLED_INDEX)?;
        Ok(index)
    }

    /// Parses `output` of `command` on a `platform` device into the table clitable makes of it
    /// (so ntc-templates' and Netmiko's users see the same): with several templates (`a:b`),
    /// their tables are joined on the `Key` values; `List` elements that matched nothing are
    /// `"None"`. See [`crate::textfsm::Template::parse_text`] for TextFSM's own table.
    pub fn parse(&self, platform: &str, command: &str, output: &str) -> Result<Table, IndexError> {
        let templates = self.templates(platform, command)?;
        let tables = templates
            .iter()
            .map(|t| t.parse_text(output))
            .collect::<Result<Vec<_>, _>>()?;
        let templates: Vec<&Template> = templates.iter().map(AsRef::as_ref).collect();
        join(&templates, tables).map_err(|message| IndexError::Join {
            platform: platform.to_string(),
            command: command.to_string(),
            message,
        })
    }
}

/// clitable's completion: `sh[[ow]]` becomes `sh(o(w)?)?`.
fn expand_completion(command: &str) -> String {
    let mut out = String::new();
    let mut rest = command;
    while let Some(start) = rest.find("[[") {
        let Some(len) = rest[start + 2..].find("]]") else {
            break;
        };
        out.push_str(&rest[..start]);
        let word: Vec<char> = rest[start + 2..start + 2 + len].chars().collect();
        out.push('(');
        let inner: Vec<String> = word.iter().map(|c| regex::escape(&c.to_string())).collect();
        out.push_str(&inner.join("("));
        out.push_str(&")?".repeat(word.len()));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_expands_like_clitable() {
        assert_eq!(expand_completion("sh[[ow]] ip"), "sh(o(w)?)? ip");
        let re = Regex::new(&format!(
            "^(?:{})",
            expand_completion("sh[[ow]] ip int[[erface]] br[[ief]]")
        ))
        .unwrap();
        for c in ["sh ip int br", "show ip interface brief", "sho ip inte bri"] {
            assert!(re.is_match(c).unwrap(), "{c}");
        }
        assert!(!re.is_match("show ip route").unwrap());
    }

    #[test]
    fn bundled_index_finds_each_shipped_template() {
        let index = TemplateIndex::bundled();
        for (cmd, file) in [
            ("show vlan brief", "cisco_ios_show_vlan_brief.textfsm"),
            ("sh vlan br", "cisco_ios_show_vlan_brief.textfsm"),
            (
                "show ip interface brief",
                "cisco_ios_show_ip_interface_brief.textfsm",
            ),
            ("show  ip   route", "cisco_ios_show_ip_route.textfsm"),
        ] {
            assert_eq!(
                index.lookup("cisco_ios", cmd).unwrap(),
                vec![file.to_string()]
            );
            assert_eq!(index.templates("cisco_ios", cmd).unwrap().len(), 1);
        }
        assert!(matches!(
            index.lookup("juniper_junos", "show vlan brief"),
            Err(IndexError::NotFound { .. })
        ));
    }

    #[test]
    fn a_bundle_parses_on_a_worker_as_the_directory_does() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index"),
            "Template, Hostname, Platform, Command\nmine.textfsm, .*, cisco_.*, sh[[ow]] vl[[an]]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mine.textfsm"),
            "Value A (\\d+)\n\nStart\n  ^${A} -> Record\n",
        )
        .unwrap();
        let index = TemplateIndex::load(Some(dir.path())).unwrap();
        let commands = ["show vlan brief".to_string(), "show ip route".to_string()];
        let bundle = index.bundle_for(&commands, &["cisco_ios"]).unwrap();
        assert_eq!(bundle.templates.len(), 2);
        let json = serde_json::to_string(&bundle).unwrap();
        std::fs::remove_dir_all(dir.path()).unwrap();
        let worker = TemplateIndex::from_bundle(&serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(
            worker
                .parse("cisco_ios", "show  vlan brief", "7\n")
                .unwrap()
                .column("A"),
            ["7"]
        );
        let route = worker.parse(
            "cisco_ios",
            "show ip route",
            "S*    0.0.0.0/0 [1/0] via 10.0.0.1\n",
        );
        assert_eq!(route.unwrap().column("NEXTHOP_IP"), ["10.0.0.1"]);
        // Only the commands bundled: another one falls through to fanout's own templates.
        assert!(matches!(
            worker.lookup("cisco_nxos", "show vlan"),
            Err(IndexError::NotFound { .. })
        ));
        assert!(
            index
                .bundle_for(&["show clock".into()], &["cisco_ios"])
                .is_err()
        );
    }

    /// An index row naming two templates gives clitable's table: the first template's
    /// columns and only the new ones of the second, rows joined on the first's `Key` values,
    /// `''` where a row has no partner; a `List` element that matched nothing is `"None"`.
    #[test]
    fn several_templates_join_as_clitable_does() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "index",
            "Template, Hostname, Platform, Command\nstatus.textfsm:serials.textfsm, .*, cisco_ios, sh[[ow]] mod[[ule]]\n",
        );
        write(
            "status.textfsm",
            "Value Key MODULE (\\d+)\nValue STATUS (\\w+)\nValue List PORTS (\\S+)\n\nStart\n  ^${MODULE}\\s+status\\s+${STATUS}(\\s+${PORTS}?)? -> Record\n",
        );
        write(
            "serials.textfsm",
            "Value MODULE (\\d+)\nValue STATUS (\\w+)\nValue SERIAL (\\w+)\n\nStart\n  ^${MODULE}\\s+serial\\s+${SERIAL} -> Record\n",
        );
        let index = TemplateIndex::load(Some(dir.path())).unwrap();
        let output = "1 status ok\n2 status failed\n3 status ok  \n3 serial C333\n1 serial A111\n9 serial Z999\n";
        let table = index.parse("cisco_ios", "show module", output).unwrap();
        assert_eq!(table.header, ["MODULE", "STATUS", "PORTS", "SERIAL"]);
        let rows: Vec<String> = table
            .rows
            .iter()
            .map(|r| serde_json::Value::Object(r.clone()).to_string())
            .collect();
        // What Python's clitable.CliTable.ParseCmd gives for the same files.
        assert_eq!(
            rows,
            [
                r#"{"MODULE":"1","PORTS":["None"],"SERIAL":"A111","STATUS":"ok"}"#,
                r#"{"MODULE":"2","PORTS":["None"],"SERIAL":"","STATUS":"failed"}"#,
                r#"{"MODULE":"3","PORTS":["None"],"SERIAL":"C333","STATUS":"ok"}"#,
            ]
        );
    }

    /// Hosts of a job evaluate at the same time on the worker's blocking threads: the first
    /// to need a template compiles it and the others wait for that one compilation.
    #[test]
    fn a_template_is_compiled_once_however_many_hosts_ask_at_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index"),
            "Template, Platform, Command\nslow.textfsm, eos, sh[[ow]] vl[[an]]\n",
        )
        .unwrap();
        // Slow enough to compile that unsynchronised threads would all miss the cache.
        let rules: String = (1..=30)
            .map(|n| format!("  ^\\d+\\s+(?:\\S+\\s+){{{n}}}${{P}} -> Continue\n"))
            .collect();
        std::fs::write(
            dir.path().join("slow.textfsm"),
            format!("Value List P (\\S+)\n\nStart\n{rules}"),
        )
        .unwrap();
        let index = TemplateIndex::load(Some(dir.path())).unwrap();
        let start = std::sync::Barrier::new(8);
        let compiled: Vec<Arc<Template>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        index.templates("eos", "show vlan").unwrap().remove(0)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert!(compiled.iter().all(|t| Arc::ptr_eq(t, &compiled[0])));
    }

    #[test]
    fn user_dir_comes_first_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index"),
            "# comment\nTemplate, Hostname, Platform, Command\n\nmine.textfsm, .*, cisco_ios, sh[[ow]] vl[[an]]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mine.textfsm"),
            "Value A (\\d+)\n\nStart\n  ^${A} -> Record\n",
        )
        .unwrap();
        let index = TemplateIndex::load(Some(dir.path())).unwrap();
        assert_eq!(
            index.lookup("cisco_ios", "show vlan brief").unwrap(),
            ["mine.textfsm"]
        );
        assert_eq!(
            index
                .parse("cisco_ios", "sh vlan", "1\n2\n")
                .unwrap()
                .column("A"),
            ["1", "2"]
        );
        // Falls through to the bundled rows.
        assert!(index.lookup("cisco_ios", "show ip route").is_ok());

        std::fs::write(
            dir.path().join("mine.textfsm"),
            "Value A (\\d+)\n\nStart\n  ^${A}$\n",
        )
        .unwrap();
        let index = TemplateIndex::load(Some(dir.path())).unwrap();
        let err = index
            .templates("cisco_ios", "show vlan")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mine.textfsm:4:"), "{err}");

        std::fs::write(
            dir.path().join("index"),
            "Template, Platform, Command\na.textfsm, x\n",
        )
        .unwrap();
        let err = TemplateIndex::load(Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("index:2: 2 fields where the header has 3"),
            "{err}"
        );
    }
}
