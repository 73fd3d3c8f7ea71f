"""What a function can see and do: its environment, its files, its user, its limits, boto3."""

from __future__ import annotations

import os
import pwd
import re
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from functions_support import Runner, answer, error, function, handler_zip, invoke, until

from strongroom.functions.runtime import Credentials, Runtime

KITCHEN = handler_zip("kitchen")
ENDPOINT = "http://127.0.0.1:7420"
LAMBDA_VARIABLES = {
    "_HANDLER", "TZ", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="workers drop privileges only when the server runs as root")


@pytest.fixture
def server_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The server's own secrets in its environment, and an open file (its database), as a real server has."""
    monkeypatch.setenv("STRONGROOM_MASTER_KEY", "bWFzdGVyLWtleS1tdXN0LW5vdC1sZWFr")
    monkeypatch.setenv("STRONGROOM_DATABASE_URL", "postgresql://strongroom:hunter2@db/strongroom")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    monkeypatch.setenv("LD_PRELOAD", "/not/a/library.so")
    fd = os.open(__file__, os.O_RDONLY)  # inheritable or not, a worker must not get it
    os.set_inheritable(fd, True)
    yield fd
    os.close(fd)


def test_the_environment_is_lambdas_and_nothing_of_the_servers(run: Runner, runtime: Runtime,
                                                               server_secrets: int) -> None:
    fn = function(KITCHEN, "kitchen.handler", environment={"TABLE": "users", "AWS_ENDPOINT_URL": "http://other"},
                  memory_size=256, timeout=7)
    credentials = Credentials("ASIAEXAMPLE", "role-secret", "role-token", 1e10)
    seen = answer(run(invoke(runtime, fn, {"do": "process"}, credentials=credentials, endpoint_url=ENDPOINT)))
    environ = seen["environ"]
    expected = LAMBDA_VARIABLES | {"PATH", "LANG", "TMPDIR", "AWS_EC2_METADATA_DISABLED", "AWS_ENDPOINT_URL",
                                   "SECRETS_MANAGER_ENDPOINT", "TABLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                   "AWS_SESSION_TOKEN"}
    assert set(environ) - {"LC_CTYPE"} == expected  # Python sets LC_CTYPE itself where LANG's locale is missing
    spec = fn.spec
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == spec.name and environ["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and environ["_HANDLER"] == "kitchen.handler"
    assert environ["AWS_REGION"] == environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert environ["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12" and environ["TZ"] == ":UTC"
    assert environ["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{spec.name}"
    assert environ["AWS_ENDPOINT_URL"] == "http://other"  # the function's own setting wins
    assert environ["SECRETS_MANAGER_ENDPOINT"] == ENDPOINT
    assert environ["TABLE"] == "users" and environ["AWS_ACCESS_KEY_ID"] == "ASIAEXAMPLE"
    assert environ["LAMBDA_TASK_ROOT"] == seen["cwd"] and seen["sys_path"][0] == seen["cwd"]
    assert environ["TMPDIR"] == seen["tmpdir"] != "/tmp"
    assert seen["stdout_encoding"] == "utf-8"
    assert server_secrets not in seen["fds"]
    assert set(seen["fds"]) - {0, 1, 2} == {3, max(seen["fds"])}  # its channel, and listdir's own descriptor


def test_without_an_endpoint_or_credentials_none_are_set(run: Runner, runtime: Runtime) -> None:
    environ = answer(run(invoke(runtime, function(KITCHEN, "kitchen.handler"), {"do": "process"})))["environ"]
    assert not {"AWS_ENDPOINT_URL", "SECRETS_MANAGER_ENDPOINT", "AWS_ACCESS_KEY_ID"} & set(environ)


def test_the_function_has_lambdas_limits(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler", memory_size=512)
    limits = answer(run(invoke(runtime, fn, {"do": "read", "path": "/proc/self/limits"})))["read"]
    values = {line[:26].strip(): line[26:].split()[:2] for line in limits.splitlines()[1:]}
    assert values["Max core file size"] == ["0", "0"]
    assert values["Max open files"] == ["1024", "1024"]
    assert values["Max data size"] == [str(512 << 20)] * 2
    if os.geteuid() == 0:  # workers have a user of their own: its processes and threads are bounded
        assert values["Max processes"] == ["1024", "1024"]


def test_memory_beyond_the_functions_size_is_a_memory_error(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler", memory_size=128)
    assert error(run(invoke(runtime, fn, {"do": "allocate", "megabytes": 256})))["errorType"] == "MemoryError"
    assert answer(run(invoke(runtime, fn, {"do": "allocate", "megabytes": 32}))) == {"allocated": 32}


def test_boto3_works_in_128_mb_with_the_servers_endpoint_and_the_roles_credentials(run: Runner,
                                                                                  runtime: Runtime) -> None:
    import boto3

    fn = function(handler_zip("with_boto3"), "with_boto3.handler", memory_size=128)
    credentials = Credentials("ASIAROLE", "role-secret", "role-token", 1e10)
    seen = answer(run(invoke(runtime, fn, credentials=credentials, endpoint_url=ENDPOINT)))
    assert seen == {"boto3": boto3.__version__, "endpoint": ENDPOINT, "region": "us-east-1",
                    "access_key": "ASIAROLE", "token": "role-token"}


@pytest.fixture
def private_files(open_dir: Path) -> Iterator[Path]:
    """A data directory as the server keeps it: 0700, with a 0600 master key (in a directory anyone can reach,
    so that only their own modes protect them)."""
    data = open_dir / "data"
    data.mkdir(mode=0o700)
    (data / "master.key").write_text("the master key")
    (data / "master.key").chmod(0o600)
    (open_dir / "public.txt").write_text("anyone may read this")
    yield data


@root_only
def test_as_root_the_function_runs_as_nobody_and_cannot_read_the_servers_files(run: Runner, runtime: Runtime,
                                                                               private_files: Path) -> None:
    fn = function(KITCHEN, "kitchen.handler")
    nobody = pwd.getpwnam("nobody")
    public = str(private_files.parent / "public.txt")
    assert answer(run(invoke(runtime, fn, {"do": "read", "path": public}))) == {"read": "anyone may read this"}
    seen = answer(run(invoke(runtime, fn, {"do": "process"})))
    assert (seen["uid"], seen["gid"], seen["groups"]) == (nobody.pw_uid, nobody.pw_gid, [])
    assert answer(run(invoke(runtime, fn, {"do": "read", "path": str(private_files / "master.key")}))) == \
        {"error": "PermissionError"}
    assert answer(run(invoke(runtime, fn, {"do": "list", "path": str(private_files)}))) == {"error": "PermissionError"}
    code_file = os.path.join(seen["cwd"], "kitchen.py")
    assert answer(run(invoke(runtime, fn, {"do": "write", "path": code_file}))) == {"error": "PermissionError"}
    for shared in (Path(seen["cwd"]).parent, Path(seen["tmpdir"]).parent):  # code/ and tmp/: reachable, not listable
        assert answer(run(invoke(runtime, fn, {"do": "list", "path": str(shared)}))) == {"error": "PermissionError"}
    tmp = os.stat(seen["tmpdir"])
    assert (tmp.st_uid, stat.S_IMODE(tmp.st_mode)) == (nobody.pw_uid, 0o700)


def test_the_code_is_readable_by_the_worker_only_and_unpacked_once_per_hash(run: Runner, runtime: Runtime) -> None:
    package = handler_zip("kitchen", extra={"unique.txt": str(uuid.uuid4())})  # a hash no other test uses
    fn = function(package, "kitchen.handler")
    twin = function(package, "kitchen.handler")  # another function with the same package
    root = answer(run(invoke(runtime, fn, {"do": "process"})))["cwd"]
    assert answer(run(invoke(runtime, twin, {"do": "process"})))["cwd"] == root
    assert fn.loads == 1 and twin.loads == 0
    code = os.stat(os.path.join(root, "kitchen.py"))
    assert stat.S_IMODE(code.st_mode) == 0o640 and stat.S_IMODE(os.stat(root).st_mode) == 0o750
    assert re.fullmatch(r"[0-9a-f]{32}", os.path.basename(root))  # a random name: not guessable from CodeSha256
    if os.geteuid() == 0:
        assert code.st_gid == pwd.getpwnam("nobody").pw_gid


def test_a_packages_directory_goes_with_its_last_worker(run: Runner, make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    fn = function(KITCHEN, "kitchen.handler")
    seen = answer(run(invoke(runtime, fn, {"do": "process"})))
    runtime.retire(fn.spec.arn)
    run(until(lambda: not os.path.exists(seen["cwd"]) and not os.path.exists(seen["tmpdir"])))

