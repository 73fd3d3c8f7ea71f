"""The Secrets Manager API model: botocore's service-2 definition, loaded once on first use.

Everything here is lazy and cached: importing the module costs nothing, the first call
loads and parses the model (about 15 ms), later calls are dictionary lookups.
"""

from __future__ import annotations

from functools import cache

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, StructureShape

SERVICE_NAME = "secretsmanager"


@cache
def service_model() -> ServiceModel:
    """The parsed service model, shared by every caller."""
    raw = Loader().load_service_model(SERVICE_NAME, "service-2")
    return ServiceModel(raw, service_name=SERVICE_NAME)


@cache
def operation_names() -> tuple[str, ...]:
    """Every operation the API defines, e.g. ``GetSecretValue``, in model order."""
    return tuple(service_model().operation_names)


@cache
def operation_model(operation: str) -> OperationModel:
    """The model of one operation; ``KeyError`` when the API has no such operation."""
    if operation not in _operation_set():
        raise KeyError(operation)
    return service_model().operation_model(operation)


def input_shape(operation: str) -> StructureShape | None:
    """The request shape of ``operation`` (None if it takes no input)."""
    return operation_model(operation).input_shape


def output_shape(operation: str) -> StructureShape | None:
    """The response shape of ``operation`` (None if it returns nothing)."""
    return operation_model(operation).output_shape


@cache
def _operation_set() -> frozenset[str]:
    return frozenset(operation_names())
