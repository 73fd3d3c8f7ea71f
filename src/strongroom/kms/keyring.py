"""The KMS key ring: resolves KMS key references, and seals and opens secret values with them.

Key hierarchy (see ``strongroom.crypto.envelope`` for the byte layouts)::

    master key                    one per deployment                kms/master_key.py
      └─ KMS key                  per account+region: the default    this module; rows in the store,
           │                      alias/aws/secretsmanager, created   material wrapped by the master
           │                      on first use, plus customer keys    key (AAD = the KMS key's ARN)
           └─ data key            fresh per secret version           crypto/envelope.py
                └─ secret value   AES-256-GCM, AAD = secret ARN + version id

A sealed value names its KMS key by the key's ARN, which is globally unique and says which account
and region own it. A KMS key row never changes its material, so a value sealed under any key stays
readable as long as the key exists; moving a secret to another key (UpdateSecret KmsKeyId) reseals
new versions and leaves old ones readable.

Caching: unwrapped KMS key material lives only in this object's bounded LRU (``cache_size`` keys),
never in a KmsKeyRow, a log or the store. Opening a value whose key is cached, and sealing with a cached
default key or a key named by id or ARN, does no store I/O. Aliases of customer keys are looked up on
every seal, since an alias can be re-pointed. Whoever disables or deletes a key calls
:meth:`KeyRing.forget` so the cached copy goes too.

Sealing goes through a :class:`Sealer` bound to one resolved key: resolving may read the store
(and create the default key, a write), sealing never does, so a caller resolves first and seals
inside its own write transaction.

Errors are KMS's own conditions (:mod:`strongroom.kms.errors`: InvalidKeyReference, KeyNotFound,
KeyDisabled, CannotEncrypt, CannotDecrypt, with KMS's wording as ``detail``); each service turns
them into its own errors (Secrets Manager: :mod:`strongroom.secrets.kms_errors`).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple, Protocol

from strongroom.crypto import envelope
from strongroom.crypto.errors import CannotOpen
from strongroom.kms.errors import (
    AliasExists,
    CannotDecrypt,
    CannotEncrypt,
    InvalidAlias,
    InvalidKeyReference,
    KeyDisabled,
    KeyNotFound,
)
from strongroom.kms.master_key import MasterKey
from strongroom.store.base import Store
from strongroom.store.records import KmsKeyRow

__all__ = [
    "DEFAULT_ALIAS",
    "InMemoryKmsKeyStore",
    "KeyRing",
    "KmsKeyRef",
    "KmsKeyStore",
    "Sealer",
    "StoreKmsKeys",
    "alias_arn",
    "key_arn",
    "parse_kms_key_ref",
]

DEFAULT_ALIAS = "alias/aws/secretsmanager"
PARTITION = "aws"

_KEY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ALIAS = re.compile(r"alias/[a-zA-Z0-9/_-]{1,250}")
_ARN = re.compile(r"arn:aws:kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):(?P<resource>.+)")



class KmsKeyStore(Protocol):
    """Persistence for KMS keys: :class:`StoreKmsKeys` (a store), :class:`InMemoryKmsKeyStore` (tests)."""

    async def find_kms_key(self, account: str, region: str, ref: str) -> KmsKeyRow | None:
        """The key in (account, region) that ``ref`` names: key id, key ARN, "alias/name" or alias ARN.

        The key ring always passes a canonical key ARN or alias ARN (see :func:`parse_kms_key_ref`).
        """
        ...

    async def insert_kms_key(self, key: KmsKeyRow) -> KmsKeyRow:
        """Insert ``key``; if its alias already exists in its account+region, return that row instead."""
        ...


class KmsKeyRef(NamedTuple):
    """A parsed KmsKeyId: what it names and the canonical ARN of that key or alias."""

    kind: Literal["key", "alias"]
    arn: str
    account: str
    region: str


def key_arn(account: str, region: str, key_id: str) -> str:
    return f"arn:{PARTITION}:kms:{region}:{account}:key/{key_id}"


def alias_arn(account: str, region: str, alias: str) -> str:
    """``alias`` includes its ``alias/`` prefix."""
    return f"arn:{PARTITION}:kms:{region}:{account}:{alias}"


def parse_kms_key_ref(account: str, region: str, ref: str) -> KmsKeyRef:
    """Parse a KmsKeyId (key id, key ARN, alias name or alias ARN) in the caller's account+region.

    Raises InvalidKeyReference if ``ref`` has none of those forms.
    """
    if _KEY_ID.fullmatch(ref):
        return KmsKeyRef("key", key_arn(account, region, ref), account, region)
    if _ALIAS.fullmatch(ref):
        return KmsKeyRef("alias", alias_arn(account, region, ref), account, region)
    m = _ARN.fullmatch(ref)
    if m:
        resource = m["resource"]
        if resource.startswith("key/") and _KEY_ID.fullmatch(resource[4:]):
            return KmsKeyRef("key", ref, m["account"], m["region"])
        if _ALIAS.fullmatch(resource):
            return KmsKeyRef("alias", ref, m["account"], m["region"])
    raise InvalidKeyReference(ref)


@dataclass(slots=True)
class _Cached:
    key: KmsKeyRow
    material: bytes = field(repr=False)


class Sealer:
    """Seals values under one resolved KMS key, without any I/O (use it inside write transactions)."""

    __slots__ = ("key", "_material")

    def __init__(self, key: KmsKeyRow, material: bytes) -> None:
        self.key = key
        self._material = material

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` under a fresh data key wrapped by this key (envelope format 0x01)."""
        return envelope.seal(plaintext, self._material, self.key.arn, aad)

    def secret_key_id(self, kms_key_ref: str | None) -> str | None:
        """What a secret sealed here records as its KmsKeyId: ``kms_key_ref`` as given (it named this
        key), None for the default key.

        AWS omits KmsKeyId from DescribeSecret and ListSecrets for a secret under
        ``aws/secretsmanager`` however it was named (None, "", the alias, its ARN, the key's id or ARN).
        """
        return None if not kms_key_ref or self.key.alias == DEFAULT_ALIAS else kms_key_ref

    def __repr__(self) -> str:
        return f"Sealer({self.key.arn!r})"


