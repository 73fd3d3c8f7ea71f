"""Fixtures for the function runtime's tests.

``run``           runs a coroutine on the session's event loop (runtimes and their workers live on it)
``runtime``       one Runtime for the session: tests share its warm workers (each test's functions
                  have unique names, so a test meets only its own workers)
``make_runtime``  ``make_runtime(**RuntimeConfig fields)``: a Runtime of the test's own, closed after it
``python_for_workers`` an interpreter the workers' user can run (see functions_support.worker_python)
``open_dir``      a fresh directory that functions can reach and write (pytest's tmp_path sits under a
                  0700 directory that the workers' user cannot enter)
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from functions_support import Runner, worker_python

from strongroom.functions.runtime import Runtime, RuntimeConfig


@pytest.fixture(scope="session")
def python_for_workers() -> str:
    python = worker_python()
    if python is None:
        pytest.skip("no Python interpreter that the workers' user (nobody) can run")
    return python


@pytest.fixture(scope="session")
def run() -> Iterator[Runner]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.fixture(scope="session")
def runtime(run: Runner, python_for_workers: str) -> Iterator[Runtime]:
    shared = Runtime(RuntimeConfig(python=python_for_workers, max_workers=16))
    yield shared
    run(shared.close())


@pytest.fixture
def make_runtime(run: Runner, python_for_workers: str) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(**config: Any) -> Runtime:
        made.append(Runtime(RuntimeConfig(python=python_for_workers, **config)))
        return made[-1]

    yield make
    for runtime in made:
        run(runtime.close())


@pytest.fixture
def open_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="strongroom-test-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)
