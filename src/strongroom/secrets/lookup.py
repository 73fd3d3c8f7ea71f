"""Resolving a SecretId (name, full or partial ARN) in the caller's namespace, and the name rule."""

from __future__ import annotations

import re
from functools import lru_cache

from strongroom.errors import ValidationException
from strongroom.secrets.arns import SecretLookup, resolve_secret_id
from strongroom.secrets.messages import INVALID_NAME
from strongroom.service.context import RequestContext

_VALID_NAME = re.compile(r"[A-Za-z0-9/_+=.@!-]+")


def lookup_secret_id(ctx: RequestContext, secret_id: str) -> SecretLookup:
    """Interpret a SecretId (name, full or partial ARN); a bad name is AWS's ValidationException."""
    return _lookup(secret_id, ctx.account, ctx.region)


@lru_cache(maxsize=16_384)  # pure and immutable; clients read the same ids over and over
def _lookup(secret_id: str, account: str, region: str) -> SecretLookup:
    lookup = resolve_secret_id(secret_id, account, region)
    if lookup.name is not None:
        check_name(lookup.name)
    return lookup


def check_name(name: str) -> None:
    """A secret name (or a SecretId that is a name) must use AWS's character set."""
    if not _VALID_NAME.fullmatch(name):
        raise ValidationException(INVALID_NAME)
