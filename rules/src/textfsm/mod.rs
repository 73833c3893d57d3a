//! A TextFSM engine: the template language network-automation tools use to turn CLI output into
//! tables (ntc-templates is written in it).
//!
//! Behaviour follows Python TextFSM, the reference, down to its corner cases (option hook order,
//! the implicit `Record` at end of input, `Required` clearing a dropped row); the fixture tests
//! compare against tables Python TextFSM produced. Templates use Python regex syntax, which
//! [`pyregex`] translates for `fancy-regex`.

mod clitable;
mod engine;
mod line_regex;
mod pyregex;
mod template;

pub(crate) use clitable::join;
pub use engine::{Row, Table};
pub(crate) use pyregex::translate;
pub use template::{Template, ValueDef, ValueOption};

/// Why a template could not be compiled or could not parse its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextFsmError {
    /// The template itself is wrong.
    #[error("{file}:{line}: {message}")]
    Template {
        /// The template's path (or the name it was given).
        file: String,
        /// 1-based line in the template.
        line: usize,
        /// What is wrong, in Python TextFSM's words where it has some.
        message: String,
    },
    /// An `Error` rule matched the input.
    #[error("{file}:{rule_line}: Error rule matched input line {input_line} `{text}`{}",
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Input {
        /// The template's path.
        file: String,
        /// Line of the `Error` rule in the template.
        rule_line: usize,
        /// 1-based line of the input that matched it.
        input_line: usize,
        /// That input line.
        text: String,
        /// The message the template gives the error, if any.
        message: Option<String>,
    },
    /// A regex gave up (backtracking limit) on an input line.
    #[error("{file}: regex failed on input line {input_line}: {reason}")]
    Regex {
        /// The template's path.
        file: String,
        /// 1-based input line.
        input_line: usize,
        /// The regex engine's reason.
        reason: String,
    },
    /// The template file could not be read.
    #[error("cannot read template {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
}
