//! The set of platforms a run can use: the built-in profiles, then a user directory's files,
//! which add platforms or replace built-in ones of the same name.

use super::{PlatformError, PlatformProfile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The profiles fanout ships, by file name; each file's `name` is its platform.
const BUILTIN: &[(&str, &str)] = &[
    ("arista_eos", include_str!("builtin/arista_eos.yaml")),
    (
        "brocade_fastiron",
        include_str!("builtin/brocade_fastiron.yaml"),
    ),
    ("cisco_asa", include_str!("builtin/cisco_asa.yaml")),
    ("cisco_ios", include_str!("builtin/cisco_ios.yaml")),
    ("cisco_nxos", include_str!("builtin/cisco_nxos.yaml")),
    ("cisco_xe", include_str!("builtin/cisco_xe.yaml")),
    ("cisco_xr", include_str!("builtin/cisco_xr.yaml")),
    ("dell_os10", include_str!("builtin/dell_os10.yaml")),
    ("dell_os6", include_str!("builtin/dell_os6.yaml")),
    ("fortinet", include_str!("builtin/fortinet.yaml")),
    ("hp_comware", include_str!("builtin/hp_comware.yaml")),
    ("hp_procurve", include_str!("builtin/hp_procurve.yaml")),
    ("huawei_vrp", include_str!("builtin/huawei_vrp.yaml")),
    ("juniper_junos", include_str!("builtin/juniper_junos.yaml")),
    ("linux", include_str!("builtin/linux.yaml")),
    (
        "mikrotik_routeros",
        include_str!("builtin/mikrotik_routeros.yaml"),
    ),
    (
        "paloalto_panos",
        include_str!("builtin/paloalto_panos.yaml"),
    ),
];

/// Where a profile came from, for `fanout platforms` and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    Builtin,
    File(PathBuf),
}

/// A checked profile and the YAML it was read from (what travels to workers).
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    pub profile: PlatformProfile,
    pub source: ProfileSource,
    pub yaml: String,
}

#[derive(Debug, Clone, Default)]
pub struct PlatformRegistry {
    profiles: BTreeMap<String, LoadedProfile>,
    /// Every alias a profile declares, to that profile's name. A later profile's alias
    /// replaces an earlier one's, as a later profile of the same name replaces it.
    aliases: BTreeMap<String, String>,
}

impl PlatformRegistry {
    /// The built-in profiles only.
    pub fn builtin() -> Self {
        let mut registry = Self::default();
        for (file, yaml) in BUILTIN {
            let origin = format!("built-in {file}.yaml");
            // A broken built-in is a bug caught by this crate's tests, never by users.
            let profile = PlatformProfile::from_yaml(yaml, &origin)
                .unwrap_or_else(|e| panic!("built-in platform profile is broken: {e}"));
            registry
                .insert(LoadedProfile {
                    profile,
                    source: ProfileSource::Builtin,
                    yaml: (*yaml).to_string(),
                })
                .unwrap_or_else(|e| panic!("built-in platform profiles clash: {e}"));
        }
        registry
    }

