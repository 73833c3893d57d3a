"""What every runner shares: the device list it is given and how a collected config is checked."""

import argparse
import json
import sys


def arguments(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--devices", required=True, help="devices.json written by peers.py")
    parser.add_argument("--concurrency", type=int, default=1000)
    args = parser.parse_args()
    with open(args.devices) as f:
        devices = json.load(f)
    return devices, args.concurrency


def check(device, output):
    """None when `output` is this device's whole running config, else why not."""
    if f"hostname {device['name']}" not in output:
        return "hostname line missing"
    if "% Invalid input" in output:
        return "the device rejected something the client typed"
    if not output.rstrip().endswith("end"):
        return "config cut short (no final `end`)"
    return None


def report(results):
    """Prints the runner's summary: results maps device name -> None (ok) or an error text."""
    failures = {name: error for name, error in results.items() if error is not None}
    summary = {"ok": len(results) - len(failures), "failed": len(failures),
               "first_errors": dict(list(failures.items())[:3])}
    json.dump(summary, sys.stdout)
    print()
