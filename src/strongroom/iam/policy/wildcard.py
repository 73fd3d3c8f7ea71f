"""IAM wildcard patterns (``*`` any run of characters, ``?`` one character), compiled once.

A :class:`GlobSet` answers "does this string match any of these patterns" with a set lookup for
the patterns that hold no wildcard and one combined regular expression for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def glob_to_regex(pattern: str) -> str:
    """Regular-expression source for one IAM wildcard pattern (whole-string match intended)."""
    # re.escape turns "*" into "\*" and "?" into "\?"; a literal backslash becomes "\\", so the
    # replacements below can never split an escaped backslash from the character after it.
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


@dataclass(frozen=True, slots=True)
class GlobSet:
    """Matches a string against a fixed set of IAM wildcard patterns."""

    match_all: bool
    exact: frozenset[str]
    regex: re.Pattern[str] | None

    def matches(self, text: str) -> bool:
        if self.match_all or text in self.exact:
            return True
        regex = self.regex
        return regex is not None and regex.fullmatch(text) is not None


def compile_globs(patterns: Iterable[str], *, ignore_case: bool = False) -> GlobSet:
    """Compile patterns; with ``ignore_case`` the caller must lower-case the text it matches."""
    exact: set[str] = set()
    wild: list[str] = []
    match_all = False
    for pattern in patterns:
        if ignore_case:
            pattern = pattern.lower()
        if pattern and pattern.strip("*") == "":
            match_all = True
        elif has_wildcard(pattern):
            wild.append(pattern)
        else:
            exact.add(pattern)
    regex = None
    if wild and not match_all:
        source = "|".join(f"(?:{glob_to_regex(p)})" for p in sorted(set(wild)))
        regex = re.compile(source, re.DOTALL)
    return GlobSet(match_all, frozenset(exact), regex)
