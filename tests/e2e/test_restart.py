"""Durability: everything acknowledged survives a restart (graceful and SIGKILL), and secret values
are encrypted at rest and never logged.

These tests start their own servers on fresh data directories (they do not use the shared one).
docs/security.md: plaintext secret values never reach the store, a log, an error message, a metric or an
audit record; envelope encryption of every version's value.
"""

from __future__ import annotations

import base64
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import NOT_FOUND, all_version_ids, expect_error
from e2e_server import POSTGRES, ServerProcess, make_client, start_server


def secret_forms(values: list[bytes]) -> list[bytes]:
    """The byte patterns that would betray a stored value: raw, base64 (both alphabets), hex."""
    out: list[bytes] = []
    for v in values:
        out += [v, base64.b64encode(v), base64.urlsafe_b64encode(v), v.hex().encode(), v.hex().upper().encode()]
    return [p for p in out if len(p) >= 16]


def assert_not_in_files(root: Path, patterns: list[bytes]) -> int:
    scanned = 0
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        scanned += 1
        for p in patterns:
            assert p not in data, f"a secret value appears in {path.relative_to(root)} at rest"
    return scanned


def assert_not_at_rest(store: str, data_dir: Path, patterns: list[bytes]) -> int:
    """No pattern in the data dir's files, nor (on PostgreSQL) in any row of any table; returns
    how many files or rows were scanned."""
    scanned = assert_not_in_files(data_dir, patterns)
    if store == "postgres":
        from pg_servers import pg_run

        tables = pg_run(POSTGRES["url"], "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for table in (t["tablename"] for t in tables):
            for row in pg_run(POSTGRES["url"], f'SELECT * FROM "{table}"'):
                data = b"\x00".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
                scanned += 1
                for p in patterns:
                    assert p not in data, f"a secret value appears in table {table} at rest"
    return scanned


def assert_not_in_output(server: ServerProcess, patterns: list[bytes]) -> None:
    out = server.output()
    for p in patterns:
        assert p not in out, "a secret value appears in the server's stdout/stderr"


def snapshot(sm: Any, names: list[str]) -> dict[str, Any]:
    """Everything observable about ``names``: metadata, every version's value and stages.

    Values are read before DescribeSecret, so that the LastAccessedDate those reads set is already
    part of the first snapshot and a later snapshot (same day) compares equal."""
    snap: dict[str, Any] = {}
    for n in names:
        versions = all_version_ids(sm, n, include_deprecated=True)
        values = {}
        if "DeletedDate" not in sm.describe_secret(SecretId=n):
            for vid in versions:
                g = sm.get_secret_value(SecretId=n, VersionId=vid)
                values[vid] = g.get("SecretString", g.get("SecretBinary"))
        d = sm.describe_secret(SecretId=n)
        d.pop("ResponseMetadata")
        snap[n] = {"describe": d, "versions": versions, "values": values}
    return snap


@pytest.fixture
def fresh(tmp_path: Path, store: str):
    servers: list[ServerProcess] = []

    def start(*extra_args: str) -> ServerProcess:
        srv = start_server(
            tmp_path / "data", tmp_path / f"logs-{len(servers)}", store=store, extra_args=list(extra_args)
        )
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.kill()


def test_graceful_restart_preserves_everything(fresh, tmp_path, store):
    plain = f"sr-plaintext-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    plain2 = f"sr-second-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    blob = os.urandom(48)
    p = f"r-{uuid.uuid4().hex[:12]}"
    token = str(uuid.uuid4())

    srv = fresh()
    sm = make_client(srv.endpoint)
    west = make_client(srv.endpoint, region="us-west-2")

    sm.create_secret(Name=f"{p}-str", SecretString=plain, Description="desc",
                     Tags=[{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "prod"}])  # fmt: skip
    sm.put_secret_value(SecretId=f"{p}-str", SecretString=plain2, ClientRequestToken=token)
    sm.put_secret_value(SecretId=f"{p}-str", SecretString="pending-value", VersionStages=["AWSPENDING", "CUSTOM"])
    sm.create_secret(Name=f"{p}-bin", SecretBinary=blob)
    sm.update_secret(SecretId=f"{p}-bin", SecretBinary=b"\x00\x01\x02\xff")
    sm.create_secret(Name=f"{p}-empty", Description="no value yet")
    sm.create_secret(Name=f"{p}-doomed", SecretString="doomed-value")
    sm.delete_secret(SecretId=f"{p}-doomed", RecoveryWindowInDays=7)
    sm.create_secret(Name=f"{p}-gone", SecretString="gone-value")
    sm.delete_secret(SecretId=f"{p}-gone", ForceDeleteWithoutRecovery=True)
    west.create_secret(Name=f"{p}-str", SecretString="west-value")
    sm.get_secret_value(SecretId=f"{p}-str")  # sets LastAccessedDate

    live = [f"{p}-str", f"{p}-bin", f"{p}-empty", f"{p}-doomed"]
    before = snapshot(sm, live)
    before_list = sm.list_secrets(Filters=[{"Key": "name", "Values": [p]}], IncludePlannedDeletion=True,
                                  SortBy="name", SortOrder="asc")["SecretList"]  # fmt: skip
    before_west = snapshot(west, [f"{p}-str"])

    srv.stop()  # SIGTERM

    srv2 = fresh()
    sm2 = make_client(srv2.endpoint)
    west2 = make_client(srv2.endpoint, region="us-west-2")
    assert snapshot(sm2, live) == before
    after_list = sm2.list_secrets(Filters=[{"Key": "name", "Values": [p]}], IncludePlannedDeletion=True,
                                  SortBy="name", SortOrder="asc")["SecretList"]  # fmt: skip
    assert after_list == before_list
    assert snapshot(west2, [f"{p}-str"]) == before_west
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm2.describe_secret(SecretId=f"{p}-gone")

    # the ClientRequestToken is still known: a retry is still a no-op
    versions = all_version_ids(sm2, f"{p}-str", include_deprecated=True)
    sm2.put_secret_value(SecretId=f"{p}-str", SecretString=plain2, ClientRequestToken=token)
    assert all_version_ids(sm2, f"{p}-str", include_deprecated=True) == versions
    # and the restarted server keeps working normally
    sm2.put_secret_value(SecretId=f"{p}-bin", SecretBinary=b"after-restart")
    assert sm2.get_secret_value(SecretId=f"{p}-bin")["SecretBinary"] == b"after-restart"
    srv2.stop()

    patterns = secret_forms([plain.encode(), plain2.encode(), blob, b"doomed-value", b"west-value"])
    assert assert_not_at_rest(store, tmp_path / "data", patterns) > 0, "nothing was scanned"
    assert_not_in_output(srv, patterns)
    assert_not_in_output(srv2, patterns)


def test_sigkill_keeps_every_acknowledged_write(fresh, tmp_path, store):
    p = f"k-{uuid.uuid4().hex[:12]}"
    srv = fresh()
    sm = make_client(srv.endpoint)
    expected: dict[str, dict[str, Any]] = {}
    values: list[bytes] = []
    for i in range(15):
        n = f"{p}-{i:02d}"
        v1 = f"kill-v1-{i}-{uuid.uuid4().hex}{uuid.uuid4().hex}"
        v2 = f"kill-v2-{i}-{uuid.uuid4().hex}{uuid.uuid4().hex}"
        tags = [{"Key": "i", "Value": str(i)}]
        r1 = sm.create_secret(Name=n, SecretString=v1, Tags=tags)
        r2 = sm.put_secret_value(SecretId=n, SecretString=v2)
        expected[n] = {
            "current": (r2["VersionId"], v2),
            "previous": (r1["VersionId"], v1),
            "arn": r1["ARN"],
            "tags": tags,
        }
        values += [v1.encode(), v2.encode()]
    blob = os.urandom(64)
    sm.create_secret(Name=f"{p}-bin", SecretBinary=blob)
    values.append(blob)
    sm.delete_secret(SecretId=f"{p}-00", RecoveryWindowInDays=7)  # the very last acknowledged write

    srv.kill()  # SIGKILL right after the last acknowledged response

    srv2 = fresh()
    sm2 = make_client(srv2.endpoint)
    for n, exp in expected.items():
        d = sm2.describe_secret(SecretId=n)
        assert d["ARN"] == exp["arn"]
        assert d["Tags"] == exp["tags"]
        assert {k: set(v) for k, v in d["VersionIdsToStages"].items()} == {
            exp["current"][0]: {"AWSCURRENT"}, exp["previous"][0]: {"AWSPREVIOUS"},
        }  # fmt: skip
        if n == f"{p}-00":
            assert "DeletedDate" in d
            continue
        cur = sm2.get_secret_value(SecretId=n)
        assert (cur["VersionId"], cur["SecretString"]) == exp["current"]
        prev = sm2.get_secret_value(SecretId=n, VersionStage="AWSPREVIOUS")
        assert (prev["VersionId"], prev["SecretString"]) == exp["previous"]
    assert sm2.get_secret_value(SecretId=f"{p}-bin")["SecretBinary"] == blob
    srv2.stop()

    patterns = secret_forms(values)
    assert_not_at_rest(store, tmp_path / "data", patterns)
    assert_not_in_output(srv, patterns)
    assert_not_in_output(srv2, patterns)


def test_errors_and_logs_never_contain_values(fresh, tmp_path, store):
    """Failed requests carrying secret values (validation, conflicts) must not echo or log them,
    even with the most verbose logging."""
    srv = fresh("--log-level", "debug")
    sm = make_client(srv.endpoint)
    raw = make_client(srv.endpoint, validate=False)
    n = f"e-{uuid.uuid4().hex[:12]}"
    v = f"leak-check-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    token = str(uuid.uuid4())
    sm.create_secret(Name=n, SecretString=v, ClientRequestToken=token)
    other = f"conflict-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    messages = []
    for call in (
        lambda: sm.create_secret(Name=n, SecretString=other),  # exists
        lambda: sm.put_secret_value(SecretId=n, SecretString=other, ClientRequestToken=token),  # token reuse
        lambda: sm.create_secret(Name=n + " bad", SecretString=other),  # invalid name
        lambda: raw.put_secret_value(SecretId=n, SecretString=other * 1000),  # too long
        lambda: sm.put_secret_value(SecretId=n, SecretString=other, SecretBinary=b"x"),  # both
    ):
        try:
            call()
        except Exception as e:  # noqa: BLE001
            messages.append(str(e))
        else:
            pytest.fail("the request should have failed")
    for m in messages:
        assert other not in m and v not in m
    srv.stop()
    patterns = secret_forms([v.encode(), other.encode()])
    assert_not_in_output(srv, patterns)
    assert_not_at_rest(store, tmp_path / "data", patterns)


def test_sigterm_stops_the_server(fresh):
    """SIGTERM is how service managers stop a server: it must exit on its own, promptly. (uvicorn
    re-raises the signal after its graceful shutdown, so exit status -15 is as clean as 0.)"""
    srv = fresh()
    make_client(srv.endpoint).get_random_password()
    code = srv.stop()
    assert not srv.escalated, "the server ignored SIGTERM and had to be killed"
    assert code in (0, -signal.SIGTERM), code
