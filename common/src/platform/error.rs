//! A platform profile that cannot be used, with the file, line and field at fault.

/// Displays as `FILE:LINE:COLUMN: PROBLEM`; the parts that are unknown are left out.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The directory or a file in it could not be read.
    #[error("{path}: cannot read: {error}")]
    Read { path: String, error: std::io::Error },
    /// The YAML is malformed, a key is unknown or a value has the wrong type.
    #[error("{origin}{}: {message}", at(*.line, *.column))]
    Yaml {
        origin: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// A value that parses but cannot work (a bad regex, a shell platform without prompts).
    #[error("{origin}{}: invalid `{field}`: {reason}", at(*.line, None))]
    Invalid {
        origin: String,
        line: Option<usize>,
        field: String,
        reason: String,
    },
    /// A profile's alias is the name of another platform.
    #[error("{origin}: alias {alias:?} is already the name of another platform")]
    AliasTaken { origin: String, alias: String },
    /// Two files in the directory define the same platform.
    #[error("platform {name:?} is defined in both {first} and {second}")]
    Duplicate {
        name: String,
        first: String,
        second: String,
    },
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl PlatformError {
    pub(super) fn yaml(origin: &str, error: &serde_yaml_ng::Error) -> Self {
        let location = error.location();
        let mut message = error.to_string();
        // serde_yaml_ng appends " at line L column C"; the location is already in front.
        if let Some(cut) = message.find(" at line ") {
            message.truncate(cut);
        }
        PlatformError::Yaml {
            origin: origin.to_string(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message,
        }
    }

    /// An invalid value of `field`; its line is the first line of `text` that sets the key.
    pub(super) fn invalid(origin: &str, text: &str, field: &str, reason: String) -> Self {
        let key = format!("{field}:");
        let line = text
            .lines()
            .position(|l| {
                let l = l.trim_start().trim_start_matches("- ");
                l.starts_with(&key)
            })
            .map(|i| i + 1);
        PlatformError::Invalid {
            origin: origin.to_string(),
            line,
            field: field.to_string(),
            reason,
        }
    }
}
