//! `fanout run --snmp-get/--snmp-walk`: the SNMP part of a job, checked before anything is
//! sent. Names are turned into numeric OIDs here (an unknown one is bad input, exit 2), the
//! workers get the names of MIB files loaded with `--mibs` for what they will read back, and
//! every selected host must say in the inventory how to reach it over SNMP.

use crate::cli::SnmpArgs;
use crate::commands::CommandError;
use fanout_common::inventory::Host;
use fanout_common::proto::{SnmpJob, SnmpOp, SnmpRequest};
use fanout_common::snmp_names::Names;

/// How many hosts without `snmp:` settings an error names before it counts the rest.
const NAMED_HOSTS: usize = 5;

/// The job's SNMP requests (gets first, then walks, each in the order given), or `None` when
/// the run has none. `names` are the built-in table and any MIB files loaded.
pub fn build(
    args: &SnmpArgs,
    names: &Names,
    hosts: &[Host],
) -> Result<Option<SnmpJob>, CommandError> {
    if args.gets.is_empty() && args.walks.is_empty() {
        return Ok(None);
    }
    let mut requests = Vec::with_capacity(args.gets.len() + args.walks.len());
    let ops = args
        .gets
        .iter()
        .map(|o| (SnmpOp::Get, "--snmp-get", "snmp-get", o));
    let walks = args
        .walks
        .iter()
        .map(|o| (SnmpOp::Walk, "--snmp-walk", "snmp-walk", o));
    for (op, flag, verb, text) in ops.chain(walks) {
        let oid = names
            .resolve(text)
            .map_err(|e| CommandError::Input(format!("{flag} {e}")))?;
        requests.push(SnmpRequest {
            op: op as i32,
            oid,
            label: format!("{verb} {}", text.trim()),
        });
    }
    let missing: Vec<&str> = hosts
        .iter()
        .filter(|h| h.snmp.is_none())
        .map(|h| h.name.as_str())
        .collect();
    if !missing.is_empty() {
        let more = match missing.len().saturating_sub(NAMED_HOSTS) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        return Err(CommandError::Input(format!(
            "--snmp-get/--snmp-walk: no `snmp:` section in the inventory for {}{more}; set \
             one on the hosts, a group or the defaults (version: 2c with community_env, or \
             version: 3 with user, auth, auth_password_env...)",
            missing[..missing.len().min(NAMED_HOSTS)].join(", ")
        )));
    }
    let names = names_for_workers(&requests, names);
    Ok(Some(SnmpJob {
        names,
        requests,
        max_repetitions: args.snmp_max_repetitions,
        timeout_ms: u64::try_from(args.snmp_timeout.as_millis()).unwrap_or(u64::MAX),
        retries: args.snmp_retries,
        max_in_flight: args.snmp_in_flight,
    }))
}

/// The most MIB names a job carries to its workers: a walk of `enterprises` over a vendor
/// collection would otherwise send hundreds of thousands in every worker's spec, towards the
/// message limit. About 80 bytes each.
const MAX_NAMES_SENT: usize = 100_000;

/// The names of the loaded MIB files under what the job asks for, at most
/// [`MAX_NAMES_SENT`] (said when cut: varbinds beyond are named by the built-in table or not).
fn names_for_workers(
    requests: &[SnmpRequest],
    names: &Names,
) -> std::collections::HashMap<String, String> {
    let mut sent: Vec<(String, String)> =
        requests.iter().flat_map(|r| names.under(&r.oid)).collect();
    if sent.len() > MAX_NAMES_SENT {
        eprintln!(
            "fanout: warning: the MIB files name {} objects under what this run polls; the \
             workers get the first {MAX_NAMES_SENT} by OID, and varbinds beyond them are named \
             by the built-in table or not at all",
            sent.len()
        );
        sent.sort_unstable();
        sent.truncate(MAX_NAMES_SENT);
    }
    sent.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(gets: &[&str], walks: &[&str]) -> SnmpArgs {
        SnmpArgs {
            gets: gets.iter().map(|s| s.to_string()).collect(),
            walks: walks.iter().map(|s| s.to_string()).collect(),
            ..SnmpArgs::default()
        }
    }

    fn polled(name: &str) -> Host {
        Host {
            name: name.into(),
            snmp: Some(fanout_common::inventory::SnmpOptions {
                version: fanout_common::inventory::SnmpVersion::V2c,
                port: 161,
                community: fanout_common::Secret::new("c"),
                user: String::new(),
                auth: None,
                auth_password: Default::default(),
                privacy: None,
                priv_password: Default::default(),
            }),
            ..Host::default()
        }
    }

    #[test]
    fn names_become_numbers_and_labels_keep_what_was_written() {
        let job = build(
            &args(&["sysDescr.0"], &["IF-MIB::ifTable"]),
            Names::builtin(),
            &[polled("r1")],
        )
        .unwrap()
        .unwrap();
        let got: Vec<(SnmpOp, &str, &str)> = job
            .requests
            .iter()
            .map(|r| (r.op(), r.oid.as_str(), r.label.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (SnmpOp::Get, "1.3.6.1.2.1.1.1.0", "snmp-get sysDescr.0"),
                (SnmpOp::Walk, "1.3.6.1.2.1.2.2", "snmp-walk IF-MIB::ifTable"),
            ]
        );
        assert_eq!(job.max_repetitions, 25);
        assert!(
            build(&args(&[], &[]), Names::builtin(), &[])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn unknown_names_and_hosts_without_settings_are_bad_input() {
        let e = build(
            &args(&["ifOperStatsu.1"], &[]),
            Names::builtin(),
            &[polled("r1")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--snmp-get") && e.contains("did you mean ifOperStatus"),
            "{e}"
        );
        let hosts: Vec<Host> = (0..8)
            .map(|i| Host {
                name: format!("r{i}"),
                ..Host::default()
            })
            .collect();
        let e = build(&args(&[], &["1.3.6.1.2.1.1"]), Names::builtin(), &hosts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("r0, r1, r2, r3, r4 and 3 more"), "{e}");
    }
}
