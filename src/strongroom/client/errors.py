"""The exceptions the client raises.

- :class:`ClientError`: the service answered with an error. ``code`` is AWS's error type, ``message``
  its message, ``status`` the HTTP status, ``request_id`` AWS's request id, ``metadata`` the whole
  :class:`~strongroom.client.metadata.ResponseMetadata`. Each error shape of the service model has
  its subclass (``ResourceNotFoundException``, ..., generated in ``_modeled_errors.py``), and so do
  the errors every AWS service may answer (below); an unknown code raises ``ClientError`` itself.
- :class:`TransportError`: no answer came (connection refused or reset, timeout).
- :class:`ConfigurationError`: no credentials, no region, a failing ``credential_process``.
- :class:`ClientShutdown`: the client was shut down before the call completed.

All derive from :class:`SdkError`.
"""

from __future__ import annotations

from typing import ClassVar

from strongroom.client.metadata import ResponseMetadata

__all__ = [
    "AccessDeniedException",
    "COMMON_ERRORS",
    "ClientError",
    "ClientShutdown",
    "ConfigurationError",
    "ConnectionFailure",
    "CredentialProcessError",
    "ExpiredTokenException",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "NoCredentialsError",
    "NotAuthorized",
    "OptInRequired",
    "ReadTimeout",
    "RequestEntityTooLargeException",
    "RequestExpired",
    "SdkError",
    "SerializationException",
    "ServiceUnavailable",
    "ThrottlingException",
    "TransportError",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "ValidationError",
    "ValidationException",
]


class SdkError(Exception):
    """Base of every exception this client raises."""


class ClientError(SdkError):
    """The service answered with an error."""

    #: The error code on the wire when it is not the class name.
    code_name: ClassVar[str | None] = None

    def __init__(self, message: str, *, code: str | None = None, metadata: ResponseMetadata | None = None) -> None:
        super().__init__(message)
        self.code = code or self.code_name or type(self).__name__
        self.message = message
        self.metadata = metadata

    @property
    def status(self) -> int:
        return self.metadata.http_status if self.metadata else 0

    @property
    def request_id(self) -> str | None:
        return self.metadata.request_id if self.metadata else None

    def __str__(self) -> str:
        where = f" (HTTP {self.status}, request id {self.request_id})" if self.metadata else ""
        return f"{self.code}: {self.message}{where}"


class TransportError(SdkError):
    """No answer came from the endpoint; ``attempts`` says how many were made."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class ConnectionFailure(TransportError):
    """The connection could not be made, or broke before the answer was complete."""


class ReadTimeout(TransportError):
    """The endpoint accepted the request but did not answer within the read timeout."""


class ConfigurationError(SdkError):
    """The client cannot make a request: credentials or region missing or unusable."""


class NoCredentialsError(ConfigurationError):
    """No source of the credential chain had credentials."""


class CredentialProcessError(ConfigurationError):
    """A profile's ``credential_process`` failed or printed something that is not credentials."""


class ClientShutdown(SdkError):
    """The client was shut down: the call was not made, or did not complete."""


# --- Errors any AWS service may answer (AWS "Common Errors", and what Strongroom's front end answers) ---
class AccessDeniedException(ClientError):
    """You do not have sufficient access to perform this action."""


class ExpiredTokenException(ClientError):
    """The security token included in the request is expired."""


class IncompleteSignature(ClientError):
    """The request signature does not conform to AWS standards."""


class IncompleteSignatureException(ClientError):
    """The request signature does not conform to AWS standards (JSON protocol form)."""


class InternalFailure(ClientError):
    """The request processing has failed because of an unknown error, exception or failure."""


class InvalidAction(ClientError):
    """The action or operation requested is invalid."""


class InvalidClientTokenId(ClientError):
    """The access key ID provided does not exist in the service's records."""


class InvalidSignatureException(ClientError):
    """The request signature we calculated does not match the signature you provided."""


class MissingAuthenticationToken(ClientError):
    """The request must contain a valid (registered) AWS access key ID or X.509 certificate."""


class MissingAuthenticationTokenException(ClientError):
    """The request carries no authentication (JSON protocol form)."""


class NotAuthorized(ClientError):
    """You do not have permission to perform this action."""


class OptInRequired(ClientError):
    """The access key ID needs a subscription for the service."""


class RequestEntityTooLargeException(ClientError):
    """The request body is larger than the service accepts."""


class RequestExpired(ClientError):
    """The request reached the service more than 15 minutes after (or before) its date stamp."""


class SerializationException(ClientError):
    """The request body is not valid JSON for the operation."""


class ServiceUnavailable(ClientError):
    """The request has failed due to a temporary failure of the server."""


class ThrottlingException(ClientError):
    """The request was denied due to request throttling."""


class UnknownOperationException(ClientError):
    """The service does not know the operation (X-Amz-Target) of the request."""


class UnrecognizedClientException(ClientError):
    """The security token (access key) included in the request is invalid."""


class ValidationError(ClientError):
    """The input fails to satisfy the constraints specified by an AWS service (query protocol form)."""


class ValidationException(ClientError):
    """The input fails to satisfy the constraints specified by the service."""


#: Code -> class of the errors above.
COMMON_ERRORS: dict[str, type[ClientError]] = {
    cls.__name__: cls
    for cls in (
        AccessDeniedException, ExpiredTokenException, IncompleteSignature, IncompleteSignatureException,
        InternalFailure, InvalidAction, InvalidClientTokenId, InvalidSignatureException, MissingAuthenticationToken,
        MissingAuthenticationTokenException, NotAuthorized, OptInRequired, RequestEntityTooLargeException,
        RequestExpired, SerializationException, ServiceUnavailable, ThrottlingException, UnknownOperationException,
        UnrecognizedClientException, ValidationError, ValidationException,
    )
}  # fmt: skip