    /// The built-ins, then every `*.yaml` / `*.yml` file of `dir` (if given), in name order.
    pub fn load(dir: Option<&Path>) -> Result<Self, PlatformError> {
        let mut registry = Self::builtin();
        let Some(dir) = dir else {
            return Ok(registry);
        };
        let read_error = |path: &Path, error| PlatformError::Read {
            path: path.display().to_string(),
            error,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| read_error(dir, e))? {
            let path = entry.map_err(|e| read_error(dir, e))?.path();
            let yaml = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            );
            if yaml && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut from_dir: BTreeMap<String, PathBuf> = BTreeMap::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
            let profile = PlatformProfile::from_yaml(&text, &path.display().to_string())?;
            if let Some(first) = from_dir.insert(profile.name.clone(), path.clone()) {
                return Err(PlatformError::Duplicate {
                    name: profile.name,
                    first: first.display().to_string(),
                    second: path.display().to_string(),
                });
            }
            registry.insert(LoadedProfile {
                profile,
                source: ProfileSource::File(path),
                yaml: text,
            })?;
        }
        Ok(registry)
    }

    /// Adds `loaded`, replacing a profile of the same name. An alias that names another
    /// platform would make one name mean two profiles, and is refused; a platform named like
    /// another's alias is fine, since names are looked up before aliases.
    fn insert(&mut self, loaded: LoadedProfile) -> Result<(), PlatformError> {
        let name = loaded.profile.name.clone();
        let origin = || match &loaded.source {
            ProfileSource::Builtin => format!("built-in {name}.yaml"),
            ProfileSource::File(path) => path.display().to_string(),
        };
        if let Some(alias) = loaded
            .profile
            .aliases
            .iter()
            .find(|alias| self.profiles.contains_key(*alias))
        {
            return Err(PlatformError::AliasTaken {
                origin: origin(),
                alias: alias.clone(),
            });
        }
        // A replaced profile's aliases go with it.
        self.aliases.retain(|_, owner| *owner != name);
        for alias in &loaded.profile.aliases {
            self.aliases.insert(alias.clone(), name.clone());
        }
        self.profiles.insert(name, loaded);
        Ok(())
    }

    /// The profile called `name`, or the one that has `name` among its aliases.
    pub fn get(&self, name: &str) -> Option<&LoadedProfile> {
        self.profiles
            .get(name)
            .or_else(|| self.profiles.get(self.aliases.get(name)?))
    }

    /// Every alias and the platform name it stands for.
    pub fn aliases(&self) -> &BTreeMap<String, String> {
        &self.aliases
    }

    /// Platform names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }

    /// Every profile, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &LoadedProfile> {
        self.profiles.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Transport;

    #[test]
    fn every_builtin_loads_and_is_named_after_its_file() {
        let registry = PlatformRegistry::builtin();
        for (file, _) in BUILTIN {
            let loaded = registry.get(file).expect(file);
            assert_eq!(loaded.profile.name, *file);
        }
        // No two built-ins share a name.
        assert_eq!(registry.names().len(), BUILTIN.len());
        let linux = &registry.get("linux").unwrap().profile;
        assert_eq!(linux.transport, Transport::Exec);
        let junos = &registry.get("juniper_junos").unwrap().profile;
        assert_eq!(junos.session_setup[0], "set cli screen-length 0");
        assert!(junos.privilege.is_none());
        let ios = &registry.get("cisco_ios").unwrap().profile;
        assert_eq!(ios.privilege.as_ref().unwrap().command, "enable");
    }

    #[test]
    fn a_directory_adds_and_overrides_profiles() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("acme.yaml"),
            "name: acme_os\ntransport: shell\nprompt:\n  user: 'acme>'\n  privileged: 'acme#'\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ios.yml"),
            "name: cisco_ios\ntransport: exec\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let registry = PlatformRegistry::load(Some(dir.path())).unwrap();
        assert!(registry.get("acme_os").is_some());
        let ios = registry.get("cisco_ios").unwrap();
        assert_eq!(ios.profile.transport, Transport::Exec);
        assert!(matches!(ios.source, ProfileSource::File(_)));
        assert_eq!(registry.names().len(), BUILTIN.len() + 1);
    }

    #[test]
    fn a_broken_file_names_its_path_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(
            &path,
            "name: bad\ntransport: shell\nprompt:\n  user: 'x>'\n  privileged: 'x#'\nfailure_indicator: ['%']\n",
        )
        .unwrap();
        let error = PlatformRegistry::load(Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("{}:6:1: ", path.display())),
            "{error}"
        );
        assert!(
            error.contains("unknown field `failure_indicator`"),
            "{error}"
        );

        std::fs::write(
            &path,
            "name: bad\ntransport: shell\nprompt:\n  user: 'x>'\n  privileged: '(x#'\n",
        )
        .unwrap();
        let error = PlatformRegistry::load(Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "{}:5: invalid `privileged`: bad regex",
                path.display()
            )),
            "{error}"
        );

        std::fs::write(&path, "name: bad\ntransport: telnet\n").unwrap();
        let error = PlatformRegistry::load(Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(error.contains(":2:"), "{error}");
        assert!(error.contains("unknown variant `telnet`"), "{error}");

        std::fs::write(&path, "name: bad\ntransport: shell\n").unwrap();
        let error = PlatformRegistry::load(Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(error.contains(":2: invalid `transport`"), "{error}");
    }

    #[test]
    fn aliases_resolve_to_their_platform_and_cannot_shadow_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("acme.yaml"),
            "name: acme_os\naliases: [acme, acme_ssh]\ntransport: exec\n",
        )
        .unwrap();
        let registry = PlatformRegistry::load(Some(dir.path())).unwrap();
        assert_eq!(registry.get("acme").unwrap().profile.name, "acme_os");
        assert_eq!(registry.get("acme_ssh").unwrap().profile.name, "acme_os");
        assert_eq!(registry.aliases().get("acme").unwrap(), "acme_os");
        // Aliases are not platforms of their own.
        assert!(!registry.names().contains(&"acme".to_string()));

        std::fs::write(
            dir.path().join("acme.yaml"),
            "name: acme_os\naliases: [linux]\ntransport: exec\n",
        )
        .unwrap();
        let error = PlatformRegistry::load(Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("alias \"linux\""), "{error}");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let error = PlatformRegistry::load(Some(Path::new("/nonexistent/platforms")))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("/nonexistent/platforms: cannot read"),
            "{error}"
        );
    }
}
