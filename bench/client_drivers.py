"""One client under load: GetSecretValue at a fixed concurrency for a fixed time, on one CPU core.

Run as ``python bench/client_drivers.py KIND`` by bench/client.py, in the Strongroom venv for
``strongroom-async`` / ``strongroom-blocking`` and in the baseline venv (aiobotocore, boto3) for
``aiobotocore`` / ``boto3``; only the standard library is imported at the top, so one file serves
both. The process pins itself to ``--core`` before it imports the client. Settings come from the
arguments, the access key from ``BENCH_ACCESS_KEY_ID`` / ``BENCH_SECRET_ACCESS_KEY``. Prints one
JSON line: calls, errors, seconds, cpu_seconds (the whole process, every thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import threading
import time
from collections.abc import Callable
from typing import Any

REGION = "us-east-1"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Tally:
    """Counts calls and errors until the deadline; thread-safe."""

    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.calls = 0
        self.errors = 0
        self.lock = threading.Lock()
        self.deadline = 0.0

    def start(self) -> tuple[float, float]:
        self.deadline = time.monotonic() + self.duration
        return time.perf_counter(), cpu_seconds()

    def report(self, started: tuple[float, float]) -> dict[str, Any]:
        wall, cpu = started
        return {
            "calls": self.calls, "errors": self.errors,
            "seconds": time.perf_counter() - wall, "cpu_seconds": cpu_seconds() - cpu,
        }  # fmt: skip


def run_async(call: Callable[[str], Any], secret_ids: list[str], tally: Tally, concurrency: int) -> dict[str, Any]:
    async def worker(offset: int) -> None:
        i = offset
        while time.monotonic() < tally.deadline:
            try:
                await call(secret_ids[i % len(secret_ids)])
                tally.calls += 1
            except Exception:
                tally.errors += 1
            i += concurrency

    async def drive() -> dict[str, Any]:
        for secret_id in secret_ids[:concurrency]:  # warm up: every connection of the pool opened
            await call(secret_id)
        started = tally.start()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        return tally.report(started)

    return asyncio.get_event_loop().run_until_complete(drive())


def run_threads(call: Callable[[str], Any], secret_ids: list[str], tally: Tally, concurrency: int) -> dict[str, Any]:
    def worker(offset: int) -> None:
        i = offset
        while time.monotonic() < tally.deadline:
            try:
                call(secret_ids[i % len(secret_ids)])
                with tally.lock:
                    tally.calls += 1
            except Exception:
                with tally.lock:
                    tally.errors += 1
            i += concurrency

    for secret_id in secret_ids[:concurrency]:
        call(secret_id)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    started = tally.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally.report(started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["strongroom-async", "strongroom-blocking", "aiobotocore", "boto3"])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--secrets", required=True, help="comma-separated secret ids")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="uvloop")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    if args.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop(uvloop.new_event_loop())
    else:
        asyncio.set_event_loop(asyncio.new_event_loop())
    key, secret = os.environ["BENCH_ACCESS_KEY_ID"], os.environ["BENCH_SECRET_ACCESS_KEY"]
    secret_ids = args.secrets.split(",")
    tally = Tally(args.duration)
    result: dict[str, Any]
    if args.kind == "strongroom-async":
        from strongroom.client import AsyncSecretsManager

        async def make() -> Any:
            return AsyncSecretsManager(
                endpoint_url=args.endpoint, region=REGION, access_key_id=key, secret_access_key=secret,
                max_pool_connections=args.concurrency, environ={},
            )  # fmt: skip

        sm = asyncio.get_event_loop().run_until_complete(make())
        result = run_async(lambda sid: sm.get_secret_value(secret_id=sid), secret_ids, tally, args.concurrency)
    elif args.kind == "strongroom-blocking":
        from strongroom.client import SecretsManager

        blocking = SecretsManager(
            endpoint_url=args.endpoint, region=REGION, access_key_id=key, secret_access_key=secret,
            max_pool_connections=args.concurrency, environ={},
        )  # fmt: skip
        result = run_threads(lambda sid: blocking.get_secret_value(secret_id=sid), secret_ids, tally, args.concurrency)
        blocking.shutdown()
    elif args.kind == "aiobotocore":
        from aiobotocore.session import get_session
        from botocore.config import Config

        async def open_client() -> Any:
            context = get_session().create_client(
                "secretsmanager", endpoint_url=args.endpoint, region_name=REGION, aws_access_key_id=key,
                aws_secret_access_key=secret, config=Config(max_pool_connections=args.concurrency),
            )  # fmt: skip
            return await context.__aenter__()

        client = asyncio.get_event_loop().run_until_complete(open_client())
        result = run_async(lambda sid: client.get_secret_value(SecretId=sid), secret_ids, tally, args.concurrency)
    else:
        import boto3
        from botocore.config import Config

        boto = boto3.session.Session().client(
            "secretsmanager", endpoint_url=args.endpoint, region_name=REGION, aws_access_key_id=key,
            aws_secret_access_key=secret, config=Config(max_pool_connections=args.concurrency),
        )  # fmt: skip
        result = run_threads(lambda sid: boto.get_secret_value(SecretId=sid), secret_ids, tally, args.concurrency)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
