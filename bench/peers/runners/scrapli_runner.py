"""Scrapli's asyncio driver for IOS-XE over its asyncssh transport."""

import asyncio

from scrapli.driver.core import AsyncIOSXEDriver

from common import arguments, check, report


async def collect(device):
    driver = AsyncIOSXEDriver(host=device["host"], port=device["port"],
                              auth_username=device["username"], auth_password=device["password"],
                              auth_secondary=device["secret"], auth_strict_key=False,
                              transport="asyncssh", timeout_ops=120)
    async with driver as conn:
        response = await conn.send_command("show running-config")
        return response.result


async def main():
    devices, concurrency = arguments(__doc__)
    gate = asyncio.Semaphore(concurrency)

    async def one(device):
        async with gate:
            try:
                return device["name"], check(device, await collect(device))
            except Exception as error:
                return device["name"], f"{type(error).__name__}: {error}"

    report(dict(await asyncio.gather(*(one(d) for d in devices))))


asyncio.run(main())
