"""Instructions per GetSecretValue of the in-process app, counted by callgrind (deterministic).

``python -m bench.instructions SRC [SRC ...] [--requests N]`` runs, for each source tree (its
``strongroom`` package through ``PYTHONPATH``, e.g. ``git archive <commit> src | tar -x -C /tmp/x``),
this module's ``--child`` under ``valgrind --tool=callgrind`` twice: once driving the ASGI app with
N signed GetSecretValue requests over 50 secrets (authentication and audit on), once with none.
The difference divided by N is the app's own cost per request: parsing, SigV4, authorization,
the read, decryption, the audit record and the answer; uvicorn and the kernel are not included.
Unlike served throughput on a shared VM, the count repeats to within a fraction of a percent.
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REGION = "us-east-1"
SECRETS = 50


async def _lifespan(app: Any, kind: str) -> None:
    messages = [{"type": f"lifespan.{kind}"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "lifespan.shutdown"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"].endswith(("complete", "failed")):
            raise _Done

    try:
        await app({"type": "lifespan"}, receive, send)
    except _Done:
        pass
    if sent[-1]["type"].endswith("failed"):
        raise RuntimeError(sent[-1].get("message"))


class _Done(Exception):
    pass


async def _call(app: Any, target: str, body: bytes, signer: Any) -> dict[str, Any]:
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"secretsmanager.{target}",
               "Host": "127.0.0.1:7420"}  # fmt: skip
    headers.update(signer(headers, body))
    scope = {
        "type": "http", "method": "POST", "path": "/", "raw_path": b"/", "query_string": b"", "scheme": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
    }  # fmt: skip
    chunks = [{"type": "http.request", "body": body, "more_body": False}]
    out: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        else:
            out["body"] = message.get("body", b"")

    await app(scope, receive, send)
    return out


def child(requests: int) -> None:
    """Build the app on a fresh data dir, create the secrets, then run ``requests`` GetSecretValue calls."""
    from strongroom.server.build import build_app
    from strongroom.server.config import Config
    from strongroom.sigv4 import Credentials, sign_headers

    data = Path(tempfile.mkdtemp(prefix="strongroom-instr-"))
    os.environ["STRONGROOM_MASTER_KEY"] = "A" * 43 + "="
    config = Config(data_dir=data, dev=False)
    # Background jobs stay quiet: the count is the request path's (trees without a setting keep theirs).
    quiet = {name: 3600.0 for name in ("purge_interval", "replication_interval", "rotation_schedule_interval")
             if hasattr(config, name)}
    app = build_app(dataclasses.replace(config, **quiet))

    async def main() -> None:
        await _lifespan(app, "startup")
        profile = configparser.ConfigParser()
        profile.read(data / "admin-credentials")
        section = profile[profile.sections()[0]]
        creds = Credentials(section["aws_access_key_id"], section["aws_secret_access_key"])

        def signer(headers: dict[str, str], body: bytes) -> dict[str, str]:
            return sign_headers("POST", "http://127.0.0.1:7420/", headers, body, creds, REGION, "secretsmanager",
                                time.time())  # fmt: skip

        for i in range(SECRETS):
            body = json.dumps({"Name": f"s{i}", "SecretString": "x" * 32, "ClientRequestToken": f"{i:032d}"})
            assert (await _call(app, "CreateSecret", body.encode(), signer))["status"] == 200
        bodies = [json.dumps({"SecretId": f"s{i % SECRETS}"}).encode() for i in range(requests)]
        for body in bodies:
            result = await _call(app, "GetSecretValue", body, signer)
            assert result["status"] == 200, result
        await _lifespan(app, "shutdown")

    try:
        asyncio.run(main())
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _count(src: str, requests: int, out_dir: Path) -> int:
    out = out_dir / f"callgrind.{os.getpid()}.{requests}.{abs(hash(src))}"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{Path(__file__).resolve().parent.parent}"}
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m", "bench.instructions",
         "--child", str(requests)],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    summary = re.search(rb"^summary:\s+(\d+)", out.read_bytes(), re.M)
    if summary is None:
        raise RuntimeError(f"no summary in {out}")
    return int(summary.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", help="source trees (directories holding the strongroom package)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = None
        for src in args.sources:
            per = (_count(src, args.requests, Path(tmp)) - _count(src, 0, Path(tmp))) / args.requests
            base = base or per
            print(f"{src}: {per / 1000:.1f}k instructions per GetSecretValue ({per / base:.3f} of the first)")


if __name__ == "__main__":
    main()
