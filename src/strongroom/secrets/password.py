"""GetRandomPassword: a random password drawn with a CSPRNG, with AWS's options, defaults and errors.

Character types, as the API reference lists them
(https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html):
lowercase ``a-z``, uppercase ``A-Z``, numbers ``0-9`` and the 32 punctuation characters
``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``; the space joins only with ``IncludeSpace``.

Semantics (sources in the comments beside each rule):

* ``PasswordLength`` defaults to 32; ``RequireEachIncludedType`` defaults to true; every
  ``Exclude*`` switch and ``IncludeSpace`` default to false.
* ``ExcludeCharacters`` removes characters one by one from every set, the space included.
* ``RequireEachIncludedType`` requires one character of each of the four types not switched off;
  the space is admitted but never required.
* Every character comes from ``secrets`` (the OS CSPRNG) by unbiased choice; the required
  characters are then shuffled into place with ``secrets.SystemRandom``.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from typing import Protocol

from strongroom.errors import InvalidParameterException

__all__ = [
    "DEFAULT_PASSWORD_LENGTH",
    "LOWERCASE",
    "NUMBERS",
    "PUNCTUATION",
    "UPPERCASE",
    "generate_random_password",
]

DEFAULT_PASSWORD_LENGTH = 32

LOWERCASE = string.ascii_lowercase
UPPERCASE = string.ascii_uppercase
NUMBERS = string.digits
# The API reference's ExcludePunctuation list, character for character; it is exactly
# Python's string.punctuation (the 32 printable ASCII symbols). Spelled out so a change
# in either place is caught by the tests rather than silently inherited.
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
SPACE = " "

# AWS's messages for the three requests no password can satisfy. AWS documents none of them;
# they are the ones its service returns:
# - "Password length is too short based on the required types." -- moto
#   (getmoto/moto, moto/secretsmanager/models.py, get_random_password), InvalidParameterException.
# - "All characters of the desired type have been excluded." -- seen from the real service by
#   many CDK/CloudFormation users whose ExcludeCharacters emptied a required type (e.g. the
#   aws-cdk RDS examples that switch to ExcludePunctuation "to avoid: All characters of the
#   desired type have been excluded").
# - "All characters have been excluded from selection." -- the pool left empty; recorded with the
#   other two, as measured against the service, in a public CloudFormation-provider project.
# The model allows InvalidParameterException, InvalidRequestException and InternalServiceError
# for this operation; moto uses InvalidParameterException, and so do we for all three.
TOO_SHORT_MESSAGE = "Password length is too short based on the required types."
TYPE_EXCLUDED_MESSAGE = "All characters of the desired type have been excluded."
ALL_EXCLUDED_MESSAGE = "All characters have been excluded from selection."


class RandomSource(Protocol):
    """What the generator needs from a random number generator (``secrets.SystemRandom`` in use)."""

    def choice(self, seq: Sequence[str], /) -> str: ...

    def shuffle(self, x: list[str], /) -> None: ...


_SYSTEM_RANDOM = secrets.SystemRandom()


def generate_random_password(params: Mapping[str, object], rng: RandomSource | None = None) -> str:
    """Return a password for a GetRandomPassword request (AWS member names as keys).

    ``rng`` is for tests only: production callers leave it out and get ``secrets.SystemRandom``.
    Raises :class:`InvalidParameterException` when no password can meet the request.
    """
    length = _int(params.get("PasswordLength"), DEFAULT_PASSWORD_LENGTH)
    exclude = _str(params.get("ExcludeCharacters"))
    require_each = _bool(params.get("RequireEachIncludedType"), True)
    include_space = _bool(params.get("IncludeSpace"), False)

    excluded = frozenset(exclude)

    def keep(chars: str) -> str:
        return "".join(c for c in chars if c not in excluded)

    # One entry per character type that its Exclude* switch leaves in, after ExcludeCharacters.
    types = [
        keep(chars)
        for chars, switch in (
            (LOWERCASE, "ExcludeLowercase"),
            (UPPERCASE, "ExcludeUppercase"),
            (NUMBERS, "ExcludeNumbers"),
            (PUNCTUATION, "ExcludePunctuation"),
        )
        if not _bool(params.get(switch), False)
    ]
    pool = "".join(types) + (keep(SPACE) if include_space else "")

    if require_each and any(not chars for chars in types):
        raise InvalidParameterException(TYPE_EXCLUDED_MESSAGE)
    if not pool:
        raise InvalidParameterException(ALL_EXCLUDED_MESSAGE)
    required = types if require_each else []
    if len(required) > length:
        raise InvalidParameterException(TOO_SHORT_MESSAGE)

    return _draw(length, pool, required, rng or _SYSTEM_RANDOM)


def _draw(length: int, pool: str, required: Sequence[str], rng: RandomSource) -> str:
    """``length`` characters: one from each of ``required``, the rest from ``pool``, shuffled.

    ``choice`` and ``shuffle`` of ``random.Random`` (and so of ``SystemRandom``) draw indexes with
    ``_randbelow``, which rejects out-of-range bits instead of reducing modulo: unbiased.
    """
    chars = [rng.choice(chars) for chars in required]
    chars.extend(rng.choice(pool) for _ in range(length - len(chars)))
    if required:
        rng.shuffle(chars)
    return "".join(chars)


def _int(value: object, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"PasswordLength must be an integer, got {type(value).__name__}")
    return value


def _bool(value: object, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _str(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"ExcludeCharacters must be a string, got {type(value).__name__}")
    return value
