//! `NET_TEXTFSM` names the template directory when no path is given, as for Netmiko. In a test
//! binary of its own because it sets a process-wide variable.

use fanout_rules::{TEMPLATE_DIR_ENV, TemplateIndex};

#[test]
fn net_textfsm_is_searched_when_no_dir_is_given() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index"),
        "Template, Hostname, Platform, Command\nclock.textfsm, .*, cisco_ios, sh[[ow]] clo[[ck]]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("clock.textfsm"),
        "Value TIME (\\S+)\n\nStart\n  ^\\*?${TIME}\\s -> Record\n",
    )
    .unwrap();
    assert!(
        TemplateIndex::load(None)
            .unwrap()
            .lookup("cisco_ios", "show clock")
            .is_err()
    );
    // SAFETY: this test binary has one test, so no other thread reads the environment.
    unsafe { std::env::set_var(TEMPLATE_DIR_ENV, dir.path()) };
    let index = TemplateIndex::load(None).unwrap();
    let table = index
        .parse(
            "cisco_ios",
            "sh clock",
            "*10:02:33.123 UTC Wed Nov 25 2026\n",
        )
        .unwrap();
    assert_eq!(table.column("TIME"), ["10:02:33.123"]);
    // An explicit directory wins over the variable.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("index"), "Template, Platform, Command\n").unwrap();
    let index = TemplateIndex::load(Some(other.path())).unwrap();
    assert!(index.lookup("cisco_ios", "show clock").is_err());
}
