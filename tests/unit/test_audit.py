"""The audit trail: hash chain, tamper detection, file modes, what a record holds (and never holds)."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from strongroom.audit.log import GENESIS, AuditLog, audit_files, verify_file


def test_records_chain_and_verify(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit")
    for i in range(5):
        log.record({"action": "secretsmanager:GetSecretValue", "secret_id": f"s{i}", "status": 200, "error": None})
    log.close()
    path = next(audit_files(tmp_path / "audit"))
    lines = path.read_bytes().splitlines()
    assert len(lines) == 5
    first = json.loads(lines[0])
    assert first["prev"] == GENESIS and "error" not in first and first["secret_id"] == "s0"
    result = verify_file(path)
    assert result.ok and result.records == 5


def test_time_is_the_given_request_time_or_now(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit")
    before = time.time()
    log.record({"action": "a", "time": 1700000000.123})  # the request path passes its request's time
    log.record({"action": "b"})  # a request refused before it had one: the time of the record
    log.close()
    first, second = (json.loads(line) for line in next(audit_files(tmp_path / "audit")).read_bytes().splitlines())
    assert first["time"] == 1700000000.123
    assert before - 1 <= second["time"] <= time.time() + 1 and round(second["time"], 3) == second["time"]


def test_a_flush_of_more_records_than_one_writev_takes_keeps_the_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit")
    for i in range(2500):  # three writev batches of at most 1,024 lines
        log.record({"action": "a", "secret_id": f"s{i}"})
    log.flush()
    log.record({"action": "after"})
    log.close()
    path = next(audit_files(tmp_path / "audit"))
    result = verify_file(path)
    assert result.ok and result.records == 2501
    assert [json.loads(line)["secret_id"] for line in path.read_bytes().splitlines()[:2500]] == [
        f"s{i}" for i in range(2500)
    ]


def test_a_short_writev_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """writev may legally write less than asked (a full disk, a signal): the rest follows."""
    import os

    real_writev = os.writev

    def short_writev(fd: int, buffers: list[bytes]) -> int:
        return real_writev(fd, [buffers[0][:7]])  # 7 bytes of the first line only

    monkeypatch.setattr(os, "writev", short_writev)
    log = AuditLog(tmp_path / "audit")
    for i in range(5):
        log.record({"action": "a", "secret_id": f"s{i}"})
    log.close()
    result = verify_file(next(audit_files(tmp_path / "audit")))
    assert result.ok and result.records == 5


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap"])
def test_tampering_breaks_the_chain(tmp_path: Path, tamper: str) -> None:
    log = AuditLog(tmp_path / "audit")
    for i in range(4):
        log.record({"action": "a", "secret_id": f"s{i}"})
    log.close()
    path = next(audit_files(tmp_path / "audit"))
    lines = path.read_bytes().splitlines()
    if tamper == "edit":
        lines[1] = lines[1].replace(b'"s1"', b'"sX"')
    elif tamper == "delete":
        del lines[1]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = verify_file(path)
    assert not result.ok and result.broken_at in (2, 3)


def test_files_are_private(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit")
    log.close()
    assert stat.S_IMODE((tmp_path / "audit").stat().st_mode) == 0o700
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_flusher_writes_in_the_background(tmp_path: Path) -> None:
    async def scenario() -> bytes:
        log = AuditLog(tmp_path / "audit", flush_interval=0.01)
        task = asyncio.create_task(log.run())
        log.record({"action": "a"})
        for _ in range(200):
            await asyncio.sleep(0.01)
            if log.path.read_bytes():
                break
        task.cancel()
        data = log.path.read_bytes()
        log.close()
        return data

    assert b'"action":"a"' in asyncio.run(scenario())


def test_server_writes_one_record_per_call_without_values(tmp_path: Path) -> None:
    """A real server: every call (success and error) is audited; no value appears; the chain verifies."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
    from e2e_server import make_client, start_server

    server = start_server(tmp_path / "data", tmp_path / "logs")
    try:
        sm = make_client(server.endpoint)
        sm.create_secret(Name="audited", SecretString="the-audited-value-1234567890")
        sm.get_secret_value(SecretId="audited")
        with pytest.raises(sm.exceptions.ResourceNotFoundException):
            sm.get_secret_value(SecretId="missing")
    finally:
        server.stop()
    files = list(audit_files(tmp_path / "data" / "audit"))
    records = [json.loads(line) for f in files for line in f.read_bytes().splitlines()]
    mine = [r for r in records if r.get("secret_id") in ("audited", "missing")]
    assert [(r["action"], r["status"], r.get("error")) for r in mine] == [
        ("secretsmanager:CreateSecret", 200, None),
        ("secretsmanager:GetSecretValue", 200, None),
        ("secretsmanager:GetSecretValue", 400, "ResourceNotFoundException"),
    ]
    assert all(r["principal"] == "arn:aws:iam::123456789012:root" and r["request_id"] for r in mine)
    for f in files:
        assert b"the-audited-value" not in f.read_bytes()
    verify = subprocess.run(
        [sys.executable, "-m", "strongroom", "admin", "verify-audit", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60,
    )
    assert verify.returncode == 0 and "ok" in verify.stdout, verify.stdout + verify.stderr
