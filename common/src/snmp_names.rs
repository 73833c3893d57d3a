//! SNMP object names: a built-in table of the objects people poll, so `IF-MIB::ifOperStatus`,
//! `ifHCInOctets.3` and `sysDescr.0` work beside numeric OIDs. No MIB files are loaded: the
//! table is all fanout knows by name (numeric OIDs always work). The coordinator turns names
//! into numbers before a job starts, so a typo is bad input; workers and devsim use the table
//! the other way, to name what came back.

/// One named object: its MIB module, its name and its OID.
struct Object {
    module: &'static str,
    name: &'static str,
    oid: &'static str,
}

macro_rules! objects {
    ($($module:literal { $($name:ident = $oid:literal,)* })*) => {
        &[$($(Object { module: $module, name: stringify!($name), oid: $oid },)*)*]
    };
}

/// The table. Entries of a table's columns follow the table's entry; the order does not matter
/// for lookups.
static OBJECTS: &[Object] = objects! {
    "SNMPv2-MIB" {
        system = "1.3.6.1.2.1.1",
        sysDescr = "1.3.6.1.2.1.1.1",
        sysObjectID = "1.3.6.1.2.1.1.2",
        sysUpTime = "1.3.6.1.2.1.1.3",
        sysContact = "1.3.6.1.2.1.1.4",
        sysName = "1.3.6.1.2.1.1.5",
        sysLocation = "1.3.6.1.2.1.1.6",
        sysServices = "1.3.6.1.2.1.1.7",
        sysORLastChange = "1.3.6.1.2.1.1.8",
        snmpInPkts = "1.3.6.1.2.1.11.1",
    }
    "IF-MIB" {
        interfaces = "1.3.6.1.2.1.2",
        ifNumber = "1.3.6.1.2.1.2.1",
        ifTable = "1.3.6.1.2.1.2.2",
        ifEntry = "1.3.6.1.2.1.2.2.1",
        ifIndex = "1.3.6.1.2.1.2.2.1.1",
        ifDescr = "1.3.6.1.2.1.2.2.1.2",
        ifType = "1.3.6.1.2.1.2.2.1.3",
        ifMtu = "1.3.6.1.2.1.2.2.1.4",
        ifSpeed = "1.3.6.1.2.1.2.2.1.5",
        ifPhysAddress = "1.3.6.1.2.1.2.2.1.6",
        ifAdminStatus = "1.3.6.1.2.1.2.2.1.7",
        ifOperStatus = "1.3.6.1.2.1.2.2.1.8",
        ifLastChange = "1.3.6.1.2.1.2.2.1.9",
        ifInOctets = "1.3.6.1.2.1.2.2.1.10",
        ifInUcastPkts = "1.3.6.1.2.1.2.2.1.11",
        ifInNUcastPkts = "1.3.6.1.2.1.2.2.1.12",
        ifInDiscards = "1.3.6.1.2.1.2.2.1.13",
        ifInErrors = "1.3.6.1.2.1.2.2.1.14",
        ifInUnknownProtos = "1.3.6.1.2.1.2.2.1.15",
        ifOutOctets = "1.3.6.1.2.1.2.2.1.16",
        ifOutUcastPkts = "1.3.6.1.2.1.2.2.1.17",
        ifOutNUcastPkts = "1.3.6.1.2.1.2.2.1.18",
        ifOutDiscards = "1.3.6.1.2.1.2.2.1.19",
        ifOutErrors = "1.3.6.1.2.1.2.2.1.20",
        ifOutQLen = "1.3.6.1.2.1.2.2.1.21",
        ifSpecific = "1.3.6.1.2.1.2.2.1.22",
        ifXTable = "1.3.6.1.2.1.31.1.1",
        ifXEntry = "1.3.6.1.2.1.31.1.1.1",
        ifName = "1.3.6.1.2.1.31.1.1.1.1",
        ifInMulticastPkts = "1.3.6.1.2.1.31.1.1.1.2",
        ifInBroadcastPkts = "1.3.6.1.2.1.31.1.1.1.3",
        ifOutMulticastPkts = "1.3.6.1.2.1.31.1.1.1.4",
        ifOutBroadcastPkts = "1.3.6.1.2.1.31.1.1.1.5",
        ifHCInOctets = "1.3.6.1.2.1.31.1.1.1.6",
        ifHCInUcastPkts = "1.3.6.1.2.1.31.1.1.1.7",
        ifHCInMulticastPkts = "1.3.6.1.2.1.31.1.1.1.8",
        ifHCInBroadcastPkts = "1.3.6.1.2.1.31.1.1.1.9",
        ifHCOutOctets = "1.3.6.1.2.1.31.1.1.1.10",
        ifHCOutUcastPkts = "1.3.6.1.2.1.31.1.1.1.11",
        ifHCOutMulticastPkts = "1.3.6.1.2.1.31.1.1.1.12",
        ifHCOutBroadcastPkts = "1.3.6.1.2.1.31.1.1.1.13",
        ifLinkUpDownTrapEnable = "1.3.6.1.2.1.31.1.1.1.14",
        ifHighSpeed = "1.3.6.1.2.1.31.1.1.1.15",
        ifPromiscuousMode = "1.3.6.1.2.1.31.1.1.1.16",
        ifConnectorPresent = "1.3.6.1.2.1.31.1.1.1.17",
        ifAlias = "1.3.6.1.2.1.31.1.1.1.18",
        ifCounterDiscontinuityTime = "1.3.6.1.2.1.31.1.1.1.19",
    }
    "IP-MIB" {
        ipForwarding = "1.3.6.1.2.1.4.1",
        ipAddrTable = "1.3.6.1.2.1.4.20",
        ipAdEntAddr = "1.3.6.1.2.1.4.20.1.1",
        ipAdEntIfIndex = "1.3.6.1.2.1.4.20.1.2",
        ipAdEntNetMask = "1.3.6.1.2.1.4.20.1.3",
    }
    "HOST-RESOURCES-MIB" {
        hrSystemUptime = "1.3.6.1.2.1.25.1.1",
        hrMemorySize = "1.3.6.1.2.1.25.2.2",
        hrStorageTable = "1.3.6.1.2.1.25.2.3",
        hrStorageEntry = "1.3.6.1.2.1.25.2.3.1",
        hrStorageIndex = "1.3.6.1.2.1.25.2.3.1.1",
        hrStorageType = "1.3.6.1.2.1.25.2.3.1.2",
        hrStorageDescr = "1.3.6.1.2.1.25.2.3.1.3",
        hrStorageAllocationUnits = "1.3.6.1.2.1.25.2.3.1.4",
        hrStorageSize = "1.3.6.1.2.1.25.2.3.1.5",
        hrStorageUsed = "1.3.6.1.2.1.25.2.3.1.6",
        hrStorageAllocationFailures = "1.3.6.1.2.1.25.2.3.1.7",
        hrProcessorTable = "1.3.6.1.2.1.25.3.3",
        hrProcessorEntry = "1.3.6.1.2.1.25.3.3.1",
        hrProcessorFrwID = "1.3.6.1.2.1.25.3.3.1.1",
        hrProcessorLoad = "1.3.6.1.2.1.25.3.3.1.2",
    }
    "ENTITY-MIB" {
        entPhysicalTable = "1.3.6.1.2.1.47.1.1.1",
        entPhysicalEntry = "1.3.6.1.2.1.47.1.1.1.1",
        entPhysicalDescr = "1.3.6.1.2.1.47.1.1.1.1.2",
        entPhysicalVendorType = "1.3.6.1.2.1.47.1.1.1.1.3",
        entPhysicalContainedIn = "1.3.6.1.2.1.47.1.1.1.1.4",
        entPhysicalClass = "1.3.6.1.2.1.47.1.1.1.1.5",
        entPhysicalParentRelPos = "1.3.6.1.2.1.47.1.1.1.1.6",
        entPhysicalName = "1.3.6.1.2.1.47.1.1.1.1.7",
        entPhysicalHardwareRev = "1.3.6.1.2.1.47.1.1.1.1.8",
        entPhysicalFirmwareRev = "1.3.6.1.2.1.47.1.1.1.1.9",
        entPhysicalSoftwareRev = "1.3.6.1.2.1.47.1.1.1.1.10",
        entPhysicalSerialNum = "1.3.6.1.2.1.47.1.1.1.1.11",
        entPhysicalMfgName = "1.3.6.1.2.1.47.1.1.1.1.12",
        entPhysicalModelName = "1.3.6.1.2.1.47.1.1.1.1.13",
    }
    "CISCO-PROCESS-MIB" {
        cpmCPUTotalTable = "1.3.6.1.4.1.9.9.109.1.1.1",
        cpmCPUTotalEntry = "1.3.6.1.4.1.9.9.109.1.1.1.1",
        cpmCPUTotalPhysicalIndex = "1.3.6.1.4.1.9.9.109.1.1.1.1.2",
        cpmCPUTotal5sec = "1.3.6.1.4.1.9.9.109.1.1.1.1.3",
        cpmCPUTotal1min = "1.3.6.1.4.1.9.9.109.1.1.1.1.4",
        cpmCPUTotal5min = "1.3.6.1.4.1.9.9.109.1.1.1.1.5",
        cpmCPUTotal5secRev = "1.3.6.1.4.1.9.9.109.1.1.1.1.6",
        cpmCPUTotal1minRev = "1.3.6.1.4.1.9.9.109.1.1.1.1.7",
        cpmCPUTotal5minRev = "1.3.6.1.4.1.9.9.109.1.1.1.1.8",
    }
    "UCD-SNMP-MIB" {
        memTotalReal = "1.3.6.1.4.1.2021.4.5",
        memAvailReal = "1.3.6.1.4.1.2021.4.6",
        laLoad = "1.3.6.1.4.1.2021.10.1.3",
        ssCpuIdle = "1.3.6.1.4.1.2021.11.11",
    }
};

