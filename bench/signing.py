"""Pre-signed request pools: real SigV4 signatures (botocore) on every request, in both auth modes.

A pool is a list of complete raw HTTP/1.1 requests (bytes), each signed with
``botocore.auth.SigV4Auth`` for service ``secretsmanager`` in ``us-east-1``. The load generators
only replay these bytes, so signing costs nothing during a measurement while the server still
parses (dev mode) or verifies (sigv4 mode) a genuine signature on every request.

A signature is accepted for 15 minutes (the server's clock-skew window, as at AWS). Pools are
built right before each measurement (the Host header carries the port of the server under test),
and :func:`PoolSigner.fresh` re-signs when a pool is older than :data:`RESIGN_AFTER_S`.
"""

from __future__ import annotations

import configparser
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
SERVICE = "secretsmanager"
CONTENT_TYPE = "application/x-amz-json-1.1"
#: Dev mode accepts any well-formed credentials (the signature is parsed, not verified).
DEV_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DEV_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#: Re-sign a pool older than this (signatures expire after 15 minutes).
RESIGN_AFTER_S = 600.0
ADMIN_CREDENTIALS_FILE = "admin-credentials"


@dataclass(frozen=True)
class Creds:
    access_key: str
    secret_key: str
    token: str | None = None
    source: str = "dev"

    def botocore(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key, self.token)


def dev_credentials() -> Creds:
    return Creds(DEV_ACCESS_KEY, DEV_SECRET_KEY, None, "dev (any credentials; signature not verified)")


def admin_credentials(data_dir: Path, profile: str | None = None) -> Creds:
    """Credentials from ``<data-dir>/admin-credentials`` (AWS credentials-file format).

    ``profile`` names the section; without it the server's ``ADMIN_PROFILE`` if present, else the
    file's only section (or ``default``).
    """
    path = data_dir / ADMIN_CREDENTIALS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (the server writes it in non-dev mode)")
    parser = configparser.ConfigParser()
    parser.read(path)
    sections = parser.sections()
    if profile is None:
        try:
            from strongroom.iam.identities import ADMIN_PROFILE as profile_name  # the server's own name
        except ImportError:
            profile_name = None
        if profile_name in sections:
            profile = profile_name
    if profile is None:
        if len(sections) == 1:
            profile = sections[0]
        elif "default" in sections:
            profile = "default"
        else:
            raise ValueError(f"{path} has profiles {sections}; choose one with --auth-profile")
    section = parser[profile]
    return Creds(
        section["aws_access_key_id"], section["aws_secret_access_key"],
        section.get("aws_session_token"), f"{path} [{profile}]",
    )


def sign_request(host: str, target: str, body: bytes, creds: Creds, region: str = REGION) -> bytes:
    """One complete raw HTTP/1.1 request, SigV4-signed by botocore (credential scope ``region``),
    ready to write on a socket."""
    request = AWSRequest(
        method="POST",
        url=f"http://{host}/",
        data=body,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": f"secretsmanager.{target}"},
    )
    SigV4Auth(creds.botocore(), SERVICE, region).add_auth(request)
    lines = ["POST / HTTP/1.1", f"Host: {host}"]
    for name, value in request.headers.items():
        if name.lower() == "host":
            continue
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_body(params: dict) -> bytes:
    return orjson.dumps(params)


@dataclass
class Pool:
    """Signed raw requests plus what they are, and when they were signed."""

    workload: str
    requests: list[bytes]
    signed_at: float
    #: True when every request must be sent at most once (distinct ClientRequestTokens).
    unique: bool = False

    def write(self, path: Path) -> Path:
        """The pool as a file wrk's Lua script reads: a decimal length line, then the bytes."""
        with open(path, "wb") as out:
            for raw in self.requests:
                out.write(b"%d\n" % len(raw))
                out.write(raw)
        return path

    @property
    def age(self) -> float:
        return time.time() - self.signed_at
