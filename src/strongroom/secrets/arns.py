"""Secret ARNs: building them, and resolving a SecretId (name, full ARN or partial ARN)."""

from __future__ import annotations

import re
import secrets as _random
import string
from dataclasses import dataclass

_SUFFIX_ALPHABET = string.ascii_letters + string.digits
_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_ARN = re.compile(r"^arn:(?P<partition>[^:]+):secretsmanager:(?P<region>[^:]*):(?P<account>[^:]*):secret:(?P<name>.+)$")


def new_secret_arn(region: str, account: str, name: str, partition: str = "aws") -> str:
    """An ARN for a new secret: the name plus ``-`` and six random characters, as AWS does."""
    suffix = "".join(_random.choice(_SUFFIX_ALPHABET) for _ in range(6))
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-{suffix}"


@dataclass(frozen=True, slots=True)
class SecretArn:
    """The parts of a secret ARN."""

    partition: str
    region: str
    account: str
    resource: str  # the name, with its six-character suffix in a full ARN


def parse_secret_arn(arn: str) -> SecretArn | None:
    """The parts of a Secrets Manager secret ARN, or None if ``arn`` is none."""
    match = _ARN.match(arn)
    if match is None:
        return None
    return SecretArn(match["partition"], match["region"], match["account"], match["name"])


def arn_in_region(arn: SecretArn, region: str) -> str:
    """The ARN of the same secret in another region: a replica's ARN differs from its primary's only
    in the region (AWS User Guide, "Replicate secrets across Regions")."""
    return f"arn:{arn.partition}:secretsmanager:{region}:{arn.account}:secret:{arn.resource}"


#: Region-name prefixes of the partitions other than ``aws`` (botocore's partitions.json).
_PARTITION_PREFIXES = (
    ("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"), ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"), ("eusc-", "aws-eusc"),
)  # fmt: skip


def partition_of(region: str) -> str:
    """The partition a region belongs to: secrets replicate only within one."""
    return next((partition for prefix, partition in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")


@dataclass(frozen=True, slots=True)
class SecretLookup:
    """How to find a secret: an exact ``arn`` or an exact ``name`` in ``account``/``region``."""

    account: str
    region: str
    name: str | None = None
    arn: str | None = None


def resolve_secret_id(secret_id: str, account: str, region: str) -> SecretLookup:
    """Interpret a SecretId the way AWS does.

    An ARN whose resource part ends in ``-`` plus six alphanumerics is a full ARN and matches
    exactly; any other ARN is partial and matches by the name it contains (so a secret whose own
    name ends in ``-XXXXXX`` cannot be found by partial ARN: recorded scenario
    ``test_create_and_update_secret[Invalid/_+=.@-Name-a1b2c3-False]``). Anything else is a name.
    """
    match = _ARN.match(secret_id)
    if match is None:
        return SecretLookup(account, region, name=secret_id)
    arn_account = match["account"] or account
    resource = match["name"]
    if match["region"] != region or _SUFFIX.search(resource):
        # Regions are separate namespaces: an ARN of another region matches nothing here.
        return SecretLookup(arn_account, region, arn=secret_id)
    return SecretLookup(arn_account, region, name=resource)
