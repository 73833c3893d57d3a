//! fanout's own diff for platforms without a candidate (IOS): which rendered lines the running
//! configuration already has, which it lacks and which `no` lines remove something. It knows
//! IOS's block structure (a line indented under `vlan 42` or typed after it belongs to it) and
//! nothing of each command's meaning, so it is labelled as fanout's, not the device's.

/// Words that open a configuration block whose following lines belong to it.
const BLOCKS: [&str; 7] = [
    "interface",
    "vlan",
    "router",
    "line",
    "ip access-list",
    "policy-map",
    "class-map",
];

fn opens_block(line: &str) -> bool {
    BLOCKS.iter().any(|b| line.starts_with(b))
}

/// Each line with the block it sits in (`None` at the top level), as it appears in a running
/// configuration: indentation decides.
fn running_paths(config: &str) -> Vec<(Option<String>, String)> {
    let mut parent: Option<String> = None;
    let mut out = Vec::new();
    for raw in config.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('!') {
            continue;
        }
        if raw.starts_with(' ') {
            out.push((parent.clone(), line.to_string()));
        } else {
            parent = Some(line.to_string());
            out.push((None, line.to_string()));
        }
    }
    out
}

/// The diff, one line per rendered line: `+` added, `-` removed (`no ...` of a line present),
/// ` ` already there (or nothing to remove).
pub fn computed(running: &str, rendered: &[String]) -> String {
    let have = running_paths(running);
    let present = |parent: &Option<String>, line: &str| {
        have.iter()
            .any(|(p, l)| p.as_deref() == parent.as_deref() && l == line)
    };
    let mut out = String::from(
        "(computed by fanout against the running configuration: this platform has no candidate to ask)\n",
    );
    let mut parent: Option<String> = None;
    for raw in rendered {
        let line = raw.trim();
        if line == "exit" || line == "end" || line == "!" {
            parent = None;
            continue;
        }
        let indented = raw.starts_with(' ');
        let context = if opens_block(line) {
            parent = Some(line.to_string());
            None
        } else if indented || parent.is_some() {
            parent.clone()
        } else {
            None
        };
        let mark = match line.strip_prefix("no ") {
            Some(negated) if present(&context, negated) => '-',
            Some(_) => ' ',
            None if present(&context, line) => ' ',
            None => '+',
        };
        let shown = match line.strip_prefix("no ") {
            Some(negated) if mark == '-' => negated,
            _ => line,
        };
        let indent = if context.is_some() { " " } else { "" };
        out.push_str(&format!("{mark} {indent}{shown}\n"));
    }
    out
}

/// Whether a diff from [`computed`] or a device changes anything.
pub fn changes_something(diff: &str) -> bool {
    diff.lines()
        .any(|l| l.starts_with('+') || l.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: &str = "!\nvlan 10\n name USERS\n!\ninterface Gi1/0/1\n description desk\n!\nntp server 10.0.0.1\nend\n";

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn new_lines_are_added_present_ones_kept_and_no_lines_remove() {
        let diff = computed(
            RUNNING,
            &lines(&[
                "vlan 10",
                " name USERS",
                "vlan 42",
                " name NEW",
                "exit",
                "no ntp server 10.0.0.1",
                "no ntp server 10.9.9.9",
            ]),
        );
        let body: Vec<&str> = diff.lines().skip(1).collect();
        assert_eq!(
            body,
            [
                "  vlan 10",
                "   name USERS",
                "+ vlan 42",
                "+  name NEW",
                "- ntp server 10.0.0.1",
                "  no ntp server 10.9.9.9",
            ]
        );
        assert!(diff.starts_with("(computed by fanout"));
        assert!(changes_something(&diff));
        assert!(!changes_something(&computed(RUNNING, &lines(&["vlan 10"]))));
    }
}
