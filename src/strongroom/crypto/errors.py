"""The one error of the crypto layer: sealed bytes that did not open. No AWS wording here.

Services translate it at their edge (Secrets Manager: DecryptionFailure, InvalidNextTokenException).
"""

from __future__ import annotations


class CannotOpen(Exception):
    """Sealed bytes did not open: tampered, truncated, sealed under another key or AAD, or an unknown format.

    ``reason`` is None for a plain authentication failure, or a short phrase (``"unsupported
    ciphertext format"``) a service may show; it never depends on the sealed plaintext.
    """

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "the sealed data did not open")
        self.reason = reason
