//! A config file and the environment under the command line: flags > FANOUT_<FLAG> > file >
//! built-in, as `fanout config show` reports and as a real command uses them.

use fanout_devsim::FleetConfig;
use fanout_tests::{Lab, RunningFanout};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(60);

fn line<'a>(stdout: &'a str, flag: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("--{flag} = ")))
        .unwrap_or_else(|| panic!("no --{flag} in {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_show_names_where_each_value_comes_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ops.yaml");
    std::fs::write(
        &file,
        "# team defaults\nworkers: 3\nconnect-timeout: 4s\nrun:\n  format: json\n  retries: 2\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let show = RunningFanout::start_with_env(
        &[
            "--config",
            config,
            "config",
            "show",
            "run",
            "--retries",
            "5",
        ],
        &[("FANOUT_CONNECT_TIMEOUT", "9s")],
    )
    .finish(DEADLINE)
    .await;
    assert_eq!(show.code, Some(0), "{}", show.stderr);
    let out = &show.stdout;
    assert_eq!(line(out, "workers"), format!("--workers = 3  ({config}:2)"));
    assert_eq!(
        line(out, "connect-timeout"),
        "--connect-timeout = 9s  (environment FANOUT_CONNECT_TIMEOUT)",
        "the environment beats the file"
    );
    assert_eq!(
        line(out, "format"),
        format!("--format = json  ({config}:5)")
    );
    assert_eq!(
        line(out, "retries"),
        "--retries = 5  (command line)",
        "flags beat all"
    );
    assert_eq!(
        line(out, "command-timeout"),
        "--command-timeout = 60s  (built-in)"
    );

    // $XDG_CONFIG_HOME/fanout/config.yaml when nothing closer exists.
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("fanout")).unwrap();
    std::fs::write(xdg.join("fanout/config.yaml"), "validate:\n  workers: 6\n").unwrap();
    let show = RunningFanout::start_with_env(
        &["config", "show", "validate"],
        &[("XDG_CONFIG_HOME", xdg.to_str().unwrap())],
    )
    .finish(DEADLINE)
    .await;
    assert_eq!(show.code, Some(0), "{}", show.stderr);
    assert!(
        line(&show.stdout, "workers").ends_with("xdg/fanout/config.yaml:2)"),
        "{}",
        show.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_takes_its_flags_from_the_file_and_bad_keys_stop_it() {
    let lab = Lab::start(FleetConfig {
        count: 2,
        port: 0,
        ..FleetConfig::default()
    })
    .await;
    let file = lab.dir.path().join("fanout.yaml");
    std::fs::write(
        &file,
        format!(
            "run:\n  inventory: [{}]\n  command: [show version]\n  format: json\n",
            lab.inventory_arg()
        ),
    )
    .unwrap();
    let run = RunningFanout::start(&["--config", file.to_str().unwrap(), "run"])
        .finish(DEADLINE)
        .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        fanout_tests::json_lines(&run.stdout).len(),
        2,
        "{}",
        run.stdout
    );

    let contacted = lab.fleet.connections_accepted();
    std::fs::write(&file, "run:\n  format: json\n  concurency: 10\n").unwrap();
    let run = RunningFanout::start(&["--config", file.to_str().unwrap(), "run", "-c", "x"])
        .finish(DEADLINE)
        .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{}:3: unknown key `concurency`: `fanout run` has no --concurency (did you mean `concurrency`?)",
            file.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        lab.fleet.connections_accepted(),
        contacted,
        "nothing new was contacted"
    );
}
