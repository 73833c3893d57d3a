//! deploy/ and the README's "Scaling across hosts" checked against the real binaries, so they
//! cannot drift from what fanout accepts: every flag they pass to `fanout SUBCOMMAND`,
//! `fanout-worker` or `fanout-devsim` is in that command's `--help`; every FANOUT_* variable
//! they set is some command's `[env: ...]`; every certificate file they name is one
//! `fanout certs` writes; every YAML file parses. The systemd units pass systemd's own checks,
//! and a coordinator and a worker started from nothing but the example environment files work.
//!
//! Flags are read from systemd `Exec*=` lines, from container `entrypoint`/`command`/`args` in
//! the YAML files (the image's entrypoint is `fanout`), and from command lines in Markdown code
//! blocks. The Dockerfile only builds and names binaries, so only its variables are checked.

use fanout_tests::binary;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Read by the log filter, not by clap, so no `--help` lists it; the READMEs document it.
const NOT_A_FLAG_VARIABLE: &[&str] = &["FANOUT_LOG"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// A file to check: its name for messages, and the text that counts.
struct Source {
    name: String,
    path: PathBuf,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = repo();
    let mut files = Vec::new();
    collect_files(&root.join("deploy"), &mut files);
    files.sort();
    let mut sources: Vec<Source> = files
        .into_iter()
        .map(|path| Source {
            name: path.strip_prefix(&root).unwrap().display().to_string(),
            text: std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            path,
        })
        .collect();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme_section(&readme, "## Scaling across hosts")
        .expect("README.md has a section \"Scaling across hosts\"");
    sources.push(Source {
        name: "README.md (Scaling across hosts)".into(),
        path: root.join("README.md"),
        text: section.to_string(),
    });
    sources
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, into);
        } else {
            into.push(path);
        }
    }
}

/// From `heading` up to the next heading of the same level.
fn readme_section<'a>(readme: &'a str, heading: &str) -> Option<&'a str> {
    let start = readme.find(&format!("\n{heading}\n"))? + 1;
    let rest = &readme[start + heading.len()..];
    let end = rest
        .find("\n## ")
        .map_or(readme.len(), |i| start + heading.len() + i);
    Some(&readme[start..end])
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// The command lines in a file, as words.
fn command_lines(source: &Source) -> Vec<Vec<String>> {
    let name = file_name(&source.path);
    if name.ends_with(".service") {
        source
            .text
            .lines()
            .filter_map(|line| line.trim().strip_prefix("Exec"))
            .filter_map(|line| line.split_once('='))
            .map(|(_, command)| words(command.trim_start_matches(['-', '@', '+', '!', ':'])))
            .collect()
    } else if name.ends_with(".yaml") || name.ends_with(".yml") {
        let mut lines = Vec::new();
        for document in yaml_documents(&source.text) {
            container_commands(&document.unwrap_or_default(), &mut lines);
        }
        lines
    } else if name.ends_with(".md") {
        markdown_commands(&source.text)
    } else {
        Vec::new()
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(['"', '\'', '`']).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Each `---`-separated document of a YAML file.
fn yaml_documents(text: &str) -> Vec<Result<serde_yaml_ng::Value, serde_yaml_ng::Error>> {
    let mut documents = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            documents.push(String::new());
        } else {
            let current = documents.last_mut().unwrap();
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
        .iter()
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
        })
        .map(|d| serde_yaml_ng::from_str(d))
        .collect()
}

