//! Reading the files a user hands us (inventories, rules, monitor checks) without trusting
//! their shape.
//!
//! Only regular files are read: a FIFO would block the load until someone writes to it, and
//! `/dev/zero` would be read until memory runs out. Each kind of file has a size limit,
//! checked before and while reading. YAML text is checked for its nesting depth before it is
//! parsed: libyaml's scanner does work proportional to the number of open `[` and `{` for
//! every token, so 1 MB of `[[[[...` takes minutes, while a bounded depth keeps every parse
//! linear.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

/// The largest inventory file read: over 300,000 hosts of a few lines each.
pub const MAX_INVENTORY_BYTES: u64 = 32 << 20;
/// The largest rules, monitor checks or platform profile file read.
pub const MAX_CONFIG_BYTES: u64 = 8 << 20;
/// The deepest nesting of YAML collections accepted. serde_yaml_ng stops at 128 anyway; no
/// file fanout reads needs more than a handful of levels.
pub const MAX_YAML_DEPTH: usize = 64;

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    /// The operating system's reason (missing, no permission, ...).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A FIFO, a device, a socket: reading it could block or never end.
    #[error("is {what}, not a regular file")]
    NotRegular {
        /// What it is instead.
        what: &'static str,
    },
    /// Larger than the limit for its kind of file.
    #[error("is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        /// Its size (at least), in bytes.
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Not text.
    #[error("is not UTF-8 text")]
    NotUtf8,
}

/// The size of the regular file at `path` (symbolic links followed), or why it is not one:
/// for readers that open files themselves after this check (mib-rs reads MIB files).
pub fn regular_file_size(path: &Path) -> Result<u64, InputFileError> {
    let metadata = std::fs::metadata(path)?;
    check_regular(&metadata)?;
    Ok(metadata.len())
}