/// Why a name could not be turned into an OID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidError {
    #[error("{0:?} is not a numeric OID (1.3.6.1...) and not a name fanout knows{1}")]
    Unknown(String, String),
    #[error("{0:?}: {1} is in {2}, not {3}")]
    WrongModule(String, &'static str, &'static str, String),
    #[error("{0:?}: {1}")]
    Malformed(String, &'static str),
}

/// The numeric OID (dotted, no leading dot) of `text`: `1.3.6.1.2.1.1.1.0`, `.1.3.6...`,
/// `sysDescr.0`, `IF-MIB::ifOperStatus` or `IF-MIB::ifOperStatus.3`.
pub fn resolve(text: &str) -> Result<String, OidError> {
    let trimmed = text.trim();
    let numeric = trimmed.strip_prefix('.').unwrap_or(trimmed);
    if numeric.starts_with(|c: char| c.is_ascii_digit()) {
        return check_numeric(numeric).map_err(|why| OidError::Malformed(text.to_string(), why));
    }
    let (module, rest) = match trimmed.split_once("::") {
        Some((module, rest)) => (Some(module), rest),
        None => (None, trimmed),
    };
    let (name, suffix) = match rest.split_once('.') {
        Some((name, suffix)) => (name, Some(suffix)),
        None => (rest, None),
    };
    let Some(object) = OBJECTS.iter().find(|o| o.name == name) else {
        let hint = crate::suggest::closest(name, OBJECTS.iter().map(|o| o.name))
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_else(|| "; MIB files are not loaded, use the numeric OID".to_string());
        return Err(OidError::Unknown(text.to_string(), hint));
    };
    if let Some(module) = module
        && module != object.module
    {
        return Err(OidError::WrongModule(
            text.to_string(),
            object.name,
            object.module,
            module.to_string(),
        ));
    }
    match suffix {
        None => Ok(object.oid.to_string()),
        Some(suffix) => {
            let oid = format!("{}.{suffix}", object.oid);
            check_numeric(&oid).map_err(|why| OidError::Malformed(text.to_string(), why))
        }
    }
}

