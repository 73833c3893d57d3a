"""An IOS-like fleet for the side-by-side benchmark, written on asyncssh and independent of devsim.

Every device listens on its own loopback address (127.4.0.1, 127.4.0.2, ...) on one port, logs in
with a password, starts unprivileged (`rN>`), asks for the enable secret, and answers
`terminal length 0`, `terminal width N`, `show running-config` (after --latency seconds) and
`exit`. Anything else gets IOS's `% Invalid input` marker, so a client that types something it
was not asked to type is caught by the verification rather than rewarded.

The fleet can run in several processes (--procs) so that it is not the bottleneck the clients
are measured against; each process serves every P-th device. It prints `ready N` on stdout when
all its listeners are up and runs until it is killed.
"""

import argparse
import asyncio
import multiprocessing
import os
import sys

import asyncssh

USERNAME = "netops"
PASSWORD = "bench-password"
SECRET = "bench-enable"


def address(index):
    """The loopback address of device `index` (0-based): 127.4.0.1 onwards, skipping .0/.255."""
    third, fourth = divmod(index, 254)
    return f"127.4.{third}.{fourth + 1}"


def device_name(index):
    return f"r{index + 1}"


def running_config(name):
    """About 6 KB of configuration, different per device, ending as IOS does with `end`."""
    lines = ["Building configuration...", "", "Current configuration : 6120 bytes", "!",
             "version 15.2", "service timestamps debug datetime msec", f"hostname {name}", "!"]
    for port in range(1, 49):
        lines += [f"interface GigabitEthernet1/0/{port}",
                  f" description {name} access port {port}",
                  " switchport mode access",
                  f" switchport access vlan {100 + port % 8}",
                  "!"]
    lines += ["line vty 0 4", " transport input ssh", "!", "end"]
    return "\n".join(lines) + "\n"


class DeviceServer(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return username == USERNAME and password == PASSWORD


async def serve_session(process, name, latency):
    config = running_config(name)
    privileged = False

    def prompt():
        return f"{name}{'#' if privileged else '>'}"

    process.stdout.write(f"\n{prompt()}")
    try:
        while True:
            line = await process.stdin.readline()
            if not line:
                break
            command = line.strip()
            if command == "":
                pass
            elif command == "enable" and not privileged:
                process.channel.set_echo(False)
                process.stdout.write("Password: ")
                secret = (await process.stdin.readline()).strip()
                process.channel.set_echo(True)
                process.stdout.write("\n")
                if secret == SECRET:
                    privileged = True
                else:
                    process.stdout.write("% Access denied\n")
            elif command in ("terminal length 0", "terminal width 511", "terminal width 512"):
                pass
            elif command == "show running-config" and privileged:
                await asyncio.sleep(latency)
                process.stdout.write(config)
            elif command in ("exit", "logout", "quit"):
                break
            else:
                process.stdout.write(
                    f"{' ' * len(prompt())}^\n% Invalid input detected at '^' marker.\n\n")
            process.stdout.write(prompt())
    except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, ConnectionError):
        pass
    process.exit(0)


async def serve(indexes, port, latency, key):
    for index in indexes:
        name = device_name(index)
        await asyncssh.create_server(
            DeviceServer, address(index), port,
            server_host_keys=[key],
            process_factory=lambda process, name=name: serve_session(process, name, latency),
            line_editor=True)
    print(f"ready {len(indexes)}", flush=True)
    await asyncio.Event().wait()


def run_process(indexes, port, latency, key_text):
    key = asyncssh.import_private_key(key_text)
    try:
        asyncio.run(serve(indexes, port, latency, key))
    except KeyboardInterrupt:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--port", type=int, default=2222)
    parser.add_argument("--latency", type=float, default=1.0,
                        help="seconds before `show running-config` answers")
    parser.add_argument("--procs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    args = parser.parse_args()
    if args.devices > 254 * 250:
        sys.exit("at most 63,500 devices")
    key_text = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    children = []
    for k in range(args.procs):
        indexes = list(range(k, args.devices, args.procs))
        child = multiprocessing.Process(target=run_process,
                                        args=(indexes, args.port, args.latency, key_text))
        child.start()
        children.append(child)
    for child in children:
        child.join()


if __name__ == "__main__":
    main()
