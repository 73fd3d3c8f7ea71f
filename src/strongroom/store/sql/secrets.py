"""SQL of secrets, their versions and staging labels (:class:`strongroom.store.base.SecretsTx`).

Statements use ``$1``-style parameters (the SQLite backend rewrites them to ``?1``), one text for
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any, Unpack

import orjson

from strongroom.store.base import Executor, Row
from strongroom.store.records import SecretFields, SecretPage, SecretRow, SecretWithVersion, VersionRow
from strongroom.store.sql.columns import update_by_id

#: The secrets columns in SecretRow's field order, so a row converts positionally (hot path).
_SECRET_FIELDS = tuple(f.name for f in fields(SecretRow))
_SECRET_COLUMNS = ", ".join(_SECRET_FIELDS)
_SECRET_COLUMNS_S = ", ".join(f"s.{name}" for name in _SECRET_FIELDS)
_TAGS, _ROTATION_ENABLED = _SECRET_FIELDS.index("tags"), _SECRET_FIELDS.index("rotation_enabled")
#: The columns update_secret may set: the keys of SecretFields.
_UPDATABLE = frozenset(SecretFields.__annotations__)
#: ORDER BY expressions for ListSecrets' SortBy values; ties broken by id.
SORT_COLUMNS = {
    "created-date": "created_at",
    "last-changed-date": "last_changed_at",
    "last-accessed-date": "COALESCE(last_accessed_at, 0)",
    "name": "name",
}


#: Secrets past their deletion date at $1 (the partial index secrets_purge_due serves it).
_PURGE_DUE = "deletion_date IS NOT NULL AND deletion_date <= $1"


def _secret(row: Row) -> SecretRow:
    """A SecretRow from the first len(_SECRET_FIELDS) columns of a row, in field order."""
    values: list[Any] = list(tuple(row)[: len(_SECRET_FIELDS)])  # type: ignore[arg-type]
    tags = values[_TAGS]
    values[_TAGS] = None if tags is None else [tuple(t) for t in orjson.loads(tags)]
    if values[_ROTATION_ENABLED] is not None:
        values[_ROTATION_ENABLED] = bool(values[_ROTATION_ENABLED])
    return SecretRow(*values)


_VERSION_COLUMNS_V = "v.version_id, v.created_at, v.kind, v.ciphertext, v.last_accessed_at"


def _secret_and_version(row: Row) -> tuple[SecretRow, VersionRow | None]:
    """A row of secret columns, then _VERSION_COLUMNS_V, then the version's labels (JSON)."""
    secret = _secret(row)
    rest: tuple[Any, ...] = tuple(row)[len(_SECRET_FIELDS) :]  # type: ignore[arg-type]
    if rest[0] is None:
        return secret, None
    return secret, VersionRow(
        version_id=rest[0], created_at=rest[1], kind=rest[2], ciphertext=_bytes(rest[3]),
        stages=_json_strings(rest[5]), last_accessed_at=rest[4],
    )


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def json_array_agg(dialect: str, expression: str) -> str:
    """An aggregate collecting ``expression`` into a JSON array text (NULL or ``[]`` over no rows)."""
    return f"json_agg({expression})" if dialect == "postgres" else f"json_group_array({expression})"


def _json_strings(text: str | None) -> list[str]:
    """A JSON array of strings from :func:`json_array_agg`, sorted by code point."""
    return sorted(orjson.loads(text)) if text else []


def encode_tags(tags: Iterable[tuple[str, str]] | None) -> str | None:
    """Tags as stored: NULL for a secret never tagged (AWS then omits ``Tags``), else a JSON list."""
    return None if tags is None else orjson.dumps([list(t) for t in tags]).decode()


