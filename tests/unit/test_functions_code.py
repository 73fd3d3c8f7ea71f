"""strongroom.functions.runtime.code: packages checked as Lambda checks them, unpacked without escaping."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import stat
import sys
import zipfile
from pathlib import Path

import pytest

from strongroom.functions.runtime import code
from strongroom.functions.runtime.code import CodeCache, CodeError, inspect, unpack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))
from functions_support import make_zip  # noqa: E402


def _refusal(zip_bytes: bytes, tmp_path: Path) -> CodeError:
    with pytest.raises(CodeError) as checked:
        inspect(zip_bytes)
    with pytest.raises(CodeError) as unpacked:
        unpack(zip_bytes, tmp_path)
    assert str(checked.value) == str(unpacked.value) and checked.value.reason == unpacked.value.reason
    assert list(tmp_path.iterdir()) == []  # nothing is left behind
    return checked.value


def test_inspect_reports_lambdas_code_sha256_and_sizes() -> None:
    package = make_zip({"app.py": "x = 1\n", "lib/util.py": "y = 2\n"})
    info = inspect(package)
    assert info.code_sha256 == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert (info.code_size, info.unzipped_size) == (len(package), 12)


@pytest.mark.parametrize(("name", "reason"), [
    ("../evil.py", "path traversal"),
    ("lib/../../evil.py", "path traversal"),
    ("/etc/cron.d/evil", "absolute or invalid path"),
])
def test_names_that_leave_the_code_directory_are_refused(tmp_path: Path, name: str, reason: str) -> None:
    refused = _refusal(make_zip({"app.py": "", name: "owned"}), tmp_path)
    assert str(refused) == "Could not unzip uploaded file. Please check your file, then try to upload again."
    assert refused.reason.startswith(reason)


@pytest.mark.parametrize(("mode", "reason"), [
    (stat.S_IFLNK | 0o777, "symbolic link"),
    (stat.S_IFCHR | 0o666, "device or special file"),
    (stat.S_IFBLK | 0o666, "device or special file"),
    (stat.S_IFIFO | 0o666, "device or special file"),
    (stat.S_IFSOCK | 0o666, "device or special file"),
])
def test_links_devices_fifos_and_sockets_are_refused(tmp_path: Path, mode: int, reason: str) -> None:
    package = make_zip({"app.py": "", "entry": "/etc/shadow"}, {"entry": mode})
    assert _refusal(package, tmp_path).reason.startswith(reason)


def test_duplicates_and_what_is_not_a_zip_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("app.py", "first")
        archive.writestr("app.py", "second")
    assert _refusal(buffer.getvalue(), tmp_path).reason.startswith("duplicate entry")
    assert _refusal(b"PK\x03\x04 not really a zip", tmp_path).reason.startswith("not a readable zip")


def test_lambdas_size_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code, "MAX_ZIPPED_BYTES", 400)
    monkeypatch.setattr(code, "MAX_UNZIPPED_BYTES", 1000)
    assert str(_refusal(b"x" * 401, tmp_path)) == "Zipped size must be smaller than 400 bytes"
    big = make_zip({"big.bin": b"\0" * 1000})
    assert str(_refusal(big, tmp_path)) == "Unzipped size must be smaller than 1000 bytes"
    monkeypatch.setattr(code, "MAX_ENTRIES", 2)
    assert _refusal(make_zip({"a": "", "b": "", "c": ""}), tmp_path).reason == "3 entries, more than 2"


def test_the_real_limits_are_lambdas() -> None:
    assert (code.MAX_ZIPPED_BYTES, code.MAX_UNZIPPED_BYTES) == (52_428_800, 262_144_000)


def test_a_lying_size_cannot_write_more_than_declared(tmp_path: Path) -> None:
    package = bytearray(make_zip({"app.py": "x = 1\n" * 100}))
    central = package.rfind(b"PK\x01\x02")
    package[central + 24:central + 28] = (6).to_bytes(4, "little")  # the central directory claims 6 bytes
    refused = _refusal(bytes(package), tmp_path)
    assert refused.reason.startswith("cannot unpack")


def test_unpack_writes_regular_files_readable_by_the_group_only(tmp_path: Path) -> None:
    package = make_zip({"app.py": "x = 1\n", "bin/tool": "#!/bin/sh\n", "empty/": ""},
                       {"bin/tool": 0o100755, "empty/": stat.S_IFDIR | 0o755})
    target = unpack(package, tmp_path, group=os.getgid())
    assert target.parent == tmp_path and len(target.name) == 32
    assert (target / "app.py").read_text() == "x = 1\n"
    modes = {path.relative_to(target).as_posix(): stat.S_IMODE(path.stat().st_mode) for path in target.rglob("*")}
    assert modes == {"app.py": 0o640, "bin": 0o750, "bin/tool": 0o750, "empty": 0o750}
    assert stat.S_IMODE(target.stat().st_mode) == 0o750


def test_a_name_that_is_both_a_file_and_a_directory_is_refused(tmp_path: Path) -> None:
    assert _refusal(make_zip({"lib": "a file", "lib/app.py": ""}), tmp_path).reason.startswith("'lib' is both")


def test_the_cache_unpacks_once_per_hash_and_removes_the_copy_with_its_last_user(tmp_path: Path) -> None:
    package = make_zip({"app.py": ""})
    sha256 = code.code_sha256(package)
    loads = []

    async def load() -> bytes:
        loads.append(1)
        await asyncio.sleep(0)
        return package

    async def scenario() -> tuple[Path, Path]:
        cache = CodeCache(tmp_path)
        first, second = await asyncio.gather(cache.acquire(sha256, load), cache.acquire(sha256, load))
        cache.release(sha256)
        assert first.exists()
        cache.release(sha256)
        return first, second

    first, second = asyncio.run(scenario())
    assert first == second and len(loads) == 1 and not first.exists()


def test_the_cache_refuses_code_that_does_not_match_its_hash(tmp_path: Path) -> None:
    async def load() -> bytes:
        return make_zip({"app.py": "tampered"})

    async def scenario() -> int:
        cache = CodeCache(tmp_path)
        with pytest.raises(CodeError, match="does not match its CodeSha256"):
            await cache.acquire(code.code_sha256(make_zip({"app.py": ""})), load)
        return len(cache)

    assert asyncio.run(scenario()) == 0 and list(tmp_path.iterdir()) == []


def test_remove_tree_takes_back_permissions_a_function_took_away(tmp_path: Path) -> None:
    locked = tmp_path / "tmp" / "locked"
    locked.mkdir(parents=True)
    (locked / "file").write_text("x")
    locked.chmod(0)
    code.remove_tree(tmp_path / "tmp")
    assert not (tmp_path / "tmp").exists()


def test_a_failed_load_is_forgotten_so_the_next_caller_tries_again(tmp_path: Path) -> None:
    package = make_zip({"app.py": ""})
    attempts = []

    async def load() -> bytes:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("the store is unreachable")
        return package

    async def scenario() -> Path:
        cache = CodeCache(tmp_path)
        first, second = await asyncio.gather(cache.acquire(code.code_sha256(package), load),
                                             cache.acquire(code.code_sha256(package), load), return_exceptions=True)
        assert isinstance(first, OSError) and isinstance(second, OSError) and len(cache) == 0
        return await cache.acquire(code.code_sha256(package), load)

    assert asyncio.run(scenario()).exists() and len(attempts) == 2


def test_a_copy_whose_callers_all_left_during_the_unpack_is_discarded_once_unpacked(tmp_path: Path) -> None:
    package = make_zip({"app.py": ""})
    discarded: list[Path] = []
    loading = asyncio.Event()

    async def load() -> bytes:
        loading.set()
        await asyncio.sleep(0.01)
        return package

    async def scenario() -> int:
        cache = CodeCache(tmp_path, discard=discarded.append)
        caller = asyncio.ensure_future(cache.acquire(code.code_sha256(package), load))
        await loading.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        while not discarded:
            await asyncio.sleep(0.01)
        return len(cache)

    assert asyncio.run(scenario()) == 0 and discarded[0].parent == tmp_path
