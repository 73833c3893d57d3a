use super::*;
use crate::running_config;

const SEED: u64 = 5;

fn shell() -> Shell {
    Shell::new(
        "r00001",
        SEED,
        ShellOptions {
            secret: "s3cret".into(),
            drop_mid_output: false,
            fault: None,
            drift: Vec::new(),
            ..ShellOptions::default()
        },
    )
}

const INVALID: &str = "% Invalid input detected at '^' marker.";

/// Everything sent for these actions, with each `Think` shown as `<think>`.
fn text(actions: &[Action]) -> String {
    let mut s = String::new();
    for a in actions {
        match a {
            Action::Send(bytes) => s.push_str(&String::from_utf8_lossy(bytes)),
            Action::Think => s.push_str("<think>"),
            Action::Exit => s.push_str("<exit>"),
            Action::Drop => s.push_str("<drop>"),
            Action::Huge(n) => s.push_str(&format!("<huge {n}>")),
        }
    }
    s
}

fn typed(shell: &mut Shell, input: &str) -> String {
    text(&shell.feed(input.as_bytes()))
}

fn privileged() -> Shell {
    let mut sh = shell();
    sh.start();
    typed(&mut sh, "enable\n");
    assert_eq!(typed(&mut sh, "s3cret\n"), "\r\nr00001#");
    sh
}

#[test]
fn start_prints_the_user_prompt_last() {
    let mut sh = shell();
    let out = text(&sh.start());
    assert!(out.starts_with("\r\n"), "{out:?}");
    assert!(out.ends_with("\r\nr00001>"), "{out:?}");
}

#[test]
fn commands_are_echoed_then_answered_after_thinking() {
    let mut sh = shell();
    assert_eq!(
        typed(&mut sh, "terminal length 0\n"),
        "terminal length 0\r\n<think>r00001>"
    );
    let out = typed(&mut sh, "show version\n");
    assert!(
        out.starts_with("show version\r\n<think>Cisco IOS Software"),
        "{out:?}"
    );
    assert!(out.ends_with("\r\nr00001>"), "{out:?}");
}

#[test]
fn cr_lf_is_one_enter_and_empty_lines_reprint_the_prompt_at_once() {
    let mut sh = shell();
    assert_eq!(typed(&mut sh, "\r\n"), "\r\nr00001>");
    assert_eq!(typed(&mut sh, "\r"), "\r\nr00001>");
    assert_eq!(
        typed(&mut sh, "\n"),
        "",
        "the LF of a CR LF split across reads is not a second Enter"
    );
    assert_eq!(typed(&mut sh, "\n"), "\r\nr00001>");
}

#[test]
fn backspace_erases_a_character() {
    let mut sh = shell();
    let out = typed(&mut sh, "shox\x7fw clock\n");
    assert!(
        out.starts_with("shox\x08 \x08w clock\r\n<think>"),
        "{out:?}"
    );
    // `show clock` is not implemented: the marker points at `clock`.
    let marker = format!("<think>{}^\r\n{INVALID}\r\n\r\nr00001>", " ".repeat(7 + 5));
    assert!(out.ends_with(&marker), "{out:?}");
}

#[test]
fn enable_with_the_right_secret_gives_the_privileged_prompt_without_echo() {
    let mut sh = shell();
    assert_eq!(typed(&mut sh, "enable\n"), "enable\r\n<think>Password: ");
    assert_eq!(typed(&mut sh, "s3cret\n"), "\r\nr00001#");
    assert_eq!(sh.prompt(), "r00001#");
}

#[test]
fn enable_with_a_wrong_secret_is_denied_and_stays_in_user_mode() {
    let mut sh = shell();
    typed(&mut sh, "en\n");
    assert_eq!(
        typed(&mut sh, "nope\n"),
        "\r\n% Access denied\r\n\r\nr00001>"
    );
    assert_eq!(sh.prompt(), "r00001>");
}

#[test]
fn running_config_is_invalid_input_in_user_mode() {
    let mut sh = shell();
    let out = typed(&mut sh, "show running-config\n");
    let caret = format!("{}^", " ".repeat("r00001>show ".len()));
    assert_eq!(
        out,
        format!("show running-config\r\n<think>{caret}\r\n{INVALID}\r\n\r\nr00001>")
    );
}

