//! SNMP object names: a built-in table of the objects people poll, so `IF-MIB::ifOperStatus`,
//! `ifHCInOctets.3` and `sysDescr.0` work beside numeric OIDs, plus whatever MIB files a run
//! loads (`--mibs DIR`: the coordinator parses them and fills a [`Names`]). The coordinator
//! turns names into numbers before a job starts, so a typo is bad input; workers and devsim
//! use the names the other way, to name what came back. Workers never read MIB files: the
//! coordinator sends them the loaded names under the subtrees a job asks for.

use std::collections::HashMap;

mod table;

use table::{OBJECTS, Object};

/// Why a name could not be turned into an OID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidError {
    #[error("{0:?} is not a numeric OID (1.3.6.1...) and not a name fanout knows{1}")]
    Unknown(String, String),
    #[error("{0:?}: {1} is in {2}, not {3}")]
    WrongModule(String, String, String, String),
    #[error("{0:?}: {1} is defined by {2}; write it with its module, e.g. {3}::{1}")]
    Ambiguous(String, String, String, String),
    #[error("{0:?}: {1}")]
    Malformed(String, &'static str),
}

/// One object a MIB file defined.
#[derive(Debug, Clone)]
struct Loaded {
    module: String,
    oid: String,
}

/// The names one run knows: objects from loaded MIB files first, then the built-in table.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Object name to every definition of it (two modules may define the same name).
    by_name: HashMap<String, Vec<Loaded>>,
    /// Numeric OID to `MODULE::name`.
    by_oid: HashMap<String, String>,
    /// Whether MIB files were loaded at all, so an unknown name says the right thing.
    loaded: bool,
    /// Whether `by_oid` holds the built-in table too (a worker's names), so naming a varbind
    /// is one lookup per prefix instead of two.
    covers_builtin: bool,
}

