//! Shell completions and man pages, generated from the clap definitions.

use fanout_tests::fanout;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn bash_completion_registers_and_completes_commands_and_flags() {
    let script = fanout(&["completions", "bash"], DEADLINE).await;
    assert_eq!(script.code, Some(0), "{}", script.stderr);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fanout.bash");
    std::fs::write(&path, &script.stdout).unwrap();
    // Loaded as a user's shell would load it, then asked for completions.
    let probe = format!(
        "source {path}; complete -p fanout; \
         COMP_WORDS=(fanout ru); COMP_CWORD=1; COMP_LINE='fanout ru'; COMP_POINT=9; _fanout fanout ru fanout; \
         echo \"commands: ${{COMPREPLY[*]}}\"; \
         COMP_WORDS=(fanout run --conn); COMP_CWORD=2; COMP_LINE='fanout run --conn'; \
         COMP_POINT=17; _fanout fanout --conn run; echo \"flags: ${{COMPREPLY[*]}}\"",
        path = path.display()
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("complete -o bashdefault -o default -o nosort -F _fanout fanout"),
        "{stdout}"
    );
    assert!(stdout.contains("commands: run"), "{stdout}");
    assert!(
        stdout.contains("--connect-timeout") && stdout.contains("--connect-rate"),
        "{stdout}"
    );
}

#[tokio::test]
async fn zsh_and_fish_scripts_cover_every_command() {
    let zsh = fanout(&["completions", "zsh"], DEADLINE).await;
    assert_eq!(zsh.code, Some(0));
    assert!(zsh.stdout.starts_with("#compdef fanout"));
    let fish = fanout(&["completions", "fish"], DEADLINE).await;
    assert_eq!(fish.code, Some(0));
    for command in [
        "run",
        "validate",
        "inventory",
        "config",
        "completions",
        "man",
    ] {
        assert!(
            zsh.stdout.contains(&format!("'{command}:")),
            "zsh lacks {command}"
        );
        assert!(
            fish.stdout.contains(&format!("-a \"{command}\"")),
            "fish lacks {command}"
        );
    }
    assert!(fish.stdout.contains("-l connect-timeout"));
    let bad = fanout(&["completions", "tcsh"], DEADLINE).await;
    assert_eq!(bad.code, Some(2));
}

#[tokio::test]
async fn man_pages_list_flags_and_their_environment_variables() {
    let page = fanout(&["man"], DEADLINE).await;
    assert_eq!(page.code, Some(0), "{}", page.stderr);
    assert!(page.stdout.contains(".TH fanout 1"));
    let dir = tempfile::tempdir().unwrap();
    let out = fanout(
        &["man", "--out-dir", dir.path().to_str().unwrap()],
        DEADLINE,
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let run = std::fs::read_to_string(dir.path().join("fanout-run.1")).unwrap();
    assert!(
        run.contains("connect\\-timeout"),
        "the run page lists its flags"
    );
    assert!(
        run.contains("FANOUT_CONNECT_TIMEOUT"),
        "and their environment variables"
    );
}