#[test]
fn unknown_ambiguous_and_incomplete_commands() {
    let mut sh = shell();
    let out = typed(&mut sh, "frobnicate\n");
    assert!(
        out.contains(&format!("<think>{}^\r\n{INVALID}", " ".repeat(7))),
        "{out:?}"
    );
    let out = typed(&mut sh, "e\n");
    assert!(
        out.contains("% Ambiguous command:  \"e\"\r\nr00001>"),
        "{out:?}"
    );
    let out = typed(&mut sh, "show\n");
    assert!(
        out.contains("% Incomplete command.\r\n\r\nr00001>"),
        "{out:?}"
    );
    let out = typed(&mut sh, "terminal length 9999\n");
    assert!(out.contains(INVALID), "{out:?}");
}

#[test]
fn abbreviations_resolve_like_ios() {
    let mut sh = privileged();
    let out = typed(&mut sh, "term len 0\n");
    assert_eq!(out, "term len 0\r\n<think>r00001#");
    let out = typed(&mut sh, "sh ip int br\n");
    assert!(out.contains("Interface              IP-Address"), "{out:?}");
    assert!(out.ends_with("r00001#"), "{out:?}");
    let out = typed(&mut sh, "sh run\n");
    assert!(out.ends_with("end\r\nr00001#"), "{out:?}");
}

#[test]
fn unpaged_running_config_is_exactly_the_generated_text() {
    let mut sh = privileged();
    typed(&mut sh, "terminal length 0\n");
    let out = typed(&mut sh, "show running-config\n");
    let expected = format!(
        "show running-config\r\n<think>{}r00001#",
        running_config("r00001", SEED).replace('\n', "\r\n")
    );
    assert_eq!(out, expected);
}

#[test]
fn paging_pauses_every_23_lines_and_continues_by_page_line_or_stops() {
    let erase = format!("{}{}{}", "\x08".repeat(9), " ".repeat(9), "\x08".repeat(9));
    let config = running_config("r00001", SEED);
    let lines: Vec<&str> = config.lines().collect();
    let mut sh = privileged();

    let first = typed(&mut sh, "show running-config\n");
    let body = first
        .strip_prefix("show running-config\r\n<think>")
        .unwrap();
    assert_eq!(body, format!("{}\r\n --More-- ", lines[..23].join("\r\n")));

    let page = typed(&mut sh, " ");
    assert_eq!(
        page,
        format!("{erase}{}\r\n --More-- ", lines[23..46].join("\r\n"))
    );

    let one = typed(&mut sh, "\r");
    assert_eq!(one, format!("{erase}{}\r\n --More-- ", lines[46]));

    let quit = typed(&mut sh, "q");
    assert_eq!(quit, format!("{erase}r00001#"));
    assert_eq!(
        typed(&mut sh, "\n"),
        "\r\nr00001#",
        "the shell is back at the prompt"
    );
}

#[test]
fn paging_through_everything_reassembles_the_config() {
    let erase = format!("{}{}{}", "\x08".repeat(9), " ".repeat(9), "\x08".repeat(9));
    let mut sh = privileged();
    let mut all = typed(&mut sh, "show running-config\n");
    while all.ends_with(" --More-- ") {
        all.push_str(&typed(&mut sh, " "));
    }
    let all = all.replace(&format!(" --More-- {erase}"), "");
    let expected = format!(
        "show running-config\r\n<think>{}r00001#",
        running_config("r00001", SEED).replace('\n', "\r\n")
    );
    assert_eq!(all, expected);
}

