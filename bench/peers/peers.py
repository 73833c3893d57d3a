"""Side by side: fanout and the Python tools collect `show running-config` from the same fleet.

Starts fleet.py (an asyncssh IOS-like fleet, independent of devsim), then runs each tool in turn
against every device, verifies every collected config, and prints one table: wall time, hosts/s,
client CPU per device (user + system of the tool's whole process tree), the peak RSS of the
tool's largest process, and failures. Run it with the venv setup.sh makes:

    bench/peers/setup.sh
    bench/peers/.venv/bin/python bench/peers/peers.py --devices 1000 --latency 1

Each tool runs once per --repeat; the table shows medians. The fleet runs in its own processes,
so its CPU is not counted against any client.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fleet

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PYTHON_TOOLS = ("asyncssh", "scrapli", "netmiko", "nornir")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--port", type=int, default=2222)
    parser.add_argument("--fleet-procs", type=int, default=1)
    parser.add_argument("--tools", default="fanout,asyncssh,scrapli,netmiko,nornir")
    parser.add_argument("--concurrency", type=int, default=1000,
                        help="sessions at once per tool (threads for netmiko and nornir)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--fanout", default=str(REPO / "target/release/fanout"))
    parser.add_argument("--fanout-workers", type=int, default=2)
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--logs", help="keep each tool's stderr here (default: discarded)")
    return parser.parse_args()


def start_fleet(args):
    command = [sys.executable, str(HERE / "fleet.py"), "--devices", str(args.devices),
               "--port", str(args.port), "--latency", str(args.latency),
               "--procs", str(args.fleet_procs)]
    # Its own session, so that killing the group ends every fleet process at the end.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    ready = 0
    while ready < min(args.fleet_procs, args.devices):
        line = process.stdout.readline()
        if not line:
            sys.exit(f"the fleet exited before it was ready (status {process.wait()})")
        if line.startswith("ready"):
            ready += 1
    return process


def device_list(args):
    return [{"name": fleet.device_name(i), "host": fleet.address(i), "port": args.port,
             "username": fleet.USERNAME, "password": fleet.PASSWORD, "secret": fleet.SECRET}
            for i in range(args.devices)]


def measured(command, log, env=None):
    """Runs `command`, returning (wall seconds, CPU seconds of its process tree, peak RSS bytes,
    stdout, exit code); its stderr goes to `log`. wait4 gives the CPU of the child and of every
    descendant it waited for."""
    started = time.monotonic()
    with open(log, "a") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   env=env)
        stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss * 1024, stdout, process.returncode


def run_python_tool(tool, devices_file, args):
    command = [sys.executable, str(HERE / "runners" / f"{tool}_runner.py"),
               "--devices", str(devices_file), "--concurrency", str(args.concurrency)]
    wall, cpu, rss, stdout, code = measured(command, args.logs / f"{tool}.log")
    try:
        summary = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        summary = {"ok": 0, "failed": args.devices, "first_errors": {"runner": f"exit {code}"}}
    return wall, cpu, rss, summary


def fanout_inventory(devices, path):
    lines = ["defaults:", f"  username: {fleet.USERNAME}", "  password_env: PEERS_PASSWORD",
             "  secret_env: PEERS_SECRET", "  platform: cisco_ios", "hosts:"]
    for d in devices:
        lines += [f"  {d['name']}:", f"    hostname: {d['host']}", f"    port: {d['port']}"]
    path.write_text("\n".join(lines) + "\n")


def run_fanout(devices, work, args):
    """fanout as the peers run: configs collected and checked in memory (its JSON records on
    stdout), not written to files, which no runner does (a file and a directory per device
    would add the filesystem's work to fanout's CPU alone)."""
    inventory = work / "fanout-hosts.yaml"
    fanout_inventory(devices, inventory)
    command = [args.fanout, "run", "-i", str(inventory), "-c", "show running-config",
               "--workers", str(args.fanout_workers), "--concurrency", str(args.concurrency),
               "--known-hosts", str(work / "known_hosts"), "--command-timeout", "120s",
               "--format", "json"]
    env = dict(os.environ, PEERS_PASSWORD=fleet.PASSWORD, PEERS_SECRET=fleet.SECRET)
    wall, cpu, rss, stdout, _ = measured(command, args.logs / "fanout.log", env)
    sys.path.insert(0, str(HERE / "runners"))
    from common import check
    outputs = {}
    for line in stdout.splitlines():
        record = json.loads(line)
        commands = record.get("commands") or [{}]
        outputs[record["host"]] = commands[0].get("output") if record.get("ok") else None
    results = {}
    for d in devices:
        output = outputs.get(d["name"])
        results[d["name"]] = check(d, output) if output is not None else "no output"
    failures = {n: e for n, e in results.items() if e}
    summary = {"ok": len(results) - len(failures), "failed": len(failures),
               "first_errors": dict(list(failures.items())[:3])}
    return wall, cpu, rss, summary


def main():
    args = parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t != "fanout" and t not in PYTHON_TOOLS]
    if unknown:
        sys.exit(f"unknown tool(s): {', '.join(unknown)}")
    if "fanout" in tools and not Path(args.fanout).is_file():
        sys.exit(f"{args.fanout} not found: cargo build --release first, or pass --fanout")
    devices = device_list(args)
    fleet_process = start_fleet(args)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as work:
            work = Path(work)
            args.logs = Path(args.logs or work)
            args.logs.mkdir(parents=True, exist_ok=True)
            devices_file = work / "devices.json"
            devices_file.write_text(json.dumps(devices))
            for tool in tools:
                runs = []
                for _ in range(args.repeat):
                    if tool == "fanout":
                        runs.append(run_fanout(devices, work, args))
                    else:
                        runs.append(run_python_tool(tool, devices_file, args))
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                rows.append({
                    "tool": tool, "devices": args.devices, "latency_s": args.latency,
                    "wall_s": round(wall, 2), "hosts_per_s": round(args.devices / wall, 1),
                    "client_cpu_ms_per_device": round(cpu * 1000 / args.devices, 2),
                    "peak_rss_mb": round(max(r[2] for r in runs) / 2**20, 1),
                    "failed": max(r[3]["failed"] for r in runs),
                    "first_errors": runs[-1][3]["first_errors"],
                })
                print_row(rows[-1], header=len(rows) == 1)
    finally:
        os.killpg(fleet_process.pid, signal.SIGKILL)
        fleet_process.wait()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    if any(row["failed"] for row in rows):
        for row in rows:
            if row["failed"]:
                print(f"{row['tool']}: {row['failed']} failed, e.g. {row['first_errors']}",
                      file=sys.stderr)
        sys.exit(1)


def print_row(row, header):
    if header:
        print(f"{'tool':<10} {'devices':>7} {'wall s':>8} {'hosts/s':>8} "
              f"{'CPU ms/dev':>10} {'peak RSS MB':>11} {'failed':>6}")
    print(f"{row['tool']:<10} {row['devices']:>7} {row['wall_s']:>8} {row['hosts_per_s']:>8} "
          f"{row['client_cpu_ms_per_device']:>10} {row['peak_rss_mb']:>11} {row['failed']:>6}",
          flush=True)


if __name__ == "__main__":
    main()
