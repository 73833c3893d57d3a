//! Where a device's configuration lives in the repository: a template such as
//! `{group}/{host}.cfg`. Each placeholder's value is escaped like an output directory name
//! (`/` and other awkward bytes as `%XX`), so a value never adds a directory or climbs out.

use crate::output_tree::host_dir;
use fanout_common::inventory::Host;

/// The default: one directory per first group, so no directory holds the whole fleet.
pub const DEFAULT_LAYOUT: &str = "{group}/{host}.cfg";

const PLACEHOLDERS: [&str; 4] = ["{host}", "{group}", "{site}", "{platform}"];

#[derive(Debug, Clone)]
pub struct Layout {
    template: String,
}

impl Layout {
    /// Checks the template: relative, no empty, `.` or `..` part, only known placeholders, and
    /// `{host}` in it (without it two devices would share a file).
    pub fn parse(template: &str) -> Result<Self, String> {
        let bad = |why: &str| Err(format!("--layout {template:?}: {why}"));
        if !template.contains("{host}") {
            return bad("must contain {host}, or devices would share a file");
        }
        if template.starts_with('/') {
            return bad("must be relative to the repository");
        }
        for part in template.split('/') {
            if part.is_empty() || part == "." || part == ".." {
                return bad("has an empty, `.` or `..` part");
            }
        }
        let mut rest = template.to_string();
        for placeholder in PLACEHOLDERS {
            rest = rest.replace(placeholder, "");
        }
        if rest.contains('{') || rest.contains('}') {
            return bad("knows only {host}, {group}, {site} and {platform}");
        }
        Ok(Layout {
            template: template.to_string(),
        })
    }

    /// The host's file: `{group}` is its first group (`ungrouped` without one), `{site}` its
    /// `data.site` (`no-site` without one).
    pub fn path(&self, host: &Host) -> String {
        let group = host.groups.first().map_or("ungrouped", String::as_str);
        let site = host
            .data
            .get("site")
            .and_then(|s| s.as_str())
            .unwrap_or("no-site");
        self.template
            .replace("{host}", &host_dir(&host.name))
            .replace("{group}", &host_dir(group))
            .replace("{site}", &host_dir(site))
            .replace("{platform}", &host_dir(&host.platform))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, groups: &[&str], site: Option<&str>) -> Host {
        let mut host = Host {
            name: name.into(),
            platform: "cisco_ios".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Host::default()
        };
        if let Some(site) = site {
            host.data.insert("site".into(), site.into());
        }
        host
    }

    #[test]
    fn placeholders_are_filled_and_escaped() {
        let layout = Layout::parse(DEFAULT_LAYOUT).unwrap();
        assert_eq!(
            layout.path(&host("r1", &["core", "ams"], None)),
            "core/r1.cfg"
        );
        assert_eq!(layout.path(&host("r1", &[], None)), "ungrouped/r1.cfg");
        assert_eq!(
            layout.path(&host("a/../b", &["x/y"], None)),
            "x%2Fy/a%2F..%2Fb.cfg"
        );
        let layout = Layout::parse("{site}/{platform}/{host}.txt").unwrap();
        assert_eq!(
            layout.path(&host("r1", &[], Some("ams"))),
            "ams/cisco_ios/r1.txt"
        );
    }

    #[test]
    fn unusable_templates_are_refused() {
        for bad in [
            "{group}.cfg",
            "/abs/{host}",
            "a//{host}",
            "../{host}",
            "{hots}/{host}",
        ] {
            assert!(Layout::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
