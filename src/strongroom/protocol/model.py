"""The Secrets Manager API model: botocore's service-2 definition, vendored, loaded once on first use.

The definition is a copy of botocore's ``service-2.json`` kept in ``models/`` (refreshed by
``make update-models``, scripts/update_models.py), so every installation validates requests with
the same, current model, whichever botocore (if any) is installed. botocore itself is not
imported: its model classes cost more than the rest of a worker's imports together (urllib3's URL
regexes alone ~50 ms on a slow machine), and the server needs only a few of their attributes.
:class:`Shape` offers that subset of botocore's ``Shape`` interface with botocore's semantics
(``name``, ``type_name``, ``metadata``, ``serialization``, ``members``, ``required_members``,
``member``, ``key``, ``value``; a member reference's own traits override its shape's);
tests/unit/test_model.py checks every shape of every operation against botocore's.

Everything is lazy and cached: importing the module costs nothing, the first call reads and
parses the file, later calls are dictionary lookups.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import orjson

SERVICE_NAME = "secretsmanager"
#: The vendored definitions, one ``<service>-<api version>.json.gz`` per service.
MODELS_DIR = Path(__file__).with_name("models")

# botocore.model.Shape.METADATA_ATTRS and SERIALIZED_ATTRS: the traits each view holds.
_METADATA_ATTRS = (
    "required", "min", "max", "pattern", "sensitive", "enum", "idempotencyToken", "error", "exception",
    "endpointdiscoveryid", "retryable", "document", "union", "contextParam", "clientContextParams",
    "requiresLength",
)
_SERIALIZED_ATTRS = (
    "locationName", "queryName", "flattened", "location", "payload", "streaming", "timestampFormat",
    "xmlNamespace", "resultWrapper", "xmlAttribute", "eventstream", "event", "eventheader", "eventpayload",
    "jsonvalue", "hostLabel",
)


class ModelNotFound(RuntimeError):
    """No definition of the service is vendored."""


class Shape:
    """One shape of the model, as botocore's ``Shape`` presents it (the attributes used here)."""

    def __init__(self, name: str, definition: Mapping[str, Any], model: ServiceModel) -> None:
        self.name = name
        self.type_name: str = definition["type"]
        self._definition = definition
        self._model = model

    def __repr__(self) -> str:
        return f"<Shape({self.name})>"

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Constraints and flags: min, max, pattern, enum, required, sensitive, ..."""
        return {attr: self._definition[attr] for attr in _METADATA_ATTRS if attr in self._definition}

    @cached_property
    def serialization(self) -> dict[str, Any]:
        """Wire traits; ``locationName`` is called ``name``, as in botocore."""
        out = {attr: self._definition[attr] for attr in _SERIALIZED_ATTRS if attr in self._definition}
        if "locationName" in out:
            out["name"] = out.pop("locationName")
        return out

    @cached_property
    def members(self) -> dict[str, Shape]:
        """A structure's members in model order (empty for other types)."""
        return {name: self._model.resolve(ref) for name, ref in self._definition.get("members", {}).items()}

    @property
    def required_members(self) -> list[str]:
        return list(self.metadata.get("required", []))

    @cached_property
    def member(self) -> Shape:
        """A list's element shape."""
        return self._model.resolve(self._definition["member"])

    @cached_property
    def key(self) -> Shape:
        """A map's key shape."""
        return self._model.resolve(self._definition["key"])

    @cached_property
    def value(self) -> Shape:
        """A map's value shape."""
        return self._model.resolve(self._definition["value"])


class OperationModel:
    """One operation: its name and its input and output shapes."""

    def __init__(self, name: str, definition: Mapping[str, Any], model: ServiceModel) -> None:
        self.name = name
        self.input_shape = model.resolve(definition["input"]) if "input" in definition else None
        self.output_shape = model.resolve(definition["output"]) if "output" in definition else None


class ServiceModel:
    """The parsed service definition."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        self.metadata: Mapping[str, Any] = definition.get("metadata", {})
        self._operations: Mapping[str, Any] = definition["operations"]
        self._shapes: Mapping[str, Any] = definition["shapes"]
        self._named: dict[str, Shape] = {}

    @property
    def operation_names(self) -> list[str]:
        return list(self._operations)

    def operation_model(self, name: str) -> OperationModel:
        return OperationModel(name, self._operations[name], self)

    def shape_for(self, name: str) -> Shape:
        shape = self._named.get(name)
        if shape is None:
            shape = self._named[name] = Shape(name, self._shapes[name], self)
        return shape

    def resolve(self, ref: Mapping[str, Any]) -> Shape:
        """The shape a member reference names; the reference's own traits override the shape's."""
        if len(ref) == 1:
            return self.shape_for(ref["shape"])
        traits = dict(ref)
        name = traits.pop("shape")
        return Shape(name, {**self._shapes[name], **traits}, self)


def model_file_name(service: str, api_version: str) -> str:
    """The vendored file of one API version of a service, e.g. ``secretsmanager-2017-10-17.json.gz``."""
    return f"{service}-{api_version}.json.gz"


def definition_path(service: str = SERVICE_NAME) -> Path:
    """The vendored service-2 file for ``service``, newest API version (as botocore's loader picks)."""
    versions = sorted(MODELS_DIR.glob(model_file_name(service, "*")))
    if not versions:
        raise ModelNotFound(f"no service-2 definition of {service!r} is vendored in {MODELS_DIR}")
    return versions[-1]


@cache
def service_model() -> ServiceModel:
    """The parsed service model, shared by every caller."""
    return ServiceModel(orjson.loads(gzip.decompress(definition_path().read_bytes())))


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


def input_shape(operation: str) -> Shape | None:
    """The request shape of ``operation`` (None if it takes no input)."""
    return operation_model(operation).input_shape


def output_shape(operation: str) -> Shape | None:
    """The response shape of ``operation`` (None if it returns nothing)."""
    return operation_model(operation).output_shape


@cache
def _operation_set() -> frozenset[str]:
    return frozenset(operation_names())
