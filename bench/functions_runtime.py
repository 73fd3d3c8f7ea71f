"""The function runtime's own costs: cold start and warm invocation overhead (docs/benchmarks.md).

``python -m bench.functions_runtime [--python PATH] [--cold 20] [--warm 2000] [--concurrency 4]``

- **cold**: the first invocation of a new function (a new worker process: start, the worker's own
  imports, the handler module's import) for a handler returning ``{}``, and for one that imports
  boto3 and makes a Secrets Manager client at module level, as a rotation function does. Each
  sample is a function of its own, retired afterwards.
- **warm**: ``Runtime.invoke`` of a warm worker whose handler returns ``{}``, one at a time, with
  and without ``log_tail``: what the runtime adds to the function's own time.
- **throughput**: the same warm invocation from ``--concurrency`` callers at once (as many workers).

Times are measured around ``Runtime.invoke`` in the parent. Run as root, workers run as ``nobody``:
``--python`` must then be an interpreter of this Python's version that nobody can run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
import uuid
import zipfile

from strongroom.functions.runtime import FunctionSpec, Runtime, RuntimeConfig
from strongroom.functions.runtime.code import code_sha256

BARE = "def handler(event, context):\n    return {}\n"
WITH_BOTO3 = (
    "import os\nimport boto3\n"
    "CLIENT = boto3.client('secretsmanager', endpoint_url=os.environ['SECRETS_MANAGER_ENDPOINT'])\n"
    "def handler(event, context):\n    return {}\n"
)
ACCOUNT, REGION, ENDPOINT = "123456789012", "us-east-1", "http://127.0.0.1:7420"


def _package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


class Function:
    def __init__(self, source: str) -> None:
        self.zip_bytes = _package(source)
        name = f"bench-{uuid.uuid4().hex[:12]}"
        self.spec = FunctionSpec(name=name, arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                                 handler="app.handler", code_sha256=code_sha256(self.zip_bytes), region=REGION,
                                 account=ACCOUNT)

    async def load(self) -> bytes:
        return self.zip_bytes


async def _timed_invoke(runtime: Runtime, function: Function, log_tail: bool = False) -> float:
    started = time.perf_counter()
    result = await runtime.invoke(function.spec, function.load, b"{}", request_id=str(uuid.uuid4()),
                                  endpoint_url=ENDPOINT, log_tail=log_tail)
    elapsed = (time.perf_counter() - started) * 1000
    if result.function_error:
        raise RuntimeError(result.payload.decode())
    return elapsed


async def cold_starts(runtime: Runtime, source: str, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        function = Function(source)
        times.append(await _timed_invoke(runtime, function))
        runtime.retire(function.spec.arn)
    return times


async def warm_invocations(runtime: Runtime, count: int, log_tail: bool) -> list[float]:
    function = Function(BARE)
    await _timed_invoke(runtime, function)
    return [await _timed_invoke(runtime, function, log_tail) for _ in range(count)]


async def throughput(runtime: Runtime, count: int, concurrency: int) -> float:
    """Warm invocations per second with ``concurrency`` callers on as many workers."""
    function = Function(BARE)
    await asyncio.gather(*(_timed_invoke(runtime, function) for _ in range(concurrency)))

    async def caller(share: int) -> None:
        for _ in range(share):
            await _timed_invoke(runtime, function)

    started = time.perf_counter()
    await asyncio.gather(*(caller(count // concurrency) for _ in range(concurrency)))
    return (count // concurrency * concurrency) / (time.perf_counter() - started)


def _summary(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):8.2f} | {p99:8.2f} | {len(ordered):6d}"


async def run(args: argparse.Namespace) -> None:
    runtime = Runtime(RuntimeConfig(python=args.python, max_workers=max(args.concurrency, 2)))
    try:
        rows = [
            ("cold start, handler returning {}", await cold_starts(runtime, BARE, args.cold)),
            ("cold start, boto3 client at import", await cold_starts(runtime, WITH_BOTO3, args.cold)),
            ("warm invoke, handler returning {}", await warm_invocations(runtime, args.warm, log_tail=False)),
            ("warm invoke, with LogType Tail", await warm_invocations(runtime, args.warm, log_tail=True)),
        ]
        rate = await throughput(runtime, args.warm, args.concurrency)
    finally:
        await runtime.close()
    print(f"| {'measurement':38} | median ms |   p99 ms | samples |")
    print(f"|{'-' * 40}|-----------|----------|---------|")
    for label, times in rows:
        print(f"| {label:38} | {_summary(times)}  |")
    print(f"\nwarm throughput, {args.concurrency} callers: {rate:,.0f} invocations/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="the workers' interpreter (default: this one)")
    parser.add_argument("--cold", type=int, default=20, help="cold starts per handler (default 20)")
    parser.add_argument("--warm", type=int, default=2000, help="warm invocations per series (default 2000)")
    parser.add_argument("--concurrency", type=int, default=4, help="callers for the throughput series (default 4)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(run(args))
    except ValueError as exc:  # e.g. the workers' user cannot run this interpreter
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
