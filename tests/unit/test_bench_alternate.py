"""bench.alternate: what it compares and how it summarises (the servers themselves: bench/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bench import servers
from bench.alternate import Spec, parse_spec, ratio_summary
from bench.run import round_order

SRC = Path(__file__).resolve().parents[2] / "src"


def test_specs_name_a_source_tree_and_a_size_or_the_hello_world(tmp_path: Path) -> None:
    assert parse_spec("hello", 1000) == Spec("hello", None, 1000)
    assert parse_spec(str(SRC), 1000) == Spec(str(SRC), SRC, 1000)
    assert parse_spec(f"{SRC}@1000000", 1000) == Spec(f"{SRC}@1000000", SRC, 1_000_000)
    with pytest.raises(SystemExit, match="no strongroom package"):
        parse_spec(str(tmp_path), 1000)


def test_rounds_alternate_the_order() -> None:
    a, b, c = (Spec(n, None, 1) for n in "abc")
    assert [s.name for s in round_order([a, b, c], 0)] == ["a", "b", "c"]
    assert [s.name for s in round_order([a, b, c], 1)] == ["c", "b", "a"]
    assert [s.name for s in round_order([a, b, c], 2)] == ["a", "b", "c"]


def test_ratios_are_taken_round_by_round() -> None:
    base = [100.0, 200.0, 100.0, 100.0, 50.0]
    other = [80.0, 170.0, 90.0, 110.0, 40.0]  # per round: 0.8, 0.85, 0.9, 1.1, 0.8
    summary = ratio_summary(base, other)
    assert summary["median"] == pytest.approx(0.85)
    assert (summary["min"], summary["max"]) == (pytest.approx(0.8), pytest.approx(1.1))
    assert (summary["q1"], summary["q3"]) == (pytest.approx(0.8), pytest.approx(0.9))
    with pytest.raises(ValueError):
        ratio_summary([1.0], [1.0, 2.0])


def test_a_source_tree_reaches_the_server_through_pythonpath(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """start_strongroom(source=...) puts the tree first on the server's import path (and says so in its label)."""
    seen: dict[str, object] = {}

    def fake_spawn(kind: str, label: str, cmd: list[str], port: int, health: str, log_path: Path, *,
                   extra_env: dict[str, str] | None = None, **kw: object) -> str:
        seen.update(label=label, cmd=cmd, extra_env=extra_env)
        return "server"

    monkeypatch.setattr(servers, "_spawn", fake_spawn)
    servers.start_strongroom(tmp_path / "data", 2, tmp_path / "logs", auth="sigv4", port=7777, source=SRC)
    assert seen["extra_env"] == {"PYTHONPATH": str(SRC)}
    assert str(SRC) in str(seen["label"])
    assert seen["cmd"][:3] == [sys.executable, "-m", "strongroom"]  # type: ignore[index]
    servers.start_strongroom(tmp_path / "data", 2, tmp_path / "logs", auth="sigv4", port=7777)
    assert seen["extra_env"] is None
