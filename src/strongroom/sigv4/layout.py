"""Where each header occurs in a request: computed once per distinct list of header names.

Clients of one kind send the same header names in the same order on every request (botocore:
host, x-amz-target, content-type, x-amz-date, authorization, content-length), so the positions of
the headers the request path reads (Content-Length, X-Amz-Target, the SigV4 headers, the signed
headers) are worked out once per name list and reused; a request then reads its values by index
instead of scanning its headers three times. Names are lowercase bytes, as ASGI servers give them.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter

Headers = list[tuple[bytes, bytes]]

#: Name lists longer than this are laid out on every request instead of being remembered.
MAX_CACHED_HEADERS = 64
#: Distinct name lists remembered (a handful of client kinds in practice).
LAYOUT_CACHE_SIZE = 512


class HeaderLayout:
    """The header names of a request, in order, with the positions of each name.

    Shared by every request with the same names: read-only by convention (nothing may change it).
    """

    __slots__ = ("first", "names", "positions")

    def __init__(self, names: tuple[bytes, ...]) -> None:
        positions: dict[bytes, list[int]] = {}
        for index, name in enumerate(names):
            positions.setdefault(name, []).append(index)
        self.names = names
        #: name -> every index where it occurs, in order
        self.positions: dict[bytes, tuple[int, ...]] = {name: tuple(at) for name, at in positions.items()}
        #: name -> index of its first occurrence
        self.first: dict[bytes, int] = {name: at[0] for name, at in positions.items()}


_name_of = itemgetter(0)


@lru_cache(maxsize=LAYOUT_CACHE_SIZE)
def _cached_layout(names: tuple[bytes, ...]) -> HeaderLayout:
    return HeaderLayout(names)


def header_layout(headers: Headers) -> HeaderLayout:
    """The layout of a request's headers (shared by every request with the same name list)."""
    names = tuple(map(_name_of, headers))
    return _cached_layout(names) if len(names) <= MAX_CACHED_HEADERS else HeaderLayout(names)
