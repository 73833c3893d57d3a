//! Every fixture under tests/fixtures/{ntc,spec,devsim} is parsed here and compared, exactly,
//! with the table Python TextFSM produced for it (scripts/textfsm_oracle.py wrote the JSON).

use fanout_rules::textfsm::{Table, Template};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn template_for(raw: &Path) -> PathBuf {
    let stem = raw.file_stem().unwrap().to_str().unwrap();
    let own = raw.with_file_name(format!("{stem}.textfsm"));
    if own.exists() {
        return own;
    }
    let base = stem.split("__").next().unwrap();
    let sibling = raw.with_file_name(format!("{base}.textfsm"));
    if sibling.exists() {
        return sibling;
    }
    match base.strip_prefix("ntc-") {
        Some(ntc) => fixtures().join(format!("ntc/{ntc}.textfsm")),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("templates/{base}.textfsm")),
    }
}

fn check_group(group: &str) -> usize {
    let mut count = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(fixtures().join(group))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "raw"))
        .collect();
    entries.sort();
    for raw in entries {
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(raw.with_extension("json")).unwrap())
                .unwrap();
        let template = Template::from_file(&template_for(&raw));
        let input = std::fs::read_to_string(&raw).unwrap();
        let got = template.and_then(|t| t.parse_text(&input));
        if expected.get("error").is_some() {
            assert!(
                got.is_err(),
                "{}: Python raised, we parsed {got:?}",
                raw.display()
            );
        } else {
            let got: Table = got.unwrap_or_else(|e| panic!("{}: {e}", raw.display()));
            let want: Table = serde_json::from_value(expected).unwrap();
            assert_eq!(got, want, "{}", raw.display());
        }
        count += 1;
    }
    count
}

#[test]
fn ntc_templates_match_python_textfsm() {
    assert!(check_group("ntc") >= 7);
}

#[test]
fn spec_corner_cases_match_python_textfsm() {
    assert!(check_group("spec") >= 7);
}

#[test]
fn devsim_output_matches_python_textfsm() {
    assert!(
        check_group("devsim") >= 14,
        "run the devsim dump to create these fixtures"
    );
}
