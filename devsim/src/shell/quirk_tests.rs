//! The terminal quirks, one by one, as a client sees them on the wire.

use super::*;
use crate::Quirks;
use crate::persona::{PagerErase, session_outputs};

fn shell_with(platform: Platform, quirks: Quirks) -> Shell {
    let mut sh = Shell::new(
        "r00001",
        5,
        ShellOptions {
            secret: "s3cret".into(),
            platform,
            quirks,
            ..ShellOptions::default()
        },
    );
    sh.start();
    sh
}

/// A user-mode session with paging off, as a client has it before its commands.
fn unpaged(platform: Platform, quirks: Quirks) -> Shell {
    let mut sh = shell_with(platform, quirks);
    let paging_off = format!("{}\n", platform.paging_off_command());
    typed(&mut sh, paging_off.as_bytes());
    sh
}

fn quirk(name: &str) -> Quirks {
    let mut quirks = Quirks::default();
    quirks.enable(name).unwrap();
    quirks
}

/// What the device sends for `input`, thinking pauses left out.
fn typed(sh: &mut Shell, input: &[u8]) -> String {
    let mut out = Vec::new();
    for action in sh.feed(input) {
        if let Action::Send(bytes) = action {
            out.extend(bytes);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn del_only_ignores_backspace_and_glues_the_word_to_the_command() {
    let mut sh = unpaged(Platform::CiscoIos, quirk("del-only"));
    // A word "erased" with backspaces stays on the line; the device echoes nothing for them.
    let out = typed(&mut sh, b"xyz\x08\x08\x08show version\n");
    assert!(out.starts_with("xyzshow version\r\n"), "{out:?}");
    assert!(out.contains("% Invalid input"), "{out:?}");
    assert!(!out.contains('\x08'), "{out:?}");
    // DEL erases, repainted the ANSI way.
    let out = typed(&mut sh, b"show versionx\x7f\n");
    assert!(
        out.starts_with("show versionx\x1b[1D\x1b[1P\r\n"),
        "{out:?}"
    );
    assert!(out.contains("Cisco IOS Software"), "{out:?}");
    // The secret's line editor is the same: a backspace is not an erasure.
    typed(&mut sh, b"enable\n");
    assert!(typed(&mut sh, b"s3cretx\x08\n").contains("% Access denied"));
    typed(&mut sh, b"enable\n");
    assert!(typed(&mut sh, b"s3cretx\x7f\n").ends_with("\r\nr00001#"));

    // Without the quirk a backspace erases.
    let mut plain = unpaged(Platform::CiscoIos, Quirks::default());
    let out = typed(&mut plain, b"xyz\x08\x08\x08show version\n");
    assert!(out.contains("Cisco IOS Software"), "{out:?}");
}

#[test]
fn prompt_after_message_puts_the_prompt_on_the_messages_line() {
    // EOS's own words, without their line end.
    let mut eos = shell_with(Platform::AristaEos, quirk("prompt-after-message"));
    assert_eq!(
        typed(&mut eos, b"terminal length 0\n"),
        "terminal length 0\r\nPagination disabled.r00001>"
    );
    assert_eq!(
        typed(&mut eos, b"terminal width 32767\n"),
        "terminal width 32767\r\nWidth set to 32767 columns.r00001>"
    );
    // IOS says nothing to `terminal length`; with the quirk it says EOS's words.
    let mut ios = shell_with(Platform::CiscoIos, quirk("prompt-after-message"));
    assert_eq!(
        typed(&mut ios, b"terminal length 0\n"),
        "terminal length 0\r\nPagination disabled.r00001>"
    );
    typed(&mut ios, b"enable\n");
    typed(&mut ios, b"s3cret\n");
    assert_eq!(
        typed(&mut ios, b"configure terminal\n"),
        "configure terminal\r\nEnter configuration commands, one per line.  End with CNTL/Z.r00001(config)#"
    );
    // Other outputs keep their line ends.
    let out = typed(&mut ios, b"do show version\n");
    assert!(out.ends_with("0xF\r\nr00001(config)#"), "{out:?}");
    // And without the quirk the message ends its line.
    let mut plain = shell_with(Platform::AristaEos, Quirks::default());
    assert_eq!(
        typed(&mut plain, b"terminal length 0\n"),
        "terminal length 0\r\nPagination disabled.\r\nr00001>"
    );
}

/// Every line feed has a carriage return right after it, and every carriage return one before.
fn every_lf_then_cr(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'\n' => bytes.get(i + 1) == Some(&b'\r'),
        b'\r' => i > 0 && bytes[i - 1] == b'\n',
        _ => true,
    })
}

#[test]
fn lf_cr_sends_every_line_end_backwards() {
    let mut sh = unpaged(Platform::CiscoIos, quirk("lf-cr"));
    let out = typed(&mut sh, b"show version\n");
    assert!(out.starts_with("show version\n\r"), "{out:?}");
    assert!(out.ends_with("\n\rr00001>"), "{out:?}");
    assert!(every_lf_then_cr(out.as_bytes()), "{out:?}");
    // The same text, line ends aside.
    let mut plain = unpaged(Platform::CiscoIos, Quirks::default());
    assert_eq!(
        out.replace("\n\r", "\n"),
        typed(&mut plain, b"show version\n").replace("\r\n", "\n")
    );
    // The login too.
    let mut login = Shell::new(
        "r00001",
        5,
        ShellOptions {
            quirks: quirk("lf-cr"),
            ..ShellOptions::default()
        },
    );
    let Action::Send(bytes) = &login.start()[0] else {
        panic!("login sends");
    };
    assert!(bytes.ends_with(b"\n\r\n\rr00001>"), "{bytes:?}");
    assert!(every_lf_then_cr(bytes), "{bytes:?}");
}

#[test]
fn ansi_prompt_paints_prompts_and_repaints_the_command_line() {
    let mut login = Shell::new(
        "r00001",
        5,
        ShellOptions {
            quirks: quirk("ansi-prompt"),
            ..ShellOptions::default()
        },
    );
    let Action::Send(bytes) = &login.start()[0] else {
        panic!("login sends");
    };
    assert!(
        bytes.ends_with(b"\r\n\r\n\r\x1b[K\x1b[1mr00001>\x1b[0m"),
        "{bytes:?}"
    );
    typed(&mut login, b"terminal length 0\n");
    let out = typed(&mut login, b"show version\n");
    // The echo, then the whole line repainted, then the line end.
    assert!(
        out.starts_with("show version\r\x1b[K\x1b[1mr00001>\x1b[0mshow version\r\n"),
        "{out:?}"
    );
    assert!(
        out.ends_with("\r\n\r\x1b[K\x1b[1mr00001>\x1b[0m"),
        "{out:?}"
    );
    // Junos paints only the prompt's last line, after `[edit]`.
    let mut junos = shell_with(Platform::JuniperJunos, quirk("ansi-prompt"));
    let out = typed(&mut junos, b"configure\n");
    assert!(
        out.ends_with("[edit]\r\n\r\x1b[K\x1b[1madmin@r00001# \x1b[0m"),
        "{out:?}"
    );
    // After a message on the same line the prompt does not erase the message.
    let mut both = shell_with(
        Platform::AristaEos,
        quirk("ansi-prompt").union(quirk("prompt-after-message")),
    );
    let out = typed(&mut both, b"terminal length 0\n");
    assert!(
        out.ends_with("\r\nPagination disabled.\x1b[1mr00001>\x1b[0m"),
        "{out:?}"
    );
}

#[test]
fn each_pager_rubs_its_marker_out_its_own_way() {
    assert_eq!(
        PagerErase::Backspaces.bytes(" --More-- "),
        b"\x08\x08\x08\x08\x08\x08\x08\x08\x08         \x08\x08\x08\x08\x08\x08\x08\x08\x08"
    );
    assert_eq!(
        PagerErase::CarriageReturn.bytes("<--- More --->"),
        b"\r              \r"
    );
    let huawei = PagerErase::CursorLeft(42).bytes("  ---- More ----");
    assert_eq!(
        huawei,
        format!("\x1b[42D{}\x1b[42D", " ".repeat(42)).into_bytes()
    );
    assert_eq!(PagerErase::EraseLine.bytes("-- MORE --"), b"\r\x1b[2K");
}

#[test]
fn presentation_quirks_leave_the_collected_outputs_alone() {
    let commands = ["terminal length 0", "show version", "configure terminal"];
    for platform in Platform::ALL {
        let plain = session_outputs(platform, Quirks::default(), "r00001", 5, &commands);
        for name in ["del-only", "lf-cr", "ansi-prompt", "split-writes"] {
            assert_eq!(
                session_outputs(platform, quirk(name), "r00001", 5, &commands),
                plain,
                "{platform} {name}"
            );
        }
    }
}
