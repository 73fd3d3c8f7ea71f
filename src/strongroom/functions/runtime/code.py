"""Deployment packages: checked as Lambda checks them, unpacked safely, shared between workers.

:func:`inspect` refuses what Lambda refuses (more than 50 MB zipped, 250 MB unzipped, not a zip)
and what would escape or subvert the code directory: names with ``..`` or a leading ``/``,
symbolic links, device files, FIFOs and sockets, duplicate names, encrypted entries. :func:`unpack`
applies the same checks, then writes regular files only, with ``O_EXCL | O_NOFOLLOW``, into a new
directory with a random name. The sizes a zip declares bound what is written: ``zipfile`` stops
reading an entry at its declared size and checks its CRC.

:class:`CodeCache` keeps one unpacked copy per code hash while workers use it and removes it when
the last one stops; the zip is loaded only when no copy exists.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import secrets
import shutil
import stat
import zipfile
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_ZIPPED_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 262_144_000
MAX_ENTRIES = 20_000
"""Ours, not Lambda's (it publishes none): enough for any real package, few enough to bound inodes."""

NOT_A_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
DIRECTORY_MODE, FILE_MODE, EXECUTABLE_MODE = 0o750, 0o640, 0o750
_COPY_CHUNK = 1 << 20


class CodeError(ValueError):
    """A package Lambda would refuse, or one that is unsafe to unpack. ``str()`` is Lambda's message
    (InvalidParameterValueException); ``reason`` says what exactly is wrong."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CodeInfo:
    code_sha256: str
    """Base64 of the zip's SHA-256, as Lambda reports CodeSha256."""
    code_size: int
    unzipped_size: int


def code_sha256(zip_bytes: bytes) -> str:
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def _refuse(reason: str) -> CodeError:
    return CodeError(NOT_A_ZIP, reason)


