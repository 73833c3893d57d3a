//! A template's regex, compiled twice over: at once for ASCII lines, and on first need for the
//! rest.
//!
//! Compiling dominates the cost of a template (ntc-templates' `arista_eos_show_vlan` has 120
//! rules of up to sixty `\S+\s+` each, which the `regex` crate unrolls), and most of that is
//! Unicode classes. Device output is nearly always ASCII, so the ASCII translation (see
//! [`translate_ascii`]), which matches exactly the same on ASCII text, is compiled with the
//! template and the full one only when a line with other characters reaches the rule.

use super::pyregex::{translate, translate_ascii};
use fancy_regex::{Captures, Regex};
use std::sync::OnceLock;

/// One Python pattern, ready for lines of any text.
#[derive(Debug, Clone)]
pub(crate) struct LineRegex {
    /// The Python pattern (after `${value}` substitution), translated on first need.
    python: String,
    /// Matches like the pattern on ASCII text; also what the template check compiled, so a
    /// pattern fancy-regex rejects is a template error.
    ascii: Regex,
    /// For text with other characters. Its syntax is the ASCII one's but for the insides of
    /// classes, so it can only fail on a size limit; that fails the line, not the template.
    unicode: OnceLock<Result<Regex, String>>,
}

impl LineRegex {
    /// Compiles `python` to match at the start of the text, as Python's `re.match` does:
    /// `\A(?:…)`, so every branch of a top-level `|` starts at column 0, not only the first.
    pub(crate) fn new(python: &str) -> Result<Self, fancy_regex::Error> {
        let python = format!("\\A(?:{python})");
        Ok(Self {
            ascii: Regex::new(&translate_ascii(&python))?,
            python,
            unicode: OnceLock::new(),
        })
    }

    /// The captures of the first match in `text`; an error when the engine gave up (its
    /// backtracking limit) or the Unicode form could not be compiled.
    pub(crate) fn captures<'t>(&self, text: &'t str) -> Result<Option<Captures<'t>>, String> {
        let regex = if text.is_ascii() {
            &self.ascii
        } else {
            self.unicode
                .get_or_init(|| Regex::new(&translate(&self.python)).map_err(|e| e.to_string()))
                .as_ref()
                .map_err(Clone::clone)?
        };
        regex.captures(text).map_err(|e| e.to_string())
    }

    /// Group names by group index (`None` for unnamed groups), the same in both forms.
    pub(crate) fn capture_names(&self) -> impl Iterator<Item = Option<&str>> {
        self.ascii.capture_names()
    }

    /// Number of groups, group 0 included.
    pub(crate) fn captures_len(&self) -> usize {
        self.ascii.captures_len()
    }
}

#[cfg(test)]
mod tests {
    use super::LineRegex;

    fn x<'t>(re: &LineRegex, text: &'t str) -> Option<&'t str> {
        let caps = re.captures(text).unwrap()?;
        caps.name("x").map(|m| m.as_str())
    }

    #[test]
    fn ascii_and_other_lines_match_as_python_does() {
        let re = LineRegex::new(r"(?P<x>\w+)\s+[^,]+$").unwrap();
        assert_eq!(x(&re, "abc def"), Some("abc"));
        // Python's `\w` and `[^,]` take `é`; the ASCII form alone would not.
        assert_eq!(x(&re, "déf ghé"), Some("déf"));
        assert!(re.unicode.get().is_some(), "compiled on first need");
        assert_eq!(x(&re, " abc def"), None);
    }

    #[test]
    fn every_branch_is_anchored() {
        let re = LineRegex::new(r"b|(?P<x>c)").unwrap();
        assert!(re.captures("ac").unwrap().is_none());
        assert!(re.captures("aé c").unwrap().is_none());
        assert_eq!(x(&re, "ca"), Some("c"));
    }
}
