"""Condition keys a request carries, built the same way for every service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from strongroom.iam.policy import ContextValue


def request_keys(params: Mapping[str, Any], members: Mapping[str, str], tags: Iterable[tuple[str, str]] | None,
                 tag_keys: Sequence[str] | None) -> dict[str, ContextValue]:
    """The keys of ``members`` (request member -> condition key) the request sets, and its tags: a tag set
    (``aws:RequestTag/<key>`` and ``aws:TagKeys``) or, without one, the keys it names (``aws:TagKeys``)."""
    keys: dict[str, ContextValue] = {}
    for member, key in members.items():
        value = params.get(member)
        if value is not None:
            keys[key] = value
    pairs = list(tags or ())
    if pairs:
        for key, value in pairs:
            keys[f"aws:RequestTag/{key}"] = value
        keys["aws:TagKeys"] = [key for key, _ in pairs]
    elif tag_keys:
        keys["aws:TagKeys"] = list(tag_keys)
    return keys