#[test]
fn configuration_mode_and_sub_modes() {
    let mut sh = privileged();
    let out = typed(&mut sh, "configure terminal\n");
    assert!(
        out.ends_with(
            "Enter configuration commands, one per line.  End with CNTL/Z.\r\nr00001(config)#"
        ),
        "{out:?}"
    );
    assert!(typed(&mut sh, "interface GigabitEthernet1/0/1\n").ends_with("r00001(config-if)#"));
    assert!(typed(&mut sh, " description changed\n").ends_with("r00001(config-if)#"));
    assert!(typed(&mut sh, "exit\n").ends_with("r00001(config)#"));
    assert!(typed(&mut sh, "do terminal length 0\n").ends_with("r00001(config)#"));
    let out = typed(&mut sh, "do show ip route\n");
    assert!(out.contains("Gateway of last resort is"), "{out:?}");
    assert!(out.ends_with("r00001(config)#"), "{out:?}");
    let out = typed(&mut sh, "do show bogus\n");
    let marker = format!("{}^", " ".repeat("r00001(config)#do show ".len()));
    assert!(out.contains(&marker), "{out:?}");
    assert_eq!(sh.prompt(), "r00001(config)#");
    assert!(typed(&mut sh, "end\n").ends_with("r00001#"));
    assert!(typed(&mut sh, "conf t\n").ends_with("r00001(config)#"));
    assert!(typed(&mut sh, "\x1a").ends_with("^Z\r\nr00001#"));
    assert!(typed(&mut sh, "conf t\n").ends_with("r00001(config)#"));
    assert!(typed(&mut sh, "exit\n").ends_with("r00001#"));
    assert!(typed(&mut sh, "disable\n").ends_with("r00001>"));
}

#[test]
fn exit_ends_the_session_and_later_input_is_ignored() {
    let mut sh = shell();
    let actions = sh.feed(b"exit\nshow version\n");
    assert_eq!(
        actions,
        vec![
            Action::Send(b"exit\r\n".to_vec()),
            Action::Think,
            Action::Exit
        ]
    );
}

#[test]
fn exec_runs_one_command_privileged_without_echo_or_prompt() {
    let mut sh = shell();
    let expected = running_config("r00001", SEED).replace('\n', "\r\n");
    assert_eq!(
        sh.exec("show running-config"),
        vec![Action::Think, Action::Send(expected.into_bytes())]
    );
}

#[test]
fn drop_mid_output_sends_half_the_config_then_drops() {
    let mut sh = Shell::new(
        "r00001",
        SEED,
        ShellOptions {
            secret: String::new(),
            drop_mid_output: true,
            fault: None,
            drift: Vec::new(),
            ..ShellOptions::default()
        },
    );
    typed(&mut sh, "enable\n");
    assert_eq!(sh.prompt(), "r00001#", "an empty secret needs no password");
    let actions = sh.feed(b"terminal length 0\nshow running-config\nshow version\n");
    assert_eq!(actions.last(), Some(&Action::Drop));
    let out = text(&actions);
    let config = running_config("r00001", SEED);
    let sent = out.split("show running-config\r\n<think>").nth(1).unwrap();
    let sent = sent.strip_suffix("<drop>").unwrap();
    assert_eq!(sent, config[..config.len() / 2].replace('\n', "\r\n"));
}

fn faulty(fault: Fault) -> Shell {
    let mut sh = Shell::new(
        "r00001",
        SEED,
        ShellOptions {
            secret: "s3cret".into(),
            drop_mid_output: false,
            fault: Some(fault),
            drift: Vec::new(),
            ..ShellOptions::default()
        },
    );
    sh.start();
    sh
}

#[test]
fn reject_enable_refuses_the_right_secret() {
    let mut sh = faulty(Fault::RejectEnable);
    assert_eq!(typed(&mut sh, "enable\n"), "enable\r\n<think>Password: ");
    assert_eq!(
        typed(&mut sh, "s3cret\n"),
        "\r\n% Access denied\r\n\r\nr00001>"
    );
    let mut sh = Shell::new(
        "r00001",
        SEED,
        ShellOptions {
            fault: Some(Fault::RejectEnable),
            ..ShellOptions::default()
        },
    );
    typed(&mut sh, "enable\n");
    assert_eq!(sh.prompt(), "r00001>", "even an empty secret is refused");
}

#[test]
fn no_prompt_loses_the_prompt_after_the_first_command() {
    let mut sh = faulty(Fault::NoPrompt);
    assert_eq!(text(&sh.start()).rsplit("\r\n").next(), Some("r00001>"));
    assert_eq!(
        typed(&mut sh, "terminal length 0\n"),
        "terminal length 0\r\n<think>"
    );
    let out = typed(&mut sh, "show version\n");
    assert!(out.ends_with("Configuration register is 0xF\r\n"), "{out}");
    assert!(!typed(&mut sh, "\n\x03").contains("r00001"));
}

