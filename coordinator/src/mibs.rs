//! `--mibs DIR`: object names from MIB files, for `run --snmp-get/--snmp-walk` and the
//! monitor's SNMP checks. mib-rs parses and resolves the modules (SMIv1 and SMIv2, the base
//! modules such as SNMPv2-SMI built in); fanout keeps what it needs of them, every named
//! node's OID by module, in a [`Names`] beside the built-in table.
//!
//! As with net-snmp, a module that does not parse or whose imports are missing is a warning
//! that names the file and line, not a stop: a MIB directory gathered from vendors always
//! has some. A name that did not load is still bad input when a job asks for it.

use crate::commands::CommandError;
use fanout_common::input::{InputFileError, regular_file_size};
use fanout_common::snmp_names::{MAX_OID_ARCS, Names};
use mib_rs::{DiagnosticConfig, DiagnosticReport, Loader, Severity};
use std::path::{Path, PathBuf};

/// How many problems in the MIB files are shown before the rest are counted.
const SHOWN_PROBLEMS: usize = 3;

/// A file larger than this is skipped with a warning: the largest vendor modules are a few
/// megabytes, and mib-rs holds about 36 times a file's size while it resolves.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// Candidate files read from one directory at most: `--mibs ~` should not read a home.
const MAX_FILES: usize = 50_000;

/// A problem line is cut here: a warning may quote an identifier of megabytes.
const MAX_PROBLEM_CHARS: usize = 300;

/// mib-rs resolves OIDs recursively (petgraph's Tarjan walk), one frame per level of a chain
/// of definitions; a thread's default 2 MiB overflowed at about 18,000 levels, which aborts
/// the process. This is address space reserved, not memory used.
const LOADER_STACK_BYTES: usize = 512 << 20;

/// The names of every module in `dirs` (searched in order, first definition of a module
/// wins) beside the built-in table; the built-in table alone when `dirs` is empty.
pub fn load(dirs: &[PathBuf]) -> Result<Names, CommandError> {
    if dirs.is_empty() {
        return Ok(Names::default());
    }
    let shown = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let dirs = dirs.to_vec();
    std::thread::Builder::new()
        .name("fanout-mibs".into())
        .stack_size(LOADER_STACK_BYTES)
        .spawn(move || load_on_this_thread(&dirs))
        .map_err(|e| {
            CommandError::Input(format!(
                "--mibs {shown}: cannot start the MIB parser's thread ({} MiB of stack \
                 reserved): {e}",
                LOADER_STACK_BYTES >> 20
            ))
        })?
        .join()
        .map_err(|_| {
            CommandError::Input(format!(
                "--mibs {shown}: the MIB parser failed on these files"
            ))
        })?
}

fn load_on_this_thread(dirs: &[PathBuf]) -> Result<Names, CommandError> {
    let mut problems = Vec::new();
    let mut sources = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let files = mib_files(dir, &mut problems)?;
        // mib-rs refuses a list without a module (and a file it cannot read, which
        // `mib_files` leaves out): a warning for this directory, an error if none has one.
        match mib_rs::source::files(&files) {
            Ok(source) => sources.push(source),
            Err(e) => problems.push(format!("MIB {}: {e}", dir.display())),
        }
    }
    if sources.is_empty() {
        warn_of_problems(&problems);
        return Err(no_module_found(dirs));
    }
    // Only what stops the parser outright fails the load. Real collections have errors
    // that do not matter to names: imports from modules not in the directory, one OID
    // registered under two names by RFC1158-MIB and RFC1213-MIB; net-snmp reads past them too.
    let lenient = DiagnosticConfig {
        fail_at: Severity::Fatal,
        ..DiagnosticConfig::default()
    };
    let mib = Loader::new()
        .sources(sources)
        .diagnostic_config(lenient)
        .load()
        .map_err(|e| {
            let detail = match &e {
                mib_rs::LoadError::DiagnosticThreshold { report } => problems_of(report).join("; "),
                other => other.to_string(),
            };
            CommandError::Input(format!(
                "--mibs: the MIB files could not be loaded: {detail}"
            ))
        })?;
    problems.extend(problems_of(&mib.diagnostic_report()));
    warn_of_problems(&problems);
    if mib.user_modules().next().is_none() {
        return Err(no_module_found(dirs));
    }
    let mut names = Names::from_mibs();
    // Each OID is named after the module mib-rs prefers for it (SMIv2 over SMIv1)...
    for node in mib.nodes() {
        if let Some(module) = node.module() {
            define(&mut names, module.name(), node);
        }
    }
    // ... and every module that defines an object answers for it by its own name, which may
    // differ from the preferred one (RFC1158-MIB and RFC1213-MIB name some OIDs apart).
    for module in mib.modules() {
        for object in module.objects() {
            if let Some(node) = object.node() {
                define_as(&mut names, module.name(), object.name(), node);
            }
        }
        // Plain nodes (`OBJECT IDENTIFIER ::=`) carry the preferred name only: kept where the
        // module calls the node so too.
        for node in module.nodes() {
            if module.node(node.name()).map(|n| n.id()) == Some(node.id()) {
                define(&mut names, module.name(), node);
            }
        }
    }
    Ok(names)
}

