//! No rules file and no TextFSM template, however mangled, makes the loaders panic: every input
//! is either usable or an error that names where it went wrong. Evaluating whatever loads
//! against odd device output must not panic either.

use fanout_rules::textfsm::Template;
use fanout_rules::{Rules, TemplateIndex, check_references, evaluate};
use proptest::prelude::*;
use serde_json::json;
use std::collections::HashMap;

/// Pieces real rules files are made of, so mutations reach the check parser and not only YAML.
const RULE_FRAGMENTS: &[&str] = &[
    "rules:\n",
    "  - name: a\n",
    "  - name: b\n",
    "    command: show vlan brief\n",
    "    command: show running-config\n",
    "    command: ''\n",
    "    parse: textfsm\n",
    "    parse: regex\n",
    "    expect:\n",
    "      contains: x\n",
    "      matches: '^S\\*'\n",
    "      matches: 'a('\n",
    "      not_matches: telnet\n",
    "      lines: [ntp server 10.0.0.1]\n",
    "      section: { 'interface Loopback0': ['ip address .*'] }\n",
    "      vlan_id: { includes: '{{ data.vlans }}' }\n",
    "      vlan_id: { has: 1 }\n",
    "      count: { ge: 2 }\n",
    "      count: { ge: '{{ data.n }}' }\n",
    "      count: { about: 1 }\n",
    "      '{{': x\n",
    "    expect: { contains: y }\n",
    "    expect: []\n",
    "    unknown: 1\n",
    "{",
    "}",
    "[",
    ":",
    "\t",
    "'",
    "\"",
    "~\n",
    "\n",
    "    ",
    "&a ",
    "*a\n",
];

const TEMPLATE_FRAGMENTS: &[&str] = &[
    "Value VLAN_ID (\\d+)\n",
    "Value Required NAME (\\S+)\n",
    "Value List PORTS (\\S+)\n",
    "Value Filldown,Key X (.*)\n",
    "Value BAD (\n",
    "Value\n",
    "\n",
    "Start\n",
    "EOF\n",
    "  ^${VLAN_ID}\\s+${NAME} -> Record\n",
    "  ^\\s+${PORTS} -> Continue\n",
    "  ^x -> Next.Record Start\n",
    "  ^y -> Error \"no\"\n",
    "  ^z -> Nowhere\n",
    "  ^${MISSING}\n",
    "  ^(?P<n>a)\n",
    "  ^.* -> Clear\n",
    "#comment\n",
    "  \n",
];

fn assemble(fragments: &[&str], picks: &[usize], noise: &[u8]) -> String {
    let mut text: Vec<u8> = picks
        .iter()
        .flat_map(|i| fragments[i % fragments.len()].bytes())
        .collect();
    if let Some(&at) = noise.first() {
        let at = at as usize % (text.len() + 1);
        text.splice(at..at, noise[1..].iter().copied());
    }
    String::from_utf8_lossy(&text).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mangled_rules_files_never_panic(
        picks in proptest::collection::vec(0usize..1000, 0..30),
        noise in proptest::collection::vec(any::<u8>(), 0..10),
        output in "[ -~\n]{0,200}",
    ) {
        let text = assemble(RULE_FRAGMENTS, &picks, &noise);
        match Rules::parse("rules.yaml", &text) {
            Ok(rules) => {
                let host = json!({"name": "r1", "data": {"vlans": [10, 20], "n": 1}});
                let _ = check_references(&rules, std::slice::from_ref(&host));
                let outputs: HashMap<String, String> = rules
                    .commands()
                    .into_iter()
                    .map(|c| (c, output.clone()))
                    .collect();
                let templates = TemplateIndex::bundled();
                let _ = evaluate(&rules, &host, "cisco_ios", &outputs, &templates);
            }
            Err(e) => prop_assert!(e.to_string().starts_with("rules.yaml:"), "error without file: {e}"),
        }
    }

    #[test]
    fn mangled_templates_never_panic(
        picks in proptest::collection::vec(0usize..1000, 0..25),
        noise in proptest::collection::vec(any::<u8>(), 0..10),
        output in "[ -~\n]{0,300}",
    ) {
        let text = assemble(TEMPLATE_FRAGMENTS, &picks, &noise);
        if let Ok(template) = Template::parse("t.textfsm", &text) {
            let _ = template.parse_text(&output);
        }
    }
}
