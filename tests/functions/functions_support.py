"""Helpers for the function runtime's tests: packages from the handlers in ``handlers/``, specs, invocations."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import uuid
import zipfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.functions.runtime import FunctionSpec, InvocationResult, Runtime, RuntimeConfig, worker_interpreter
from strongroom.functions.runtime.code import code_sha256

HANDLERS = Path(__file__).resolve().parent / "handlers"
ACCOUNT, REGION = "123456789012", "us-east-1"


def make_zip(files: Mapping[str, str | bytes], modes: Mapping[str, int] | None = None) -> bytes:
    """A zip of ``files`` (name -> content); ``modes`` sets Unix modes (file type included) by name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = ((modes or {}).get(name, 0o100644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def handler_zip(*modules: str, extra: Mapping[str, str | bytes] | None = None) -> bytes:
    """A package of the named modules of ``handlers/`` (``kitchen`` -> kitchen.py), plus ``extra`` files."""
    files: dict[str, str | bytes] = {f"{name}.py": (HANDLERS / f"{name}.py").read_text() for name in modules}
    files.update(extra or {})
    return make_zip(files)


@dataclass
class Function:
    """A deployed function: its spec and its package, with a loader that counts its calls."""

    spec: FunctionSpec
    zip_bytes: bytes
    loads: int = 0

    async def load(self) -> bytes:
        self.loads += 1
        return self.zip_bytes

    def with_(self, **changes: Any) -> Function:
        """The same function with a changed configuration (and code, given ``zip_bytes``)."""
        zip_bytes = changes.pop("zip_bytes", self.zip_bytes)
        fields = {name: getattr(self.spec, name) for name in FunctionSpec.__dataclass_fields__}
        fields.update(changes, code_sha256=code_sha256(zip_bytes))
        return Function(FunctionSpec(**fields), zip_bytes)


def function(zip_bytes: bytes, handler: str, **spec: Any) -> Function:
    """A new function (unique name) running ``handler`` from ``zip_bytes``."""
    name = spec.pop("name", f"fn-{uuid.uuid4().hex[:12]}")
    return Function(FunctionSpec(
        name=name, arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}", handler=handler,
        code_sha256=code_sha256(zip_bytes), region=REGION, account=ACCOUNT, **spec), zip_bytes)


def invoke(runtime: Runtime, fn: Function, event: Any = None, **options: Any) -> Awaitable[InvocationResult]:
    body = event if isinstance(event, bytes) else json.dumps({} if event is None else event).encode()
    options.setdefault("request_id", str(uuid.uuid4()))
    return runtime.invoke(fn.spec, fn.load, body, **options)


def answer(result: InvocationResult) -> Any:
    """The JSON payload of a successful invocation."""
    assert result.function_error is None, result.payload
    return json.loads(result.payload)


def error(result: InvocationResult) -> dict[str, Any]:
    """The error payload of a failed invocation."""
    assert result.function_error == "Unhandled", result.payload
    document: dict[str, Any] = json.loads(result.payload)
    return document


def process_exists(pid: int) -> bool:
    """Whether ``pid`` is a process that still runs (a zombie waiting for its parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


async def until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait, yielding to the event loop, until ``condition()`` holds; fail if it has not after ``limit`` seconds.

    For what happens in the background (a worker's exit, a directory's removal): no timing is asserted.
    """
    for _ in range(int(limit / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still not true after {limit} s: {condition}")


def worker_python() -> str | None:
    """An interpreter the workers' user can run, chosen as the server chooses it: this one, or the
    system's of the same version (as root, workers run as ``nobody``, which cannot run a Python under
    /root on this project's machines). None when there is none: the caller skips with the reason."""
    return worker_interpreter(RuntimeConfig(python=sys.executable))


def functions_args(directory: Path) -> list[str]:
    """``strongroom serve`` arguments that turn functions on (a TOML file written in ``directory``) with an
    interpreter the workers' user can run; none when there is no such interpreter (functions stay off)."""
    python = worker_python()
    if python is None:
        return []
    config = directory / "functions.toml"
    config.write_text(f"functions = true\nfunctions_python = {json.dumps(python)}\n")
    return ["--config", str(config)]


Runner = Callable[[Awaitable[Any]], Any]
