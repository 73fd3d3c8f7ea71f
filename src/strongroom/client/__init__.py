"""A Python client for the AWS Secrets Manager API (2017-10-17), for Strongroom and for AWS itself.

- :class:`AsyncSecretsManager`: asyncio; every operation a coroutine with keyword arguments.
- :class:`SecretsManager`: ``x_async(request, handler)`` returning a ``concurrent.futures.Future``,
  blocking ``x(...)``, ``shutdown()`` and ``get_cached_response_metadata(request)``.
- :mod:`strongroom.client.shapes`: the typed, immutable requests and results.
- One exception class per error type (``ResourceNotFoundException``, ...) under :class:`ClientError`.
- :mod:`strongroom.client.stages`: which version carries which label.
- :mod:`strongroom.client.cache`: a secret cache on either client (``SecretCache``, ``AsyncSecretCache``).

Imports nothing of the server. docs/client.md has examples of each form.
"""

from strongroom.client import shapes, stages
from strongroom.client._modeled_errors import *  # noqa: F403  (one class per error shape of the model)
from strongroom.client._modeled_errors import MODELED_ERRORS
from strongroom.client.aio import AsyncSecretsManager
from strongroom.client.errors import *  # noqa: F403  (the common errors and the bases)
from strongroom.client.errors import (
    COMMON_ERRORS,
    ClientError,
    ClientShutdown,
    ConfigurationError,
    ConnectionFailure,
    CredentialProcessError,
    NoCredentialsError,
    ReadTimeout,
    SdkError,
    TransportError,
)
from strongroom.client.futures import SecretsManager
from strongroom.client.handlers import AsyncHandler
from strongroom.client.metadata import ResponseMetadata
from strongroom.client.paginators import AsyncPaginator, Paginator
from strongroom.client.shapes import *  # noqa: F403  (requests, results and nested structures)

__all__ = [
    "COMMON_ERRORS",
    "MODELED_ERRORS",
    "AsyncHandler",
    "AsyncPaginator",
    "AsyncSecretsManager",
    "ClientError",
    "ClientShutdown",
    "ConfigurationError",
    "ConnectionFailure",
    "CredentialProcessError",
    "NoCredentialsError",
    "Paginator",
    "ReadTimeout",
    "ResponseMetadata",
    "SdkError",
    "SecretsManager",
    "TransportError",
    "shapes",
    "stages",
]