impl Names {
    /// The built-in table and nothing else.
    pub fn builtin() -> &'static Names {
        static EMPTY: std::sync::OnceLock<Names> = std::sync::OnceLock::new();
        EMPTY.get_or_init(Names::default)
    }

    /// Names loaded from MIB files, to be filled with [`Names::define`].
    pub fn from_mibs() -> Self {
        Self {
            loaded: true,
            ..Self::default()
        }
    }

    /// The names a worker names varbinds with: what the coordinator sent with a job (numeric
    /// OID to `MODULE::name`, from MIB files) over the built-in table. Names only `name_of`.
    pub fn for_naming(sent: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut by_oid: HashMap<String, String> = sent.into_iter().collect();
        if by_oid.is_empty() {
            return Self::default();
        }
        for object in OBJECTS {
            by_oid
                .entry(object.oid.to_string())
                .or_insert_with(|| format!("{}::{}", object.module, object.name));
        }
        Self {
            by_oid,
            covers_builtin: true,
            ..Self::default()
        }
    }

    /// Adds one object of a loaded module. `oid` is numeric and dotted.
    pub fn define(&mut self, module: &str, name: &str, oid: &str) {
        let definitions = self.by_name.entry(name.to_string()).or_default();
        if !definitions
            .iter()
            .any(|d| d.module == module && d.oid == oid)
        {
            definitions.push(Loaded {
                module: module.to_string(),
                oid: oid.to_string(),
            });
        }
        self.by_oid
            .entry(oid.to_string())
            .or_insert_with(|| format!("{module}::{name}"));
    }

    /// The numeric OID (dotted, no leading dot) of `text`: `1.3.6.1.2.1.1.1.0`, `.1.3.6...`,
    /// `sysDescr.0`, `IF-MIB::ifOperStatus` or `IF-MIB::ifOperStatus.3`. Loaded MIB files
    /// are asked first, then the built-in table.
    pub fn resolve(&self, text: &str) -> Result<String, OidError> {
        let trimmed = text.trim();
        let numeric = trimmed.strip_prefix('.').unwrap_or(trimmed);
        if numeric.starts_with(|c: char| c.is_ascii_digit()) {
            return check_numeric(numeric)
                .map_err(|why| OidError::Malformed(text.to_string(), why));
        }
        let (module, rest) = match trimmed.split_once("::") {
            Some((module, rest)) => (Some(module), rest),
            None => (None, trimmed),
        };
        let (name, suffix) = match rest.split_once('.') {
            Some((name, suffix)) => (name, Some(suffix)),
            None => (rest, None),
        };
        let base = self.object(text, module, name)?;
        match suffix {
            None => Ok(base),
            Some(suffix) => check_numeric(&format!("{base}.{suffix}"))
                .map_err(|why| OidError::Malformed(text.to_string(), why)),
        }
    }

    /// The OID of the object `name` (in `module`, when written).
    fn object(&self, text: &str, module: Option<&str>, name: &str) -> Result<String, OidError> {
        let builtin = OBJECTS.iter().find(|o| o.name == name);
        let loaded = self
            .by_name
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(module) = module {
            if let Some(found) = loaded.iter().find(|d| d.module == module) {
                return Ok(found.oid.clone());
            }
            if let Some(object) = builtin.filter(|o| o.module == module) {
                return Ok(object.oid.to_string());
            }
        } else {
            // One name defined by two modules at two places cannot be guessed, whether both
            // were loaded or one is the built-in table's.
            if let Some(first) = loaded.first() {
                let mut definitions: Vec<(&str, &str)> = loaded
                    .iter()
                    .map(|d| (d.module.as_str(), d.oid.as_str()))
                    .chain(builtin.map(|o| (o.module, o.oid)))
                    .collect();
                if definitions.iter().any(|(_, oid)| *oid != first.oid) {
                    definitions.sort();
                    definitions.dedup_by_key(|(module, _)| *module);
                    let modules: Vec<&str> = definitions.iter().map(|(m, _)| *m).collect();
                    return Err(OidError::Ambiguous(
                        text.to_string(),
                        name.to_string(),
                        modules.join(", "),
                        modules[0].to_string(),
                    ));
                }
                return Ok(first.oid.clone());
            }
            if let Some(object) = builtin {
                return Ok(object.oid.to_string());
            }
        }
        let known = loaded
            .first()
            .map(|d| d.module.clone())
            .or_else(|| builtin.map(|o| o.module.to_string()));
        if let (Some(module), Some(known)) = (module, known) {
            return Err(OidError::WrongModule(
                text.to_string(),
                name.to_string(),
                known,
                module.to_string(),
            ));
        }
        // Sorted, so that of two names equally close the same one is suggested every time.
        let mut candidates: Vec<&str> = OBJECTS
            .iter()
            .map(|o| o.name)
            .chain(self.by_name.keys().map(String::as_str))
            .collect();
        candidates.sort_unstable();
        let hint = match crate::suggest::closest(name, candidates) {
            Some(s) => format!(" (did you mean {s}?)"),
            None if self.loaded => {
                "; it is neither in the MIB files loaded nor in the built-in table".to_string()
            }
            None => "; no MIB files are loaded (--mibs DIR), use the numeric OID".to_string(),
        };
        Err(OidError::Unknown(text.to_string(), hint))
    }

    /// `IF-MIB::ifOperStatus.3` for `1.3.6.1.2.1.2.2.1.8.3`: the longest known prefix and
    /// the rest; `None` when no known object contains it.
    pub fn name_of(&self, oid: &str) -> Option<String> {
        // The longest known prefix, found by cutting the OID at each dot from the right: a
        // walk names every varbind it reads, and a hash lookup or two per varbind is a
        // fraction of a scan of the whole table (which was a tenth of a worker's CPU in
        // `fanout bench --snmp`).
        static BY_OID: std::sync::OnceLock<HashMap<&'static str, &'static Object>> =
            std::sync::OnceLock::new();
        let by_oid = BY_OID.get_or_init(|| OBJECTS.iter().map(|o| (o.oid, o)).collect());
        let mut prefix = oid;
        loop {
            if let Some(name) = self.by_oid.get(prefix) {
                return Some(format!("{name}{}", &oid[prefix.len()..]));
            }
            if !self.covers_builtin
                && let Some(object) = by_oid.get(prefix)
            {
                return Some(format!(
                    "{}::{}{}",
                    object.module,
                    object.name,
                    &oid[prefix.len()..]
                ));
            }
            prefix = &prefix[..prefix.rfind('.')?];
        }
    }

    /// The loaded names a worker needs to name every varbind under `oid`: the objects inside
    /// that subtree and the nearest one containing it. Numeric OID to `MODULE::name`.
    pub fn under(&self, oid: &str) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = self
            .by_oid
            .iter()
            .filter(|(known, _)| {
                known
                    .strip_prefix(oid)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
            .map(|(known, name)| (known.clone(), name.clone()))
            .collect();
        let mut prefix = oid;
        while let Some(cut) = prefix.rfind('.') {
            prefix = &prefix[..cut];
            if let Some(name) = self.by_oid.get(prefix) {
                found.push((prefix.to_string(), name.clone()));
                break;
            }
        }
        found
    }
}

/// The most arcs an OID may have in SNMP (RFC 2578, section 3.5).
pub const MAX_OID_ARCS: usize = 128;

