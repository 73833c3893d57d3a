"""Hand-written asyncssh: what a careful engineer writes without a framework."""

import asyncio

import asyncssh

from common import arguments, check, report


async def collect(device):
    name = device["name"]
    async with asyncssh.connect(device["host"], device["port"], username=device["username"],
                                password=device["password"], known_hosts=None) as conn:
        process = await conn.create_process(term_type="vt100")
        await process.stdout.readuntil(">")
        process.stdin.write("enable\n")
        await process.stdout.readuntil("Password:")
        process.stdin.write(device["secret"] + "\n")
        await process.stdout.readuntil(f"{name}#")
        process.stdin.write("terminal length 0\n")
        await process.stdout.readuntil(f"{name}#")
        process.stdin.write("show running-config\n")
        prompt = f"\n{name}#"
        output = await process.stdout.readuntil(prompt)
        process.stdin.write("exit\n")
        return output[: -len(prompt)].replace("\r\n", "\n")


async def main():
    devices, concurrency = arguments(__doc__)
    gate = asyncio.Semaphore(concurrency)

    async def one(device):
        async with gate:
            try:
                return device["name"], check(device, await asyncio.wait_for(collect(device), 120))
            except Exception as error:  # every failure is a result, never a crash
                return device["name"], f"{type(error).__name__}: {error}"

    report(dict(await asyncio.gather(*(one(d) for d in devices))))


asyncio.run(main())
