//! `--mibs DIR`: object names from MIB files, for `run --snmp-get/--snmp-walk` and the
//! monitor's SNMP checks. mib-rs parses and resolves the modules (SMIv1 and SMIv2, the base
//! modules such as SNMPv2-SMI built in); fanout keeps what it needs of them, every named
//! node's OID by module, in a [`Names`] beside the built-in table.
//!
//! As with net-snmp, a module that does not parse or whose imports are missing is a warning
//! that names the file and line, not a stop: a MIB directory gathered from vendors always
//! has some. A name that did not load is still bad input when a job asks for it.

use crate::commands::CommandError;
use fanout_common::snmp_names::Names;
use mib_rs::{DiagnosticConfig, DiagnosticReport, Loader, Severity};
use std::path::PathBuf;

/// How many problems in the MIB files are shown before the rest are counted.
const SHOWN_PROBLEMS: usize = 3;

/// The names of every module in `dirs` (searched in order, first definition of a module
/// wins) beside the built-in table; the built-in table alone when `dirs` is empty.
pub fn load(dirs: &[PathBuf]) -> Result<Names, CommandError> {
    if dirs.is_empty() {
        return Ok(Names::default());
    }
    let mut sources = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let source = mib_rs::source::dir(dir)
            .map_err(|e| CommandError::Input(format!("--mibs {}: {e}", dir.display())))?;
        sources.push(source);
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
                mib_rs::LoadError::DiagnosticThreshold { report } => problems(report).join("; "),
                other => other.to_string(),
            };
            CommandError::Input(format!(
                "--mibs: the MIB files could not be loaded: {detail}"
            ))
        })?;
    if mib.user_modules().next().is_none() {
        return Err(CommandError::Input(format!(
            "--mibs {}: no MIB module found (files named after their module, e.g. \
             IF-MIB, IF-MIB.txt or IF-MIB.my)",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    warn_of_problems(&problems(&mib.diagnostic_report()));
    let mut names = Names::from_mibs();
    // Each OID is named after the module mib-rs prefers for it (SMIv2 over SMIv1)...
    for node in mib.nodes() {
        if let Some(module) = node.module() {
            define(&mut names, module.name(), node);
        }
    }
    // ... and every module that defines it answers for its own name (`RFC1213-MIB::ifDescr`).
    for module in mib.modules() {
        for node in module.nodes() {
            define(&mut names, module.name(), node);
        }
    }
    Ok(names)
}

fn define(names: &mut Names, module: &str, node: mib_rs::mib::Node<'_>) {
    if !node.name().is_empty() && !node.oid().is_empty() {
        names.define(module, node.name(), &node.oid().to_string());
    }
}

/// The first few problems on stderr, every one in the debug log: a vendor's directory can
/// have hundreds, and a run should not start with a screenful of them.
fn warn_of_problems(problems: &[String]) {
    for problem in problems {
        tracing::debug!(%problem, "MIB file problem");
    }
    for problem in problems.iter().take(SHOWN_PROBLEMS) {
        eprintln!("fanout: warning: {}", crate::terminal_text::line(problem));
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
fn problems(report: &DiagnosticReport) -> Vec<String> {
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

    #[test]
    fn a_directory_of_modules_names_objects_beside_the_table() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ACME-MIB.txt"), ACME_MIB).unwrap();
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
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ACME-MIB.txt"), ACME_MIB).unwrap();
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
    fn missing_or_empty_directories_are_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(&[dir.path().join("nope")]).unwrap_err().to_string();
        assert!(e.contains("--mibs") && e.contains("nope"), "{e}");
        let e = load(&[dir.path().to_owned()]).unwrap_err().to_string();
        assert!(e.contains("no MIB module found"), "{e}");
    }
}
