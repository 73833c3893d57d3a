//! The `fanout` command line as a user meets it: version, usage, and a clear exit 2 for a
//! path that does not exist.
//!
//! Having an integration test here also makes `cargo test --workspace` build the `fanout`
//! binary, which the workspace-level tests in `tests/` run.

use std::process::{Command, Output};

fn fanout(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(args)
        .output()
        .expect("the fanout binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_names_the_tool_and_its_version() {
    let out = fanout(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("fanout {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn no_subcommand_is_bad_input_and_lists_what_there_is() {
    let out = fanout(&[]);
    assert_eq!(out.status.code(), Some(2));
    let usage = text(&out.stderr);
    let listed: Vec<&str> = usage
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for command in [
        "run",
        "validate",
        "inventory",
        "platforms",
        "demo",
        "bench",
        "certs",
        "serve",
        "workers",
    ] {
        assert!(listed.contains(&command), "usage lacks {command}:\n{usage}");
    }
    // `workers` (a coordinator's workers) is listed; the internal `worker` is not.
    assert!(
        !listed.contains(&"worker"),
        "the internal worker subcommand is hidden:\n{usage}"
    );
}

#[test]
fn a_missing_inventory_is_named_and_exits_2() {
    let missing = std::env::temp_dir().join("fanout-cli-test-no-such-inventory.yaml");
    let out = fanout(&["run", "-i", missing.to_str().unwrap(), "-c", "show version"]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("fanout-cli-test-no-such-inventory.yaml"),
        "the error names the file:\n{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran, nothing to print");
}

#[test]
fn platforms_lists_the_builtins_and_prints_one_as_a_template() {
    let out = fanout(&["platforms"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    for platform in [
        "cisco_ios",
        "cisco_xe",
        "cisco_nxos",
        "cisco_xr",
        "arista_eos",
        "juniper_junos",
        "linux",
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(platform) && l.contains("built-in")),
            "{platform} missing:\n{listing}"
        );
    }

    let out = fanout(&["platforms", "cisco_ios"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("name: cisco_ios"));

    let out = fanout(&["platforms", "cisco_iso"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown platform \"cisco_iso\""));
}

#[test]
fn a_platforms_directory_adds_profiles_and_a_broken_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let custom = text(&fanout(&["platforms", "cisco_ios"]).stdout)
        .replace("name: cisco_ios", "name: acme_os")
        .replace("description: Cisco IOS", "description: ACME OS");
    std::fs::write(dir.path().join("acme_os.yaml"), custom).unwrap();
    let out = fanout(&["platforms", "--platforms", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let acme = listing
        .lines()
        .find(|l| l.starts_with("acme_os"))
        .unwrap_or_else(|| panic!("acme_os missing:\n{listing}"));
    assert!(
        acme.contains("acme_os.yaml") && acme.contains("ACME OS"),
        "{acme}"
    );

    std::fs::write(
        dir.path().join("broken.yaml"),
        "name: broken\ntransport: carrier-pigeon\n",
    )
    .unwrap();
    let out = fanout(&["platforms", "--platforms", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.yaml"), "names the file:\n{stderr}");
}
