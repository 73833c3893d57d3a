#!/usr/bin/env python3
"""Collects commands from one device with netmiko, the reference client of fanout's
conformance test, and prints what it got as one JSON object on stdout:

    {"ok": true, "outputs": ["...", "..."]}
    {"ok": false, "error": "ReadTimeout: ..."}

netmiko is driven as its users drive it: `ConnectHandler`, `enable()` when a secret is given,
then one `send_command` per command, with netmiko's defaults (which strip the echo and the
prompt). Nothing here adapts netmiko to fanout; the test compares the two.
"""

import argparse
import json
import sys

from netmiko import ConnectHandler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device-type", required=True, help="netmiko's device_type")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--secret", default="", help="enable secret; none skips enable()")
    parser.add_argument("--session-log", help="where netmiko writes what it read")
    parser.add_argument("commands", nargs="+")
    args = parser.parse_args()

    device = {
        "device_type": args.device_type,
        "host": "127.0.0.1",
        "port": args.port,
        "username": args.username,
        "password": args.password,
        "secret": args.secret,
        # The simulators have no keys for us and we have none for them.
        "use_keys": False,
        "allow_agent": False,
        "fast_cli": False,
    }
    if args.session_log:
        device["session_log"] = args.session_log
    try:
        with ConnectHandler(**device) as connection:
            if args.secret:
                connection.enable()
            outputs = [connection.send_command(command) for command in args.commands]
    except Exception as error:  # any failure is the answer, reported as data
        json.dump({"ok": False, "error": f"{type(error).__name__}: {error}"}, sys.stdout)
        return
    json.dump({"ok": True, "outputs": outputs}, sys.stdout)


if __name__ == "__main__":
    main()
