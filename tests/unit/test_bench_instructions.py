"""bench.instructions: the child run drives the real app (authentication and audit on) end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench import instructions

ROOT = Path(__file__).resolve().parents[2]


def test_the_child_run_serves_every_request() -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-m", "bench.instructions", "--child", "5"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_failed_request_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-200 answer must not be counted as a request served."""
    monkeypatch.setattr(instructions, "SECRETS", 1)

    async def refuse(*args: object) -> dict[str, object]:
        return {"status": 400, "body": b"{}"}

    monkeypatch.setattr(instructions, "_call", refuse)
    monkeypatch.setenv("STRONGROOM_MASTER_KEY", "A" * 43 + "=")
    with pytest.raises(AssertionError):
        instructions.child(1)