/// The text of the regular file at `path` (symbolic links followed), at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputFileError> {
    // Looked at before opening: opening a FIFO blocks until it has a writer.
    regular_file_size(path)?;
    let file = File::open(path)?;
    // And again on what was opened, in case the path changed in between.
    let metadata = file.metadata()?;
    check_regular(&metadata)?;
    if metadata.len() > limit {
        return Err(InputFileError::TooLarge {
            size: metadata.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // A file that grows while being read stops at the limit all the same.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(InputFileError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|_| InputFileError::NotUtf8)
}

fn check_regular(metadata: &std::fs::Metadata) -> Result<(), InputFileError> {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = metadata.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(InputFileError::NotRegular { what })
}

/// YAML nested deeper than allowed, found before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("collections nested more than {limit} levels deep")]
pub struct NestingError {
    /// 1-based line of the collection that went one level too deep.
    pub line: usize,
    /// 1-based column of it.
    pub column: usize,
    /// The limit it passed.
    pub limit: usize,
}

/// Checks that no collection in `text` is nested more than `limit` levels deep. Syntax errors
/// are left for the real parse to report; this stops at the first one. It reads the text
/// once, holding at most `limit` levels plus libyaml's look-ahead (at most one line or 1024
/// characters), so it is linear in the text even when the text is one deep nest.
pub fn check_yaml_nesting(text: &str, limit: usize) -> Result<(), NestingError> {
    match libyaml_events::deepest_beyond(text, limit) {
        Some((line, column)) => Err(NestingError {
            line,
            column,
            limit,
        }),
        None => Ok(()),
    }
}

/// The one place fanout drives libyaml itself: serde_yaml_ng loads a whole document's events
/// before it deserializes anything, which is exactly the quadratic part, so the depth has to be
/// measured on the event stream as it comes. This mirrors serde_yaml_ng's own use of the same
/// functions (`libyaml/parser.rs` there).
mod libyaml_events {
    use std::mem::MaybeUninit;
    use unsafe_libyaml as unsafe_sys;

    /// A parser with its input; libyaml keeps a pointer to the parser inside it, so it lives in
    /// a box and never moves.
    struct Parser<'t> {
        raw: Box<MaybeUninit<unsafe_sys::yaml_parser_t>>,
        _text: &'t str,
    }

    impl<'t> Parser<'t> {
        fn new(text: &'t str) -> Option<Self> {
            let mut raw = Box::new(MaybeUninit::<unsafe_sys::yaml_parser_t>::uninit());
            // SAFETY: `raw` is valid for writes; initialize fills every field. The input
            // pointer stays valid for the parser's life because `_text` borrows it.
            unsafe {
                if unsafe_sys::yaml_parser_initialize(raw.as_mut_ptr()).fail {
                    return None;
                }
                unsafe_sys::yaml_parser_set_encoding(
                    raw.as_mut_ptr(),
                    unsafe_sys::YAML_UTF8_ENCODING,
                );
                unsafe_sys::yaml_parser_set_input_string(
                    raw.as_mut_ptr(),
                    text.as_ptr(),
                    text.len() as _,
                );
            }
            Some(Self { raw, _text: text })
        }

        /// The next event's type and where it starts; `None` at a syntax error.
        fn next(&mut self) -> Option<(unsafe_sys::yaml_event_type_t, unsafe_sys::yaml_mark_t)> {
            let mut event = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
            // SAFETY: the parser was initialized in `new`; on success the event is
            // initialized, and it is deleted once its type and mark are copied out.
            unsafe {
                if unsafe_sys::yaml_parser_parse(self.raw.as_mut_ptr(), event.as_mut_ptr()).fail {
                    return None;
                }
                let event = event.as_mut_ptr();
                let found = ((*event).type_, (*event).start_mark);
                unsafe_sys::yaml_event_delete(event);
                Some(found)
            }
        }
    }

    impl Drop for Parser<'_> {
        fn drop(&mut self) {
            // SAFETY: initialized in `new` (a failed initialize never builds a Parser).
            unsafe { unsafe_sys::yaml_parser_delete(self.raw.as_mut_ptr()) }
        }
    }

    /// Line and column (1-based) of the first collection deeper than `limit`.
    pub(super) fn deepest_beyond(text: &str, limit: usize) -> Option<(usize, usize)> {
        let mut parser = Parser::new(text)?;
        let mut depth = 0usize;
        loop {
            let (kind, mark) = parser.next()?;
            match kind {
                unsafe_sys::YAML_SEQUENCE_START_EVENT | unsafe_sys::YAML_MAPPING_START_EVENT => {
                    depth += 1;
                    if depth > limit {
                        return Some((mark.line as usize + 1, mark.column as usize + 1));
                    }
                }
                unsafe_sys::YAML_SEQUENCE_END_EVENT | unsafe_sys::YAML_MAPPING_END_EVENT => {
                    depth = depth.saturating_sub(1);
                }
                unsafe_sys::YAML_STREAM_END_EVENT => return None,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn ordinary_yaml_passes() {
        let text =
            "hosts:\n  r1:\n    groups: [a, b]\n    data: { site: ams, vlans: [1, 2, {x: [3]}] }\n";
        // The root, hosts, r1, data, vlans, {x:}, [3]: seven levels.
        assert_eq!(check_yaml_nesting(text, 7), Ok(()));
        assert_eq!(
            check_yaml_nesting(text, 6),
            Err(NestingError {
                line: 4,
                column: 42,
                limit: 6
            })
        );
        // Syntax errors are the parser's to report.
        assert_eq!(check_yaml_nesting("a: [b\n", 4), Ok(()));
        assert_eq!(check_yaml_nesting("", 4), Ok(()));
    }

    #[test]
    fn a_deep_nest_of_any_kind_is_found_fast() {
        // Each of these took minutes through serde_yaml_ng at this size.
        let shapes = [
            format!("x: {}", "[".repeat(1 << 20)),
            format!("x: {}", "{a: ".repeat(1 << 18)),
            format!("x: [\n  {}", "[\n  ".repeat(1 << 18)),
            format!("x: {}", "[\"]\", ".repeat(1 << 17)),
        ];
        for text in shapes {
            let started = Instant::now();
            let error = check_yaml_nesting(&text, MAX_YAML_DEPTH).expect_err(&text[..12]);
            assert_eq!(error.limit, MAX_YAML_DEPTH);
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?} for {:?}...",
                started.elapsed(),
                &text[..20]
            );
        }
    }

    #[test]
    fn a_wide_file_at_the_limit_stays_linear() {
        // 20,000 hosts with nested data, each at depth 5: accepted, quickly.
        let mut text = String::from("hosts:\n");
        for i in 0..20_000 {
            text.push_str(&format!(
                "  r{i}:\n    groups: [a, b]\n    data: {{ site: ams, vlans: [1, 2, {{x: [3]}}] }}\n"
            ));
        }
        let started = Instant::now();
        assert_eq!(check_yaml_nesting(&text, MAX_YAML_DEPTH), Ok(()));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hosts.yaml");
        std::fs::write(&file, "hosts: {}\n").unwrap();
        assert_eq!(read_text(&file, 100).unwrap(), "hosts: {}\n");
        assert!(matches!(
            read_text(&file, 5),
            Err(InputFileError::TooLarge { size: 10, limit: 5 })
        ));
        assert!(matches!(
            read_text(dir.path(), 100),
            Err(InputFileError::NotRegular {
                what: "a directory"
            })
        ));
        assert!(matches!(
            read_text(Path::new("/dev/zero"), 100),
            Err(InputFileError::NotRegular {
                what: "a character device"
            })
        ));
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils) works");
        // Would block forever if it were opened.
        assert!(matches!(
            read_text(&fifo, 100),
            Err(InputFileError::NotRegular {
                what: "a named pipe (FIFO)"
            })
        ));
        std::fs::write(&file, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_text(&file, 100),
            Err(InputFileError::NotUtf8)
        ));
        assert!(matches!(
            read_text(&dir.path().join("missing"), 100),
            Err(InputFileError::Io(_))
        ));
    }
}
