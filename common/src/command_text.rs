//! What may be typed to a device as one command.
//!
//! A command is sent as one line followed by the line end the platform wants. A line break
//! inside it would make the device run what follows as a second command (`-c $'show
//! version\nreload'`), a `\r` does the same on most CLIs, a tab asks for completion, and
//! Ctrl-C (`\x03`) or Ctrl-Z (`\x1a`) abort or leave a mode. None of that can be meant by
//! someone who wrote one command, so every control character is bad input, refused before any
//! connection, wherever the command comes from (`-c`, a rules file, a monitor checks file).

/// Why a command cannot be typed to a device as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandTextError {
    /// Nothing but blanks.
    #[error("is empty")]
    Empty,
    /// A control character, which the device would act on as a keystroke.
    #[error(
        "contains {} at character {position}, which a device would take as a keystroke, \
         not as part of the command",
        describe(*.character)
    )]
    Control {
        /// The offending character.
        character: char,
        /// Its 1-based position among the command's characters.
        position: usize,
    },
}

/// Checks that `command` is one line of printable text.
pub fn check_command(command: &str) -> Result<(), CommandTextError> {
    if command.trim().is_empty() {
        return Err(CommandTextError::Empty);
    }
    match command.chars().enumerate().find(|(_, c)| is_control(*c)) {
        Some((at, character)) => Err(CommandTextError::Control {
            character,
            position: at + 1,
        }),
        None => Ok(()),
    }
}

/// C0 controls (line breaks, tabs and ESC among them), DEL and the C1 controls.
fn is_control(c: char) -> bool {
    c.is_control()
}

/// How a message names a control character: what it is, and how it would be typed.
fn describe(c: char) -> String {
    match c {
        '\n' => "a line break (\\n)".to_string(),
        '\r' => "a carriage return (\\r)".to_string(),
        '\t' => "a tab (\\t)".to_string(),
        '\x1b' => "an escape character (\\x1b)".to_string(),
        c if (c as u32) < 0x20 => {
            let letter = char::from(b'@' + c as u8);
            format!("a control character (\\x{:02x}, Ctrl-{letter})", c as u32)
        }
        c => format!("a control character (U+{:04X})", c as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_commands_pass() {
        for command in [
            "show version",
            "show ip route | include 0.0.0.0",
            "show run | section interface Gi1/0/1",
            "display current-configuration | include sysname",
            "show interfaces description | include \"uplink\"",
            "show clock détaillé",
        ] {
            assert_eq!(check_command(command), Ok(()), "{command}");
        }
    }

    #[test]
    fn every_keystroke_character_is_refused_where_it_is() {
        for (command, character, position) in [
            ("echo first\nreload", '\n', 11),
            ("show version\r", '\r', 13),
            ("show\tversion", '\t', 5),
            ("show run\x03", '\x03', 9),
            ("conf t\x1a", '\x1a', 7),
            ("\x1b[2Jshow", '\x1b', 1),
            ("show\x7f", '\x7f', 5),
            ("show\u{9b}", '\u{9b}', 5),
        ] {
            assert_eq!(
                check_command(command),
                Err(CommandTextError::Control {
                    character,
                    position
                }),
                "{command:?}"
            );
        }
        assert_eq!(check_command("  "), Err(CommandTextError::Empty));
    }

    #[test]
    fn messages_name_the_character_the_way_it_is_typed() {
        let message = |c: &str| check_command(c).unwrap_err().to_string();
        assert!(message("a\nb").contains("a line break (\\n) at character 2"));
        assert!(message("a\x03").contains("(\\x03, Ctrl-C)"));
        assert!(message("a\x1a").contains("(\\x1a, Ctrl-Z)"));
        assert!(message("a\u{85}").contains("(U+0085)"));
        // The message itself carries no control character.
        assert!(!message("a\x1b").chars().any(char::is_control));
    }
}