/// Every mapping with `entrypoint`, `command` or `args` (a compose service, a Kubernetes
/// container) is one command line, in that order. Without a program of its own, the image's
/// entrypoint `fanout` runs it.
fn container_commands(value: &serde_yaml_ng::Value, into: &mut Vec<Vec<String>>) {
    use serde_yaml_ng::Value;
    match value {
        Value::Mapping(map) => {
            let mut line = Vec::new();
            for key in ["entrypoint", "command", "args"] {
                match map.get(key) {
                    Some(Value::String(text)) => line.extend(words(text)),
                    Some(Value::Sequence(items)) => {
                        for item in items {
                            if let Some(text) = item.as_str() {
                                line.extend(words(text));
                            }
                        }
                    }
                    _ => {}
                }
            }
            if map.contains_key("image") && !line.is_empty() && !is_program(&line[0]) {
                line.insert(0, "fanout".into());
            }
            if !line.is_empty() {
                into.push(line);
            }
            for (_, child) in map {
                container_commands(child, into);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| container_commands(i, into)),
        Value::Tagged(tagged) => container_commands(&tagged.value, into),
        _ => {}
    }
}

fn is_program(word: &str) -> bool {
    word.contains('/') || word.starts_with("fanout") || word == "sh"
}

/// Lines of fenced code blocks, with `\` continuations joined.
fn markdown_commands(text: &str) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    let mut in_code = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        match line.trim_end().strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => {
                pending.push_str(line);
                lines.push(words(&pending));
                pending.clear();
            }
        }
    }
    lines
}

/// One run of a fanout binary found in a command line.
#[derive(Debug)]
struct Invocation {
    /// `["fanout", "serve"]`, `["fanout-worker"]`.
    program: Vec<String>,
    flags: Vec<String>,
}

/// The fanout programs in a command line and the flags each is given. A program counts only
/// where a command starts (first word, or after `&&`, `||`, `;`, `|`), so `kubectl -n fanout`
/// or `install fanout fanout-worker /usr/local/bin` are not taken for one.
fn invocations(line: &[String]) -> Vec<Invocation> {
    let mut found: Vec<Invocation> = Vec::new();
    let mut current: Option<Invocation> = None;
    let mut command_starts = true;
    let mut i = 0;
    while i < line.len() {
        let word = line[i].as_str();
        let base = word.rsplit('/').next().unwrap_or(word);
        if ["&&", "||", ";", "|"].contains(&word) || word.starts_with('#') {
            found.extend(current.take());
            command_starts = !word.starts_with('#');
            if word.starts_with('#') {
                break;
            }
        } else if command_starts && base == "fanout" {
            let sub = line
                .get(i + 1)
                .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            if let Some(sub) = sub {
                current = Some(Invocation {
                    program: vec!["fanout".into(), sub.clone()],
                    flags: Vec::new(),
                });
                i += 1;
            }
            command_starts = false;
        } else if command_starts && (base == "fanout-worker" || base == "fanout-devsim") {
            current = Some(Invocation {
                program: vec![base.into()],
                flags: Vec::new(),
            });
            command_starts = false;
        } else {
            command_starts = false;
            if let (Some(invocation), Some(flag)) = (current.as_mut(), word.strip_prefix("--")) {
                let flag = flag.split('=').next().unwrap_or(flag);
                if !flag.is_empty() {
                    invocation.flags.push(format!("--{flag}"));
                }
            }
        }
        i += 1;
    }
    found.extend(current);
    found
}

/// `--help` of a program, or why there is none.
fn help(program: &[String]) -> Result<String, String> {
    let out = Command::new(binary(&program[0]))
        .args(&program[1..])
        .arg("--help")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or("")
            .to_string())
    }
}

