"""SQL of IAM roles and their AssumeRole sessions (part of :class:`strongroom.store.base.IamTx`),
one text for both dialects. A role's inline policies are ``iam_policies`` rows of owner kind 'role'."""

from __future__ import annotations

from strongroom.store.base import Executor, Row
from strongroom.store.records import RoleRow, RoleSessionRow

_ROLE_COLUMNS = (
    "account, role_name, role_id, arn, path, trust_policy, max_session_duration, description, created_at"
)
_SESSION_COLUMNS = (
    "access_key_id, account, role_id, session_name, session_policy, sealed_secret, token_hash, expires_at, created_at"
)


def _role(row: Row) -> RoleRow:
    data = dict(row)
    data["max_session_duration"] = int(data["max_session_duration"])
    return RoleRow(**data)


class SqlRoles:
    """Role queries over one executor; mixed into :class:`strongroom.store.sql.iam.SqlIam`."""

    __slots__ = ()
    x: Executor

    # --- roles ---------------------------------------------------------------------------
    async def get_role(self, account: str, role_name: str) -> RoleRow | None:
        row = await self.x.fetchrow(
            f"SELECT {_ROLE_COLUMNS} FROM iam_roles WHERE account = $1 AND role_name = $2", account, role_name
        )
        return _role(row) if row else None

    async def role_name_taken(self, account: str, role_name: str) -> bool:
        """Whether the account has a role of this name in any case (IAM's names are case-insensitive)."""
        row = await self.x.fetchrow(
            "SELECT 1 AS one FROM iam_roles WHERE account = $1 AND lower(role_name) = lower($2)", account, role_name
        )
        return row is not None

    async def insert_role(self, role: RoleRow) -> None:
        await self.x.execute(
            f"INSERT INTO iam_roles ({_ROLE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            role.account, role.role_name, role.role_id, role.arn, role.path, role.trust_policy,
            role.max_session_duration, role.description, role.created_at,
        )

    async def list_roles(self, account: str) -> list[RoleRow]:
        rows = await self.x.fetch(
            f"SELECT {_ROLE_COLUMNS} FROM iam_roles WHERE account = $1 ORDER BY role_name", account
        )
        return [_role(r) for r in rows]

    async def set_trust_policy(self, account: str, role_name: str, document: str) -> int:
        return await self.x.execute(
            "UPDATE iam_roles SET trust_policy = $3 WHERE account = $1 AND role_name = $2",
            account, role_name, document,
        )

    async def delete_role(self, account: str, role_name: str) -> int:
        """Delete a role and every session it issued; return how many roles were deleted (0 or 1)."""
        role = await self.get_role(account, role_name)
        if role is None:
            return 0
        await self.x.execute("DELETE FROM iam_role_sessions WHERE role_id = $1", role.role_id)
        return await self.x.execute("DELETE FROM iam_roles WHERE role_id = $1", role.role_id)

    # --- role sessions (AssumeRole's temporary credentials) --------------------------------
    async def insert_role_session(self, session: RoleSessionRow) -> None:
        await self.x.execute(
            f"INSERT INTO iam_role_sessions ({_SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            session.access_key_id, session.account, session.role_id, session.session_name, session.session_policy,
            session.sealed_secret, session.token_hash, session.expires_at, session.created_at,
        )

    async def get_role_session(self, access_key_id: str) -> tuple[RoleSessionRow, RoleRow] | None:
        """A session with its role, or None: no such session, or its role is gone."""
        session_columns = ", ".join(f"s.{c}" for c in _SESSION_COLUMNS.split(", "))
        role_columns = ", ".join(f"r.{c} AS role_{c}" for c in _ROLE_COLUMNS.split(", "))
        row = await self.x.fetchrow(
            f"SELECT {session_columns}, {role_columns} FROM iam_role_sessions s "
            "JOIN iam_roles r ON r.role_id = s.role_id AND r.account = s.account WHERE s.access_key_id = $1",
            access_key_id,
        )
        if row is None:
            return None
        data = dict(row)
        role = _role({c: data.pop(f"role_{c}") for c in _ROLE_COLUMNS.split(", ")})
        data["sealed_secret"] = bytes(data["sealed_secret"])
        return RoleSessionRow(**data), role

    async def purge_expired_role_sessions(self, now: float, limit: int) -> int:
        """Delete at most ``limit`` role sessions that expired before ``now``; return how many.

        On PostgreSQL the rows are claimed with SKIP LOCKED, so concurrent purges never wait.
        """
        claim = " FOR UPDATE SKIP LOCKED" if self.x.dialect == "postgres" else ""
        return await self.x.execute(
            "DELETE FROM iam_role_sessions WHERE access_key_id IN (SELECT access_key_id FROM iam_role_sessions "
            f"WHERE expires_at < $1 ORDER BY expires_at LIMIT $2{claim})",
            now, limit,
        )
