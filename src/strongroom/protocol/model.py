"""Service models: botocore's service-2 definitions, vendored, each loaded once on first use.

The definitions are copies of botocore's ``service-2.json`` kept in ``models/`` (refreshed by
``make update-models``, scripts/update_models.py), so every installation validates requests with
the same, current models, whichever botocore (if any) is installed. botocore itself is not
imported: its model classes cost more than the rest of a worker's imports together, and the
server needs only a few of their attributes. :class:`Shape` offers that subset of botocore's
``Shape`` interface with botocore's semantics (``name``, ``type_name``, ``metadata``,
``serialization``, ``members``, ``required_members``, ``member``, ``key``, ``value``; a member
reference's own traits override its shape's); tests/unit/test_model.py checks every shape of
every operation against botocore's.

A model is named by its source: the name of a vendored service model (``<name>-<api
version>.json.gz`` in ``models/``, newest version) or the path of a definition elsewhere (a
service under test). Everything is lazy and cached: the first call per source reads and parses
the file, later calls are dictionary lookups.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import orjson

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
    """One operation: its name, its input and output shapes and its HTTP binding (REST protocols)."""

    def __init__(self, name: str, definition: Mapping[str, Any], model: ServiceModel) -> None:
        self.name = name
        #: ``{"method", "requestUri", "responseCode"}`` as the model gives them (REST protocols).
        self.http: Mapping[str, Any] = definition.get("http", {})
        #: The error shapes the operation may answer.
        self.errors = [model.resolve(ref) for ref in definition.get("errors", ())]
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


#: A model's source: a vendored model's name (e.g. the service's endpoint prefix) or a definition's path.
ModelSource = str | Path


def model_file_name(service: str, api_version: str) -> str:
    """The vendored file of one API version of a service model, ``<service>-<api version>.json.gz``."""
    return f"{service}-{api_version}.json.gz"


def definition_path(source: ModelSource) -> Path:
    """The definition file of ``source``: the newest vendored version of a name (as botocore's
    loader picks), or the path itself."""
    if isinstance(source, Path):
        return source
    versions = sorted(MODELS_DIR.glob(model_file_name(source, "*")))
    if not versions:
        raise ModelNotFound(f"no service-2 definition of {source!r} is vendored in {MODELS_DIR}")
    return versions[-1]


@cache
def service_model(source: ModelSource) -> ServiceModel:
    """The parsed model of ``source``, shared by every caller."""
    raw = definition_path(source).read_bytes()
    return ServiceModel(orjson.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw))


@cache
def operation_names(source: ModelSource) -> tuple[str, ...]:
    """Every operation the model defines, in model order."""
    return tuple(service_model(source).operation_names)


@cache
def operation_model(source: ModelSource, operation: str) -> OperationModel:
    """The model of one operation; ``KeyError`` when the model has no such operation."""
    if operation not in _operation_set(source):
        raise KeyError(operation)
    return service_model(source).operation_model(operation)


def input_shape(source: ModelSource, operation: str) -> Shape | None:
    """The request shape of ``operation`` (None if it takes no input)."""
    return operation_model(source, operation).input_shape


def output_shape(source: ModelSource, operation: str) -> Shape | None:
    """The response shape of ``operation`` (None if it returns nothing)."""
    return operation_model(source, operation).output_shape


@cache
def _operation_set(source: ModelSource) -> frozenset[str]:
    return frozenset(operation_names(source))
