"""AWS-shaped API errors: every error a client can cause is one of these.

Each subclass is named after the AWS error type it serializes as (``__type``).
Messages must never contain a secret value.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error returned to the client as ``{"__type": code, "Message": message}``."""

    status: int = 400
    #: JSON key for the message; AWS uses lowercase ``message`` for ValidationException.
    message_key: str = "Message"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def body(self) -> dict[str, str]:
        return {"__type": self.code, self.message_key: self.message}


# --- Secrets Manager errors (from the service model) -----------------------------------------
class ResourceNotFoundException(ApiError):
    pass


class ResourceExistsException(ApiError):
    pass


class InvalidParameterException(ApiError):
    pass


class InvalidRequestException(ApiError):
    pass


class InvalidNextTokenException(ApiError):
    pass


class LimitExceededException(ApiError):
    pass


class MalformedPolicyDocumentException(ApiError):
    pass


class PublicPolicyException(ApiError):
    pass


class EncryptionFailure(ApiError):
    pass


class DecryptionFailure(ApiError):
    pass


class InternalServiceError(ApiError):
    status = 500


# --- Protocol-level errors (common to all AWS JSON services) --------------------------------
class ValidationException(ApiError):
    message_key = "message"


class SerializationException(ApiError):
    pass


class UnknownOperationException(ApiError):
    pass


class AccessDeniedException(ApiError):
    pass


class RequestEntityTooLargeException(ApiError):
    status = 413


class RequestHeaderSectionTooLarge(ApiError):
    """Headers past the server's limit: S3's error for it (AWS publishes none for Secrets Manager)."""


class UnrecognizedClientException(ApiError):
    pass


class ExpiredTokenException(ApiError):
    """Temporary credentials past their expiration (STS's query code: ExpiredToken)."""


class InvalidSignatureException(ApiError):
    pass


class IncompleteSignatureException(ApiError):
    pass


class MissingAuthenticationTokenException(ApiError):
    status = 403
