"""strongroom.functions.runtime.frames and .logs: the worker's channel and its log, bounded and in step."""

from __future__ import annotations

import asyncio
import socket

import pytest

from strongroom.functions.runtime import frames
from strongroom.functions.runtime.logs import TAIL_BYTES, LogCapture, report_line


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def _message(header: dict[str, object], body: bytes) -> bytes:
    return frames.encode_head(header, len(body)) + body


def test_a_message_round_trips_between_the_blocking_and_the_asyncio_side() -> None:
    left, right = socket.socketpair()
    with left, right:
        frames.send(left, {"type": "invoke", "request_id": "r"}, b"event")
        assert frames.receive(right) == ({"type": "invoke", "request_id": "r"}, b"event")
        left.close()
        assert frames.receive(right) is None  # the parent closed the channel


def test_an_oversized_body_is_read_and_discarded_and_the_next_message_is_intact() -> None:
    async def scenario() -> tuple[frames.BodyTooLarge, tuple[dict[str, object], bytes]]:
        reader = _reader(_message({"type": "result"}, b"x" * 5000) + _message({"type": "result"}, b"ok"))
        with pytest.raises(frames.BodyTooLarge) as too_large:
            await frames.read_message(reader, max_body=4096)
        return too_large.value, await frames.read_message(reader, max_body=4096)

    too_large, following = asyncio.run(scenario())
    assert too_large.size == 5000 and following == ({"type": "result"}, b"ok")


def test_a_header_that_is_too_long_or_not_json_breaks_the_channel() -> None:
    async def read(data: bytes) -> object:
        return await frames.read_message(_reader(data), max_body=10)

    with pytest.raises(frames.FrameError):
        asyncio.run(read(frames.PREFIX.pack(frames.MAX_HEADER_BYTES + 1, 0)))
    with pytest.raises(frames.FrameError):
        asyncio.run(read(frames.PREFIX.pack(3, 0) + b"[1]"))
    with pytest.raises(asyncio.IncompleteReadError):  # the worker died mid-message
        asyncio.run(read(frames.PREFIX.pack(2, 0) + b"{"))


def test_the_log_keeps_the_span_up_to_its_marker_even_when_the_marker_is_split() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        capture = LogCapture()
        capture.data_received(b"before any span is dropped\n")
        capture.begin("req-1")
        marker = frames.end_marker("req-1")
        capture.data_received(b"line one\n" + marker[:5])
        capture.data_received(marker[5:] + b"after the marker is dropped\n")
        first = await capture.finish(wait=5)
        capture.begin("req-2")
        capture.data_received(b"second\n" + frames.end_marker("req-2"))
        return first, await capture.finish(wait=5)

    assert asyncio.run(scenario()) == (b"line one\n", b"second\n")


def test_the_log_keeps_only_the_last_4_kb_of_megabytes() -> None:
    async def scenario() -> tuple[bytes, int]:
        capture = LogCapture()
        capture.begin("req")
        for index in range(2000):
            capture.data_received(f"{index:05d}".encode() + b"." * 1019 + b"\n")
            kept = len(capture._kept)
        capture.data_received(frames.end_marker("req"))
        return await capture.finish(wait=5), kept

    output, kept = asyncio.run(scenario())
    assert kept <= TAIL_BYTES and len(output) == TAIL_BYTES
    assert output.endswith(b"." * 1019 + b"\n") and b"01999" in output and b"01995" not in output


def test_a_closed_pipe_ends_the_span() -> None:
    async def scenario() -> bytes:
        capture = LogCapture()
        capture.begin("req")
        capture.data_received(b"last words")
        capture.connection_lost(None)
        return await capture.finish(wait=60)  # returns at once: nothing more can come

    assert asyncio.run(scenario()) == b"last words"


def test_the_report_line_has_lambdas_fields() -> None:
    assert report_line("r", 1.234, 128, 40) == \
        b"REPORT RequestId: r\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t" \
        b"Max Memory Used: 40 MB\t\n"
    assert report_line("r", 3000.5, 256, 31, init_ms=84.0, status="timeout").endswith(
        b"\tInit Duration: 84.00 ms\tStatus: timeout\t\n")