def _entries(archive: zipfile.ZipFile) -> Iterator[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Every entry with its path components, once all are known to be safe and within the limits."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _refuse(f"{len(infos)} entries, more than {MAX_ENTRIES}")
    unzipped = sum(info.file_size for info in infos)
    if unzipped >= MAX_UNZIPPED_BYTES:
        raise CodeError(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes", f"{unzipped} bytes unzipped")
    seen: set[tuple[str, ...]] = set()
    files: set[tuple[str, ...]] = set()
    directories: set[tuple[str, ...]] = set()
    checked = []
    for info in infos:
        parts = _safe_parts(info)
        if parts in seen:
            raise _refuse(f"duplicate entry {info.filename!r}")
        seen.add(parts)
        (directories if _is_directory(info) else files).add(parts)
        directories.update(parts[:end] for end in range(1, len(parts)))
        checked.append((info, parts))
    if files & directories:
        raise _refuse(f"{'/'.join(min(files & directories))!r} is both a file and a directory")
    yield from checked


def _is_directory(info: zipfile.ZipInfo) -> bool:
    return info.is_dir() or stat.S_ISDIR(info.external_attr >> 16)


def _safe_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    name = info.filename
    if "\0" in name or name.startswith("/"):
        raise _refuse(f"absolute or invalid path {name!r}")
    parts = tuple(part for part in PurePosixPath(name).parts if part != ".")
    if ".." in parts:
        raise _refuse(f"path traversal in {name!r}")
    if info.flag_bits & 0x1:
        raise _refuse(f"encrypted entry {name!r}")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise _refuse(f"symbolic link {name!r}")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refuse(f"device or special file {name!r}")
    return parts


def _open(zip_bytes: bytes) -> zipfile.ZipFile:
    if len(zip_bytes) > MAX_ZIPPED_BYTES:
        raise CodeError(f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes",
                        f"{len(zip_bytes)} bytes zipped")
    try:
        return zipfile.ZipFile(io.BytesIO(zip_bytes))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise _refuse(f"not a readable zip: {exc}") from None


def _visit(zip_bytes: bytes, visit: Callable[[zipfile.ZipFile, zipfile.ZipInfo, tuple[str, ...]], None]) -> int:
    """Check the package and call ``visit`` for each entry; a corrupt entry is a CodeError. The unzipped size."""
    with _open(zip_bytes) as archive:
        unzipped = 0
        try:
            for info, parts in _entries(archive):
                visit(archive, info, parts)
                unzipped += info.file_size
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error) as exc:
            raise _refuse(f"cannot unpack: {exc}") from None
    return unzipped


def _read_through(archive: zipfile.ZipFile, info: zipfile.ZipInfo, _parts: tuple[str, ...]) -> None:
    with archive.open(info) as source:
        while source.read(_COPY_CHUNK):
            pass


def inspect(zip_bytes: bytes) -> CodeInfo:
    """Check a package as CreateFunction/UpdateFunctionCode would: its entries, sizes and every CRC."""
    unzipped = _visit(zip_bytes, _read_through)
    return CodeInfo(code_sha256(zip_bytes), len(zip_bytes), unzipped)


def unpack(zip_bytes: bytes, parent: Path, group: int | None = None) -> Path:
    """Unpack into a new directory under ``parent`` and return it; on any failure nothing is left.

    Directories are 0750 and files 0640 (0750 when the zip marks them executable); with ``group``
    (the workers' group when the server runs as root) they belong to that group, so workers can read
    the code but not change it. OSError (a full disk) is the server's problem and is not a CodeError.
    """
    target = parent / secrets.token_hex(16)
    target.mkdir(mode=0o700)
    try:
        _visit(zip_bytes, lambda archive, info, parts: _extract(archive, info, target, parts, group))
        _own(target, DIRECTORY_MODE, group)
    except BaseException:
        remove_tree(target)
        raise
    return target


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, parts: tuple[str, ...],
             group: int | None) -> None:
    if _is_directory(info):
        _make_directories(target, parts, group)
        return
    if not parts:
        raise _refuse(f"file entry without a name {info.filename!r}")
    _make_directories(target, parts[:-1], group)
    mode = EXECUTABLE_MODE if (info.external_attr >> 16) & 0o111 else FILE_MODE
    fd = os.open(target.joinpath(*parts), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as out, archive.open(info) as source:
        shutil.copyfileobj(source, out, _COPY_CHUNK)
        _own_fd(out.fileno(), mode, group)


def _make_directories(target: Path, parts: tuple[str, ...], group: int | None) -> None:
    path = target
    for part in parts:
        path = path / part
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # made for an earlier entry (names were checked: never a file or a link)
            continue
        _own(path, DIRECTORY_MODE, group)


def _own(path: Path, mode: int, group: int | None) -> None:
    """Set a directory's mode and group; no one else can enter the target before it is complete."""
    if group is not None:
        os.chown(path, -1, group)
    os.chmod(path, mode)


def _own_fd(fd: int, mode: int, group: int | None) -> None:
    if group is not None:
        os.fchown(fd, -1, group)
    os.fchmod(fd, mode)


def remove_tree(path: Path) -> None:
    """Remove a directory tree, also where its owner took away its own write or search permission.

    Only a server that is not root needs the permissions back (root is not bound by them), and
    then the function runs as the server's own user: restoring them never crosses a privilege
    boundary (chmod refuses symbolic links; intermediate components are the same user's anyway).
    """
    if not os.path.lexists(path):
        return
    try:
        shutil.rmtree(path)
        return
    except PermissionError:
        if os.geteuid() == 0:
            raise
    _chmod_owner(path)
    for current, directories, _ in os.walk(path):
        for name in directories:
            _chmod_owner(os.path.join(current, name))
    shutil.rmtree(path)


def _chmod_owner(path: str | Path) -> None:
    try:
        os.chmod(path, 0o700, follow_symlinks=False)
    except (NotImplementedError, OSError):  # a symbolic link, or gone
        pass


@dataclass(eq=False)
class _Copy:
    ready: asyncio.Future[Path]
    users: int = 0


class CodeCache:
    """Unpacked packages by code hash, shared by the workers that run them.

    :meth:`acquire` loads and unpacks a package only when no copy exists; concurrent callers for the
    same hash wait for that one unpack, which goes on if they are cancelled. A copy is handed to
    ``discard`` (the runtime removes it in a thread) once its last user has released it, or once
    it is unpacked if every caller left before; a failed unpack is forgotten, so the next caller retries.
    """

    def __init__(self, root: Path, group: int | None = None, discard: Callable[[Path], object] = remove_tree) -> None:
        self._root, self._group, self._discard = root, group, discard
        self._copies: dict[str, _Copy] = {}

    async def acquire(self, sha256: str, load: Callable[[], Awaitable[bytes]]) -> Path:
        copy = self._copies.get(sha256)
        if copy is None:
            copy = self._copies[sha256] = _Copy(asyncio.ensure_future(self._unpack(sha256, load)))
            copy.ready.add_done_callback(lambda _: self._settle(sha256, copy))
        copy.users += 1
        try:
            return await asyncio.shield(copy.ready)
        except BaseException:
            self._leave(sha256, copy)
            raise

    def release(self, sha256: str) -> None:
        self._leave(sha256, self._copies[sha256])

    async def _unpack(self, sha256: str, load: Callable[[], Awaitable[bytes]]) -> Path:
        zip_bytes = await load()
        if code_sha256(zip_bytes) != sha256:
            raise CodeError("The code does not match its CodeSha256", f"expected {sha256}")
        return await asyncio.to_thread(unpack, zip_bytes, self._root, self._group)

    def _leave(self, sha256: str, copy: _Copy) -> None:
        copy.users -= 1
        self._settle(sha256, copy)

    def _settle(self, sha256: str, copy: _Copy) -> None:
        if self._copies.get(sha256) is not copy or not copy.ready.done():
            return
        if copy.ready.cancelled() or copy.ready.exception() is not None:
            del self._copies[sha256]
        elif copy.users == 0:
            del self._copies[sha256]
            self._discard(copy.ready.result())

    def __len__(self) -> int:
        return len(self._copies)
