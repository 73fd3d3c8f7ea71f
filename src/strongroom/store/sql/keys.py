"""SQL of KMS keys and the master key's check value (:class:`strongroom.store.base.KeysTx`)."""

from __future__ import annotations

from strongroom.store.base import Executor, Row
from strongroom.store.records import KmsKeyRow


def _kms_key(row: Row) -> KmsKeyRow:
    return KmsKeyRow(
        key_id=row["key_id"], arn=row["arn"], account=row["account"], region=row["region"],
        alias=row["alias"], wrapped_material=bytes(row["wrapped_material"]),
        created_at=row["created_at"], enabled=bool(row["enabled"]),
    )


class SqlKeys:
    """KMS key and key-check queries over one executor."""

    __slots__ = ("x",)

    def __init__(self, executor: Executor) -> None:
        self.x = executor

    # --- KMS keys (the key ring's persistence) --------------------------------------------
    async def find_kms_key(self, account: str, region: str, ref: str) -> KmsKeyRow | None:
        if ref.startswith("arn:"):
            resource = ref.split(":", 5)[-1]
            column, value = ("alias", resource) if resource.startswith("alias/") else ("arn", ref)
        elif ref.startswith("alias/"):
            column, value = "alias", ref
        else:
            column, value = "key_id", ref
        row = await self.x.fetchrow(
            f"SELECT * FROM kms_keys WHERE account = $1 AND region = $2 AND {column} = $3",
            account, region, value,
        )
        return _kms_key(row) if row else None

    async def insert_kms_key(self, key: KmsKeyRow) -> KmsKeyRow:
        """Insert a key; if its alias already exists (a concurrent first use), return the existing one."""
        changed = await self.x.execute(
            "INSERT INTO kms_keys (key_id, arn, account, region, alias, wrapped_material, created_at, enabled) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            key.key_id, key.arn, key.account, key.region, key.alias, key.wrapped_material,
            key.created_at, 1 if key.enabled else 0,
        )
        if changed:
            return key
        existing = await self.find_kms_key(key.account, key.region, key.alias or key.key_id)
        assert existing is not None
        return existing

    async def first_kms_key(self) -> KmsKeyRow | None:
        """The oldest KMS key (a sample of sealed data, for checking an old store's master key)."""
        row = await self.x.fetchrow("SELECT * FROM kms_keys ORDER BY created_at, key_id LIMIT 1")
        return _kms_key(row) if row else None

    # --- the master key's check value (strongroom.kms.key_check) --------------------------
    async def table_names(self) -> set[str]:
        """The store's tables (an old or new store lacks some), read from the catalog."""
        if self.x.dialect == "postgres":
            sql = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {str(row["name"]) for row in await self.x.fetch(sql)}

    async def get_key_check(self) -> tuple[str, str] | None:
        """The recorded (master key id, check value), or None."""
        row = await self.x.fetchrow("SELECT key_id, check_value FROM master_key_check WHERE singleton = 1")
        return None if row is None else (str(row["key_id"]), str(row["check_value"]))

    async def insert_key_check(self, key_id: str, check_value: str, now: float) -> None:
        """Record the check value unless one is recorded already (another instance was first)."""
        await self.x.execute(
            "INSERT INTO master_key_check (singleton, key_id, check_value, recorded_at) VALUES (1, $1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            key_id, check_value, now,
        )
