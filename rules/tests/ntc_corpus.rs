//! ntc-templates' own test corpus, run the way ntc's `test_structured_data_against_parsed_reference_files.py`
//! runs it: every `tests/<platform>/<command>/*.raw` goes through the index (clitable's level,
//! which is what Netmiko's `use_textfsm=True` returns) with the platform and command named by its
//! directories, and must give exactly the rows of the `.yml` beside it, header names lowercased
//! as ntc's `parse_output` does.
//!
//! The corpus is third-party test data kept outside the repository: `$NTC_TEMPLATES_CORPUS`, or
//! `../shared/corpora/ntc-templates` from the repository root. Without it the tests say so and
//! pass, except under `CI=true`, where a missing corpus is a failure: CI must not go green by
//! running nothing.
//!
//! `cargo test -p fanout-rules --test ntc_corpus -- --nocapture` prints the counts and times.

use fanout_rules::TemplateIndex;
use fanout_rules::textfsm::Template;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Environment variable naming the corpus (a checkout of the ntc-templates repository).
const CORPUS_ENV: &str = "NTC_TEMPLATES_CORPUS";

/// The corpus directory, or `None` (with a note) when it is absent outside CI.
fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os(CORPUS_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/ntc-templates")
        });
    if dir.join("ntc_templates/templates/index").is_file() && dir.join("tests").is_dir() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci,
        "the ntc-templates corpus is missing at {} (set {CORPUS_ENV})",
        dir.display()
    );
    eprintln!(
        "skipped: no ntc-templates corpus at {} (set {CORPUS_ENV})",
        dir.display()
    );
    None
}

/// Sorted entries of `dir` that pass `keep`.
fn entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| keep(p))
        .collect();
    out.sort();
    out
}

#[test]
fn every_ntc_template_compiles() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("ntc_templates/templates");
    let files = entries(&dir, |p| p.extension().is_some_and(|e| e == "textfsm"));
    let mut failures = Vec::new();
    let mut times = Vec::new();
    let started = Instant::now();
    for path in &files {
        let one = Instant::now();
        if let Err(e) = Template::from_file(path) {
            failures.push(e.to_string());
        }
        times.push((one.elapsed(), path.file_name().unwrap().to_owned()));
    }
    let total = started.elapsed();
    times.sort();
    let slowest: Vec<String> = times
        .iter()
        .rev()
        .take(5)
        .map(|(t, n)| format!("{} {:.1} ms", n.to_string_lossy(), t.as_secs_f64() * 1e3))
        .collect();
    eprintln!(
        "ntc corpus: compiled {} templates in {:.2} s; slowest: {}",
        files.len(),
        total.as_secs_f64(),
        slowest.join(", ")
    );
    assert!(files.len() > 900, "only {} templates", files.len());
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// One test case: the `.raw` file and what it should parse to.
struct Case {
    raw: PathBuf,
    platform: String,
    command: String,
}

fn cases(corpus: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    for platform in entries(&corpus.join("tests"), |p| p.is_dir()) {
        for command in entries(&platform, |p| p.is_dir()) {
            for raw in entries(&command, |p| p.extension().is_some_and(|e| e == "raw")) {
                let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
                out.push(Case {
                    raw,
                    platform: name(&platform),
                    // ntc's test: `" ".join(parts[2].split("_"))`.
                    command: name(&command).replace('_', " "),
                });
            }
        }
    }
    out
}

/// The case's parse as ntc's `parse_output` returns it: a list of maps, keys lowercased.
fn parse(index: &TemplateIndex, case: &Case) -> Result<Json, String> {
    let bytes = std::fs::read(&case.raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let table = index
        .parse(&case.platform, &case.command, &text)
        .map_err(|e| e.to_string())?;
    let rows = table
        .rows
        .into_iter()
        .map(|row| {
            let map = row
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect::<serde_json::Map<_, _>>();
            Json::Object(map)
        })
        .collect();
    Ok(Json::Array(rows))
}

fn expected(case: &Case) -> Result<Json, String> {
    let path = case.raw.with_extension("yml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Json =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    doc.get("parsed_sample")
        .cloned()
        .ok_or_else(|| format!("{}: no parsed_sample", path.display()))
}

#[test]
fn every_ntc_test_case_parses_as_ntc_expects() {
    let Some(corpus) = corpus() else { return };
    let index = TemplateIndex::load(Some(&corpus.join("ntc_templates/templates"))).unwrap();
    let cases = cases(&corpus);
    let started = Instant::now();
    let mut failures = Vec::new();
    for case in &cases {
        let verdict = match (parse(&index, case), expected(case)) {
            (Ok(got), Ok(want)) if got == want => continue,
            (Ok(got), Ok(want)) => first_difference(&got, &want),
            (Err(e), _) | (_, Err(e)) => e,
        };
        failures.push(format!("{}: {verdict}", case.raw.display()));
    }
    eprintln!(
        "ntc corpus: {} of {} test cases as ntc expects, in {:.2} s",
        cases.len() - failures.len(),
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(cases.len() > 1800, "only {} test cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Where two parses first part, for a message a person can act on.
fn first_difference(got: &Json, want: &Json) -> String {
    let (got, want) = (got.as_array().unwrap(), want.as_array());
    let Some(want) = want else {
        return "expected parse is not a list".into();
    };
    if got.len() != want.len() {
        return format!("{} rows, expected {}", got.len(), want.len());
    }
    for (n, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            return format!("row {n}: got {g}, expected {w}");
        }
    }
    "differs".into()
}
