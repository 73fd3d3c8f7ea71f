"""SigV4's own errors: what is wrong with a request's authentication, in AWS's words.

They carry AWS's message but no AWS error type: a server maps each class to its protocol's error
(``IncompleteSignatureException`` / ``IncompleteSignature``, ...); a client never sees them.
"""

from __future__ import annotations


class SigV4Error(Exception):
    """A request's SigV4 authentication is missing, malformed or wrong; ``message`` says how."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingAuthentication(SigV4Error):
    """No SigV4 authentication at all (neither an ``AWS4-`` Authorization header nor query parameters)."""


class IncompleteSignature(SigV4Error):
    """Authentication present but incomplete or malformed (missing pieces, bad date, bad credential)."""


class InvalidSignature(SigV4Error):
    """Well formed but not valid: wrong signature or scope, expired, unsigned headers."""
