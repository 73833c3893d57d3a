"""Netmiko with a thread pool: the most common way teams parallelise it."""

from concurrent.futures import ThreadPoolExecutor

from netmiko import ConnectHandler

from common import arguments, check, report


def collect(device):
    with ConnectHandler(device_type="cisco_ios", host=device["host"], port=device["port"],
                        username=device["username"], password=device["password"],
                        secret=device["secret"]) as conn:
        conn.enable()
        return conn.send_command("show running-config", read_timeout=120)


def one(device):
    try:
        return device["name"], check(device, collect(device))
    except Exception as error:
        return device["name"], f"{type(error).__name__}: {error}"


def main():
    devices, concurrency = arguments(__doc__)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        report(dict(pool.map(one, devices)))


main()
