"""bench.drive runs the full-load generator under the scheduling policy it is asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ lives

from bench.drive import POLICIES, with_policy  # noqa: E402

_REPORT_POLICY = [sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"]


def _policy_of(cmd: list[str]) -> int:
    return int(subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout)


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="no SCHED_BATCH on this platform")
def test_batch_runs_the_command_itself_under_sched_batch() -> None:
    assert _policy_of(with_policy(_REPORT_POLICY, "batch")) == os.SCHED_BATCH


@pytest.mark.skipif(not hasattr(os, "SCHED_OTHER"), reason="no scheduling policies on this platform")
def test_normal_leaves_the_command_as_it_is() -> None:
    assert with_policy(_REPORT_POLICY, "normal") == _REPORT_POLICY
    assert _policy_of(with_policy(_REPORT_POLICY, "normal")) == os.SCHED_OTHER


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown generator policy"):
        with_policy(_REPORT_POLICY, "idle")
    assert POLICIES == ("batch", "normal")
