"""bench.profile's summary counts the worker's main thread and names the components."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ lives

from bench.profile import summarise  # noqa: E402

_MAIN = "<module> (<string>:1);Runner.run (asyncio/runners.py:118)"
_RAW = "\n".join([
    f"{_MAIN};RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:524) 30",
    f"{_MAIN};AuditLog.record (strongroom/audit/log.py:62) 10",
    f"{_MAIN};__new__ (<string>:1) 5",
    f"{_MAIN};verify (strongroom/sigv4/verifier.py:425) 55",
    # uvicorn's supervisor ping thread in a multi-worker server: waits, not part of the 100%
    "Thread._bootstrap (threading.py:995);Process.pong (uvicorn/supervisors/multiprocess.py:50) 100",
])


def test_helper_threads_are_left_out_and_components_named(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(_RAW + "\n")
    text, summary = summarise(raw)
    assert summary["total_samples"] == 100
    assert text.startswith("Samples: 100 of the main thread")
    assert summary["components"] == {
        "auth (SigV4 parsing/verification, policies)": 55.0,
        "HTTP stack (uvicorn, httptools)": 30.0,
        "audit (hash-chained record per request)": 10.0,
        "generated __new__/__init__ (NamedTuple, dataclass)": 5.0,
    }
