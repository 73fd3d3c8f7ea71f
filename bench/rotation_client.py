"""A lean Secrets Manager client for the rotation benchmark: SigV4-signed JSON calls over keep-alive
``http.client`` connections (one per thread), and reading rotation progress out of the answers.

boto3 costs a millisecond or two of client CPU per call; the rotation benchmark polls
DescribeSecret every few milliseconds and ListSecrets over 1,000 secrets on the same two cores as
the server, so its calls are signed with :func:`bench.signing.sign_request` (botocore's SigV4) and
sent raw.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench.signing import Creds, json_body, sign_request

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"


class CallFailed(RuntimeError):
    """A call answered with an error status: the AWS error type and message are in the text."""

    def __init__(self, operation: str, status: int, body: dict[str, Any]) -> None:
        self.status, self.error_type = status, str(body.get("__type", "")).rsplit("#", 1)[-1]
        super().__init__(f"{operation}: HTTP {status} {self.error_type}: {body.get('message') or body.get('Message')}")


@dataclass
class SecretsApi:
    """Secrets Manager's JSON API at ``127.0.0.1:port``, signed with ``creds``; safe to share between threads."""

    port: int
    creds: Creds
    timeout: float = 30.0
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _socket(self) -> socket.socket:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.sock = sock
        return sock

    def send(self, operation: str, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, parsed body) of one call; a keep-alive connection the server closed is reopened once."""
        raw = sign_request(self.host, operation, json_body(dict(params)), self.creds)
        for attempt in (1, 2):
            sock = self._socket()
            try:
                sock.sendall(raw)
                response = http.client.HTTPResponse(sock, method="POST")
                response.begin()
                body = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        if response.will_close:
            self.close()
        return response.status, orjson.loads(body) if body else {}

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """The parsed answer of a successful call; :class:`CallFailed` otherwise."""
        status, body = self.send(operation, params)
        if status != 200:
            raise CallFailed(operation, status, body)
        return body

    def list_secrets(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every secret's ListSecrets entry, page after page."""
        params: dict[str, Any] = {"MaxResults": page_size}
        while True:
            page = self.call("ListSecrets", **params)
            yield from page.get("SecretList", [])
            token = page.get("NextToken")
            if not token:
                return
            params["NextToken"] = token

    def close(self) -> None:
        """Close this thread's connection."""
        sock = getattr(self._local, "sock", None)
        if sock is not None:
            sock.close()
            self._local.sock = None


def current_version(stages: Mapping[str, list[str]] | None) -> str | None:
    """The version id labelled AWSCURRENT in a VersionIdsToStages / SecretVersionsToStages map."""
    for version, labels in (stages or {}).items():
        if CURRENT in labels:
            return version
    return None


def rotated(entry: Mapping[str, Any], token: str) -> bool:
    """Whether a DescribeSecret answer or ListSecrets entry shows AWSCURRENT on version ``token``."""
    stages = entry.get("VersionIdsToStages", entry.get("SecretVersionsToStages"))
    return current_version(stages) == token
