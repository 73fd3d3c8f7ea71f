"""The model's patterns are Java regular expressions; this reads the Unicode property classes Python's
``re`` lacks.

Lambda's TagKey and TagValue are ``([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)``: ``\\p{L}`` letters, ``\\p{Z}``
separators, ``\\p{N}`` numbers (a general category, or one of its subcategories as ``\\p{Lu}``).
Each becomes the code point ranges of that category in this Python's Unicode database (a class of
its own outside a character class),
worked out once, on first use (one pass over every code point, a fraction of a second).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

_PROPERTY = re.compile(r"\\p\{([A-Z][a-z]?)\}")


@cache
def _ranges() -> dict[str, list[tuple[int, int]]]:
    """Code point ranges by general category (``Lu``) and by major class (``L``)."""
    runs: list[tuple[int, int, str]] = []  # (first, last, category) of each run of one category
    category = unicodedata.category
    start, current = 0, category("\0")
    for code in range(1, sys.maxunicode + 1):
        this = category(chr(code))
        if this != current:
            runs.append((start, code - 1, current))
            start, current = code, this
    runs.append((start, sys.maxunicode, current))
    ranges: dict[str, list[tuple[int, int]]] = {}
    for first, last, name in runs:
        ranges.setdefault(name, []).append((first, last))
        spans = ranges.setdefault(name[0], [])
        if spans and spans[-1][1] == first - 1:
            spans[-1] = (spans[-1][0], last)
        else:
            spans.append((first, last))
    return ranges


def _class_body(category: str) -> str:
    """The ranges of ``category`` as the inside of a character class."""
    return "".join(re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
                   for low, high in _ranges().get(category, ()))


def python_pattern(pattern: str) -> str:
    """``pattern`` for Python's ``re``: each ``\\p{X}`` spelled out as ranges (in brackets outside a class)."""
    if "\\p{" not in pattern:
        return pattern
    out: list[str] = []
    at, in_class = 0, False
    while at < len(pattern):
        match = _PROPERTY.match(pattern, at)
        if match is not None:
            body = _class_body(match[1])
            out.append(body if in_class else f"[{body}]")
            at = match.end()
            continue
        char = pattern[at]
        if char == "\\":
            out.append(pattern[at : at + 2])
            at += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append(char)
        at += 1
    return "".join(out)