fn help_words(help: &str) -> BTreeSet<&str> {
    help.split(|c: char| c.is_whitespace() || "[]<>=,".contains(c))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The subcommands `fanout --help` lists.
fn fanout_subcommands() -> Vec<String> {
    let help = help(&["fanout".into()]).unwrap();
    let commands = help
        .split("Commands:")
        .nth(1)
        .expect("fanout --help lists its commands");
    commands
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

#[test]
fn every_flag_in_deploy_and_the_readme_is_one_the_binaries_take() {
    let mut helps: BTreeMap<Vec<String>, Result<String, String>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for source in sources() {
        for line in command_lines(&source) {
            for invocation in invocations(&line) {
                let program = invocation.program.join(" ");
                let help = helps
                    .entry(invocation.program.clone())
                    .or_insert_with(|| help(&invocation.program));
                let help = match help {
                    Ok(help) => help,
                    Err(why) => {
                        problems.push(format!("{}: `{program}` does not run: {why}", source.name));
                        continue;
                    }
                };
                let known = help_words(help);
                for flag in &invocation.flags {
                    checked += 1;
                    if !known.contains(flag.as_str()) {
                        problems.push(format!("{}: `{program}` has no {flag}", source.name));
                    }
                }
            }
        }
    }
    problems.dedup();
    assert!(
        problems.is_empty(),
        "deploy files use flags the binaries lack:\n{}",
        problems.join("\n")
    );
    assert!(
        checked > 30,
        "only {checked} flags found: is the parsing broken?"
    );
}

#[test]
fn every_fanout_variable_in_deploy_and_the_readme_is_a_flag_s_environment_form() {
    let mut programs: Vec<Vec<String>> = fanout_subcommands()
        .into_iter()
        .map(|sub| vec!["fanout".to_string(), sub])
        .collect();
    programs.push(vec!["fanout-worker".into()]);
    programs.push(vec!["fanout-devsim".into()]);
    let helps: Vec<String> = programs.iter().filter_map(|p| help(p).ok()).collect();
    let declared = |name: &str| {
        helps
            .iter()
            .any(|h| h.contains(&format!("env: {name}=")) || h.contains(&format!("env: {name}]")))
    };

    let mut problems = BTreeSet::new();
    let mut seen = 0;
    for source in sources() {
        for name in fanout_variables(&source.text) {
            seen += 1;
            if !declared(&name) && !NOT_A_FLAG_VARIABLE.contains(&name.as_str()) {
                problems.insert(format!("{}: {name} is no flag's [env: ...]", source.name));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "deploy files set variables fanout ignores:\n{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(
        seen > 10,
        "only {seen} variables found: is the scan broken?"
    );
}

fn fanout_variables(text: &str) -> BTreeSet<String> {
    text.match_indices("FANOUT_")
        .filter(|(at, _)| {
            // Not the tail of a longer name (MY_FANOUT_X).
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| name.len() > "FANOUT_".len())
        .collect()
}

#[test]
fn every_certificate_file_named_is_one_fanout_certs_writes() {
    let mut named: BTreeMap<String, String> = BTreeMap::new();
    for source in sources() {
        for piece in source
            .text
            .split(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
        {
            if piece.ends_with(".pem") && piece.len() > 4 && !piece.starts_with('.') {
                named
                    .entry(piece.to_string())
                    .or_insert(source.name.clone());
            }
        }
    }
    assert!(named.contains_key("coordinator-key.pem"), "{named:?}");
    let clients: BTreeSet<&str> = named
        .keys()
        .filter_map(|f| f.strip_prefix("client-"))
        .map(|f| {
            f.strip_suffix("-key.pem")
                .or_else(|| f.strip_suffix(".pem"))
                .unwrap()
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let mut certs = Command::new(binary("fanout"));
    certs.args([
        "certs",
        "--dir",
        pki.to_str().unwrap(),
        "--name",
        "coord.example.net",
    ]);
    for client in &clients {
        certs.args(["--client", client]);
    }
    let out = certs.output().unwrap();
    assert!(
        out.status.success(),
        "fanout certs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let missing: Vec<String> = named
        .iter()
        .filter(|(file, _)| !pki.join(file).exists())
        .map(|(file, source)| format!("{source}: {file}"))
        .collect();
    assert!(
        missing.is_empty(),
        "named, but `fanout certs` writes no such file:\n{}",
        missing.join("\n")
    );
}

#[test]
fn yaml_files_parse_and_the_coordinator_never_runs_twice_on_one_state() {
    let mut deployments = BTreeMap::new();
    for source in sources() {
        let name = file_name(&source.path);
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        for (index, document) in yaml_documents(&source.text).into_iter().enumerate() {
            let document =
                document.unwrap_or_else(|e| panic!("{} document {}: {e}", source.name, index + 1));
            if document["kind"].as_str() == Some("Deployment") {
                let name = document["metadata"]["name"].as_str().unwrap().to_string();
                deployments.insert(name, document);
            }
        }
    }
    let coordinator = &deployments["fanout-coordinator"];
    assert_eq!(coordinator["spec"]["replicas"].as_u64(), Some(1));
    assert_eq!(
        coordinator["spec"]["strategy"]["type"].as_str(),
        Some("Recreate"),
        "a rolling update would start a second coordinator on the same state"
    );
    let worker = &deployments["fanout-worker"];
    assert!(worker["spec"]["replicas"].as_u64().is_some_and(|n| n >= 2));
}

#[test]
fn the_invocation_reader_finds_programs_only_where_commands_start() {
    let line = words(
        "test -e /pki/ca.pem || fanout certs --dir /pki --name=coord && \
         /usr/local/bin/fanout-worker --labels site=a # --not-this",
    );
    let found = invocations(&line);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].program, ["fanout", "certs"]);
    assert_eq!(found[0].flags, ["--dir", "--name"]);
    assert_eq!(found[1].program, ["fanout-worker"]);
    assert_eq!(found[1].flags, ["--labels"]);

    for not_fanout in [
        "kubectl -n fanout create secret generic x --from-file=a",
        "install -m 0755 fanout fanout-worker /usr/local/bin/",
        "docker run --entrypoint fanout-worker img --coordinator x",
    ] {
        assert!(invocations(&words(not_fanout)).is_empty(), "{not_fanout}");
    }
}

/// systemd's own checkers on the units: `verify` (unknown or misspelt settings, which systemd
/// would only warn about and ignore) and the offline security review, which must stay at 2.0
/// or below. verify insists that ExecStart and EnvironmentFile exist, so a copy points them at
/// the built binaries and at the example environment files.
#[test]
fn systemd_accepts_the_units_and_rates_their_sandbox_ok() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        fanout_tests::cannot_run("systemd-analyze is not installed (apt-get install systemd)");
        return;
    }
    let systemd = repo().join("deploy/systemd");
    let dir = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for unit in ["fanout-coordinator.service", "fanout-worker.service"] {
        let text = std::fs::read_to_string(systemd.join(unit)).unwrap();
        assert!(text.contains("/usr/local/bin/") && text.contains("/etc/fanout/"));
        let text = text
            .replace(
                "/usr/local/bin/fanout-worker",
                binary("fanout-worker").to_str().unwrap(),
            )
            .replace("/usr/local/bin/fanout", binary("fanout").to_str().unwrap())
            .replace("/etc/fanout/", &format!("{}/", systemd.display()));
        let path = dir.path().join(unit);
        std::fs::write(&path, text).unwrap();
        units.push(path);
    }

    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&units)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify:\n{said}"
    );

    for unit in &units {
        let review = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--threshold=20"])
            .arg(unit)
            .output()
            .unwrap();
        let summary = String::from_utf8_lossy(&review.stdout);
        assert!(
            review.status.success(),
            "{}: exposure above 2.0:\n{}",
            unit.display(),
            summary.lines().last().unwrap_or("")
        );
    }
}

/// `KEY=VALUE` lines of an environment file, as systemd reads them (comments skipped), with
/// /etc/fanout/ moved to `etc`.
fn environment_file(name: &str, etc: &Path) -> Vec<(String, String)> {
    let path = repo().join("deploy/systemd").join(name);
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (key, value) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{name}: not KEY=VALUE: {l}"));
            let value = value.replace("/etc/fanout/", &format!("{}/", etc.display()));
            (key.to_string(), value)
        })
        .collect()
}

/// The values in the example environment files work, not only their names: a coordinator
/// started from coordinator.env (moved to loopback) and a worker started from worker.env with
/// no flags at all, as the units run them, attach over TLS with the token, and the worker
/// carries the file's labels and concurrency.
#[tokio::test]
async fn the_systemd_environment_files_start_a_coordinator_and_a_labelled_worker() {
    use fanout_tests::daemon::{Daemon, address_in};
    use std::time::Duration;
    const BOOT: Duration = Duration::from_secs(20);

    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let made = Command::new(binary("fanout"))
        .args(["certs", "--dir", etc.to_str().unwrap()])
        .args(["--name", "coord.example.net", "--ip", "127.0.0.1"])
        .output()
        .unwrap();
    assert!(made.status.success());

    let mut serve = tokio::process::Command::new(binary("fanout"));
    serve.args([
        "serve",
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
    ]);
    for (key, value) in environment_file("coordinator.env", &etc) {
        // Tests listen on loopback only; every other setting is the file's.
        let value = match key.as_str() {
            "FANOUT_LISTEN" | "FANOUT_METRICS_LISTEN" => "127.0.0.1:0".to_string(),
            _ => value,
        };
        serve.env(key, value);
    }
    let serve = Daemon::spawn("fanout serve", serve);
    let grpc = address_in(&serve.wait_for_line("serving on https://", BOOT).await);
    let metrics: std::net::SocketAddr = address_in(&serve.wait_for_line("metrics on", BOOT).await)
        .parse()
        .unwrap();

    let worker_env = environment_file("worker.env", &etc);
    let setting = |name: &str| {
        worker_env
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("worker.env sets {name}"))
    };
    let mut worker = tokio::process::Command::new(binary("fanout-worker"));
    for (key, value) in worker_env.clone() {
        let value = match key.as_str() {
            "FANOUT_COORDINATOR" => {
                // The file names the coordinator by its DNS name; here it is on loopback.
                worker.env("FANOUT_TLS_SERVER_NAME", "coord.example.net");
                format!("https://{grpc}")
            }
            _ => value,
        };
        worker.env(key, value);
    }
    let worker = Daemon::spawn("fanout-worker", worker);

    let ca = etc.join("ca.pem");
    let token = etc.join("token");
    let client = [
        "workers",
        "--json",
        "--coordinator",
        &format!("https://{grpc}"),
        "--ca-cert",
        ca.to_str().unwrap(),
        "--token-file",
        token.to_str().unwrap(),
    ];
    let until = tokio::time::Instant::now() + BOOT;
    let attached = loop {
        let listed = fanout_tests::fanout(&client, BOOT).await;
        assert_eq!(listed.code, Some(0), "fanout workers: {}", listed.stderr);
        let workers: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
        if let Some(first) = workers.as_array().and_then(|w| w.first()) {
            break first.clone();
        }
        assert!(
            tokio::time::Instant::now() < until,
            "no worker attached; coordinator said:\n{}\nworker said:\n{}",
            serve.output(),
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (label, value) = setting("FANOUT_LABELS")
        .split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .unwrap();
    assert_eq!(attached["labels"][&label], value.as_str(), "{attached}");
    let concurrency: u64 = setting("FANOUT_CONCURRENCY").parse().unwrap();
    assert_eq!(attached["concurrency"], concurrency, "{attached}");
    let (status, body) = fanout_tests::http(metrics, "GET", "/healthz", "").await;
    assert_eq!(status, 200, "{body}");
}

/// The word after `flag` in a command line, if the flag is there.
fn value_of<'a>(line: &'a [String], flag: &str) -> Option<&'a str> {
    let at = line.iter().position(|w| w == flag)?;
    line.get(at + 1).map(String::as_str)
}