class KeyRing:
    """Resolves KMS keys for an account+region and seals/opens values with them."""

    def __init__(
        self, master: MasterKey, store: KmsKeyStore, cache_size: int = 4096, data_key_cache_size: int = 10_000
    ) -> None:
        if cache_size < 1 or data_key_cache_size < 1:
            raise ValueError("cache sizes must be at least 1")
        self._master = master
        self._store = store
        self._cache_size = cache_size
        self._cache: OrderedDict[str, _Cached] = OrderedDict()  # key ARN -> key and its material
        self._defaults: OrderedDict[tuple[str, str], str] = OrderedDict()  # (account, region) -> ARN
        self._create_lock = asyncio.Lock()  # creating a default key is rare: one lock is enough
        #: sealed blob -> (its KMS key's cache entry, its opened data key), oldest first
        self._opened: dict[bytes, tuple[_Cached, envelope.DataKey]] = {}
        self._opened_size = data_key_cache_size

    def __repr__(self) -> str:
        return f"KeyRing(master={self._master!r}, cached_keys={len(self._cache)}/{self._cache_size})"

    @property
    def cached_keys(self) -> int:
        """How many unwrapped KMS keys the cache holds now."""
        return len(self._cache)

    async def resolve(self, account: str, region: str, kms_key_ref: str | None) -> KmsKeyRow:
        """The enabled KMS key that ``kms_key_ref`` names; None, "" or the default alias -> the default key.

        Raises InvalidKeyReference or KeyNotFound for an unknown or malformed reference, KeyDisabled
        for a disabled key.
        """
        if not kms_key_ref or kms_key_ref == DEFAULT_ALIAS:
            return self._check_enabled(await self._default_key(account, region))
        ref = parse_kms_key_ref(account, region, kms_key_ref)
        if ref.kind == "alias" and ref.arn == alias_arn(account, region, DEFAULT_ALIAS):
            return self._check_enabled(await self._default_key(account, region))
        if ref.kind == "key":
            hit = self._cache_get(ref.arn)
            if hit is not None and hit.key.account == account and hit.key.region == region:
                return self._check_enabled(hit.key)
        # An ARN naming another account or region never matches: stores look up within one scope.
        in_scope = ref.account == account and ref.region == region
        key = await self._store.find_kms_key(account, region, ref.arn) if in_scope else None
        if key is None:
            raise KeyNotFound(ref.arn, alias=ref.kind == "alias")
        self._refresh(key)
        return self._check_enabled(key)

    async def sealer(self, account: str, region: str, kms_key_ref: str | None) -> Sealer:
        """A :class:`Sealer` bound to the key ``kms_key_ref`` names (resolved now, as :meth:`resolve`).

        Raises CannotEncrypt when the key's material can't be unwrapped (another master key).
        """
        key = await self.resolve(account, region, kms_key_ref)
        return Sealer(key, self._usable_material(key))

    async def seal(
        self, account: str, region: str, kms_key_ref: str | None, plaintext: bytes, aad: bytes
    ) -> bytes:
        """Resolve, then seal once: :meth:`sealer` and :meth:`Sealer.seal` (outside write transactions)."""
        return (await self.sealer(account, region, kms_key_ref)).seal(plaintext, aad)

    async def open(self, account: str, region: str, blob: bytes, aad: bytes) -> bytes:
        """Decrypt a sealed value; CannotDecrypt or KeyDisabled (never depending on the value) if not.

        Opened data keys are remembered per blob (bounded), so reading the same version again
        costs one AES-GCM decryption; the KMS key's account, region and enabled flag are checked
        on every call all the same.
        """
        try:
            opened = self._opened.get(blob)
            if opened is not None:
                entry, data_key = opened
                self._check_usable(entry.key, account, region)
                return data_key.open(blob, aad)
            arn = envelope.key_id_of(blob)
            hit = self._cache_get(arn)
            if hit is None:
                try:
                    ref = parse_kms_key_ref(account, region, arn)
                except InvalidKeyReference:
                    raise CannotDecrypt() from None
                key = await self._store.find_kms_key(account, region, ref.arn) if ref.kind == "key" else None
                if key is None or key.arn != arn:
                    raise CannotDecrypt()
                self._material(key)
                hit = self._cache[arn]
            self._check_usable(hit.key, account, region)
            material = hit.material
            data_key = envelope.open_data_key(blob, lambda _key_id: material)
            if len(self._opened) >= self._opened_size:
                del self._opened[next(iter(self._opened))]
            self._opened[blob] = (hit, data_key)
            return data_key.open(blob, aad)
        except CannotOpen as exc:
            raise CannotDecrypt(exc.reason) from None

    @staticmethod
    def _check_usable(key: KmsKeyRow, account: str, region: str) -> None:
        if key.account != account or key.region != region:
            raise CannotDecrypt()
        if not key.enabled:
            raise KeyDisabled(key.arn)

    async def create_key(self, account: str, region: str, alias: str | None = None) -> KmsKeyRow:
        """Create a customer KMS key, optionally with an alias (``alias/...``, not ``alias/aws/...``)."""
        if alias is not None:
            if not _ALIAS.fullmatch(alias):
                raise InvalidAlias(f"Alias {alias!r} must begin with alias/ and contain only letters, digits, / _ -")
            if alias.startswith("alias/aws/"):
                raise InvalidAlias(f"Alias {alias} is reserved for AWS managed keys")
        key, created = await self._insert_new(account, region, alias)
        if not created:  # the store already had this alias (possibly inserted by a racing process)
            raise AliasExists(alias_arn(account, region, alias or ""))
        return key

    def forget(self, key_arn: str | None = None) -> None:
        """Drop one key (or every key) from the cache, e.g. after it is disabled or deleted."""
        self._opened.clear()
        if key_arn is None:
            self._cache.clear()
            self._defaults.clear()
            return
        self._cache.pop(key_arn, None)
        for scope, arn in list(self._defaults.items()):
            if arn == key_arn:
                del self._defaults[scope]

    # --- internals -----------------------------------------------------------------------------
    async def _default_key(self, account: str, region: str) -> KmsKeyRow:
        scope = (account, region)
        arn = self._defaults.get(scope)
        if arn is not None:
            hit = self._cache_get(arn)
            if hit is not None:
                self._defaults.move_to_end(scope)
                return hit.key
        default_arn = alias_arn(account, region, DEFAULT_ALIAS)
        key = await self._store.find_kms_key(account, region, default_arn)
        if key is None:
            async with self._create_lock:
                key = await self._store.find_kms_key(account, region, default_arn)
                if key is None:
                    key, _ = await self._insert_new(account, region, DEFAULT_ALIAS)
        self._refresh(key)
        self._usable_material(key)
        self._defaults[scope] = key.arn
        self._defaults.move_to_end(scope)
        while len(self._defaults) > self._cache_size:
            self._defaults.popitem(last=False)
        return key

    async def _insert_new(self, account: str, region: str, alias: str | None) -> tuple[KmsKeyRow, bool]:
        """Create, wrap and insert a key -> (row, True); if the alias exists -> (existing row, False)."""
        key_id = str(uuid.uuid4())
        arn = key_arn(account, region, key_id)
        material = os.urandom(envelope.KEY_SIZE)
        candidate = KmsKeyRow(
            key_id=key_id,
            arn=arn,
            account=account,
            region=region,
            alias=alias,
            wrapped_material=self._master.wrap(material, arn.encode()),
            created_at=time.time(),
        )
        stored = await self._store.insert_kms_key(candidate)
        if stored.arn != arn:
            return stored, False
        self._cache_put(stored, material)
        return stored, True

    def _check_enabled(self, key: KmsKeyRow) -> KmsKeyRow:
        if not key.enabled:
            raise KeyDisabled(key.arn)
        return key

    def _usable_material(self, key: KmsKeyRow) -> bytes:
        """The key's material for sealing; CannotEncrypt if it does not unwrap (another master key)."""
        try:
            return self._material(key)
        except CannotOpen:
            raise CannotEncrypt() from None

    def _material(self, key: KmsKeyRow) -> bytes:
        hit = self._cache_get(key.arn)
        if hit is not None:
            return hit.material
        material = self._master.unwrap(key.wrapped_material, key.arn.encode())
        self._cache_put(key, material)
        return material

    def _refresh(self, key: KmsKeyRow) -> None:
        """Keep the cached row (enabled flag, alias) in step with a row just read from the store."""
        hit = self._cache.get(key.arn)
        if hit is not None:
            hit.key = key

    def _cache_get(self, arn: str) -> _Cached | None:
        hit = self._cache.get(arn)
        if hit is not None:
            self._cache.move_to_end(arn)
        return hit

    def _cache_put(self, key: KmsKeyRow, material: bytes) -> None:
        self._cache[key.arn] = _Cached(key, material)
        self._cache.move_to_end(key.arn)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
            self._opened.clear()  # entries may hold the evicted key's row; rare, so start over


