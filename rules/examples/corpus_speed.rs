//! Times fanout's TextFSM over ntc-templates' test corpus the way `scripts/corpus_speed.py`
//! times Python `textfsm`: load the index, then parse every `tests/<platform>/<command>/*.raw`
//! through it (templates compiled on first use, as clitable does). Checking the results is the
//! job of `tests/ntc_corpus.rs`; this measures only the parsing both sides do.
//!
//! `cargo run --release -p fanout-rules --example corpus_speed -- CORPUS [ROUNDS]`

use fanout_rules::TemplateIndex;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn sorted(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| keep(p))
        .collect();
    out.sort();
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let corpus = PathBuf::from(args.next().expect("usage: corpus_speed CORPUS [ROUNDS]"));
    let rounds: usize = args
        .next()
        .map_or(3, |r| r.parse().expect("ROUNDS is a number"));
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let mut cases = Vec::new();
    for platform in sorted(&corpus.join("tests"), |p| p.is_dir()) {
        for command in sorted(&platform, |p| p.is_dir()) {
            for raw in sorted(&command, |p| p.extension().is_some_and(|e| e == "raw")) {
                let text = String::from_utf8_lossy(&std::fs::read(&raw).unwrap()).into_owned();
                cases.push((name(&platform), name(&command).replace('_', " "), text));
            }
        }
    }
    for _ in 0..rounds {
        let started = Instant::now();
        let index = TemplateIndex::load(Some(&corpus.join("ntc_templates/templates")))
            .expect("the corpus index loads");
        let parsed = cases
            .iter()
            .filter(|(platform, command, text)| index.parse(platform, command, text).is_ok())
            .count();
        println!(
            "{} cases ({parsed} parsed) in {:.2} s",
            cases.len(),
            started.elapsed().as_secs_f64()
        );
    }
}
