"""Support for the fuzz suite: raw HTTP to a running ``strongroom serve``, signing, and the checks.

Every request goes over its own TCP connection as raw bytes (so framing can be malformed on
purpose) and is checked the same way: an answer within :data:`TIMEOUT_S` (else the server hung),
no HTTP status of 500 or more, and nothing new in the server's log that shows a fault (a
traceback, an ``internal error`` line, any ERROR record).
"""

from __future__ import annotations

import http.client
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.sigv4 import Credentials, sign_headers

REGION = "us-east-1"
#: The secret most generated requests name (created before the first example).
TARGET_SECRET = "fuzz/target"
#: Seconds a request may take before the server counts as hung (requests here take milliseconds).
TIMEOUT_S = 10.0
#: What a fault leaves in the server's log: our "internal error (request ...)", uvicorn's
#: "Exception in ASGI application", any traceback, any ERROR record of either log format.
_FAULT = re.compile(rb"Traceback|internal error|Exception in ASGI|\bERROR\b")

WireHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Answer:
    """A response (``status`` None: the server closed the connection without answering)."""

    status: int | None
    body: bytes


class FuzzClient:
    """Sends raw requests to one server and checks every answer and the server's log."""

    def __init__(self, port: int, creds: Credentials, log_path: Path, alive: Callable[[], bool]) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.creds = creds
        self.log_path = log_path
        self._alive = alive  # is the server process still running?
        self._log_offset = log_path.stat().st_size
        self.sent = 0

    # --- building requests ------------------------------------------------------------------
    def signed(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        service: str = "secretsmanager",
        region: str = REGION,
        creds: Credentials | None = None,
    ) -> WireHeaders:
        """The headers of a request signed as an SDK signs it (Host included), in wire form."""
        plain = {"host": self.host, **headers}
        plain.update(
            sign_headers(method, f"http://{self.host}{target}", plain, body, creds or self.creds, region, service,
                         time.time())
        )  # fmt: skip
        return [(name.lower().encode("latin-1"), value.encode("utf-8")) for name, value in plain.items()]

    def json_request(self, operation: str, body: bytes, *, creds: Credentials | None = None) -> Answer:
        """A signed JSON 1.1 call of a Secrets Manager operation, checked."""
        headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": f"secretsmanager.{operation}"}
        wire = self.signed("POST", "/", headers, body, creds=creds)
        return self.send("POST", "/", wire, body, what=f"{operation} {body[:300]!r}")

    # --- sending and checking ----------------------------------------------------------------
    def send(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
        *,
        what: str,
        framing_may_fail: bool = False,
        content_length: bool = True,
    ) -> Answer:
        """Send one request as raw bytes and check the answer (see the module docstring).

        ``content_length``: add a Content-Length of the body unless ``headers`` have one.
        ``framing_may_fail``: the request may be malformed HTTP, which the server may answer by
        closing the connection; otherwise it must answer.
        """
        lines = [f"{method} {target} HTTP/1.1".encode("latin-1")]
        lines += [name + b": " + value for name, value in headers]
        if content_length and not any(name.lower() == b"content-length" for name, _ in headers):
            lines.append(b"content-length: " + str(len(body)).encode())
        lines.append(b"connection: close")
        payload = b"\r\n".join(lines) + b"\r\n\r\n" + body
        self.sent += 1
        answer = self._exchange(payload, what, half_close=False)
        self._check(answer, what, framing_may_fail)
        return answer

    def send_raw(self, payload: bytes, *, what: str) -> Answer:
        """Send bytes that need not be HTTP, then end the stream (so a partial request ends
        too), and check: the server may answer or close, but never fault or hang."""
        self.sent += 1
        answer = self._exchange(payload, what, half_close=True)
        self._check(answer, what, framing_may_fail=True)
        return answer

    def _exchange(self, payload: bytes, what: str, *, half_close: bool) -> Answer:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT_S) as sock:
                try:
                    sock.sendall(payload)
                    if half_close:
                        sock.shutdown(socket.SHUT_WR)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may stop reading a malformed request early; read what it said
                response = http.client.HTTPResponse(sock)
                try:
                    response.begin()
                    return Answer(response.status, response.read())
                except (http.client.HTTPException, ConnectionError):  # closed without a (whole) answer
                    return Answer(None, b"")
        except TimeoutError:
            raise AssertionError(f"no answer within {TIMEOUT_S:.0f} s (server hung?): {what}") from None

    def _check(self, answer: Answer, what: str, framing_may_fail: bool) -> None:
        logged = self._new_log()  # read first: whatever fails, the next request starts afresh
        what = what if len(what) <= 1500 else what[:1500] + "..."
        assert self._alive(), f"the server exited after: {what}"
        assert _FAULT.search(logged) is None, (
            f"server log shows a fault after: {what}\n{logged[-4000:].decode('utf-8', 'replace')}"
        )
        if answer.status is None:
            assert framing_may_fail, f"connection closed without an answer: {what}"
        else:
            assert answer.status < 500, f"HTTP {answer.status} {answer.body[:500]!r} for: {what}"

    def _new_log(self) -> bytes:
        """What the server logged since the last call (read after each answer: the server logs a
        fault before it answers)."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            new = log.read()
        self._log_offset += len(new)
        return new


@dataclass
class Fuzz:
    """What the fuzz tests share: the client (administrator's key), a principal without any
    identity policy (only resource policies can let it in), and the server."""

    server: Any  # authz_support.AuthzServer
    client: FuzzClient
    admin: Credentials
    nobody: Credentials
