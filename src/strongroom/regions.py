"""Region names: which ones a request's credential scope may name.

The region of the credential scope names a namespace (secrets, KMS keys and ARNs are per region),
so it must be a real region name, never ``*``, ``..``, an empty string or text with a colon (an
ARN made with it would not parse back). A well-formed name is what every partition's
``regionRegex`` in botocore's ``partitions.json`` describes, in lower case (those regexes use
``\\w``, which would also take upper case and ``_``): a two-to-four-letter prefix, one or two
words, and a number. That accepts every region of every partition (``us-east-1``,
``us-gov-west-1``, ``cn-north-1``, ``us-isob-east-1``, ``eu-isoe-west-1``, ``eusc-de-east-1``) and
refuses SDK pseudo-regions such as ``aws-global``, which AWS refuses too. A deployment can narrow
the set further with the ``regions`` setting. Standard library only (the configuration uses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

REGION_PATTERN = r"[a-z]{2,4}(?:-[a-z]{2,12}){1,2}-[0-9]{1,2}"
#: The longest text REGION_PATTERN can match.
MAX_REGION_LENGTH = 33
_REGION = re.compile(REGION_PATTERN)


def is_region_name(name: str) -> bool:
    """Whether ``name`` is a well-formed region name (see the module docstring)."""
    return len(name) <= MAX_REGION_LENGTH and _well_formed(name)


@lru_cache(maxsize=256)  # clients name a handful of regions; only short text reaches the cache
def _well_formed(name: str) -> bool:
    return _REGION.fullmatch(name) is not None


class AcceptedRegions:
    """The regions a server serves: ``regions`` if given (each well-formed), else any well-formed name,
    except those in ``excluded`` (regions other deployments serve: the peers of replication).

    A container, so it can be handed to :func:`strongroom.sigv4.parse_auth` as its ``regions``.
    """

    __slots__ = ("names", "excluded")

    def __init__(self, regions: Iterable[str] | None = None, excluded: Iterable[str] = ()) -> None:
        self.names: frozenset[str] | None = None
        self.excluded = frozenset(excluded)
        if regions is None:
            return
        listed = list(regions)
        bad = [name for name in listed if not (isinstance(name, str) and is_region_name(name))]
        if bad:
            raise ValueError(f"not region names (lower case, like us-east-1): {', '.join(sorted(map(repr, bad)))}")
        if not listed:
            raise ValueError("name at least one region")
        self.names = frozenset(listed)

    def __contains__(self, name: object) -> bool:
        if self.names is not None:
            return name in self.names
        return isinstance(name, str) and is_region_name(name) and name not in self.excluded
