//! `fanout inventory`: what a selection resolves to, before anything connects.

use super::{CommandError, load_interruptibly, select_hosts};
use crate::cli::InventoryArgs;
use crate::interrupts::Interrupts;
use crate::recorder::Format;
use fanout_common::inventory::Host;

pub async fn run(args: InventoryArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let selection = args.selection.clone();
    let hosts = load_interruptibly(&interrupts, move || select_hosts(&selection))
        .await?
        .hosts;
    match args.format {
        Format::Json => {
            for host in &hosts {
                crate::outln!("{}", host.describe());
            }
        }
        Format::Human => crate::out!("{}", table(&hosts)),
        Format::Csv => {
            let mut out = crate::csv_report::line(&[
                "name", "hostname", "port", "username", "platform", "groups",
            ]);
            for h in &hosts {
                out.push_str(&crate::csv_report::line(&[
                    h.name.clone(),
                    h.hostname.clone(),
                    h.port.to_string(),
                    h.username.clone(),
                    h.platform.clone(),
                    h.all_groups.join(";"),
                ]));
            }
            crate::out!("{out}");
        }
    }
    Ok(0)
}

fn table(hosts: &[Host]) -> String {
    let rows: Vec<[String; 6]> = hosts
        .iter()
        .map(|h| {
            let data: Vec<String> = h
                .data
                .iter()
                .map(|(k, v)| format!("{k}={}", plain(v)))
                .collect();
            [
                h.name.clone(),
                h.hostname.clone(),
                h.port.to_string(),
                h.platform.clone(),
                h.groups.join(","),
                data.join(" "),
            ]
        })
        .collect();
    let header = ["NAME", "HOSTNAME", "PORT", "PLATFORM", "GROUPS", "DATA"];
    let mut out = crate::output::columns(header, &rows);
    out.push_str(&format!("{} hosts\n", hosts.len()));
    out
}

/// Strings without their JSON quotes; everything else as JSON.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