#[test]
fn garbage_answers_binary_without_a_prompt() {
    let mut sh = faulty(Fault::Garbage);
    let actions = sh.feed(b"show version\n");
    let bytes: Vec<u8> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let answer = &bytes[b"show version\r\n".len()..];
    assert!(answer.contains(&0) && answer.contains(&0x1b), "{answer:?}");
    assert!(!String::from_utf8_lossy(answer).ends_with("r00001>"));
    assert!(!String::from_utf8_lossy(answer).contains("Cisco IOS"));
}

#[test]
fn huge_streams_tech_support_and_running_config_then_prompts() {
    let mut sh = faulty(Fault::Huge);
    typed(&mut sh, "enable\ns3cret\n");
    for command in ["show tech-support\n", "show running-config\n"] {
        let out = typed(&mut sh, command);
        assert!(
            out.ends_with(&format!(
                "<think><huge {}>r00001#",
                crate::HUGE_OUTPUT_BYTES
            )),
            "{out}"
        );
    }
    let out = typed(&mut sh, "show version\n");
    assert!(
        out.contains("Cisco IOS Software"),
        "other commands stay small"
    );
    assert!(matches!(
        sh.exec("show tech-support")[..],
        [Action::Think, Action::Huge(_)]
    ));
}

#[test]
fn output_modifiers_filter_show_commands() {
    let mut sh = privileged();
    typed(&mut sh, "terminal length 0\n");
    let body = |out: String, line: &str| -> String {
        out.strip_prefix(&format!("{line}\r\n<think>"))
            .and_then(|o| o.strip_suffix("r00001#"))
            .unwrap_or_else(|| panic!("{out:?}"))
            .replace("\r\n", "\n")
    };
    let line = "show running-config | include ^ntp server";
    let out = body(typed(&mut sh, &format!("{line}\n")), line);
    assert_eq!(out, "ntp server 10.0.0.1\nntp server 10.0.0.2\n");

    let config = running_config("r00001", SEED);
    let line = "sh run | sec ^interface Loopback0";
    let out = body(typed(&mut sh, &format!("{line}\n")), line);
    let start = config.find("interface Loopback0\n").unwrap();
    let end = start + config[start..].find("\n!\n").unwrap() + 1;
    assert_eq!(out, config[start..end]);

    let line = "show running-config | count ^interface";
    let out = body(typed(&mut sh, &format!("{line}\n")), line);
    let interfaces = config
        .lines()
        .filter(|l| l.starts_with("interface"))
        .count();
    assert_eq!(
        out,
        format!("Number of lines which match regexp = {interfaces}\n")
    );

    let line = "show running-config | begin ^ntp";
    let out = body(typed(&mut sh, &format!("{line}\n")), line);
    assert_eq!(out, "ntp server 10.0.0.1\nntp server 10.0.0.2\nend\n");

    let line = "show version | exclude e";
    let out = body(typed(&mut sh, &format!("{line}\n")), line);
    assert!(
        !out.is_empty() && out.lines().all(|l| !l.contains('e')),
        "{out}"
    );

    let line = "show ip route | include ^S\\*";
    let out = body(typed(&mut sh, &format!("{line}\n")), line);
    assert!(out.starts_with("S*    0.0.0.0/0 [1/0] via "), "{out}");
    assert_eq!(out.lines().count(), 1);
}

#[test]
fn bad_output_modifiers_are_errors() {
    let mut sh = privileged();
    let out = typed(&mut sh, "show version | grep x\n");
    assert!(
        out.contains(&format!("{}^\r\n{INVALID}", " ".repeat(7 + 15))),
        "{out:?}"
    );
    assert!(typed(&mut sh, "show version | include\n").contains("% Incomplete command."));
    assert!(typed(&mut sh, "show version | include (\n").contains("% Invalid regular expression"));
    let out = typed(&mut sh, "terminal length 0 | include x\n");
    assert!(
        out.contains(INVALID),
        "only show commands take modifiers: {out:?}"
    );
    assert_eq!(
        sh.length, DEFAULT_LENGTH,
        "the rejected command did not run"
    );
}
