//! IOS output modifiers: `show ... | include|exclude|begin|section|count REGEX`.
//!
//! As on IOS, the regular expression is everything after the keyword and the spaces that follow
//! it, trailing spaces included, and it matches anywhere in a line (anchor with `^` and `$`).

use regex::Regex;

/// What `|` does to a command's output.
#[derive(Debug)]
pub(super) enum Filter {
    /// Only the lines that match.
    Include(Regex),
    /// Only the lines that do not match.
    Exclude(Regex),
    /// Everything from the first matching line on.
    Begin(Regex),
    /// Every section (an unindented line and the indented lines under it) in which some line
    /// matches, whole: `| section ntp` shows `ntp server ...`, `| section ip address` shows each
    /// interface that has one, as IOS does.
    Section(Regex),
    /// Only the number of matching lines.
    Count(Regex),
}

/// Why a modifier could not be used, to be printed the IOS way.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FilterError {
    /// The word at this byte offset of the modifier text is not a modifier.
    UnknownAt(usize),
    /// A modifier with no expression.
    Incomplete,
    /// The expression does not compile.
    BadRegex,
}

const KEYWORDS: [&str; 5] = ["include", "exclude", "begin", "section", "count"];

impl Filter {
    /// Parses the text after `|`, e.g. ` include ^interface`.
    pub(super) fn parse(spec: &str) -> Result<Filter, FilterError> {
        let start = spec.len() - spec.trim_start().len();
        let rest = &spec[start..];
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = rest[..word_end].to_ascii_lowercase();
        let found: Vec<&str> = KEYWORDS
            .into_iter()
            .filter(|k| !word.is_empty() && k.starts_with(&word))
            .collect();
        let [keyword] = found[..] else {
            return Err(if word.is_empty() {
                FilterError::Incomplete
            } else {
                FilterError::UnknownAt(start)
            });
        };
        let pattern = rest[word_end..].trim_start();
        if pattern.is_empty() {
            return Err(FilterError::Incomplete);
        }
        let regex = Regex::new(pattern).map_err(|_| FilterError::BadRegex)?;
        Ok(match keyword {
            "include" => Filter::Include(regex),
            "exclude" => Filter::Exclude(regex),
            "begin" => Filter::Begin(regex),
            "section" => Filter::Section(regex),
            _ => Filter::Count(regex),
        })
    }

    /// Applies the modifier to `\n`-separated output.
    pub(super) fn apply(&self, text: &str) -> String {
        let lines = text.split_terminator('\n');
        let mut out = String::new();
        let mut keep = |line: &str| {
            out.push_str(line);
            out.push('\n');
        };
        match self {
            Filter::Include(re) => lines.filter(|l| re.is_match(l)).for_each(&mut keep),
            Filter::Exclude(re) => lines.filter(|l| !re.is_match(l)).for_each(&mut keep),
            Filter::Begin(re) => lines.skip_while(|l| !re.is_match(l)).for_each(&mut keep),
            Filter::Section(re) => {
                for section in sections(text) {
                    if section.iter().any(|l| re.is_match(l)) {
                        section.into_iter().for_each(&mut keep);
                    }
                }
            }
            Filter::Count(re) => {
                let n = lines.filter(|l| re.is_match(l)).count();
                out = format!("Number of lines which match regexp = {n}\n");
            }
        }
        out
    }
}

/// Splits output into sections: each unindented line with the indented lines that follow it.
fn sections(text: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    for line in text.split_terminator('\n') {
        let child = line.starts_with([' ', '\t']);
        match out.last_mut() {
            Some(section) if child => section.push(line),
            _ => out.push(vec![line]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "hostname r1\n!\ninterface Loopback0\n ip address 10.0.0.1 255.255.255.255\n!\ninterface Vlan1\n no ip address\n shutdown\n!\nntp server 10.0.0.1\nntp server 10.0.0.2\nend\n";

    fn run(spec: &str) -> String {
        Filter::parse(spec).unwrap().apply(CONFIG)
    }

    #[test]
    fn include_exclude_begin_count() {
        assert_eq!(
            run(" include ^ntp"),
            "ntp server 10.0.0.1\nntp server 10.0.0.2\n"
        );
        assert_eq!(
            run(" i address"),
            " ip address 10.0.0.1 255.255.255.255\n no ip address\n"
        );
        assert_eq!(run(" exclude ^( |!)").lines().count(), 6);
        assert_eq!(
            run(" begin ^ntp"),
            "ntp server 10.0.0.1\nntp server 10.0.0.2\nend\n"
        );
        assert_eq!(
            run(" count ^interface"),
            "Number of lines which match regexp = 2\n"
        );
        assert_eq!(run(" include nothing-like-this"), "");
    }

    #[test]
    fn section_keeps_parents_with_their_children() {
        assert_eq!(
            run(" section ^interface Loop"),
            "interface Loopback0\n ip address 10.0.0.1 255.255.255.255\n"
        );
        assert_eq!(
            run(" section shutdown"),
            "interface Vlan1\n no ip address\n shutdown\n",
            "a matching child brings its whole section"
        );
        assert_eq!(
            run(" sec ntp"),
            "ntp server 10.0.0.1\nntp server 10.0.0.2\n"
        );
    }

    #[test]
    fn the_expression_is_the_rest_of_the_line() {
        assert_eq!(run(" include ntp server 10.0.0.2"), "ntp server 10.0.0.2\n");
    }

    #[test]
    fn bad_modifiers() {
        assert_eq!(
            Filter::parse(" grep x").unwrap_err(),
            FilterError::UnknownAt(1)
        );
        assert_eq!(
            Filter::parse(" include").unwrap_err(),
            FilterError::Incomplete
        );
        assert_eq!(Filter::parse("").unwrap_err(), FilterError::Incomplete);
        assert_eq!(
            Filter::parse(" include (").unwrap_err(),
            FilterError::BadRegex
        );
    }
}