class StoreKmsKeys:
    """The KMS keys of a store: each lookup is a read, each insert a write transaction of its own.

    Never call it inside a write transaction of the same store (SQLite would wait for itself).
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    async def find_kms_key(self, account: str, region: str, ref: str) -> KmsKeyRow | None:
        async with self._store.read() as tx:
            return await tx.keys.find_kms_key(account, region, ref)

    async def insert_kms_key(self, key: KmsKeyRow) -> KmsKeyRow:
        async with self._store.write() as tx:
            return await tx.keys.insert_kms_key(key)


class InMemoryKmsKeyStore:
    """A :class:`KmsKeyStore` in a dict, for tests and tools. Yields to the loop like a real store."""

    def __init__(self) -> None:
        self.keys: dict[str, KmsKeyRow] = {}  # key ARN -> key
        self.aliases: dict[str, str] = {}  # alias ARN -> key ARN
        self.calls = 0

    async def find_kms_key(self, account: str, region: str, ref: str) -> KmsKeyRow | None:
        self.calls += 1
        await asyncio.sleep(0)
        parsed = parse_kms_key_ref(account, region, ref)
        arn = self.aliases.get(parsed.arn) if parsed.kind == "alias" else parsed.arn
        key = self.keys.get(arn) if arn is not None else None
        if key is None or key.account != account or key.region != region:
            return None
        return key

    async def insert_kms_key(self, key: KmsKeyRow) -> KmsKeyRow:
        self.calls += 1
        await asyncio.sleep(0)
        if key.alias is not None:
            name = alias_arn(key.account, key.region, key.alias)
            if name in self.aliases:
                return self.keys[self.aliases[name]]
            self.aliases[name] = key.arn
        self.keys[key.arn] = key
        return key

    def set_enabled(self, arn: str, enabled: bool) -> None:
        self.keys[arn] = replace(self.keys[arn], enabled=enabled)
