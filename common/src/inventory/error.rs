//! What went wrong while loading an inventory or parsing a filter, and where: every problem that
//! lies in a file names the file and, whenever the parser can say, the line and column.

use std::fmt;
use std::path::PathBuf;

/// A place in an inventory file (or the file as a whole when it could not be read at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file as the loader opened it (the inventory path joined with the file name).
    pub path: PathBuf,
    /// 1-based line, when the problem is at a point in the file.
    pub line: Option<usize>,
    /// 1-based column on that line.
    pub column: Option<usize>,
}

impl SourceLocation {
    pub(crate) fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            line: None,
            column: None,
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// An inventory that cannot be used as written, or a filter that cannot be parsed.
///
/// Displays as `FILE:LINE:COLUMN: SUBJECT: PROBLEM`, e.g.
/// `inventory/hosts.yaml:12:5: host "r1": unknown field `hostnme` (did you mean `hostname`?), ...`;
/// the parts that do not apply are left out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InventoryError(Box<Detail>);

/// Boxed so that `Result<_, InventoryError>` stays one pointer wide on the happy path.
#[derive(Debug, thiserror::Error)]
#[error("{}{}{kind}", Prefix(.location.as_ref()), Prefix(.subject.as_ref()))]
struct Detail {
    /// Where the problem is; `None` for problems that lie in no file (a bad filter).
    location: Option<SourceLocation>,
    /// Which host, group or section the problem belongs to (`host "r1"`, `group "core"`, `defaults`).
    subject: Option<String>,
    kind: InventoryErrorKind,
}

impl InventoryError {
    pub(crate) fn new(kind: InventoryErrorKind) -> Self {
        Self(Box::new(Detail {
            location: None,
            subject: None,
            kind,
        }))
    }

    pub(crate) fn at(mut self, location: SourceLocation) -> Self {
        self.0.location = Some(location);
        self
    }

    pub(crate) fn about(mut self, subject: Option<String>) -> Self {
        self.0.subject = subject;
        self
    }

    pub(crate) fn kind_mut(&mut self) -> &mut InventoryErrorKind {
        &mut self.0.kind
    }

    /// What went wrong, for callers that react to particular problems.
    pub fn kind(&self) -> &InventoryErrorKind {
        &self.0.kind
    }

    pub fn location(&self) -> Option<&SourceLocation> {
        self.0.location.as_ref()
    }

    /// `host "r1"`, `group "core"`, `defaults`, or `None` when the problem is the file as a whole.
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
}

/// `host "r1"`: how messages name a host.
pub(crate) fn host_subject(name: &str) -> String {
    format!("host {name:?}")
}

/// `group "core"`: how messages name a group.
pub(crate) fn group_subject(name: &str) -> String {
    format!("group {name:?}")
}

/// Writes `value: ` when there is a value, nothing otherwise.
struct Prefix<T>(Option<T>);

impl<T: fmt::Display> fmt::Display for Prefix<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(value) => write!(f, "{value}: "),
            None => Ok(()),
        }
    }
}

/// The problems an inventory can have. The messages never contain a credential's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryErrorKind {
    /// The inventory path, or one of its files, could not be read.
    #[error("cannot read: {error}")]
    Read { error: std::io::Error },
    /// A directory inventory without the one file it cannot do without.
    #[error("no hosts.yaml (or hosts.yml) in this directory")]
    MissingHostsFile,
    /// Both spellings of one file exist, so picking one would be a guess.
    #[error("both {first} and {second} exist; keep one")]
    AmbiguousFile { first: String, second: String },
    /// The YAML parser rejected the text (bad indentation, an unclosed quote, ...).
    #[error("{message}")]
    Yaml { message: String },
    /// A value of the wrong type or out of range: `port: "abc"`, `port: 70000`, `groups: core`.
    #[error("invalid {what}: {reason}")]
    InvalidValue { what: String, reason: String },
    /// A key the inventory does not know: most often a typo.
    #[error(
        "unknown {what} `{key}`{}, expected one of {}",
        did_you_mean(.suggestion.as_deref(), "`"),
        one_of(.expected)
    )]
    UnknownKey {
        /// `field` for a host's, group's or defaults' keys; `section` at the top of a single file.
        what: &'static str,
        key: String,
        suggestion: Option<String>,
        expected: &'static [&'static str],
    },
    /// The same key twice in one mapping: YAML would silently keep only the last one.
    #[error("duplicate key `{key}`")]
    DuplicateKey { key: String },
    /// A host name defined twice in the hosts file.
    #[error("host {name:?} is defined twice{}", first_seen(*.first_line))]
    DuplicateHost {
        name: String,
        first_line: Option<usize>,
    },
    /// A group name defined twice in the groups file.
    #[error("group {name:?} is defined twice{}", first_seen(*.first_line))]
    DuplicateGroup {
        name: String,
        first_line: Option<usize>,
    },
    /// Two ways of supplying one credential at one level (`password` and `password_env`).
    #[error(
        "`{field}` and `{other}` are both set; set only one of `{base}`, `{base}_env`, `{base}_file`"
    )]
    ConflictingCredential {
        field: &'static str,
        other: &'static str,
        base: &'static str,
    },
    /// A host or group lists a group that the groups file does not define.
    #[error("unknown group {name:?}{}", did_you_mean(.suggestion.as_deref(), "\""))]
    UnknownGroup {
        name: String,
        suggestion: Option<String>,
    },
    /// Groups that are (indirectly) their own parent.
    #[error("group cycle: {}", .cycle.join(" -> "))]
    GroupCycle { cycle: Vec<String> },
    /// No platform on the host, its groups or the defaults: the worker could not pick a driver.
    #[error("no platform set on the host, its groups or the defaults")]
    MissingPlatform,
    /// A platform that is not among the ones the caller knows how to drive.
    #[error(
        "unknown platform {platform:?}{}; known platforms: {}",
        did_you_mean(.suggestion.as_deref(), "\""),
        .known.join(", ")
    )]
    UnknownPlatform {
        platform: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    /// `password_env` / `secret_env` names a variable that cannot be used.
    #[error("environment variable `{var}` (from `{field}`) {problem}")]
    EnvVar {
        field: &'static str,
        var: String,
        problem: &'static str,
    },
    /// `password_file` / `secret_file` names a file that cannot be read.
    #[error("cannot read `{field}` {}: {error}", .path.display())]
    CredentialFile {
        field: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    /// A dynamic inventory program that failed, timed out or printed no inventory.
    #[error("inventory script: {reason}")]
    Script { reason: String },
    /// A `--filter` expression that is not `key=value` or `key!=value`.
    #[error("invalid filter {expr:?}: {reason}")]
    BadFilter { expr: String, reason: &'static str },
}

fn did_you_mean(suggestion: Option<&str>, quote: &str) -> String {
    suggestion.map_or_else(String::new, |s| {
        format!(" (did you mean {quote}{s}{quote}?)")
    })
}

fn one_of(expected: &[&str]) -> String {
    let quoted: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
    quoted.join(", ")
}

fn first_seen(line: Option<usize>) -> String {
    line.map_or_else(String::new, |l| format!(" (first on line {l})"))
}
