"""``strongroom admin install-rotators`` run as a real subprocess on a server's store (the e2e and
rotator suites use it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StoreOf:
    """Where a server keeps its store: its data directory, and its database and master key on PostgreSQL."""

    data_dir: Path
    database_url: str | None = None
    master_key: str | None = None


def install_rotators(where: StoreOf, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``strongroom admin install-rotators`` on ``where`` with ``args``; nothing checked."""
    argv = [sys.executable, "-m", "strongroom", "admin", "install-rotators", "--data-dir", str(where.data_dir)]
    if where.database_url is not None:
        argv += ["--database-url", where.database_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    if where.master_key is not None:
        env["STRONGROOM_MASTER_KEY"] = where.master_key
    return subprocess.run([*argv, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def installed(where: StoreOf, *args: str) -> Any:
    """The JSON report of a successful ``install-rotators``."""
    done = install_rotators(where, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