/// The candidate module files under `dir`, subdirectories included: regular files only (a
/// link to /dev/zero or a FIFO would be read forever; a link to a directory is not
/// followed), none empty or over [`MAX_FILE_BYTES`]. What is skipped is added to `problems`.
fn mib_files(dir: &Path, problems: &mut Vec<String>) -> Result<Vec<PathBuf>, CommandError> {
    let metadata = std::fs::metadata(dir)
        .map_err(|e| CommandError::Input(format!("--mibs {}: {e}", dir.display())))?;
    if !metadata.is_dir() {
        return Err(CommandError::Input(format!(
            "--mibs {}: not a directory",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    // Links to directories are not followed (walkdir's default), so a loop cannot recur.
    // Hidden entries (`.git`, net-snmp's `.index`) hold no modules.
    let hidden =
        |e: &walkdir::DirEntry| e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
    let walk = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !hidden(e));
    for entry in walk {
        if files.len() == MAX_FILES {
            problems.push(format!(
                "MIB {}: more than {MAX_FILES} candidate files, the rest skipped",
                dir.display()
            ));
            break;
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                problems.push(format!("MIB {e}, skipped"));
                continue;
            }
        };
        let path = entry.path();
        // The file names mib-rs's own directory source takes (none, .mib, .smi, .txt, .my).
        let recognised = path.extension().is_none_or(|ext| {
            mib_rs::source::DEFAULT_EXTENSIONS
                .iter()
                .filter_map(|e| e.strip_prefix('.'))
                .any(|e| ext.eq_ignore_ascii_case(e))
        });
        if entry.file_type().is_dir() || !recognised {
            continue;
        }
        // The checks every input file gets (a FIFO, a device or a link to one is refused
        // unread), then the size, then whether it opens: mib-rs reads the file itself.
        let checked = regular_file_size(path).and_then(|size| {
            if size > MAX_FILE_BYTES {
                return Err(InputFileError::TooLarge {
                    size,
                    limit: MAX_FILE_BYTES,
                });
            }
            std::fs::File::open(path)?;
            Ok(size)
        });
        match checked {
            // An empty file holds no module; /proc's files all say they are empty, and some
            // (/proc/kmsg) block a reader forever.
            Ok(0) => {}
            Ok(_) => files.push(path.to_owned()),
            Err(e) => problems.push(format!("MIB {}: {e}, skipped", path.display())),
        }
    }
    Ok(files)
}

fn no_module_found(dirs: &[PathBuf]) -> CommandError {
    CommandError::Input(format!(
        "--mibs {}: no MIB module found (files with no extension or ending .mib, .smi, .txt \
         or .my, holding `NAME DEFINITIONS ::= BEGIN`; the base modules such as SNMPv2-SMI are \
         built in and do not count)",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn define(names: &mut Names, module: &str, node: mib_rs::mib::Node<'_>) {
    define_as(names, module, node.name(), node);
}

fn define_as(names: &mut Names, module: &str, name: &str, node: mib_rs::mib::Node<'_>) {
    // A deeper OID cannot be asked for (SNMP allows 128 arcs). Counted up the parents before
    // `oid()`, which computes and keeps the whole OID: for every node of a chain thousands
    // deep that is time and memory by the square of its depth.
    if name.is_empty() || !within_arcs(node) {
        return;
    }
    let oid = node.oid();
    if !oid.is_empty() {
        names.define(module, name, &oid.to_string());
    }
}

/// Whether `node` is at most [`MAX_OID_ARCS`] below the root.
fn within_arcs(node: mib_rs::mib::Node<'_>) -> bool {
    let mut depth = 0;
    let mut at = node;
    while let Some(parent) = at.parent() {
        depth += 1;
        if depth > MAX_OID_ARCS {
            return false;
        }
        at = parent;
    }
    true
}

/// The first few problems on stderr, every one in the debug log: a vendor's directory can
/// have hundreds, and a run should not start with a screenful of them.
fn warn_of_problems(problems: &[String]) {
    for problem in problems {
        tracing::debug!(%problem, "MIB file problem");
    }
    for problem in problems.iter().take(SHOWN_PROBLEMS) {
        let mut line = crate::terminal_text::line(problem).into_owned();
        if let Some((cut, _)) = line.char_indices().nth(MAX_PROBLEM_CHARS) {
            line.truncate(cut);
            line.push_str("...");
        }
        eprintln!("fanout: warning: {line}");
    }
    if problems.len() > SHOWN_PROBLEMS {
        eprintln!(
            "fanout: warning: ... and {} more problems in the MIB files (FANOUT_LOG=debug lists \
             them); names they define may be missing",
            problems.len() - SHOWN_PROBLEMS
        );
    }
}

/// The errors of a load (syntax errors, missing imports, unresolved references), one line
/// each as `MIB file:line: MODULE: message`.
fn problems_of(report: &DiagnosticReport) -> Vec<String> {
    report
        .iter()
        .filter(|entry| entry.diagnostic().severity.at_least(Severity::Error))
        .map(|entry| {
            let diagnostic = entry.diagnostic();
            let place = match (entry.range(), entry.byte_positions()) {
                (Ok(Some((source, _))), Ok(Some((start, _)))) => {
                    format!("{}:{}: ", source.label(), u64::from(start.line()) + 1)
                }
                _ => String::new(),
            };
            let module = diagnostic
                .module
                .as_deref()
                .map(|m| format!("{m}: "))
                .unwrap_or_default();
            format!("MIB {place}{module}{}", diagnostic.message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME_MIB: &str = r#"ACME-MIB DEFINITIONS ::= BEGIN
IMPORTS
    MODULE-IDENTITY, OBJECT-TYPE, Integer32, enterprises FROM SNMPv2-SMI;

acme MODULE-IDENTITY
    LAST-UPDATED "202612030000Z"
    ORGANIZATION "Acme"
    CONTACT-INFO "noc@acme.invalid"
    DESCRIPTION "Test module."
    REVISION "202612030000Z"
    DESCRIPTION "First."
    ::= { enterprises 99999 }

acmeTemp OBJECT-TYPE
    SYNTAX Integer32
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "Temperature."
    ::= { acme 1 }

END
"#;

    /// A directory holding ACME-MIB.
    fn acme_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ACME-MIB.txt"), ACME_MIB).unwrap();
        dir
    }

    #[test]
    fn a_directory_of_modules_names_objects_beside_the_table() {
        let dir = acme_dir();
        let names = load(&[dir.path().to_owned()]).unwrap();
        assert_eq!(
            names.resolve("acmeTemp.0").unwrap(),
            "1.3.6.1.4.1.99999.1.0"
        );
        assert_eq!(
            names.resolve("ACME-MIB::acmeTemp").unwrap(),
            "1.3.6.1.4.1.99999.1"
        );
        assert_eq!(
            names.name_of("1.3.6.1.4.1.99999.1.0").as_deref(),
            Some("ACME-MIB::acmeTemp.0")
        );
        // The built-in table still answers.
        assert_eq!(
            names.resolve("ifHCInOctets").unwrap(),
            "1.3.6.1.2.1.31.1.1.1.6"
        );
    }

    #[test]
    fn a_module_that_does_not_parse_leaves_the_others_loaded() {
        let dir = acme_dir();
        let broken = ACME_MIB
            .replace("ACME-MIB", "BROKEN-MIB")
            .replace("acme", "broken")
            .replace("::= { broken 1 }", "::= { broken 1 ");
        std::fs::write(dir.path().join("BROKEN-MIB.txt"), broken).unwrap();
        let names = load(&[dir.path().to_owned()]).unwrap();
        assert_eq!(names.resolve("acmeTemp").unwrap(), "1.3.6.1.4.1.99999.1");
        assert!(names.resolve("brokenTemp").is_err());
    }

    #[test]
    fn files_that_cannot_be_modules_are_skipped_unread() {
        let dir = acme_dir();
        // Each of these, read, would never end.
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("ZERO-MIB.txt")).unwrap();
        nix::unistd::mkfifo(
            &dir.path().join("FIFO-MIB.txt"),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        std::fs::write(dir.path().join("EMPTY-MIB.txt"), "").unwrap();
        let mut problems = Vec::new();
        let files = mib_files(dir.path(), &mut problems).unwrap();
        assert_eq!(files, [dir.path().join("ACME-MIB.txt")]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(|p| p.contains("not a regular file")));
        let names = load(&[dir.path().to_owned()]).unwrap();
        assert_eq!(names.resolve("acmeTemp").unwrap(), "1.3.6.1.4.1.99999.1");
    }

    #[test]
    fn a_cycle_of_thirty_thousand_definitions_does_not_overflow_the_stack() {
        // mib-rs walks it recursively; on a default thread this aborted the process.
        let dir = tempfile::tempdir().unwrap();
        let mut text =
            String::from("RING-MIB DEFINITIONS ::= BEGIN\nIMPORTS enterprises FROM SNMPv2-SMI;\n");
        for i in 0..30_000 {
            text.push_str(&format!(
                "r{i} OBJECT IDENTIFIER ::= {{ r{} 1 }}\n",
                (i + 1) % 30_000
            ));
        }
        text.push_str("ringTop OBJECT IDENTIFIER ::= { enterprises 99997 }\nEND\n");
        std::fs::write(dir.path().join("RING-MIB.txt"), text).unwrap();
        let names = load(&[dir.path().to_owned()]).unwrap();
        assert_eq!(names.resolve("ringTop").unwrap(), "1.3.6.1.4.1.99997");
        assert!(names.resolve("r7").is_err());
    }

    #[test]
    fn two_modules_naming_one_oid_apart_each_answer_for_their_own_name() {
        let dir = acme_dir();
        let other = ACME_MIB
            .replace("ACME-MIB", "OLD-ACME-MIB")
            .replace("acmeTemp", "oldTemperature")
            .replace("acme MODULE-IDENTITY", "oldAcme MODULE-IDENTITY")
            .replace("{ acme 1 }", "{ oldAcme 1 }");
        std::fs::write(dir.path().join("OLD-ACME-MIB.txt"), other).unwrap();
        // Hidden directories are not read, even for a module.
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let hidden = ACME_MIB
            .replace("ACME-MIB", "HIDDEN-MIB")
            .replace("acmeTemp", "hiddenTemp");
        std::fs::write(dir.path().join(".git/HIDDEN-MIB"), hidden).unwrap();
        let names = load(&[dir.path().to_owned()]).unwrap();
        for name in ["ACME-MIB::acmeTemp", "OLD-ACME-MIB::oldTemperature"] {
            assert_eq!(
                names.resolve(name).unwrap(),
                "1.3.6.1.4.1.99999.1",
                "{name}"
            );
        }
        assert!(names.resolve("hiddenTemp").is_err());
        assert!(names.resolve("OLD-ACME-MIB::acmeTemp").is_err());
        assert!(names.resolve("ACME-MIB::oldTemperature").is_err());
    }

    #[test]
    fn missing_or_empty_directories_are_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(&[dir.path().join("nope")]).unwrap_err().to_string();
        assert!(e.contains("--mibs") && e.contains("nope"), "{e}");
        let e = load(&[dir.path().to_owned()]).unwrap_err().to_string();
        assert!(e.contains("no MIB module found"), "{e}");
    }
}
