"""SQL of IAM-style identities (:class:`strongroom.store.base.IamTx`): users, groups, access keys,
session keys and inline policies, one text for both dialects; roles in :mod:`.roles`."""

from __future__ import annotations

from strongroom.store.base import Executor
from strongroom.store.records import AccessKeyRow, SessionKeyRow, UserRow
from strongroom.store.sql.roles import SqlRoles

_SESSION_COLUMNS = (
    "access_key_id, account, user_name, parent_key_id, sealed_secret, token_hash, expires_at, created_at"
)


class SqlIam(SqlRoles):
    """Identity queries over one executor (inside a store read or write)."""

    __slots__ = ("x",)

    def __init__(self, executor: Executor) -> None:
        self.x = executor

    # --- users and groups ----------------------------------------------------------------
    async def get_user(self, account: str, user_name: str) -> UserRow | None:
        row = await self.x.fetchrow(
            "SELECT account, user_name, user_id, arn, created_at FROM iam_users "
            "WHERE account = $1 AND user_name = $2",
            account, user_name,
        )
        return UserRow(**dict(row)) if row else None

    async def insert_user(self, user: UserRow) -> None:
        await self.x.execute(
            "INSERT INTO iam_users (account, user_name, user_id, arn, created_at) VALUES ($1, $2, $3, $4, $5)",
            user.account, user.user_name, user.user_id, user.arn, user.created_at,
        )

    async def list_users(self, account: str) -> list[UserRow]:
        rows = await self.x.fetch(
            "SELECT account, user_name, user_id, arn, created_at FROM iam_users WHERE account = $1 "
            "ORDER BY user_name",
            account,
        )
        return [UserRow(**dict(r)) for r in rows]

    async def delete_user(self, account: str, user_name: str) -> int:
        await self.x.execute("DELETE FROM iam_access_keys WHERE account = $1 AND user_name = $2", account, user_name)
        await self.x.execute("DELETE FROM iam_session_keys WHERE account = $1 AND user_name = $2", account, user_name)
        await self.x.execute(
            "DELETE FROM iam_policies WHERE account = $1 AND owner_kind = 'user' AND owner_name = $2",
            account, user_name,
        )
        await self.x.execute(
            "DELETE FROM iam_group_members WHERE account = $1 AND user_name = $2", account, user_name
        )
        return await self.x.execute(
            "DELETE FROM iam_users WHERE account = $1 AND user_name = $2", account, user_name
        )

    async def insert_group(self, account: str, group_name: str, group_id: str, arn: str, now: float) -> None:
        await self.x.execute(
            "INSERT INTO iam_groups (account, group_name, group_id, arn, created_at) VALUES ($1, $2, $3, $4, $5)",
            account, group_name, group_id, arn, now,
        )

    async def group_exists(self, account: str, group_name: str) -> bool:
        row = await self.x.fetchrow(
            "SELECT 1 AS one FROM iam_groups WHERE account = $1 AND group_name = $2", account, group_name
        )
        return row is not None

    async def add_member(self, account: str, group_name: str, user_name: str) -> None:
        await self.x.execute(
            "INSERT INTO iam_group_members (account, group_name, user_name) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            account, group_name, user_name,
        )

    async def remove_member(self, account: str, group_name: str, user_name: str) -> int:
        return await self.x.execute(
            "DELETE FROM iam_group_members WHERE account = $1 AND group_name = $2 AND user_name = $3",
            account, group_name, user_name,
        )

    async def groups_of(self, account: str, user_name: str) -> list[str]:
        rows = await self.x.fetch(
            "SELECT group_name FROM iam_group_members WHERE account = $1 AND user_name = $2 ORDER BY group_name",
            account, user_name,
        )
        return [r["group_name"] for r in rows]

    async def list_groups(self, account: str) -> list[str]:
        rows = await self.x.fetch(
            "SELECT group_name FROM iam_groups WHERE account = $1 ORDER BY group_name", account
        )
        return [r["group_name"] for r in rows]

    async def delete_group(self, account: str, group_name: str) -> int:
        await self.x.execute(
            "DELETE FROM iam_policies WHERE account = $1 AND owner_kind = 'group' AND owner_name = $2",
            account, group_name,
        )
        await self.x.execute(
            "DELETE FROM iam_group_members WHERE account = $1 AND group_name = $2", account, group_name
        )
        return await self.x.execute(
            "DELETE FROM iam_groups WHERE account = $1 AND group_name = $2", account, group_name
        )

    # --- inline policies -----------------------------------------------------------------
    async def put_policy(self, account: str, kind: str, owner: str, name: str, document: str) -> None:
        await self.x.execute(
            "INSERT INTO iam_policies (account, owner_kind, owner_name, policy_name, document) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account, owner_kind, owner_name, policy_name) "
            "DO UPDATE SET document = excluded.document",
            account, kind, owner, name, document,
        )

    async def delete_policy(self, account: str, kind: str, owner: str, name: str) -> int:
        return await self.x.execute(
            "DELETE FROM iam_policies WHERE account = $1 AND owner_kind = $2 AND owner_name = $3 "
            "AND policy_name = $4",
            account, kind, owner, name,
        )

    async def list_policies(self, account: str, kind: str, owner: str) -> list[tuple[str, str]]:
        rows = await self.x.fetch(
            "SELECT policy_name, document FROM iam_policies WHERE account = $1 AND owner_kind = $2 "
            "AND owner_name = $3 ORDER BY policy_name",
            account, kind, owner,
        )
        return [(r["policy_name"], r["document"]) for r in rows]

    async def policies_for_user(self, account: str, user_name: str) -> list[str]:
        """Every inline policy document that applies to a user: its own and its groups'."""
        rows = await self.x.fetch(
            "SELECT document FROM iam_policies WHERE account = $1 AND ("
            "(owner_kind = 'user' AND owner_name = $2) OR (owner_kind = 'group' AND owner_name IN "
            "(SELECT group_name FROM iam_group_members WHERE account = $1 AND user_name = $2))) "
            "ORDER BY owner_kind, owner_name, policy_name",
            account, user_name,
        )
        return [r["document"] for r in rows]

    # --- access keys ---------------------------------------------------------------------
    async def insert_access_key(self, key: AccessKeyRow) -> None:
        await self.x.execute(
            "INSERT INTO iam_access_keys (access_key_id, account, user_name, sealed_secret, status, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            key.access_key_id, key.account, key.user_name, key.sealed_secret, key.status, key.created_at,
        )

    async def get_access_key(self, access_key_id: str, *, for_update: bool = False) -> AccessKeyRow | None:
        """An access key; ``for_update`` locks its row on PostgreSQL (SQLite writers serialize anyway)."""
        lock = " FOR UPDATE" if for_update and self.x.dialect == "postgres" else ""
        row = await self.x.fetchrow(
            "SELECT access_key_id, account, user_name, sealed_secret, status, created_at FROM iam_access_keys "
            f"WHERE access_key_id = $1{lock}",
            access_key_id,
        )
        if row is None:
            return None
        data = dict(row)
        data["sealed_secret"] = bytes(data["sealed_secret"])
        return AccessKeyRow(**data)

    async def list_access_keys(self, account: str, user_name: str | None) -> list[AccessKeyRow]:
        if user_name is None:
            rows = await self.x.fetch(
                "SELECT access_key_id, account, user_name, sealed_secret, status, created_at FROM iam_access_keys "
                "WHERE account = $1 AND user_name IS NULL ORDER BY created_at",
                account,
            )
        else:
            rows = await self.x.fetch(
                "SELECT access_key_id, account, user_name, sealed_secret, status, created_at FROM iam_access_keys "
                "WHERE account = $1 AND user_name = $2 ORDER BY created_at",
                account, user_name,
            )
        return [AccessKeyRow(**{**dict(r), "sealed_secret": bytes(r["sealed_secret"])}) for r in rows]

    async def set_access_key_status(self, access_key_id: str, status: str) -> int:
        return await self.x.execute(
            "UPDATE iam_access_keys SET status = $2 WHERE access_key_id = $1", access_key_id, status
        )

    async def delete_access_key(self, access_key_id: str) -> int:
        # The key first: on PostgreSQL that waits for a GetSessionToken holding the key's row, so
        # the session it inserted is seen, and deleted, by the next statement.
        deleted = await self.x.execute("DELETE FROM iam_access_keys WHERE access_key_id = $1", access_key_id)
        await self.delete_session_keys(access_key_id)
        return deleted

    async def first_access_key(self) -> AccessKeyRow | None:
        """The oldest access key (a sample of sealed data, for checking an old store's master key)."""
        row = await self.x.fetchrow(
            "SELECT access_key_id, account, user_name, sealed_secret, status, created_at FROM iam_access_keys "
            "ORDER BY created_at, access_key_id LIMIT 1"
        )
        return None if row is None else AccessKeyRow(**{**dict(row), "sealed_secret": bytes(row["sealed_secret"])})

    async def count_access_keys(self) -> int:
        row = await self.x.fetchrow("SELECT COUNT(*) AS n FROM iam_access_keys")
        return int(row["n"]) if row else 0

    # --- session keys (temporary credentials) -------------------------------------------
    async def insert_session_key(self, key: SessionKeyRow) -> None:
        await self.x.execute(
            f"INSERT INTO iam_session_keys ({_SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            key.access_key_id, key.account, key.user_name, key.parent_key_id, key.sealed_secret, key.token_hash,
            key.expires_at, key.created_at,
        )

    async def get_session_key(self, access_key_id: str) -> SessionKeyRow | None:
        row = await self.x.fetchrow(
            f"SELECT {_SESSION_COLUMNS} FROM iam_session_keys WHERE access_key_id = $1", access_key_id
        )
        if row is None:
            return None
        data = dict(row)
        data["sealed_secret"] = bytes(data["sealed_secret"])
        return SessionKeyRow(**data)

    async def delete_session_keys(self, parent_key_id: str) -> int:
        """Delete every session key issued by one long-term key; return how many."""
        return await self.x.execute("DELETE FROM iam_session_keys WHERE parent_key_id = $1", parent_key_id)

    async def purge_expired_session_keys(self, now: float, limit: int) -> int:
        """Delete at most ``limit`` session keys that expired before ``now``; return how many.

        On PostgreSQL the rows are claimed with SKIP LOCKED, so concurrent purges on several
        instances never wait on (or deadlock with) each other.
        """
        claim = " FOR UPDATE SKIP LOCKED" if self.x.dialect == "postgres" else ""
        return await self.x.execute(
            "DELETE FROM iam_session_keys WHERE access_key_id IN (SELECT access_key_id FROM iam_session_keys "
            f"WHERE expires_at < $1 ORDER BY expires_at LIMIT $2{claim})",
            now, limit,
        )
