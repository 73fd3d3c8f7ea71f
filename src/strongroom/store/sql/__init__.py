"""Every SQL statement of the service, written once for SQLite and PostgreSQL alike.

One module per concern of :class:`strongroom.store.base.Tx`: :mod:`.secrets`, :mod:`.iam`, :mod:`.keys`,
:mod:`.outbox`, :mod:`.jobs`, :mod:`.replication`,
:mod:`.functions`, :mod:`.rotations`. :class:`SqlTx` puts them together over one executor (one connection,
usually inside a transaction). Only the store package imports this one; domain code sees the
protocols of :mod:`strongroom.store.base`.
"""

from __future__ import annotations

from strongroom.store.base import Executor
from strongroom.store.sql.functions import SqlFunctions
from strongroom.store.sql.iam import SqlIam
from strongroom.store.sql.jobs import SqlJobs
from strongroom.store.sql.keys import SqlKeys
from strongroom.store.sql.outbox import SqlOutbox
from strongroom.store.sql.replication import SqlReplication
from strongroom.store.sql.rotations import SqlRotations
from strongroom.store.sql.secrets import SqlSecrets

__all__ = [
    "SqlFunctions", "SqlIam", "SqlJobs", "SqlKeys", "SqlOutbox", "SqlReplication", "SqlRotations", "SqlSecrets",
    "SqlTx",
]


class SqlTx:
    """A :class:`~strongroom.store.base.Tx` over one executor: each part is a small object built here.

    ``secrets`` may be given (the read cache's variant); the parts are plain slot attributes, so
    the hot path pays one attribute access for ``tx.secrets``.
    """

    __slots__ = ("x", "secrets", "iam", "keys", "outbox", "jobs")

    def __init__(self, executor: Executor, secrets: SqlSecrets | None = None) -> None:
        self.x = executor
        self.secrets = secrets if secrets is not None else SqlSecrets(executor)
        self.iam = SqlIam(executor)
        self.keys = SqlKeys(executor)
        self.outbox = SqlOutbox(executor)
        self.jobs = SqlJobs(executor)

    @property
    def replication(self) -> SqlReplication:
        """Built on use: only replication's own work asks for it, so reads on the hot path don't pay."""
        return SqlReplication(self.x)

    @property
    def functions(self) -> SqlFunctions:
        """Built on use, like ``replication``."""
        return SqlFunctions(self.x)

    @property
    def rotations(self) -> SqlRotations:
        """Built on use, like ``replication``."""
        return SqlRotations(self.x)
