//! `fanout completions SHELL` and `fanout man`: generated from the clap definitions (with
//! the `FANOUT_<FLAG>` variables the config layer adds), so they never drift from the flags.

use crate::cli::{CompletionsArgs, ManArgs};
use std::io::Write;

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> u8 {
    let mut command = crate::config_file::layered();
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "fanout", &mut stdout);
    let _ = stdout.flush();
    0
}

/// Writes the man page to stdout, or with `--out-dir` one page per command into the
/// directory (`fanout.1`, `fanout-run.1`, ...).
pub fn man(args: &ManArgs) -> Result<u8, std::io::Error> {
    let command = crate::config_file::layered();
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(command, dir)?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            let written = clap_mangen::Man::new(command)
                .render(&mut stdout)
                .and_then(|()| stdout.flush());
            // `fanout man | head` closing the pipe early is not an error.
            match written {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                _ => {}
            }
        }
    }
    Ok(0)
}
