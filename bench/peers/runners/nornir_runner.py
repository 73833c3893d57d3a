"""Nornir's threaded runner with nornir-netmiko, over a SimpleInventory built from the device list."""

import tempfile
from pathlib import Path

import yaml
from nornir import InitNornir
from nornir_netmiko.tasks import netmiko_send_command

from common import arguments, check, report


def write_inventory(devices, directory):
    hosts = {d["name"]: {"hostname": d["host"], "port": d["port"], "username": d["username"],
                         "password": d["password"], "platform": "cisco_ios",
                         "connection_options": {"netmiko": {"extras": {"secret": d["secret"]}}}}
             for d in devices}
    (directory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (directory / "groups.yaml").write_text("{}\n")
    (directory / "defaults.yaml").write_text("{}\n")


def main():
    devices, concurrency = arguments(__doc__)
    by_name = {d["name"]: d for d in devices}
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        write_inventory(devices, directory)
        nornir = InitNornir(
            runner={"plugin": "threaded", "options": {"num_workers": concurrency}},
            inventory={"plugin": "SimpleInventory",
                       "options": {"host_file": str(directory / "hosts.yaml"),
                                   "group_file": str(directory / "groups.yaml"),
                                   "defaults_file": str(directory / "defaults.yaml")}},
            logging={"enabled": False})
        results = nornir.run(task=netmiko_send_command, command_string="show running-config",
                             enable=True, read_timeout=120)
    outcome = {}
    for name, multi in results.items():
        if multi.failed:
            outcome[name] = str(multi[0].exception or multi[0].result)[:200]
        else:
            outcome[name] = check(by_name[name], multi[0].result)
    report(outcome)


main()
