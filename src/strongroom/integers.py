"""Integers from a client's decimal text, bounded before they are converted.

Python's ``int()`` refuses text of more than 4,300 digits with a ValueError (CPython's guard
against quadratic conversion); on the request path that would be a 500 and a traceback that any
client could write into the log. Every number a client sends as text (a presigned URL's
X-Amz-Expires, query-protocol scalars and list indexes, STS's DurationSeconds) is read here:
an optional sign, ASCII digits, surrounding whitespace ignored, at most 19 significant digits.
That covers every 64-bit integer, the widest type of any member these APIs define (AWS's Java
front ends parse such text with ``Long.parseLong``, which refuses anything wider); longer text
is not a number, and each caller answers it with its own protocol's error. Standard library only:
:mod:`strongroom.sigv4` uses it too.
"""

from __future__ import annotations

import re

#: Significant digits of the widest integer read (9223372036854775807 has 19).
MAX_DIGITS = 19
# Leading zeros are taken possessively (``*+``), so no text makes the match backtrack over them.
_DECIMAL = re.compile(rf"([+-]?)(?=[0-9])0*+([0-9]{{0,{MAX_DIGITS}}})", re.ASCII)


def decimal_integer(text: str) -> int | None:
    """The integer ``text`` spells in decimal, or None if it is not one of at most 19 digits."""
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        return None
    return int(match[1] + (match[2] or "0"))
