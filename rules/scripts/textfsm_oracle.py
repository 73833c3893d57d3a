#!/usr/bin/env python3
"""Regenerate the expected tables of the TextFSM fixture tests with Python TextFSM.

Dev-only: the Rust tests read the committed JSON and never need Python. Run after adding or
changing a fixture:

    pip install textfsm==2.1.0
    python3 rules/scripts/textfsm_oracle.py

Every `NAME.raw` under rules/tests/fixtures/{ntc,spec,devsim} is parsed with the template
`NAME.textfsm`, or else the template named by the part BASE of NAME before `__`: BASE.textfsm
beside it, fixtures/ntc/X.textfsm for BASE `ntc-X`, else rules/templates/BASE.textfsm, and the result is written to `NAME.json`: {"header": [...], "rows": [{...}]}, or
{"error": true} when the template or the input raises.
"""
import json
import pathlib
import textfsm

ROOT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"

for group in ("ntc", "spec", "devsim"):
    for raw in sorted((ROOT / group).glob("*.raw")):
        name = raw.stem
        tpl = raw.with_name(name + ".textfsm")
        base = name.split("__")[0]
        if not tpl.exists():
            tpl = raw.with_name(base + ".textfsm")
        if not tpl.exists() and base.startswith("ntc-"):
            tpl = ROOT / "ntc" / (base[len("ntc-"):] + ".textfsm")
        elif not tpl.exists():
            tpl = ROOT.parent.parent / "templates" / (base + ".textfsm")
        try:
            with open(tpl) as f:
                fsm = textfsm.TextFSM(f)
            rows = fsm.ParseText(raw.read_text())
            out = {"header": fsm.header, "rows": [dict(zip(fsm.header, r)) for r in rows]}
        except (textfsm.TextFSMError, textfsm.TextFSMTemplateError) as e:
            out = {"error": True, "python_message": str(e)}
        raw.with_name(name + ".json").write_text(json.dumps(out, indent=1) + "\n")
        print(f"{group}/{name}: {len(out.get('rows', []))} rows")
