//! Translation of Python `re` syntax, which TextFSM templates are written in, to the dialect of
//! `fancy-regex` (the `regex` crate plus look-around and back-references).
//!
//! Only the differences real templates run into are handled; everything else passes through
//! unchanged and a construct neither dialect shares surfaces as a compile error with the
//! template's line.
//!
//! A pattern can be translated for any text ([`translate`]) or for ASCII text only
//! ([`translate_ascii`]). The second exists for speed: the `regex` crate builds an automaton for
//! every Unicode class (`\S` alone is dozens of UTF-8 byte sequences) and unrolls `{n}`
//! repeats, so ntc-templates' `(?:\S+\s+){60}` compiled ten to twenty times slower than the
//! same pattern over ASCII classes. Device output is nearly always ASCII, and on ASCII text a
//! class and its intersection with ASCII match exactly the same characters.

/// The characters a translated pattern must handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    /// Any text: classes keep their Unicode meaning, as in Python.
    Unicode,
    /// ASCII text only: every class is cut down to its ASCII members.
    Ascii,
}

/// Python's `\s` for text patterns is `str.isspace()`, which unlike Unicode's `White_Space`
/// (the `regex` crate's `\s`) includes the separators U+001C to U+001F.
const PY_SPACE_EXTRA: &str = "\\x1C-\\x1F";

/// Rewrites a Python pattern so that it means the same to `fancy-regex` on any text.
pub(crate) fn translate(pattern: &str) -> String {
    translate_for(pattern, Charset::Unicode)
}

/// As [`translate`], for a pattern that will only be matched against ASCII text; it then
/// matches exactly what the [`translate`]d pattern matches, and compiles much faster.
pub(crate) fn translate_ascii(pattern: &str) -> String {
    translate_for(pattern, Charset::Ascii)
}

/// The spelling of a class escape (`\s`, `\d`, ...) for `charset`, inside or outside brackets;
/// `None` for any other escape.
fn class_escape(escape: char, in_class: bool, charset: Charset) -> Option<String> {
    let ascii = |s: &str| Some(s.to_string());
    match (escape, in_class, charset) {
        ('s', true, _) => Some(format!("\\s{PY_SPACE_EXTRA}")),
        // A nested class, united with the rest of the brackets.
        ('S', true, _) => Some(format!("[^\\s{PY_SPACE_EXTRA}]")),
        ('s', false, Charset::Unicode) => Some(format!("[\\s{PY_SPACE_EXTRA}]")),
        ('S', false, Charset::Unicode) => Some(format!("[^\\s{PY_SPACE_EXTRA}]")),
        (_, true, _) | (_, false, Charset::Unicode) => None,
        // Inside brackets the class is cut to ASCII as a whole, see `translate_for`.
        ('s', false, Charset::Ascii) => ascii("[\\t-\\r\\x1C-\\x20]"),
        ('S', false, Charset::Ascii) => ascii("[\\x00-\\x08\\x0E-\\x1B\\x21-\\x7F]"),
        ('d', false, Charset::Ascii) => ascii("[0-9]"),
        ('D', false, Charset::Ascii) => ascii("[\\x00-\\x2F\\x3A-\\x7F]"),
        ('w', false, Charset::Ascii) => ascii("[0-9A-Za-z_]"),
        ('W', false, Charset::Ascii) => {
            ascii("[\\x00-\\x2F\\x3A-\\x40\\x5B-\\x5E\\x60\\x7B-\\x7F]")
        }
        _ => None,
    }
}

