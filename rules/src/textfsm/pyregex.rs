//! Translation of Python `re` syntax, which TextFSM templates are written in, to the dialect of
//! `fancy-regex` (the `regex` crate plus look-around and back-references).
//!
//! Only the differences real templates run into are handled; everything else passes through
//! unchanged and a construct neither dialect shares surfaces as a compile error with the
//! template's line.

/// Rewrites a Python pattern so that it means the same to `fancy-regex`.
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
pub(crate) fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Python allows `]` as the first character of a class (`[]a]`), as does `regex`.
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
                ']' if !class_start => in_class = false,
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
                out.push('[');
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
    use super::translate;

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
