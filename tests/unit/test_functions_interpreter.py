"""The interpreter function workers run on when the server's own one is out of the worker user's reach."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from strongroom.functions.runtime import RuntimeConfig, interpreter_problem, reachable_interpreter


def test_a_missing_candidate_is_never_chosen(tmp_path: Path) -> None:
    assert reachable_interpreter(RuntimeConfig(), [str(tmp_path / "python3.11")]) is None


def test_a_candidate_is_chosen_only_if_the_worker_user_can_run_it(tmp_path: Path) -> None:
    config = RuntimeConfig(python=sys.executable)
    chosen = reachable_interpreter(config, [sys.executable])
    assert chosen == (sys.executable if interpreter_problem(config) is None else None)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    hidden = private / "python3"
    hidden.symlink_to(sys.executable)
    # As root the workers run as nobody, who cannot search a 0700 directory; otherwise the user runs it.
    expected = None if interpreter_problem(replace(config, python=str(hidden))) else str(hidden)
    assert reachable_interpreter(config, [str(hidden)]) == expected


def test_the_default_candidates_are_this_pythons_version() -> None:
    chosen = reachable_interpreter(RuntimeConfig(python="/nonexistent/python"))
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert chosen is None or Path(chosen).name == version
