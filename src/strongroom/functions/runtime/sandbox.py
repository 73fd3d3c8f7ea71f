"""Who workers run as and where their files live.

When the server runs as root, workers run as an unprivileged user (``nobody`` by default) with no
supplementary groups; otherwise as the server's own user, which is all a process without privileges
can do (docs/security.md says what that means). The runtime's directory (never inside the data
directory) holds ``code/`` (unpacked packages, see ``code.py``) and ``tmp/`` (one private TMPDIR per
worker). Both, and the root, are 0710 with the workers' group when privileges are dropped: workers
can reach a directory whose random name they were given but list none of them.
"""

from __future__ import annotations

import os
import pwd
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from strongroom.functions.runtime.code import remove_tree


@dataclass(frozen=True)
class WorkerIdentity:
    """The user and group workers run as; None for both when they run as the server's own user."""

    uid: int | None = None
    gid: int | None = None


def worker_identity(user: str) -> WorkerIdentity:
    """``user`` when the server runs as root (which must exist and not be root), else the server's user."""
    if os.geteuid() != 0:
        return WorkerIdentity()
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"the function worker user {user!r} does not exist") from None
    if entry.pw_uid == 0:
        raise ValueError(f"function workers must not run as root (user {user!r})")
    return WorkerIdentity(entry.pw_uid, entry.pw_gid)


READ, SEARCH = 0o4, 0o1
"""Permission bits :func:`unreachable` checks: reading a file; searching (entering) a directory or running a file."""


def unreachable(identity: WorkerIdentity, path: str | Path, bits: int | None = None) -> str | None:
    """Why the workers' user cannot reach ``path`` with ``bits`` (default: read, and search a directory).

    Every directory above must be searchable. Checked from the permission bits with the workers' uid
    and gid (they have no other groups), so a runtime that could never start a worker says so when
    it is built, not at every invocation.
    """
    if identity.uid is None:
        return None
    resolved = Path(os.path.realpath(path))
    for directory in reversed(resolved.parents):
        if not _allows(directory, identity, SEARCH):
            return f"{directory} is not searchable by uid {identity.uid}"
    wanted = (READ | SEARCH if resolved.is_dir() else READ) if bits is None else bits
    if not _allows(resolved, identity, wanted):
        return f"{resolved} does not allow mode {wanted:o} to uid {identity.uid}"
    return None


def _allows(path: Path, identity: WorkerIdentity, bits: int) -> bool:
    try:
        status = path.stat()
    except OSError:
        return False
    if status.st_uid == identity.uid:
        shift = 6
    elif status.st_gid == identity.gid:
        shift = 3
    else:
        shift = 0
    return stat.S_IMODE(status.st_mode) >> shift & bits == bits


class Sandbox:
    """The runtime's directories: ``root`` (a new temporary directory by default), ``code`` and ``tmp``."""

    def __init__(self, identity: WorkerIdentity, root: Path | None = None) -> None:
        self.identity = identity
        self._owns_root = root is None or not root.exists()  # what it made, it removes
        self.root = Path(tempfile.mkdtemp(prefix="strongroom-functions-")) if root is None else root
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.code, self.tmp = self.root / "code", self.root / "tmp"
        for directory in (self.code, self.tmp):
            remove_tree(directory)  # what a crashed server left behind
            directory.mkdir(mode=0o700)
        for directory in (self.root, self.code, self.tmp):
            self._share_with_workers(directory)

    @property
    def group(self) -> int | None:
        return self.identity.gid

    def _share_with_workers(self, directory: Path) -> None:
        if self.identity.gid is not None:
            os.chown(directory, -1, self.identity.gid)
            os.chmod(directory, 0o710)  # noqa: S103 - group may search, not list: see the docstring
        else:
            os.chmod(directory, 0o700)

    def new_tmp_dir(self) -> Path:
        """A private TMPDIR for one worker, owned by the worker's user."""
        path = self.tmp / secrets.token_hex(16)
        path.mkdir(mode=0o700)
        if self.identity.uid is not None:
            os.chown(path, self.identity.uid, self.identity.gid if self.identity.gid is not None else -1)
        return path

    def close(self) -> None:
        if self._owns_root:
            remove_tree(self.root)
        else:
            remove_tree(self.code)
            remove_tree(self.tmp)
