"""strongroom.protocol.model reads the service definition as botocore does, without importing it.

The server validates and decodes requests with :mod:`strongroom.protocol.model`'s shapes; botocore's
own classes are the reference here. Every shape reachable from every operation's input and output
must read the same through both: name, type, metadata (constraints), serialization (wire names),
members in order, required members, list elements, map keys and values.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.loaders import Loader
from botocore.model import ServiceModel as BotocoreServiceModel

from strongroom.protocol import model


@pytest.fixture(scope="module")
def botocore_model() -> BotocoreServiceModel:
    return BotocoreServiceModel(Loader().load_service_model("secretsmanager", "service-2"), "secretsmanager")


def _same(ours: Any, theirs: Any, path: str, seen: set[str]) -> int:
    """Compare two shapes recursively; returns how many shapes were compared."""
    assert ours.name == theirs.name, path
    assert ours.type_name == theirs.type_name, path
    assert ours.metadata == theirs.metadata, path
    assert ours.serialization == theirs.serialization, path
    key = f"{ours.name}:{sorted(ours.serialization.items())}"
    if key in seen:
        return 0
    seen.add(key)
    count = 1
    if theirs.type_name == "structure":
        assert list(ours.members) == list(theirs.members), path
        assert ours.required_members == theirs.required_members, path
        for name in theirs.members:
            count += _same(ours.members[name], theirs.members[name], f"{path}.{name}", seen)
    elif theirs.type_name == "list":
        count += _same(ours.member, theirs.member, f"{path}[]", seen)
    elif theirs.type_name == "map":
        count += _same(ours.key, theirs.key, f"{path}<key>", seen)
        count += _same(ours.value, theirs.value, f"{path}<value>", seen)
    return count


def test_operations_are_botocores_in_the_same_order(botocore_model: BotocoreServiceModel) -> None:
    assert list(model.operation_names()) == list(botocore_model.operation_names)
    assert "BatchGetSecretValue" in model.operation_names()


def test_every_shape_of_every_operation_reads_as_botocores(botocore_model: BotocoreServiceModel) -> None:
    seen: set[str] = set()
    compared = 0
    for name in botocore_model.operation_names:
        theirs = botocore_model.operation_model(name)
        pairs = ((model.input_shape(name), theirs.input_shape), (model.output_shape(name), theirs.output_shape))
        for ours, reference in pairs:
            assert (ours is None) == (reference is None), name
            if reference is not None:
                compared += _same(ours, reference, f"{name}:{reference.name}", seen)
    assert compared > 100  # the whole model was walked, not a corner of it


def test_a_member_reference_overrides_its_shapes_traits() -> None:
    definition = {
        "operations": {"Op": {"name": "Op", "input": {"shape": "In"}}},
        "shapes": {
            "In": {"type": "structure", "required": ["A"], "members": {
                "A": {"shape": "Str", "locationName": "a-wire", "documentation": "d"},
                "B": {"shape": "Str"},
            }},
            "Str": {"type": "string", "min": 1, "max": 5},
        },
    }
    ours = model.ServiceModel(definition).operation_model("Op").input_shape
    assert ours is not None
    theirs = BotocoreServiceModel(definition).operation_model("Op").input_shape
    _same(ours, theirs, "In", set())
    assert ours.members["A"].serialization == {"name": "a-wire"}
    assert ours.members["B"].serialization == {}
    assert ours.members["B"] is ours.members["B"]  # cached


def test_unknown_operation_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        model.operation_model("NoSuchOperation")


def test_a_missing_definition_is_reported() -> None:
    with pytest.raises(model.ModelNotFound, match="no-such-service"):
        model.definition_path("no-such-service")