/// `FANOUT_TOKEN_FILE` of the containers that run `fanout-worker`, with the environment a YAML
/// merge key (`<<: *worker`) brings in.
fn worker_token_settings(value: &serde_yaml_ng::Value, into: &mut Vec<String>) {
    use serde_yaml_ng::Value;
    match value {
        Value::Mapping(map) => {
            let runs_worker = ["entrypoint", "command"].iter().any(|key| {
                serde_yaml_ng::to_string(&map.get(*key).cloned().unwrap_or(Value::Null))
                    .unwrap()
                    .contains("fanout-worker")
            });
            if runs_worker {
                let environment = map.get("environment").cloned().unwrap_or(Value::Null);
                let merged = environment.get("<<").cloned().unwrap_or(Value::Null);
                for env in [&environment, &merged] {
                    if let Some(file) = env.get("FANOUT_TOKEN_FILE").and_then(Value::as_str) {
                        into.push(file.to_string());
                    }
                    // Kubernetes: env is a list of {name, value}.
                    for item in map
                        .get("env")
                        .and_then(Value::as_sequence)
                        .into_iter()
                        .flatten()
                    {
                        if item.get("name").and_then(Value::as_str) == Some("FANOUT_TOKEN_FILE") {
                            into.push(item["value"].as_str().unwrap_or("").to_string());
                        }
                    }
                }
            }
            for (_, child) in map {
                worker_token_settings(child, into);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| worker_token_settings(i, into)),
        _ => {}
    }
}

/// Workers hold the worker token and only it; the coordinator is given both tokens, different
/// files: a deployment copied from these files cannot let a client attach as a worker (where
/// it would receive other users' jobs with their credentials), nor hand workers the clients'
/// token.
#[test]
fn workers_are_given_the_worker_token_and_the_coordinator_both_tokens() {
    let mut workers = Vec::new();
    let mut coordinators = Vec::new();
    for source in sources() {
        for line in command_lines(&source) {
            for invocation in invocations(&line) {
                let start = line
                    .iter()
                    .position(|w| w.ends_with(&invocation.program[0]))
                    .unwrap_or(0);
                let words = &line[start..];
                match invocation.program.join(" ").as_str() {
                    "fanout-worker" => {
                        if let Some(file) = value_of(words, "--token-file") {
                            workers.push((source.name.clone(), file.to_string()));
                        }
                    }
                    // A unit whose settings are all in its environment file names neither.
                    "fanout serve"
                        if words
                            .iter()
                            .any(|w| w == "--token-file" || w == "--worker-token-file") =>
                    {
                        coordinators.push((
                            source.name.clone(),
                            value_of(words, "--token-file").map(String::from),
                            value_of(words, "--worker-token-file").map(String::from),
                        ))
                    }
                    _ => {}
                }
            }
        }
        let name = file_name(&source.path);
        if name.ends_with(".yaml") {
            for document in yaml_documents(&source.text).into_iter().flatten() {
                let mut found = Vec::new();
                worker_token_settings(&document, &mut found);
                workers.extend(found.into_iter().map(|f| (source.name.clone(), f)));
            }
        }
    }
    let etc = Path::new("/etc/fanout");
    let env = |file: &str, key: &str| {
        environment_file(file, etc)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    };
    workers.push((
        "worker.env".into(),
        env("worker.env", "FANOUT_TOKEN_FILE").expect("worker.env names its token"),
    ));
    coordinators.push((
        "coordinator.env".into(),
        env("coordinator.env", "FANOUT_TOKEN_FILE"),
        env("coordinator.env", "FANOUT_WORKER_TOKEN_FILE"),
    ));

    assert!(workers.len() >= 5, "too few workers found: {workers:?}");
    for (source, file) in &workers {
        assert!(
            file.ends_with("/worker-token") || file == "worker-token",
            "{source}: a worker reads {file}, not the worker token"
        );
    }
    assert!(
        coordinators.len() >= 4,
        "too few coordinators: {coordinators:?}"
    );
    for (source, clients, workers) in &coordinators {
        let workers = workers
            .as_deref()
            .unwrap_or_else(|| panic!("{source}: the coordinator has no --worker-token-file"));
        assert!(workers.ends_with("worker-token"), "{source}: {workers}");
        if let Some(clients) = clients {
            assert!(
                clients.ends_with("/token") && clients != workers,
                "{source}: clients' {clients}, workers' {workers}"
            );
        }
    }
}