class SqlSecrets:
    """Secret, version and label queries over one executor (one connection, usually in a transaction)."""

    __slots__ = ("x",)

    def __init__(self, executor: Executor) -> None:
        self.x = executor

    # --- secrets -------------------------------------------------------------------------
    async def get_secret(
        self, account: str, region: str, *, name: str | None = None, arn: str | None = None,
        for_update: bool = False,
    ) -> SecretRow | None:
        """Find a secret by exact name or exact ARN within an account and region."""
        column, value = ("arn", arn) if arn is not None else ("name", name)
        lock = " FOR UPDATE" if for_update and self.x.dialect == "postgres" else ""
        row = await self.x.fetchrow(
            f"SELECT {_SECRET_COLUMNS} FROM secrets WHERE account = $1 AND region = $2 AND {column} = $3{lock}",
            account, region, value,
        )
        return _secret(row) if row else None

    def _version_labels(self) -> str:
        return (
            f"(SELECT {json_array_agg(self.x.dialect, 'l.stage')} FROM stages l "
            "WHERE l.secret_id = v.secret_id AND l.version_id = v.version_id)"
        )

    async def get_secret_with_version(
        self, account: str, region: str, *, name: str | None, arn: str | None, version_id: str | None,
        stage: str | None,
    ) -> SecretWithVersion:
        """The hot read of GetSecretValue in one statement (one snapshot, one round trip).

        The secret by exact name or ARN, plus the version named by ``version_id`` or else by the
        label ``stage``, with that version's labels; None when there is no such secret, and no
        version when the secret has none matching.
        """
        column, value = ("arn", arn) if arn is not None else ("name", name)
        row = await self.x.fetchrow(
            f"SELECT {_SECRET_COLUMNS_S}, {_VERSION_COLUMNS_V}, {self._version_labels()} "
            "FROM secrets s LEFT JOIN versions v ON v.secret_id = s.id AND v.version_id = "
            "COALESCE($4, (SELECT st.version_id FROM stages st WHERE st.secret_id = s.id AND st.stage = $5)) "
            f"WHERE s.account = $1 AND s.region = $2 AND s.{column} = $3",
            account, region, value, version_id, stage,
        )
        return None if row is None else _secret_and_version(row)

    async def get_secrets_with_stage(
        self, account: str, region: str, names: Sequence[str], arns: Sequence[str], stage: str
    ) -> list[tuple[SecretRow, VersionRow | None]]:
        """Many secrets by exact names or ARNs, each with the version carrying ``stage`` (one statement)."""
        args: list[Any] = [account, region, stage]
        ors = []
        for column, values in (("name", names), ("arn", arns)):
            if values:
                marks = ", ".join(f"${i}" for i in range(len(args) + 1, len(args) + len(values) + 1))
                args.extend(values)
                ors.append(f"s.{column} IN ({marks})")
        if not ors:
            return []
        rows = await self.x.fetch(
            f"SELECT {_SECRET_COLUMNS_S}, {_VERSION_COLUMNS_V}, {self._version_labels()} "
            "FROM secrets s LEFT JOIN versions v ON v.secret_id = s.id AND v.version_id = "
            "(SELECT st.version_id FROM stages st WHERE st.secret_id = s.id AND st.stage = $3) "
            f"WHERE s.account = $1 AND s.region = $2 AND ({' OR '.join(ors)})",
            *args,
        )
        return [_secret_and_version(row) for row in rows]

    async def insert_secret(self, s: SecretRow) -> int:
        row = await self.x.fetchrow(
            "INSERT INTO secrets (account, region, name, arn, description, kms_key_id, created_at, "
            "last_changed_at, primary_region, owning_service, tags, secret_type, primary_arn, replica_status, "
            "replica_message, resource_policy) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
            s.account, s.region, s.name, s.arn, s.description, s.kms_key_id, s.created_at,
            s.last_changed_at, s.primary_region, s.owning_service, encode_tags(s.tags), s.secret_type,
            s.primary_arn, s.replica_status, s.replica_message, s.resource_policy,
        )
        assert row is not None
        s.id = int(row["id"])
        return s.id

    async def update_secret(self, secret_id: int, **fields: Unpack[SecretFields]) -> None:
        """Set the given columns of one secret (``tags`` as a list of pairs)."""
        values: dict[str, Any] = dict(fields)
        statement = update_by_id("secrets", values, _UPDATABLE)
        if "tags" in values:
            values["tags"] = encode_tags(values["tags"])
        await self.x.execute(statement, secret_id, *values.values())

    async def delete_secret(self, secret_id: int) -> None:
        """Remove a secret with its versions, stages and rotation runs (a purge)."""
        await self.x.execute("DELETE FROM rotations WHERE secret_id = $1", secret_id)
        await self.x.execute("DELETE FROM stages WHERE secret_id = $1", secret_id)
        await self.x.execute("DELETE FROM versions WHERE secret_id = $1", secret_id)
        await self.x.execute("DELETE FROM secrets WHERE id = $1", secret_id)

    async def touch_secret_accessed(self, secret_id: int, day: float) -> None:
        """Record the access day; a no-op when it is already recorded (one write a day at most)."""
        await self.x.execute(
            "UPDATE secrets SET last_accessed_at = $2 WHERE id = $1 "
            "AND (last_accessed_at IS NULL OR last_accessed_at < $2)",
            secret_id, day,
        )

    async def list_secrets(
        self, account: str, region: str, *, sort_by: str, descending: bool,
        after: tuple[Any, int] | None, limit: int, include_deleted: bool,
        name_ranges: Sequence[tuple[str, str | None]] | None = None,
    ) -> list[SecretRow]:
        """One batch of secrets in listing order, strictly after the keyset position ``after``."""
        key = SORT_COLUMNS[sort_by]
        args: list[Any] = [account, region]
        where = ["account = $1", "region = $2"]
        if not include_deleted:
            where.append("deleted_at IS NULL")
        if name_ranges:
            ors = []
            for low, high in name_ranges:
                args.append(low)
                clause = f"name >= ${len(args)}"
                if high is not None:
                    args.append(high)
                    clause += f" AND name < ${len(args)}"
                ors.append(f"({clause})")
            where.append("(" + " OR ".join(ors) + ")")
        if after is not None:
            args.extend(after)
            op = "<" if descending else ">"
            k, i = len(args) - 1, len(args)
            where.append(f"({key} {op} ${k} OR ({key} = ${k} AND id {op} ${i}))")
        direction = "DESC" if descending else "ASC"
        args.append(limit)
        rows = await self.x.fetch(
            f"SELECT {_SECRET_COLUMNS} FROM secrets WHERE {' AND '.join(where)} "
            f"ORDER BY {key} {direction}, id {direction} LIMIT ${len(args)}",
            *args,
        )
        return [_secret(r) for r in rows]

    async def page_with_stages(self, secrets: list[SecretRow]) -> SecretPage:
        """Attach every listed secret's version-to-stages map in one query."""
        stages: dict[int, dict[str, list[str]]] = {s.id: {} for s in secrets}
        if secrets:
            ids = [s.id for s in secrets]
            marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
            rows = await self.x.fetch(
                f"SELECT secret_id, version_id, stage FROM stages WHERE secret_id IN ({marks}) "
                "ORDER BY secret_id, version_id, stage",
                *ids,
            )
            for r in rows:
                stages[r["secret_id"]].setdefault(r["version_id"], []).append(r["stage"])
        return SecretPage(secrets, stages)

    async def purge_is_due(self, now: float) -> bool:
        """Whether any secret is past its deletion date (a read on the partial index; claims nothing)."""
        row = await self.x.fetchrow(f"SELECT 1 AS due FROM secrets WHERE {_PURGE_DUE} LIMIT 1", now)
        return row is not None

    async def secrets_due_for_purge(self, now: float, limit: int) -> list[SecretRow]:
        """Claim secrets past their deletion date; other instances skip the rows claimed here."""
        claim = " FOR UPDATE SKIP LOCKED" if self.x.dialect == "postgres" else ""
        rows = await self.x.fetch(
            f"SELECT {_SECRET_COLUMNS} FROM secrets WHERE {_PURGE_DUE} ORDER BY deletion_date LIMIT $2{claim}",
            now, limit,
        )
        return [_secret(r) for r in rows]

    # --- versions and stages -------------------------------------------------------------
    async def get_version(
        self, secret_id: int, *, version_id: str | None = None, stage: str | None = None,
        with_value: bool = True,
    ) -> VersionRow | None:
        """One version by id or by a staging label attached to it, with all its labels.

        One statement (one snapshot, one round trip): the labels come from a correlated subquery,
        so a reader never pairs a version with labels from before or after a concurrent stage move.
        """
        value = "v.ciphertext" if with_value else "NULL AS ciphertext"
        labels = (
            f"(SELECT {json_array_agg(self.x.dialect, 'l.stage')} FROM stages l "
            "WHERE l.secret_id = v.secret_id AND l.version_id = v.version_id) AS stages"
        )
        if version_id is not None:
            row = await self.x.fetchrow(
                f"SELECT v.version_id, v.created_at, v.kind, {value}, v.last_accessed_at, {labels} "
                "FROM versions v WHERE v.secret_id = $1 AND v.version_id = $2",
                secret_id, version_id,
            )
        else:
            row = await self.x.fetchrow(
                f"SELECT v.version_id, v.created_at, v.kind, {value}, v.last_accessed_at, {labels} "
                "FROM stages st JOIN versions v ON v.secret_id = st.secret_id AND v.version_id = st.version_id "
                "WHERE st.secret_id = $1 AND st.stage = $2",
                secret_id, stage,
            )
        if row is None:
            return None
        return VersionRow(
            version_id=row["version_id"], created_at=row["created_at"], kind=row["kind"],
            ciphertext=_bytes(row["ciphertext"]), stages=_json_strings(row["stages"]),
            last_accessed_at=row["last_accessed_at"],
        )

    async def list_versions(self, secret_id: int) -> list[VersionRow]:
        """Every version of a secret (without values), oldest first, with its labels (one statement)."""
        labels = (
            f"(SELECT {json_array_agg(self.x.dialect, 'l.stage')} FROM stages l "
            "WHERE l.secret_id = v.secret_id AND l.version_id = v.version_id) AS stages"
        )
        rows = await self.x.fetch(
            f"SELECT v.version_id, v.created_at, v.kind, v.last_accessed_at, {labels} FROM versions v "
            "WHERE v.secret_id = $1 ORDER BY v.created_at, v.version_id",
            secret_id,
        )
        return [
            VersionRow(
                version_id=r["version_id"], created_at=r["created_at"], kind=r["kind"], ciphertext=None,
                stages=sorted(_json_strings(r["stages"])), last_accessed_at=r["last_accessed_at"],
            )
            for r in rows
        ]

    async def stage_map(self, secret_id: int) -> dict[str, list[str]]:
        """version id -> its staging labels, for the versions that have any."""
        rows = await self.x.fetch(
            "SELECT version_id, stage FROM stages WHERE secret_id = $1 ORDER BY version_id, stage", secret_id
        )
        out: dict[str, list[str]] = {}
        for r in rows:
            out.setdefault(r["version_id"], []).append(r["stage"])
        return out

    async def count_versions(self, secret_id: int) -> int:
        row = await self.x.fetchrow("SELECT COUNT(*) AS n FROM versions WHERE secret_id = $1", secret_id)
        return int(row["n"]) if row else 0

    async def insert_version(
        self, secret_id: int, version_id: str, created_at: float, kind: str, ciphertext: bytes | None
    ) -> None:
        await self.x.execute(
            "INSERT INTO versions (secret_id, version_id, created_at, kind, ciphertext) "
            "VALUES ($1, $2, $3, $4, $5)",
            secret_id, version_id, created_at, kind, ciphertext,
        )

    async def update_version_ciphertext(self, secret_id: int, version_id: str, ciphertext: bytes) -> None:
        await self.x.execute(
            "UPDATE versions SET ciphertext = $3 WHERE secret_id = $1 AND version_id = $2",
            secret_id, version_id, ciphertext,
        )

    async def fill_version(self, secret_id: int, version_id: str, kind: str, ciphertext: bytes) -> int:
        """Give a version created without a value (a rotation's AWSPENDING) its value; 0 if it had one."""
        return await self.x.execute(
            "UPDATE versions SET kind = $3, ciphertext = $4 WHERE secret_id = $1 AND version_id = $2 "
            "AND ciphertext IS NULL",
            secret_id, version_id, kind, ciphertext,
        )

    async def delete_versions(self, secret_id: int, version_ids: Sequence[str]) -> None:
        for version_id in version_ids:
            await self.x.execute(
                "DELETE FROM stages WHERE secret_id = $1 AND version_id = $2", secret_id, version_id
            )
            await self.x.execute(
                "DELETE FROM versions WHERE secret_id = $1 AND version_id = $2", secret_id, version_id
            )

    async def move_stage(self, secret_id: int, stage: str, version_id: str) -> None:
        """Attach a label to a version, detaching it from whichever version had it."""
        await self.x.execute(
            "INSERT INTO stages (secret_id, stage, version_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (secret_id, stage) DO UPDATE SET version_id = excluded.version_id",
            secret_id, stage, version_id,
        )

    async def remove_stage(self, secret_id: int, stage: str) -> None:
        await self.x.execute("DELETE FROM stages WHERE secret_id = $1 AND stage = $2", secret_id, stage)

    async def touch_version_accessed(self, secret_id: int, version_id: str, day: float) -> None:
        await self.x.execute(
            "UPDATE versions SET last_accessed_at = $3 WHERE secret_id = $1 AND version_id = $2 "
            "AND (last_accessed_at IS NULL OR last_accessed_at < $3)",
            secret_id, version_id, day,
        )
