//! `fanout platforms`: which platforms an inventory may name, where each profile comes from,
//! and a profile's YAML to start a custom one from.

use super::CommandError;
use crate::cli::PlatformsArgs;
use crate::recorder::Format;
use fanout_common::platform::{LoadedProfile, PlatformRegistry, ProfileSource};
use serde_json::json;

pub fn run(args: PlatformsArgs) -> Result<u8, CommandError> {
    let registry = PlatformRegistry::load(args.platforms.as_deref())?;
    if let Some(name) = &args.name {
        let Some(loaded) = registry.get(name) else {
            let known = registry.names().join(", ");
            return Err(CommandError::Input(format!(
                "unknown platform {name:?}; known platforms: {known}"
            )));
        };
        crate::out!("{}", crate::terminal_text::block(&loaded.yaml));
        return Ok(0);
    }
    match args.format {
        Format::Json => {
            for loaded in registry.iter() {
                crate::outln!("{}", describe(loaded));
            }
        }
        Format::Human => crate::out!("{}", table(&registry)),
        Format::Csv => {
            let mut out = crate::csv_report::line(&["name", "source"]);
            for loaded in registry.iter() {
                out.push_str(&crate::csv_report::line(&[
                    loaded.profile.name.clone(),
                    source(loaded),
                ]));
            }
            crate::out!("{out}");
        }
    }
    Ok(0)
}

fn source(loaded: &LoadedProfile) -> String {
    match &loaded.source {
        ProfileSource::Builtin => "built-in".to_string(),
        ProfileSource::File(path) => path.display().to_string(),
    }
}

fn describe(loaded: &LoadedProfile) -> serde_json::Value {
    let profile = &loaded.profile;
    json!({
        "name": profile.name,
        "description": profile.description,
        "transport": profile.transport.as_str(),
        "source": source(loaded),
        "session_setup": profile.session_setup,
        "privilege": profile.privilege.is_some(),
    })
}

fn table(registry: &PlatformRegistry) -> String {
    let rows: Vec<[String; 4]> = registry
        .iter()
        .map(|loaded| {
            let profile = &loaded.profile;
            [
                profile.name.clone(),
                profile.transport.as_str().to_string(),
                source(loaded),
                profile.description.clone(),
            ]
        })
        .collect();
    let header = ["NAME", "TRANSPORT", "SOURCE", "DESCRIPTION"];
    let mut out = crate::output::columns(header, &rows);
    out.push_str(&format!("{} platforms\n", registry.names().len()));
    out
}
