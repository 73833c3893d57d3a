#!/usr/bin/env python3
"""Starts one fake-switches model over SSH on 127.0.0.1 for fanout's conformance test.

fake-switches (PyPI) is an independent implementation of several vendors' CLIs; the test runs
fanout and netmiko against it and compares what each collected. Its own launcher
(`fake-switches`) cannot serve here: it passes the password as bytes to the switch too, where
`enable` compares the typed secret (a str) with it, so `enable` with any non-empty secret is
always refused. This one keeps the SSH login password as bytes (what Twisted's checker
compares) and the enable secret as a str.

Prints one line `ready <model> 127.0.0.1:<port>` on stdout once the switch listens (ask for
port 0 to get a free one), then serves until SIGTERM or until the process that started it is
gone, so a test killed outright does not leave switches behind. Errors and the simulator's own
tracebacks (it has a few) go to stderr.
"""

import argparse
import logging
import os
import sys

from fake_switches import switch_factory
from fake_switches.transports.ssh_service import SwitchSshService
from twisted.internet import reactor, task

# How often to look whether the parent is still there.
PARENT_CHECK_SECONDS = 0.5


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, choices=sorted(switch_factory.DEFAULT_MAPPING))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--hostname", default="switch")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True, help="SSH login password")
    parser.add_argument(
        "--secret",
        default="",
        help="enable secret; the simulators also accept an empty answer to their prompt",
    )
    parser.add_argument(
        "--vlans",
        type=int,
        default=1,
        help="VLANs 1..N exist: enough of them make `show vlan` page on the Dell models",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="DEBUG shows every line the switch receives and writes",
    )
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, stream=sys.stderr)

    factory = switch_factory.SwitchFactory()
    # The secret as the str the switch compares a typed answer with.
    core = factory.get(args.model, args.hostname, args.secret)
    configuration = core.switch_configuration
    for number in range(2, args.vlans + 1):
        configuration.add_vlan(configuration.new("Vlan", number))
    service = SwitchSshService(
        ip="127.0.0.1",
        port=args.port,
        switch_core=core,
        users={args.username: args.password.encode()},
    )
    listening = service.hook_to_reactor(reactor)

    def announce():
        port = listening.getHost().port
        print(f"ready {args.model} 127.0.0.1:{port}", flush=True)

    parent = os.getppid()

    def stop_when_orphaned():
        # A dead parent's children are handed to another process (init or a subreaper).
        if os.getppid() != parent:
            reactor.stop()

    task.LoopingCall(stop_when_orphaned).start(PARENT_CHECK_SECONDS)
    reactor.callWhenRunning(announce)
    reactor.run()


if __name__ == "__main__":
    main()