fn check_numeric(oid: &str) -> Result<String, &'static str> {
    let arcs: Vec<&str> = oid.split('.').collect();
    if arcs.len() < 2 {
        return Err("an OID has at least two arcs");
    }
    if arcs
        .iter()
        .any(|a| a.is_empty() || a.parse::<u32>().is_err())
    {
        return Err("every arc of an OID is a number up to 4294967295");
    }
    if !matches!(arcs[0], "0" | "1" | "2") {
        return Err("an OID starts with 0, 1 or 2");
    }
    Ok(oid.to_string())
}

/// `IF-MIB::ifOperStatus.3` for `1.3.6.1.2.1.2.2.1.8.3`: the longest known prefix and the
/// rest; `None` when no known object contains it.
pub fn name_of(oid: &str) -> Option<String> {
    // The longest known prefix, found by cutting the OID at each dot from the right: a walk
    // names every varbind it reads, and a hash lookup or two per varbind is a fraction of a
    // scan of the whole table (which was a tenth of a worker's CPU in `fanout bench --snmp`).
    static BY_OID: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static Object>> =
        std::sync::OnceLock::new();
    let by_oid = BY_OID.get_or_init(|| OBJECTS.iter().map(|o| (o.oid, o)).collect());
    let mut prefix = oid;
    let best = loop {
        if let Some(object) = by_oid.get(prefix) {
            break *object;
        }
        prefix = &prefix[..prefix.rfind('.')?];
    };
    Some(format!(
        "{}::{}{}",
        best.module,
        best.name,
        &oid[best.oid.len()..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_or_without_module_and_index() {
        assert_eq!(
            resolve("IF-MIB::ifOperStatus").unwrap(),
            "1.3.6.1.2.1.2.2.1.8"
        );
        assert_eq!(
            resolve("ifHCInOctets.3").unwrap(),
            "1.3.6.1.2.1.31.1.1.1.6.3"
        );
        assert_eq!(
            resolve("SNMPv2-MIB::sysDescr.0").unwrap(),
            "1.3.6.1.2.1.1.1.0"
        );
        assert_eq!(resolve(".1.3.6.1.2.1.1.5.0").unwrap(), "1.3.6.1.2.1.1.5.0");
        assert_eq!(
            resolve("cpmCPUTotal5minRev").unwrap(),
            "1.3.6.1.4.1.9.9.109.1.1.1.1.8"
        );
    }

    #[test]
    fn bad_names_say_why() {
        let e = resolve("ifOperStatsu").unwrap_err().to_string();
        assert!(e.contains("did you mean ifOperStatus?"), "{e}");
        let e = resolve("FOO-MIB::fooBar").unwrap_err().to_string();
        assert!(e.contains("MIB files are not loaded"), "{e}");
        let e = resolve("SNMPv2-MIB::ifName").unwrap_err().to_string();
        assert!(e.contains("ifName is in IF-MIB"), "{e}");
        assert!(resolve("1.3.x").is_err());
        assert!(resolve("7.1").is_err());
        assert!(resolve("sysDescr.zero").is_err());
    }

    #[test]
    fn numbers_get_names_back_by_longest_prefix() {
        assert_eq!(
            name_of("1.3.6.1.2.1.2.2.1.8.3").as_deref(),
            Some("IF-MIB::ifOperStatus.3")
        );
        // ifInOctets (.10) is not a prefix of .1.10 nor of .100.
        assert_eq!(
            name_of("1.3.6.1.2.1.2.2.1.100").as_deref(),
            Some("IF-MIB::ifEntry.100")
        );
        assert_eq!(name_of("1.3.6.1.4.1.99999.1"), None);
        // Every OID in the table names itself.
        for object in OBJECTS {
            let name = name_of(object.oid).unwrap();
            assert_eq!(resolve(&name).unwrap(), object.oid, "{name}");
        }
    }
}
