"""Packaging: the client installs alone; the server's dependencies are extras, and the command line
says how to install them when they are missing (run with those modules hidden)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from strongroom.cli.main import SERVER_MODULES

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _cli(hidden: set[str], *argv: str) -> subprocess.CompletedProcess[str]:
    """``strongroom *argv`` in a fresh interpreter where the ``hidden`` modules cannot be imported."""
    script = (
        "import sys\n"
        f"for name in {sorted(hidden)!r}:\n"
        "    sys.modules[name] = None  # importing it raises ModuleNotFoundError\n"
        "from strongroom.cli.main import main\n"
        f"sys.exit(main({list(argv)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_serve_without_the_server_extra_says_how_to_install_it(tmp_path: Path) -> None:
    done = _cli(set(SERVER_MODULES), "serve", "--dev", "--data-dir", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "pip install 'strongroom[server]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "master.key").exists()


def test_admin_without_the_server_extra_says_how_to_install_it(tmp_path: Path) -> None:
    done = _cli(set(SERVER_MODULES), "admin", "list-users", "--data-dir", str(tmp_path))
    assert done.returncode == 2 and "pip install 'strongroom[server]'" in done.stderr, done.stderr


def test_postgresql_without_the_postgres_extra_says_how_to_install_it(tmp_path: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    done = _cli({"asyncpg"}, "admin", "migrate", "--database-url", url, "--data-dir", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "pip install 'strongroom[postgres]'" in done.stderr and "Traceback" not in done.stderr


def test_help_needs_no_extra() -> None:
    done = _cli(set(SERVER_MODULES), "serve", "--help")
    assert done.returncode == 0 and "--data-dir" in done.stdout, done.stderr


def test_core_dependencies_are_the_clients() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    core = {requirement.split(">")[0].split("<")[0].split("=")[0].strip() for requirement in project["dependencies"]}
    assert core == {"httptools", "msgspec"}
    extras = project["optional-dependencies"]
    server = {r.split(">")[0].split(";")[0].strip() for r in extras["server"]}
    assert {"uvicorn", "orjson", "cryptography", "platformdirs"} <= server
    assert {r.split(">")[0] for r in extras["postgres"]} == {"asyncpg"}
    assert SERVER_MODULES <= server | {"asyncpg"}
