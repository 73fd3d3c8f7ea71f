"""What the key ring raises: KMS's own conditions, without any service's wording or error types.

Each service maps them at its edge (Secrets Manager: :mod:`strongroom.secrets.kms_errors`). The
messages are KMS's own phrases (``detail``), which a service may quote.
"""

from __future__ import annotations


class KmsError(Exception):
    """A KMS key can't be used for the request; ``detail`` is KMS's wording of why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidKeyReference(KmsError):
    """A KmsKeyId that is neither a key id, a key ARN, an alias nor an alias ARN."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"Invalid keyId {ref}")


class KeyNotFound(KmsError):
    """A well-formed reference to a key or alias that does not exist in the caller's account and region."""

    def __init__(self, arn: str, *, alias: bool) -> None:
        super().__init__(f"Alias {arn} is not found." if alias else f"Key '{arn}' does not exist")


class KeyDisabled(KmsError):
    """The key exists but is disabled."""

    def __init__(self, arn: str) -> None:
        super().__init__(f"{arn} is disabled.")
        self.arn = arn


class CannotEncrypt(KmsError):
    """The key can't be used to encrypt (its material does not unwrap: another master key)."""

    def __init__(self) -> None:
        super().__init__("the KMS key's material can't be unwrapped")


class CannotDecrypt(KmsError):
    """A sealed value does not open; ``reason`` as :class:`strongroom.crypto.errors.CannotOpen`'s."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "the sealed value did not open")
        self.reason = reason


class InvalidAlias(KmsError):
    """An alias a new key can't take (malformed, or reserved for AWS managed keys)."""


class AliasExists(KmsError):
    """A new key's alias is taken."""

    def __init__(self, arn: str) -> None:
        super().__init__(f"An alias with the name {arn} already exists")
