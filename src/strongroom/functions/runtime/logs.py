"""A worker's log: its stdout and stderr drained as fast as they come, and Lambda's START/END/REPORT lines.

:class:`LogCapture` reads the worker's log pipe for the worker's whole life, so a function that
prints megabytes never blocks on a full pipe, and keeps only the last :data:`TAIL_BYTES` of the
current span (an invocation, or the init before the first one): all ``LogType: Tail`` needs, as the
tail is the last 4 KB of the span with its START, END and REPORT lines. Output between spans is
dropped. A span ends at the worker's end marker (:func:`frames.end_marker`) or when the pipe closes.
"""

from __future__ import annotations

import asyncio
import math

from strongroom.functions.runtime.frames import end_marker

TAIL_BYTES = 4096


class LogCapture(asyncio.Protocol):
    def __init__(self) -> None:
        self._kept = bytearray()
        self._pending = b""
        self._marker: bytes | None = None
        self._ended = asyncio.Event()
        self._closed = False

    def begin(self, tag: str) -> None:
        """Start the span of ``tag`` (a request id, or "init"): what the worker prints from now on."""
        self._kept.clear()
        self._pending = b""
        self._marker = end_marker(tag)
        self._ended.clear()
        if self._closed:
            self._ended.set()

    async def finish(self, wait: float) -> bytes:
        """The end of the span's output, once its end marker arrived (or the pipe closed, or ``wait`` passed)."""
        try:
            await asyncio.wait_for(self._ended.wait(), wait)
        except TimeoutError:  # the function closed or redirected fd 1: take what has come
            pass
        self._keep(self._pending)
        self._pending, self._marker = b"", None
        return bytes(self._kept)

    def data_received(self, data: bytes) -> None:
        if self._marker is None:
            return
        joined = self._pending + data
        found = joined.find(self._marker)
        if found >= 0:
            self._keep(joined[:found])
            self._pending, self._marker = b"", None
            self._ended.set()
            return
        cut = max(len(joined) - len(self._marker) + 1, 0)  # a marker split between reads stays pending
        self._keep(joined[:cut])
        self._pending = joined[cut:]

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._ended.set()

    def _keep(self, data: bytes) -> None:
        self._kept += data[-TAIL_BYTES:]
        del self._kept[:-TAIL_BYTES]


def start_line(request_id: str, version: str) -> bytes:
    return f"START RequestId: {request_id} Version: {version}\n".encode()


def end_line(request_id: str) -> bytes:
    return f"END RequestId: {request_id}\n".encode()


def report_line(request_id: str, duration_ms: float, memory_size: int, max_memory_mb: int,
                init_ms: float | None = None, status: str | None = None, error_type: str | None = None) -> bytes:
    """Lambda's REPORT line, tab-separated; ``Status`` and ``Error Type`` only for timeouts and crashes."""
    fields = [f"REPORT RequestId: {request_id}", f"Duration: {duration_ms:.2f} ms",
              f"Billed Duration: {math.ceil(duration_ms)} ms", f"Memory Size: {memory_size} MB",
              f"Max Memory Used: {max_memory_mb} MB"]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if status is not None:
        fields.append(f"Status: {status}")
    if error_type is not None:
        fields.append(f"Error Type: {error_type}")
    return ("\t".join(fields) + "\t\n").encode()


def tail(*parts: bytes) -> bytes:
    """The last :data:`TAIL_BYTES` of the span's lines and output, as ``LogType: Tail`` returns them."""
    return b"".join(parts)[-TAIL_BYTES:]
