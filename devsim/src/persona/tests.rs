use super::*;

const SEED: u64 = 3;

fn shell(platform: Platform) -> Shell {
    Shell::new(
        "r00007",
        SEED,
        ShellOptions {
            platform,
            username: "netops".into(),
            ..ShellOptions::default()
        },
    )
}

/// Starts the session the way a client sees it: past a `Press any key` notice, if any.
fn log_in(sh: &mut Shell) -> String {
    let mut out = sent(sh.start());
    if sh.awaits_key() {
        out.push_str(&typed(sh, " "));
    }
    out
}

/// What the device sends for `input`, thinking pauses left out.
fn typed(sh: &mut Shell, input: &str) -> String {
    sent(sh.feed(input.as_bytes()))
}

fn sent(actions: Vec<Action>) -> String {
    let mut out = Vec::new();
    for action in actions {
        if let Action::Send(bytes) = action {
            out.extend(bytes);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn names_round_trip() {
    for platform in Platform::ALL {
        assert_eq!(platform.name().parse::<Platform>(), Ok(platform));
    }
    assert!("cisco_ioss".parse::<Platform>().is_err());
}

#[test]
fn each_persona_logs_in_at_its_vendors_prompt() {
    for (platform, prompt) in [
        (Platform::CiscoIos, "\r\nr00007>"),
        (Platform::CiscoXe, "\r\nr00007>"),
        (Platform::CiscoNxos, "\r\nr00007#"),
        (Platform::CiscoXr, "\r\nRP/0/RP0/CPU0:r00007#"),
        (Platform::AristaEos, "\r\nr00007>"),
        (Platform::JuniperJunos, "\r\nnetops@r00007> "),
        (Platform::CiscoAsa, "\r\nr00007>"),
        (Platform::PaloaltoPanos, "\r\nnetops@r00007> "),
        (Platform::Fortinet, "\r\nr00007 # "),
        (Platform::HuaweiVrp, "\r\n<r00007>"),
        (Platform::HpComware, "\r\n<r00007>"),
        (
            Platform::HpProcurve,
            "\x1b[24;1Hr00007> \x1b[24;1H\x1b[24;9H\x1b[24;1H\x1b[?25h\x1b[24;9H",
        ),
        (Platform::DellOs10, "\r\nr00007#"),
        (Platform::DellOs6, "\r\nr00007>"),
        (Platform::BrocadeFastiron, "\r\nSSH@r00007>"),
        (Platform::MikrotikRouteros, "\r\n[netops@r00007] > "),
    ] {
        let out = log_in(&mut shell(platform));
        assert!(out.ends_with(prompt), "{platform}: {out:?}");
    }
}

#[test]
fn paging_off_is_the_vendors_command_and_the_others_are_errors() {
    for platform in Platform::ALL {
        let mut sh = shell(platform);
        log_in(&mut sh);
        let paging_off = platform.paging_off_command();
        let out = typed(&mut sh, &format!("{paging_off}\n"));
        assert!(!out.contains('^'), "{platform}: {out:?}");
        let other = if paging_off == "terminal length 0" {
            "set cli screen-length 0"
        } else {
            "terminal length 0"
        };
        let out = typed(&mut sh, &format!("{other}\n"));
        assert!(
            [
                "%",
                "unknown command",
                "Unknown command",
                "syntax error",
                "Error",
                "Unknown action",
                "Invalid input",
                "bad command name",
            ]
            .iter()
            .any(|refusal| out.contains(refusal)),
            "{platform} accepted {other:?}: {out:?}"
        );
    }
}

#[test]
fn errors_are_worded_like_the_vendor() {
    for (platform, message) in [
        (
            Platform::CiscoIos,
            "\r\n% Invalid input detected at '^' marker.\r\n\r\n",
        ),
        (
            Platform::CiscoNxos,
            "\r\n% Invalid command at '^' marker.\r\n",
        ),
        (
            Platform::CiscoXr,
            "\r\n% Invalid input detected at '^' marker.\r\n",
        ),
        (Platform::AristaEos, "\r\n% Invalid input\r\n"),
        (
            Platform::JuniperJunos,
            "\r\nsyntax error, expecting <command>.\r\n\r\n",
        ),
        (
            Platform::CiscoAsa,
            "\r\nERROR: % Invalid input detected at '^' marker.\r\n",
        ),
        (Platform::PaloaltoPanos, "\r\nUnknown command: bogus\r\n"),
        (
            Platform::Fortinet,
            "\r\ncommand parse error before 'bogus'\r\nCommand fail. Return code -61\r\n",
        ),
        (
            Platform::HuaweiVrp,
            "\r\nError: Unrecognized command found at '^' position.\r\n",
        ),
        (
            Platform::HpComware,
            "\r\n% Unrecognized command found at '^' position.\r\n",
        ),
        (Platform::HpProcurve, "\x1b[24;1HInvalid input: bogus\r\n"),
        (Platform::DellOs10, "\r\n% Error: Unrecognized command.\r\n"),
        (
            Platform::DellOs6,
            "\r\n% Invalid input detected at '^' marker.\r\n",
        ),
        (
            Platform::BrocadeFastiron,
            "\r\nInvalid input -> bogus\r\nType ? for a list\r\n",
        ),
        (
            Platform::MikrotikRouteros,
            "\r\nsyntax error (line 1 column 9)\r\n",
        ),
    ] {
        let mut sh = shell(platform);
        log_in(&mut sh);
        let prompt_width = sh.caret_base();
        // The vendor's own verb (`show`, `display`), then a word it does not know.
        let verb = platform.config_command().split(' ').next().unwrap();
        let out = typed(&mut sh, &format!("{verb} bogus\n"));
        assert!(out.contains(message), "{platform}: {out:?}");
        if platform.persona().errors.caret {
            // The marker sits under `bogus`, counted from the start of the prompt line.
            let caret = format!("\r\n{}^\r\n", " ".repeat(prompt_width + verb.len() + 1));
            assert!(out.contains(&caret), "{platform}: {out:?}");
        }
    }
    let mut junos = shell(Platform::JuniperJunos);
    log_in(&mut junos);
    assert!(typed(&mut junos, "frobnicate\n").contains("\r\nunknown command.\r\n"));
}

#[test]
fn configuration_mode_prompts() {
    let mut nxos = shell(Platform::CiscoNxos);
    log_in(&mut nxos);
    assert!(typed(&mut nxos, "configure terminal\n").ends_with("\r\nr00007(config)#"));
    assert!(typed(&mut nxos, "interface Ethernet1/1\n").ends_with("\r\nr00007(config-if)#"));
    assert!(typed(&mut nxos, "end\n").ends_with("\r\nr00007#"));

    let mut xr = shell(Platform::CiscoXr);
    log_in(&mut xr);
    assert!(typed(&mut xr, "configure\n").ends_with("\r\nRP/0/RP0/CPU0:r00007(config)#"));

    let mut junos = shell(Platform::JuniperJunos);
    log_in(&mut junos);
    let out = typed(&mut junos, "configure\n");
    assert!(
        out.ends_with("\r\nEntering configuration mode\r\n\r\n[edit]\r\nnetops@r00007# "),
        "{out:?}"
    );
    let out = typed(&mut junos, "exit configuration-mode\n");
    assert!(
        out.ends_with("\r\nExiting configuration mode\r\n\r\nnetops@r00007> "),
        "{out:?}"
    );
}

#[test]
fn eos_and_ios_need_enable_for_the_configuration() {
    for platform in [Platform::CiscoIos, Platform::AristaEos, Platform::CiscoAsa] {
        let mut sh = shell(platform);
        log_in(&mut sh);
        assert!(typed(&mut sh, "show running-config\n").contains("% Invalid input"));
        assert!(typed(&mut sh, "enable\n").ends_with("\r\nr00007#"));
        assert!(typed(&mut sh, "show running-config\n").contains("\r\nhostname r00007\r\n"));
    }
}

#[test]
fn outputs_are_shaped_like_the_vendors() {
    for (platform, config_marks, version_mark) in [
        (
            Platform::CiscoIos,
            &["Building configuration...", "\nversion 15.2\n", "\nend\n"][..],
            "Cisco IOS Software, C3750E",
        ),
        (
            Platform::CiscoXe,
            &[
                "Current configuration : ",
                "\nversion 17.3\n",
                "provision c9300-",
            ],
            "Cisco IOS XE Software, Version 17.03.04a",
        ),
        (
            Platform::CiscoNxos,
            &[
                "\n!Command: show running-config\n",
                "\nfeature interface-vlan\n",
                "\ninterface Ethernet1/1\n",
            ],
            "Cisco Nexus Operating System (NX-OS) Software",
        ),
        (
            Platform::CiscoXr,
            &[
                "\nBuilding configuration...\n!! IOS XR Configuration 7.5.2\n",
                "\nrouter static\n",
                "interface GigabitEthernet0/0/0/0\n",
            ],
            "\nCisco IOS XR Software, Version 7.5.2\n",
        ),
        (
            Platform::AristaEos,
            &[
                "! Command: show running-config\n",
                "\ninterface Ethernet1\n   ",
                "\nend\n",
            ],
            "Arista DCS-7050SX3-48YC8-F\n",
        ),
        (
            Platform::JuniperJunos,
            &[
                "## Last commit: 20",
                "\nsystem {\n    host-name r00007;\n",
                "\n    ge-0/0/0 {\n",
            ],
            "Hostname: r00007\nModel: mx204\nJunos: 21.4R3-S5.4\n",
        ),
        (
            Platform::CiscoAsa,
            &[
                ": Saved\n\n:\n: Serial Number: ",
                "\nASA Version 9.16(3)19 \n!\nhostname r00007\n",
                "\n nameif outside1\n security-level 0\n",
            ],
            "\nCisco Adaptive Security Appliance Software Version 9.16(3)19 \n",
        ),
        (
            Platform::PaloaltoPanos,
            &[
                "<config version=\"10.2.0\"",
                "<hostname>r00007</hostname>",
                "<entry name=\"ethernet1/1\">",
            ],
            "\nhostname: r00007\n",
        ),
        (
            Platform::Fortinet,
            &[
                "#config-version=FGVM64-7.2.5-FW-build1517",
                "\n    set hostname \"r00007\"\n",
                "\n    edit \"port1\"\n        set vdom \"root\"\n",
            ],
            "Version: FortiGate-VM64 v7.2.5,build1517,230606 (GA.F)\nVirus-DB: ",
        ),
        (
            Platform::HuaweiVrp,
            &[
                "!Software Version V200R011C10SPC500\n#\n sysname r00007\n",
                "\ninterface GigabitEthernet0/0/1\n",
                "\nreturn\n",
            ],
            "VRP (R) software, Version 5.170 (S5720 V200R011C10SPC500)\n",
        ),
        (
            Platform::HpComware,
            &[
                "#\n version 7.1.064, Release 3208P10\n#\n sysname r00007\n",
                "\ninterface Ten-GigabitEthernet1/0/49\n port link-mode route\n",
                "\nreturn\n",
            ],
            "HPE Comware Software, Version 7.1.064, Release 3208P10\n",
        ),
        (
            Platform::HpProcurve,
            &[
                "\nRunning configuration:\n\n; J9773A Configuration Editor;",
                "\nhostname \"r00007\"\n",
                "\nvlan 10\n   name \"USERS\"\n   untagged ",
            ],
            "\n Image stamp:    /ws/swbuildm/",
        ),
        (
            Platform::DellOs10,
            &[
                "! Version 10.5.2.3\n",
                "\nhostname r00007\n",
                "\ninterface ethernet1/1/1\n",
            ],
            "Dell EMC Networking OS10 Enterprise\n",
        ),
        (
            Platform::DellOs6,
            &[
                "!Current Configuration:\n!System Description \"Dell Networking ",
                "\nhostname \"r00007\"\n",
                "\ninterface Gi1/0/1\n",
            ],
            "\nMachine Type...................... Dell Networking N",
        ),
        (
            Platform::BrocadeFastiron,
            &[
                "Current configuration:\n!\nver 08.0.95dT213\n",
                "\nhostname r00007\n",
                "\nvlan 10 name USERS by port\n",
            ],
            "  Copyright (c) Ruckus Networks, Inc. All rights reserved.\n",
        ),
        (
            Platform::MikrotikRouteros,
            &[
                " by RouterOS 7.11.2\n# software id = ",
                "\n/system identity\nset name=r00007\n",
                "\n/ip address\nadd address=",
            ],
            "\n                  version: 7.11.2 (stable)\n",
        ),
    ] {
        let config = command_output(
            platform,
            Quirks::default(),
            "r00007",
            SEED,
            platform.config_command(),
        );
        for mark in config_marks {
            assert!(
                config.contains(mark),
                "{platform} config lacks {mark:?}:\n{config}"
            );
        }
        assert!(!config.contains('\r'), "{platform}");
        let version = command_output(
            platform,
            Quirks::default(),
            "r00007",
            SEED,
            platform.version_command(),
        );
        assert!(version.contains(version_mark), "{platform}:\n{version}");
        assert_ne!(
            config,
            command_output(
                platform,
                Quirks::default(),
                "r00008",
                SEED,
                platform.config_command()
            ),
            "{platform}: devices differ"
        );
    }
    // Junos ends every output with a blank line before the prompt; the others do not.
    let junos = command_output(
        Platform::JuniperJunos,
        Quirks::default(),
        "r00007",
        SEED,
        "show version",
    );
    assert!(junos.ends_with("]\n\n"), "{junos:?}");
}

#[test]
fn the_expected_output_is_what_an_interactive_session_prints() {
    for platform in Platform::ALL {
        let mut sh = shell(platform);
        if platform.paging_off_command().is_empty() {
            // RouterOS: the terminal's height comes with the login name.
            sh = Shell::new(
                "r00007",
                SEED,
                ShellOptions {
                    platform,
                    username: "netops+ct511w4098h".into(),
                    ..ShellOptions::default()
                },
            );
        }
        log_in(&mut sh);
        if !platform.persona().login_privileged {
            typed(&mut sh, "enable\n");
        }
        typed(&mut sh, &format!("{}\n", platform.paging_off_command()));
        let command = platform.config_command();
        let echo = String::from_utf8(sh.echo_of(command)).unwrap();
        let out = typed(&mut sh, &format!("{command}\n"));
        let body = out
            .strip_prefix(&echo)
            .and_then(|rest| rest.strip_suffix(&sh.sent_prompt_line()))
            .unwrap_or_else(|| panic!("{platform}: echo or prompt missing in {out:?}"));
        assert_eq!(
            body.replace("\r\n", "\n"),
            command_output(platform, Quirks::default(), "r00007", SEED, command),
            "{platform}"
        );
    }
}

/// Every persona's pager: answered with spaces, its markers and their erasures taken out, the
/// pages join up into the unpaged output.
#[test]
fn paging_through_any_persona_reassembles_the_output() {
    for platform in Platform::ALL {
        let persona = platform.persona();
        let mut sh = shell(platform);
        log_in(&mut sh);
        if !persona.login_privileged {
            typed(&mut sh, "enable\n");
        }
        let command = platform.config_command();
        let echo = String::from_utf8(sh.echo_of(command)).unwrap();
        let mut all = typed(&mut sh, &format!("{command}\n"));
        let mut pages = 1;
        while all.ends_with(persona.pager) {
            all.push_str(&typed(&mut sh, " "));
            pages += 1;
        }
        assert!(pages > 3, "{platform} did not page");
        let erase = String::from_utf8(persona.pager_erase.bytes(persona.pager)).unwrap();
        let all = all.replace(&format!("{}{erase}", persona.pager), "");
        let body = all
            .strip_prefix(&echo)
            .and_then(|rest| rest.strip_suffix(&sh.sent_prompt_line()))
            .unwrap_or_else(|| panic!("{platform}: {all:?}"));
        assert_eq!(
            body.replace("\r\n", "\n"),
            command_output(platform, Quirks::default(), "r00007", SEED, command),
            "{platform}"
        );
    }
}

#[test]
fn asa_asks_for_a_wrong_secret_three_times() {
    let mut sh = Shell::new(
        "r00007",
        SEED,
        ShellOptions {
            platform: Platform::CiscoAsa,
            secret: "s3cret".into(),
            ..ShellOptions::default()
        },
    );
    log_in(&mut sh);
    assert!(typed(&mut sh, "enable\n").ends_with("Password: "));
    assert_eq!(typed(&mut sh, "x\n"), "\r\nInvalid password\r\nPassword: ");
    assert_eq!(typed(&mut sh, "y\n"), "\r\nInvalid password\r\nPassword: ");
    assert_eq!(typed(&mut sh, "z\n"), "\r\nAccess denied.\r\nr00007>");
    typed(&mut sh, "enable\n");
    assert_eq!(typed(&mut sh, "x\n"), "\r\nInvalid password\r\nPassword: ");
    assert_eq!(typed(&mut sh, "s3cret\n"), "\r\nr00007#");
}

#[test]
fn panos_edits_a_tree_and_leaves_it_step_by_step() {
    let mut sh = shell(Platform::PaloaltoPanos);
    log_in(&mut sh);
    let out = typed(&mut sh, "configure\n");
    assert!(
        out.ends_with("\r\nEntering configuration mode\r\n[edit]\r\nnetops@r00007# "),
        "{out:?}"
    );
    let out = typed(&mut sh, "edit network interface\n");
    assert!(
        out.ends_with("\r\n[edit network interface]\r\nnetops@r00007# "),
        "{out:?}"
    );
    assert!(typed(&mut sh, "exit\n").ends_with("\r\n[edit]\r\nnetops@r00007# "));
    let out = typed(&mut sh, "exit\n");
    assert!(
        out.ends_with("\r\nExiting configuration mode\r\nnetops@r00007> "),
        "{out:?}"
    );
    // Session settings are accepted silently.
    assert_eq!(
        typed(&mut sh, "set cli scripting-mode on\n"),
        "set cli scripting-mode on\r\nnetops@r00007> "
    );
}

#[test]
fn fortios_nests_config_and_edit_and_pages_until_told_otherwise() {
    let mut sh = shell(Platform::Fortinet);
    log_in(&mut sh);
    assert!(typed(&mut sh, "frobnicate\n").contains("\r\nUnknown action 0\r\n"));
    assert!(typed(&mut sh, "config system interface\n").ends_with("\r\nr00007 (interface) # "));
    assert!(typed(&mut sh, "edit port1\n").ends_with("\r\nr00007 (port1) # "));
    assert!(typed(&mut sh, "set description x\n").ends_with("\r\nr00007 (port1) # "));
    assert!(typed(&mut sh, "next\n").ends_with("\r\nr00007 (interface) # "));
    assert!(typed(&mut sh, "end\n").ends_with("\r\nr00007 # "));
    // Paging is on until the console setting says otherwise.
    assert!(typed(&mut sh, "show full-configuration\n").ends_with("--More-- "));
    typed(&mut sh, "q");
    typed(&mut sh, "config system console\nset output standard\nend\n");
    assert!(typed(&mut sh, "show full-configuration\n").ends_with("\r\nr00007 # "));
}

#[test]
fn vrp_views_are_named_after_what_they_configure() {
    let mut sh = shell(Platform::HuaweiVrp);
    log_in(&mut sh);
    let out = typed(&mut sh, "screen-length 0 temporary\n");
    assert!(
        out.ends_with("\r\nInfo: The configuration takes effect on the current user terminal interface only.\r\n<r00007>"),
        "{out:?}"
    );
    assert!(typed(&mut sh, "screen-length 0\n").contains("Error:Incomplete command"));
    let out = typed(&mut sh, "system-view\n");
    assert!(
        out.ends_with("\r\nEnter system view, return user view with Ctrl+Z.\r\n[r00007]"),
        "{out:?}"
    );
    for (line, prompt) in [
        (
            "interface GigabitEthernet0/0/1",
            "[r00007-GigabitEthernet0/0/1]",
        ),
        ("interface Vlanif10", "[r00007-Vlanif10]"),
        ("quit", "[r00007]"),
        ("vlan 10", "[r00007-vlan10]"),
        ("ospf 1", "[r00007-ospf-1]"),
        ("user-interface vty 0 4", "[r00007-ui-vty0-4]"),
        ("vlan batch 10 20", "[r00007-ui-vty0-4]"),
        ("return", "<r00007>"),
    ] {
        let out = typed(&mut sh, &format!("{line}\n"));
        assert!(out.ends_with(&format!("\r\n{prompt}")), "{line}: {out:?}");
    }
    // `quit` from the system view goes back to the user view, and from there logs out.
    typed(&mut sh, "system-view\n");
    assert!(typed(&mut sh, "quit\n").ends_with("\r\n<r00007>"));
    assert!(sh.feed(b"quit\n").contains(&Action::Exit));
}

#[test]
fn comware_views_and_its_own_words() {
    let mut sh = shell(Platform::HpComware);
    log_in(&mut sh);
    assert_eq!(
        typed(&mut sh, "screen-length disable\n"),
        "screen-length disable\r\n<r00007>"
    );
    let out = typed(&mut sh, "system-view\n");
    assert!(
        out.ends_with("\r\nSystem View: return to User View with Ctrl+Z.\r\n[r00007]"),
        "{out:?}"
    );
    for (line, prompt) in [
        ("interface Vlan-interface10", "[r00007-Vlan-interface10]"),
        ("line vty 0 63", "[r00007-line-vty0-63]"),
        (
            "local-user admin class manage",
            "[r00007-luser-manage-admin]",
        ),
        ("quit", "[r00007]"),
        ("return", "<r00007>"),
    ] {
        let out = typed(&mut sh, &format!("{line}\n"));
        assert!(out.ends_with(&format!("\r\n{prompt}")), "{line}: {out:?}");
    }
}

#[test]
fn procurve_waits_for_a_key_and_paints_its_screen() {
    let mut sh = shell(Platform::HpProcurve);
    let login = sent(sh.start());
    assert!(
        login.ends_with("\r\n\r\nPress any key to continue"),
        "{login:?}"
    );
    assert!(login.starts_with("\x1b[?6l\x1b[1;24r"), "{login:?}");
    // The key is swallowed; the screen is cleared and the prompt painted at the bottom row.
    let after = typed(&mut sh, " ");
    assert!(after.starts_with("\x1b[2J"), "{after:?}");
    assert!(after.contains("\x1b[24;1Hr00007> \x1b[24;1H"), "{after:?}");
    // Each typed character is painted at its column; Enter scrolls instead of a line end, so
    // a command without output is followed by its prompt with no line end at all.
    let out = typed(&mut sh, "en\n");
    assert!(
        out.starts_with(
            "\x1b[24;9He\x1b[24;9H\x1b[?25h\x1b[24;10H\x1b[24;10Hn\x1b[24;10H\x1b[?25h\x1b[24;11H\
             \x1b[1;0H\x1b[1M\x1b[24;1H\x1b[1L"
        ),
        "{out:?}"
    );
    assert!(!out.contains('\n'), "{out:?}");
    assert!(out.contains("\x1b[24;1Hr00007# \x1b[24;1H"), "{out:?}");
    assert_eq!(sh.echo_of("en"), {
        let mut echo = procurve::paint_echo(9, b'e');
        echo.extend(procurve::paint_echo(10, b'n'));
        echo.extend(procurve::paint_enter(11));
        echo
    });
    // Contexts are named eth-N and vlan-N.
    typed(&mut sh, "configure\n");
    assert!(typed(&mut sh, "interface 1\n").contains("r00007(eth-1)# "));
    assert!(typed(&mut sh, "vlan 10\n").contains("r00007(vlan-10)# "));
}

#[test]
fn os10_names_interface_contexts_its_own_way() {
    let mut sh = shell(Platform::DellOs10);
    log_in(&mut sh);
    typed(&mut sh, "configure terminal\n");
    for (line, prompt) in [
        ("interface ethernet 1/1/1", "r00007(conf-if-eth1/1/1)#"),
        ("interface vlan 10", "r00007(conf-if-vl-10)#"),
        ("exit", "r00007(config)#"),
        ("router bgp 65000", "r00007(config-router-bgp)#"),
        ("end", "r00007#"),
    ] {
        let out = typed(&mut sh, &format!("{line}\n"));
        assert!(out.ends_with(&format!("\r\n{prompt}")), "{line}: {out:?}");
    }
}

#[test]
fn routeros_reads_terminal_options_from_the_login_name() {
    let login = |name: &str| {
        let mut sh = Shell::new(
            "r00007",
            SEED,
            ShellOptions {
                platform: Platform::MikrotikRouteros,
                username: name.into(),
                ..ShellOptions::default()
            },
        );
        let out = log_in(&mut sh);
        (sh, out)
    };
    // Without options: the terminal is asked for its size, the line is repainted in colour
    // on Enter, and outputs page after 24 lines.
    let (mut sh, out) = login("admin");
    assert!(out.starts_with("\x1b[9999B\x1b[6n"), "{out:?}");
    assert!(out.ends_with("\r\n[admin@r00007] > "), "{out:?}");
    let out = typed(&mut sh, "/export\n");
    assert!(
        out.starts_with("/export\r[admin@r00007] > \x1b[35m/export\x1b[m\r\n# "),
        "{out:?}"
    );
    assert!(out.ends_with("-- [Q quit|D dump|down]"), "{out:?}");
    // Netmiko's options: no colours, no size question, a tall terminal; the prompt shows the
    // name without them.
    let (mut sh, out) = login("admin+ct511w4098h");
    assert!(!out.contains('\x1b'), "{out:?}");
    let out = typed(&mut sh, "/export\n");
    assert!(
        out.starts_with("/export\r[admin@r00007] > /export\r\n# "),
        "{out:?}"
    );
    assert!(out.ends_with("\r\n[admin@r00007] > "), "{out:?}");
    // Errors name the line and column; menus change the prompt, `/` goes back.
    assert!(
        typed(&mut sh, "/frobnicate\n")
            .contains("\r\nbad command name /frobnicate (line 1 column 1)\r\n")
    );
    assert!(typed(&mut sh, "/interface\n").ends_with("\r\n[admin@r00007] /interface> "));
    assert!(typed(&mut sh, "/\n").ends_with("\r\n[admin@r00007] > "));
}

#[test]
fn os6_enters_configuration_with_configure_and_names_contexts_after_the_port() {
    let mut sh = shell(Platform::DellOs6);
    log_in(&mut sh);
    typed(&mut sh, "enable\n");
    for (line, prompt) in [
        ("configure", "r00007(config)#"),
        ("interface Gi1/0/1", "r00007(config-if-Gi1/0/1)#"),
        ("exit", "r00007(config)#"),
        ("interface vlan 10", "r00007(config-if-vlan10)#"),
        ("vlan 20", "r00007(config-vlan20)#"),
        ("end", "r00007#"),
    ] {
        let out = typed(&mut sh, &format!("{line}\n"));
        assert!(out.ends_with(&format!("\r\n{prompt}")), "{line}: {out:?}");
    }
    // `configure terminal` is IOS, not OS6: the extra word is marked.
    let out = typed(&mut sh, "configure terminal\n");
    assert!(out.contains("% Invalid input detected"), "{out:?}");
}

/// Both refuse a wrong enable secret once, in their own words, and stay at the user prompt.
#[test]
fn os6_and_fastiron_refuse_a_wrong_secret_in_their_words() {
    for (platform, refusal, prompt) in [
        (Platform::DellOs6, "\r\nIncorrect Password!\r\n", "r00007>"),
        (
            Platform::BrocadeFastiron,
            "\r\nError - Incorrect username or password.\r\n",
            "SSH@r00007>",
        ),
    ] {
        let mut sh = Shell::new(
            "r00007",
            SEED,
            ShellOptions {
                platform,
                secret: "right".into(),
                ..ShellOptions::default()
            },
        );
        log_in(&mut sh);
        assert!(typed(&mut sh, "enable\n").ends_with("Password: "));
        let out = typed(&mut sh, "wrong\n");
        assert!(
            out.ends_with(&format!("{refusal}{prompt}")),
            "{platform}: {out:?}"
        );
    }
}

#[test]
fn fastiron_skips_page_display_only_when_privileged_and_says_so() {
    let mut sh = shell(Platform::BrocadeFastiron);
    log_in(&mut sh);
    let out = typed(&mut sh, "skip-page-display\n");
    assert!(
        out.contains("\r\nInvalid input -> skip-page-display\r\n"),
        "{out:?}"
    );
    typed(&mut sh, "enable\n");
    let out = typed(&mut sh, "skip-page-display\n");
    assert!(
        out.ends_with("\r\nDisable page display mode\r\nSSH@r00007#"),
        "{out:?}"
    );
    typed(&mut sh, "configure terminal\n");
    for (line, prompt) in [
        (
            "interface ethernet 1/1/1",
            "SSH@r00007(config-if-e1000-1/1/1)#",
        ),
        ("interface ve 10", "SSH@r00007(config-vif-10)#"),
        ("vlan 10", "SSH@r00007(config-vlan-10)#"),
        ("end", "SSH@r00007#"),
    ] {
        let out = typed(&mut sh, &format!("{line}\n"));
        assert!(out.ends_with(&format!("\r\n{prompt}")), "{line}: {out:?}");
    }
}
