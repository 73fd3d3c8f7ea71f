"""Response metadata of a call, and the bounded cache that keeps it for recent requests."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: How many requests' metadata a client keeps by default (the AWS SDK for Java keeps 50).
DEFAULT_METADATA_CACHE_SIZE = 50


@dataclass(frozen=True, slots=True)
class ResponseMetadata:
    """What the transport saw of a call: the request id AWS assigned (``x-amzn-RequestId``), the
    HTTP status and headers of the last attempt (status 0 and no headers if no response came),
    and how many attempts the call took, retries included."""

    request_id: str | None
    http_status: int
    headers: Mapping[str, str]
    attempts: int


class MetadataCache:
    """The metadata of the most recent requests, keyed by the identity of the request object.

    A bounded LRU, as the AWS SDK for Java's ``getCachedResponseMetadata``: the oldest entry is
    dropped beyond ``size``. An entry holds its request, so the identity of a cached request cannot
    be reused by another object while the entry lives. Safe to use from several threads.
    """

    def __init__(self, size: int = DEFAULT_METADATA_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[int, tuple[Any, ResponseMetadata]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, request: Any, metadata: ResponseMetadata) -> None:
        if self._size <= 0:
            return
        key = id(request)
        with self._lock:
            self._entries[key] = (request, metadata)
            self._entries.move_to_end(key)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def get(self, request: Any) -> ResponseMetadata | None:
        with self._lock:
            entry = self._entries.get(id(request))
        return entry[1] if entry is not None and entry[0] is request else None