/// Rewrites a Python pattern so that it means the same to `fancy-regex`, on `charset` text.
///
/// * `\Z` (Python's end of string) becomes `\z`.
/// * An escaped punctuation character (`\<`, `\/`, `\-`, ...) becomes a hex escape: Python reads
///   it as the literal character, while the `regex` crate rejects some of them and gives `\<` and
///   `\>` a meaning of their own (word boundaries).
/// * A `{` that does not open a quantifier is a literal in Python and an error here, so it is
///   escaped; `{,n}` becomes `{0,n}`.
/// * A look-around repeated with `+` (`(?<=x)+`, which Python accepts and treats as the bare
///   assertion) loses the `+`, which `fancy-regex` rejects.
/// * Inside a character class, `[` `&` `~` and a doubled `-` are literals in Python but class
///   syntax (nesting, set operations) in the `regex` crate, so they are escaped.
/// * `\s` and `\S` include or exclude U+001C to U+001F, as Python's do.
/// * For [`Charset::Ascii`], `\s \S \d \D \w \W` and `.` become ASCII classes and every
///   bracketed class `[…]` becomes `[[…]&&\x00-\x7F]`.
fn translate_for(pattern: &str, charset: Charset) -> String {
    let ascii = charset == Charset::Ascii;
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Whether the next character is the first of a class, where `]` is a literal in Python.
    let mut class_start = false;
    // For each open group: whether it is a look-around.
    let mut groups: Vec<bool> = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                out.push('\\');
                break;
            };
            i += 2;
            class_start = false;
            if next == 'Z' {
                out.push_str("\\z");
            } else if let Some(class) = class_escape(next, in_class, charset) {
                out.push_str(&class);
            } else if next.is_ascii_punctuation() || next == ' ' {
                out.push_str(&format!("\\x{{{:02X}}}", next as u32));
            } else {
                out.push('\\');
                out.push(next);
            }
            continue;
        }
        if in_class {
            match c {
                // Python's literal `]` first in a class: escaped, so that fancy-regex's own
                // parser (which re-spells classes for the `regex` crate) reads it so too.
                ']' if class_start => out.push('\\'),
                ']' => {
                    in_class = false;
                    if ascii {
                        out.push_str("]&&\\x00-\\x7F");
                    }
                }
                '[' | '&' | '~' => out.push('\\'),
                '-' if chars.get(i + 1) == Some(&'-') => out.push('\\'),
                _ => {}
            }
            class_start = c == '^' && class_start && out.ends_with('[');
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                class_start = true;
                // For ASCII, the class becomes `[[…]&&\x00-\x7F]`, its intersection with ASCII.
                out.push_str(if ascii { "[[" } else { "[" });
                i += 1;
            }
            '.' if ascii => {
                // Python's `.` but for `\n`; `(?s)` would add it, but lines never hold one.
                out.push_str("[\\x00-\\x09\\x0B-\\x7F]");
                i += 1;
            }
            '{' => {
                let rest: String = chars[i..].iter().take(24).collect();
                match quantifier_len(&rest) {
                    Some((len, text)) => {
                        out.push_str(&text);
                        i += len;
                    }
                    None => {
                        out.push_str("\\{");
                        i += 1;
                    }
                }
            }
            '}' => {
                out.push_str("\\}");
                i += 1;
            }
            '(' => {
                let ahead: String = chars[i..].iter().take(4).collect();
                let look = ["(?=", "(?!", "(?<=", "(?<!"]
                    .iter()
                    .any(|p| ahead.starts_with(p));
                groups.push(look);
                out.push('(');
                i += 1;
            }
            ')' => {
                out.push(')');
                i += 1;
                if groups.pop() == Some(true) && chars.get(i) == Some(&'+') {
                    i += 1;
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// If `text` starts with a Python quantifier (`{n}`, `{n,}`, `{n,m}`, `{,m}`), its length in
/// chars and its spelling for `regex`.
fn quantifier_len(text: &str) -> Option<(usize, String)> {
    let close = text.find('}')?;
    let body = &text[1..close];
    let (min, max) = match body.split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (body, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(min) || !max.is_none_or(digits) || (min.is_empty() && max.is_none_or(str::is_empty))
    {
        return None;
    }
    let min = if min.is_empty() { "0" } else { min };
    let spelled = match max {
        Some(max) => format!("{{{min},{max}}}"),
        None => format!("{{{min}}}"),
    };
    Some((close + 1, spelled))
}

#[cfg(test)]
mod tests {
    use super::{translate, translate_ascii};

    fn matches(python: &str, text: &str) -> bool {
        fancy_regex::Regex::new(&translate(python))
            .unwrap_or_else(|e| panic!("{python} -> {}: {e}", translate(python)))
            .is_match(text)
            .unwrap()
    }

    #[test]
    fn python_literals_stay_literals() {
        assert!(matches(r"^\<\S+\>$", "<abc>"));
        assert!(matches(r"^{master:\d+}$", "{master:0}"));
        assert!(matches(r"^a\/b\-c$", "a/b-c"));
        assert!(matches(r"^x{,2}y$", "xxy"));
        assert!(!matches(r"^x{,2}y$", "xxxy"));
        assert!(matches(r"^x{2}$", "xx"));
        assert!(matches(r"^end\Z", "end"));
    }

    /// For each class, the ASCII characters Python 3.11's `re` matches with it (as hex ranges).
    const PYTHON_ASCII_CLASSES: &[(&str, &str)] = &[
        (r"\s", "09-0d 1c-20"),
        (r"\S", "00-08 0e-1b 21-7f"),
        (r"\d", "30-39"),
        (r"\D", "00-2f 3a-7f"),
        (r"\w", "30-39 41-5a 5f 61-7a"),
        (r"\W", "00-2f 3a-40 5b-5e 60 7b-7f"),
        (r".", "00-09 0b-7f"),
        (r"[\s]", "09-0d 1c-20"),
        (r"[\S]", "00-08 0e-1b 21-7f"),
        (r"[^\S,]", "09-0d 1c-20"),
        (r"[^,]", "00-2b 2d-7f"),
        (r"[\w./-]", "2d-39 41-5a 5f 61-7a"),
        (r"[^\d]", "00-2f 3a-7f"),
        (r"(?i)[a-f]", "41-46 61-66"),
        (r"[]a]", "5d 61"),
        (r"[^]a]", "00-5c 5e-60 62-7f"),
        (r"[\W\d]", "00-40 5b-5e 60 7b-7f"),
        (r"[^\s]", "00-08 0e-1b 21-7f"),
        (r"[^\w]", "00-2f 3a-40 5b-5e 60 7b-7f"),
    ];

    fn in_ranges(ranges: &str, c: u8) -> bool {
        ranges.split(' ').any(|r| {
            let (lo, hi) = r.split_once('-').unwrap_or((r, r));
            let hex = |s: &str| u8::from_str_radix(s, 16).unwrap();
            (hex(lo)..=hex(hi)).contains(&c)
        })
    }

    /// Both translations take exactly Python's ASCII members of each class, so the ASCII one
    /// can stand in for the full one on ASCII lines.
    #[test]
    fn both_translations_match_python_on_every_ascii_character() {
        for (class, ranges) in PYTHON_ASCII_CLASSES {
            let python = format!("\\A(?:{class})\\Z");
            for (name, translated) in [
                ("full", translate(&python)),
                ("ascii", translate_ascii(&python)),
            ] {
                let re = fancy_regex::Regex::new(&translated).unwrap();
                for c in 0..=127u8 {
                    let text = char::from(c).to_string();
                    assert_eq!(
                        re.is_match(&text).unwrap(),
                        in_ranges(ranges, c),
                        "{name} `{class}` ({translated}) on {c:#04x}"
                    );
                }
            }
        }
    }

    #[test]
    fn classes_keep_python_meaning() {
        assert!(matches(r"^[[\]]+$", "[]["));
        assert!(matches(r"^[a&&b]+$", "a&b"));
        assert!(matches(r"^[\w--]+$", "a--b"));
        assert!(matches(r"^[]a]+$", "]a"));
        assert!(matches(r"^[^]a]+$", "bc"));
        assert!(!matches(r"^[^]a]+$", "]"));
        assert!(matches(r"^[\d\.]+$", "1.2"));
    }

    #[test]
    fn repeated_lookaround_is_the_bare_assertion() {
        assert!(matches(r"^a+(?<=[^()\s])+b", "aab"));
        assert!(!matches(r"^a (?<=[^()\s])+b", "a b"));
    }

    #[test]
    fn named_groups_and_lookaround_work() {
        let re = fancy_regex::Regex::new(&translate(r"^(?P<x>\d+)(?!\d)(?=\s)")).unwrap();
        let caps = re.captures("42 ").unwrap().unwrap();
        assert_eq!(caps.name("x").unwrap().as_str(), "42");
    }
}
