"""RotationToken: an unguessable token per rotation run, sent in each step's event.

A function that puts the new value may send it back as PutSecretValue's RotationToken; the
server then checks it, in constant time, against the token of the running rotation that made the
version being put. The token is kept sealed in the run's row (any process may run the next step).
"""

from __future__ import annotations

import hmac
import secrets

from strongroom.crypto.sealing import SealingBox
from strongroom.errors import AccessDeniedException
from strongroom.store.records import RotationRow

#: Bytes of randomness (hex: 64 characters, within the model's 36-256 ``[a-zA-Z0-9-]``).
TOKEN_BYTES = 32
INVALID = "The RotationToken is not valid for a rotation of this secret."


def _aad(secret_arn: str, version_id: str) -> bytes:
    return f"strongroom-rotation-token:{secret_arn}:{version_id}".encode()


def new_token(box: SealingBox, secret_arn: str, version_id: str) -> tuple[str, bytes]:
    """A fresh token and its sealed form (bound to the secret and the rotation's version)."""
    token = secrets.token_hex(TOKEN_BYTES)
    return token, box.seal(token.encode(), _aad(secret_arn, version_id))


def open_token(box: SealingBox, run: RotationRow) -> str:
    return box.open(run.token, _aad(run.secret_arn, run.version_id)).decode()


def check_token(box: SealingBox, run: RotationRow | None, offered: str) -> None:
    """AccessDeniedException unless ``offered`` is the token of ``run``, a rotation still running."""
    expected = open_token(box, run) if run is not None and run.state == "running" else ""
    if not hmac.compare_digest(expected.encode(), offered.encode()) or not expected:
        raise AccessDeniedException(INVALID)
