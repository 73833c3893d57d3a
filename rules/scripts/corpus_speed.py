#!/usr/bin/env python3
"""Times Python textfsm over ntc-templates' test corpus, as examples/corpus_speed.rs times
fanout's engine: load the index, then parse every tests/<platform>/<command>/*.raw through
clitable (templates compiled on first use). Raw files are read before the clock starts.

python3 rules/scripts/corpus_speed.py CORPUS [ROUNDS]
"""
import glob
import os
import sys
import time

from textfsm import clitable


def main():
    corpus = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    cases = []
    for raw in sorted(glob.glob(os.path.join(corpus, "tests", "*", "*", "*.raw"))):
        command_dir = os.path.dirname(raw)
        platform = os.path.basename(os.path.dirname(command_dir))
        command = " ".join(os.path.basename(command_dir).split("_"))
        with open(raw, encoding="utf-8", errors="replace") as f:
            cases.append((platform, command, f.read()))
    for _ in range(rounds):
        started = time.perf_counter()
        table = clitable.CliTable("index", os.path.join(corpus, "ntc_templates", "templates"))
        parsed = 0
        for platform, command, text in cases:
            try:
                table.ParseCmd(text, {"Command": command, "Platform": platform})
                parsed += 1
            except Exception:  # noqa: BLE001 - counted, as the Rust side counts errors
                pass
        print(f"{len(cases)} cases ({parsed} parsed) in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
