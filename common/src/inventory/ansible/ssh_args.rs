//! The jump host in `ansible_ssh_common_args` / `ansible_ssh_extra_args`, the options Ansible
//! passes to OpenSSH: `-J spec`, `-o ProxyJump=spec`, or a `ProxyCommand` that is OpenSSH
//! itself forwarding (`ssh -W %h:%p [-p PORT] [user@]bastion`), the form Ansible's own
//! documentation shows. Other options are OpenSSH's business and stay data; a jump fanout
//! cannot follow is bad input, since going straight to the device instead would reach it
//! (or fail to) by another path than the inventory says.

/// The jump host (`[user@]host[:port]`) that `args` name; `None` when they name none.
pub(super) fn jump_host(args: &str) -> Result<Option<String>, String> {
    let words = shlex::split(args).ok_or_else(|| format!("unbalanced quotes in {args:?}"))?;
    let mut jump = None;
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let mut value = |flag: &str| -> Result<String, String> {
            match word.strip_prefix(flag).filter(|rest| !rest.is_empty()) {
                Some(rest) => Ok(rest.to_string()),
                None => words
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} without a value in {args:?}")),
            }
        };
        if word.starts_with("-J") {
            jump = one_hop(&value("-J")?)?;
        } else if word.starts_with("-o") {
            let option = value("-o")?;
            let (key, setting) = option
                .split_once(['=', ' '])
                .map(|(k, v)| (k.trim(), v.trim()))
                .unwrap_or((option.as_str(), ""));
            if key.eq_ignore_ascii_case("ProxyJump") {
                jump = one_hop(setting)?;
            } else if key.eq_ignore_ascii_case("ProxyCommand") {
                jump = proxy_command(setting)?;
            }
        }
    }
    Ok(jump)
}

/// A ProxyJump value: one hop, or `none`.
fn one_hop(spec: &str) -> Result<Option<String>, String> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    if spec.contains(',') {
        return Err(format!(
            "ProxyJump {spec:?} chains several jump hosts; fanout goes through one"
        ));
    }
    let spec = spec.strip_prefix("ssh://").unwrap_or(spec);
    if spec.is_empty() {
        return Err("an empty ProxyJump".to_string());
    }
    Ok(Some(spec.to_string()))
}

/// The bastion of `ssh -W %h:%p [options] [user@]host`; anything else is refused.
fn proxy_command(command: &str) -> Result<Option<String>, String> {
    if command.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let cannot = || {
        format!(
            "ProxyCommand {command:?} is not `ssh -W %h:%p [-p PORT] [user@]host`, the one \
             form fanout follows (as its jump_host); fanout runs no proxy commands"
        )
    };
    let words = shlex::split(command).ok_or_else(cannot)?;
    let Some((program, rest)) = words.split_first() else {
        return Err(cannot());
    };
    if program != "ssh" && !program.ends_with("/ssh") {
        return Err(cannot());
    }
    let (mut forwards, mut port, mut user, mut host) = (false, None, None, None);
    let mut rest = rest.iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-W" => forwards = rest.next().map(String::as_str) == Some("%h:%p"),
            "-p" => port = rest.next().cloned(),
            "-l" => user = rest.next().cloned(),
            // Options for the bastion's own connection, which fanout makes with its own
            // settings (host keys verified as for devices): skipped.
            "-o" => {
                rest.next();
            }
            "-q" | "-T" | "-A" | "-a" | "-x" | "-4" | "-6" | "-C" | "-n" | "-N" | "-v" => {}
            word if !word.starts_with('-') && host.is_none() => host = Some(word.to_string()),
            _ => return Err(cannot()),
        }
    }
    let (true, Some(host)) = (forwards, host) else {
        return Err(cannot());
    };
    let host = match user {
        Some(user) if !host.contains('@') => format!("{user}@{host}"),
        _ => host,
    };
    Ok(Some(match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssh_jump_options_become_the_jump_host() {
        let cases = [
            ("-J admin@bastion", Some("admin@bastion")),
            ("-Jbastion:2222", Some("bastion:2222")),
            ("-o ProxyJump=ops@10.0.0.9", Some("ops@10.0.0.9")),
            ("-o 'ProxyJump bastion'", Some("bastion")),
            ("-oProxyJump=none", None),
            (
                "-o StrictHostKeyChecking=no -o ProxyCommand=\"ssh -W %h:%p -q admin@bastion\"",
                Some("admin@bastion"),
            ),
            (
                "-o ProxyCommand='ssh -q -p 2222 -l ops -W %h:%p bastion.example'",
                Some("ops@bastion.example:2222"),
            ),
            ("-o ControlMaster=auto -o ControlPersist=60s", None),
            ("", None),
        ];
        for (args, expected) in cases {
            assert_eq!(jump_host(args).unwrap().as_deref(), expected, "{args}");
        }
    }

    #[test]
    fn jumps_fanout_cannot_follow_are_refused() {
        for (args, why) in [
            ("-J a,b", "chains several"),
            (
                "-o ProxyCommand='nc -X 5 -x proxy:1080 %h %p'",
                "runs no proxy commands",
            ),
            (
                "-o ProxyCommand='ssh bastion nc %h %p'",
                "runs no proxy commands",
            ),
            (
                "-o ProxyCommand='ssh -W %h:%p -i key bastion'",
                "runs no proxy commands",
            ),
            ("-J", "without a value"),
            ("-o 'ProxyJump", "unbalanced quotes"),
        ] {
            let e = jump_host(args).unwrap_err();
            assert!(e.contains(why), "{args}: {e}");
        }
    }
}