fn check_numeric(oid: &str) -> Result<String, &'static str> {
    let arcs: Vec<&str> = oid.split('.').collect();
    if arcs.len() < 2 {
        return Err("an OID has at least two arcs");
    }
    if arcs.len() > MAX_OID_ARCS {
        return Err("an OID has at most 128 arcs");
    }
    let numbers: Vec<u32> = arcs
        .iter()
        .map(|a| match a.is_empty() {
            true => None,
            false => a.parse::<u32>().ok(),
        })
        .collect::<Option<_>>()
        .ok_or("every arc of an OID is a number up to 4294967295")?;
    if numbers[0] > 2 {
        return Err("an OID starts with 0, 1 or 2");
    }
    // Written again from the numbers, so `1.3.6.01` is the `1.3.6.1` every table and worker
    // knows it by.
    let text: Vec<String> = numbers.iter().map(u32::to_string).collect();
    Ok(text.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_or_without_module_and_index() {
        assert_eq!(
            Names::builtin().resolve("IF-MIB::ifOperStatus").unwrap(),
            "1.3.6.1.2.1.2.2.1.8"
        );
        assert_eq!(
            Names::builtin().resolve("ifHCInOctets.3").unwrap(),
            "1.3.6.1.2.1.31.1.1.1.6.3"
        );
        assert_eq!(
            Names::builtin().resolve("SNMPv2-MIB::sysDescr.0").unwrap(),
            "1.3.6.1.2.1.1.1.0"
        );
        assert_eq!(
            Names::builtin().resolve(".1.3.6.1.2.1.1.5.0").unwrap(),
            "1.3.6.1.2.1.1.5.0"
        );
        assert_eq!(
            Names::builtin().resolve("cpmCPUTotal5minRev").unwrap(),
            "1.3.6.1.4.1.9.9.109.1.1.1.1.8"
        );
    }

    #[test]
    fn bad_names_say_why() {
        let e = Names::builtin()
            .resolve("ifOperStatsu")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean ifOperStatus?"), "{e}");
        let e = Names::builtin()
            .resolve("FOO-MIB::fooBar")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no MIB files are loaded (--mibs DIR)"), "{e}");
        let e = Names::builtin()
            .resolve("SNMPv2-MIB::ifName")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ifName is in IF-MIB"), "{e}");
        assert!(Names::builtin().resolve("1.3.x").is_err());
        assert!(Names::builtin().resolve("7.1").is_err());
        assert!(Names::builtin().resolve("sysDescr.zero").is_err());
    }

    #[test]
    fn numbers_get_names_back_by_longest_prefix() {
        assert_eq!(
            Names::builtin().name_of("1.3.6.1.2.1.2.2.1.8.3").as_deref(),
            Some("IF-MIB::ifOperStatus.3")
        );
        // ifInOctets (.10) is not a prefix of .1.10 nor of .100.
        assert_eq!(
            Names::builtin().name_of("1.3.6.1.2.1.2.2.1.100").as_deref(),
            Some("IF-MIB::ifEntry.100")
        );
        assert_eq!(Names::builtin().name_of("1.3.6.1.4.1.99999.1"), None);
        // Every OID in the table names itself.
        for object in OBJECTS {
            let name = Names::builtin().name_of(object.oid).unwrap();
            assert_eq!(
                Names::builtin().resolve(&name).unwrap(),
                object.oid,
                "{name}"
            );
        }
    }

    fn acme() -> Names {
        let mut names = Names::from_mibs();
        names.define("ACME-MIB", "acmeTable", "1.3.6.1.4.1.99999.1");
        names.define("ACME-MIB", "acmeTemp", "1.3.6.1.4.1.99999.1.1.2");
        names.define("ACME-MIB", "acmeFan", "1.3.6.1.4.1.99999.1.1.3");
        names.define("OTHER-MIB", "acmeFan", "1.3.6.1.4.1.88888.7");
        // A MIB that also defines a built-in object, at the same place.
        names.define("IF-MIB", "ifDescr", "1.3.6.1.2.1.2.2.1.2");
        names
    }

    #[test]
    fn loaded_names_resolve_beside_the_table_and_ambiguity_is_bad_input() {
        let names = acme();
        assert_eq!(
            names.resolve("acmeTemp.4").unwrap(),
            "1.3.6.1.4.1.99999.1.1.2.4"
        );
        assert_eq!(
            names.resolve("OTHER-MIB::acmeFan").unwrap(),
            "1.3.6.1.4.1.88888.7"
        );
        assert_eq!(names.resolve("sysName.0").unwrap(), "1.3.6.1.2.1.1.5.0");
        let e = names.resolve("acmeFan").unwrap_err().to_string();
        assert!(
            e.contains("ACME-MIB, OTHER-MIB") && e.contains("ACME-MIB::acmeFan"),
            "{e}"
        );
        let e = names.resolve("IF-MIB::acmeTemp").unwrap_err().to_string();
        assert!(e.contains("acmeTemp is in ACME-MIB, not IF-MIB"), "{e}");
        let e = names.resolve("acmeTmep").unwrap_err().to_string();
        assert!(e.contains("did you mean acmeTemp?"), "{e}");
        let e = names.resolve("zzzzzzzzzzzz").unwrap_err().to_string();
        assert!(e.contains("neither in the MIB files loaded"), "{e}");
        // The built-in table alone knows nothing of ACME.
        assert!(Names::builtin().resolve("acmeTemp").is_err());
        // A loaded module that puts a built-in name elsewhere makes it ambiguous too.
        let mut moved = Names::from_mibs();
        moved.define("ACME-MIB", "sysDescr", "1.3.6.1.4.1.99999.9");
        let e = moved.resolve("sysDescr.0").unwrap_err().to_string();
        assert!(e.contains("ACME-MIB, SNMPv2-MIB"), "{e}");
        assert_eq!(
            moved.resolve("SNMPv2-MIB::sysDescr.0").unwrap(),
            "1.3.6.1.2.1.1.1.0"
        );
        assert_eq!(Names::builtin().resolve("1.3.06.1").unwrap(), "1.3.6.1");
        let deep = format!("1.3{}", ".1".repeat(127));
        assert!(
            Names::builtin()
                .resolve(&deep)
                .unwrap_err()
                .to_string()
                .contains("at most 128 arcs")
        );
    }

    #[test]
    fn loaded_names_name_varbinds_by_the_longest_prefix_of_either() {
        let names = acme();
        assert_eq!(
            names.name_of("1.3.6.1.4.1.99999.1.1.3.7").as_deref(),
            Some("ACME-MIB::acmeFan.7")
        );
        assert_eq!(
            names.name_of("1.3.6.1.4.1.99999.1.1.9.7").as_deref(),
            Some("ACME-MIB::acmeTable.1.9.7")
        );
        assert_eq!(
            names.name_of("1.3.6.1.2.1.2.2.1.8.1").as_deref(),
            Some("IF-MIB::ifOperStatus.1")
        );
        assert_eq!(names.name_of("1.3.6.1.4.1.77777.1"), None);
    }

    #[test]
    fn a_worker_gets_the_names_inside_a_subtree_and_the_one_around_it() {
        let names = acme();
        let mut under = names.under("1.3.6.1.4.1.99999.1.1");
        under.sort();
        assert_eq!(
            under,
            [
                (
                    "1.3.6.1.4.1.99999.1".to_string(),
                    "ACME-MIB::acmeTable".to_string()
                ),
                (
                    "1.3.6.1.4.1.99999.1.1.2".to_string(),
                    "ACME-MIB::acmeTemp".to_string()
                ),
                (
                    "1.3.6.1.4.1.99999.1.1.3".to_string(),
                    "ACME-MIB::acmeFan".to_string()
                ),
            ]
        );
        // What a worker rebuilds from them names varbinds, the built-in table included.
        let worker = Names::for_naming(under);
        for (oid, name) in [
            ("1.3.6.1.4.1.99999.1.1.3.7", "ACME-MIB::acmeFan.7"),
            ("1.3.6.1.4.1.99999.1.1.1", "ACME-MIB::acmeTable.1.1"),
            ("1.3.6.1.2.1.1.5.0", "SNMPv2-MIB::sysName.0"),
        ] {
            assert_eq!(worker.name_of(oid).as_deref(), Some(name), "{oid}");
        }
        // Whole arcs: 1.3.6.1.4.1.99999.10 is not inside 1.3.6.1.4.1.99999.1.
        let mut more = names.clone();
        more.define("ACME-MIB", "acmeTen", "1.3.6.1.4.1.99999.10");
        let oids: Vec<String> = more
            .under("1.3.6.1.4.1.99999.1")
            .into_iter()
            .map(|(oid, _)| oid)
            .collect();
        assert!(
            oids.contains(&"1.3.6.1.4.1.99999.1".to_string()),
            "{oids:?}"
        );
        assert!(
            !oids.contains(&"1.3.6.1.4.1.99999.10".to_string()),
            "{oids:?}"
        );
    }
}
