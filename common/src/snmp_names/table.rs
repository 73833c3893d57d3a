//! The built-in table: the objects people poll, by module, name and OID.

/// One named object: its MIB module, its name and its OID.
pub(super) struct Object {
    pub(super) module: &'static str,
    pub(super) name: &'static str,
    pub(super) oid: &'static str,
}

macro_rules! objects {
    ($($module:literal { $($name:ident = $oid:literal,)* })*) => {
        &[$($(Object { module: $module, name: stringify!($name), oid: $oid },)*)*]
    };
}

/// The table. Entries of a table's columns follow the table's entry; the order does not matter
/// for lookups.
pub(super) static OBJECTS: &[Object] = objects! {
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
