"""What a results file records about the run's machine and code: when, which commit, which CPU."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The repository the harness runs from.
REPO = Path(__file__).resolve().parent.parent


def git(*cmd: str) -> str:
    """``git cmd`` in the repository, its output stripped ("" when git cannot run)."""
    try:
        return subprocess.run(["git", *cmd], capture_output=True, text=True, cwd=REPO).stdout.strip()
    except OSError:
        return ""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name"))
    except (OSError, StopIteration):
        return ""


def facts() -> dict[str, Any]:
    """The start time, commit (and whether src/ differs from it), Python, CPU model and core count."""
    return {
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "src")),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
    }
