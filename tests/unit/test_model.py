"""strongroom.protocol.model reads the vendored service definition as botocore does, without importing it.

The server validates and decodes requests with :mod:`strongroom.protocol.model`'s shapes; botocore's
own classes, reading the same vendored definition, are the reference here. Every shape reachable
from every operation's input and output must read the same through both: name, type, metadata
(constraints), serialization (wire names), members in order, required members, list elements, map
keys and values. The vendored definition is the current one (botocore 1.44.8, 26 operations), and
every operation in it is served or listed as not served in docs/api.md.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.model import ServiceModel as BotocoreServiceModel

import strongroom
from strongroom.protocol import model
from strongroom.secrets.iam_vocabulary import ACTIONS
from strongroom.secrets.service import SERVICE
from strongroom.sts.service import SERVICE as STS

OPERATIONS = SERVICE.operations

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture(scope="module")
def botocore_model() -> BotocoreServiceModel:
    definition = json.loads(gzip.decompress(model.definition_path("secretsmanager").read_bytes()))
    return BotocoreServiceModel(definition, "secretsmanager")


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
    assert list(model.operation_names("secretsmanager")) == list(botocore_model.operation_names)
    assert "BatchGetSecretValue" in model.operation_names("secretsmanager")


def test_every_shape_of_every_operation_reads_as_botocores(botocore_model: BotocoreServiceModel) -> None:
    seen: set[str] = set()
    compared = 0
    for name in botocore_model.operation_names:
        theirs = botocore_model.operation_model(name)
        pairs = (
            (model.input_shape("secretsmanager", name), theirs.input_shape),
            (model.output_shape("secretsmanager", name), theirs.output_shape),
        )
        for ours, reference in pairs:
            assert (ours is None) == (reference is None), name
            if reference is not None:
                compared += _same(ours, reference, f"{name}:{reference.name}", seen)
    assert compared > 100  # the whole model was walked, not a corner of it


def test_the_lambda_model_reads_as_botocores() -> None:
    definition = json.loads(gzip.decompress(model.definition_path("lambda").read_bytes()))
    theirs_model = BotocoreServiceModel(definition, "lambda")
    seen: set[str] = set()
    compared = 0
    for name in theirs_model.operation_names:
        theirs = theirs_model.operation_model(name)
        for ours, reference in ((model.input_shape("lambda", name), theirs.input_shape),
                                (model.output_shape("lambda", name), theirs.output_shape)):
            assert (ours is None) == (reference is None), name
            if reference is not None:
                compared += _same(ours, reference, f"{name}:{reference.name}", seen)
        assert model.operation_model("lambda", name).http == theirs.http, name
    assert compared > 300


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
        model.operation_model("secretsmanager", "NoSuchOperation")


def test_a_missing_definition_is_reported() -> None:
    with pytest.raises(model.ModelNotFound, match="no-such-service"):
        model.definition_path("no-such-service")


def test_the_model_is_the_vendored_copy() -> None:
    path = model.definition_path("secretsmanager")
    assert path.is_relative_to(Path(strongroom.__file__).parent / "protocol" / "models")
    assert path.name == "secretsmanager-2017-10-17.json.gz"


def test_validation_needs_no_botocore() -> None:
    """Without botocore the server still validates, with the current model (SortBy has its enum)."""
    script = (
        "import sys\n"
        "sys.modules['botocore'] = None  # import botocore and find_spec('botocore') both fail\n"
        "from strongroom.errors import ValidationException\n"
        "from strongroom.protocol.validation import parse_input\n"
        "from strongroom.secrets.service import SERVICE\n"
        "try:\n"
        "    parse_input(SERVICE, 'ListSecrets', {'SortBy': 'bogus'})\n"
        "except ValidationException as exc:\n"
        "    print(exc.message)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == (
        "1 validation error detected: Value 'bogus' at 'sortBy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]"
    )


def test_the_vendored_model_has_the_current_operations() -> None:
    names = model.operation_names("secretsmanager")
    assert len(names) == 26
    assert {"ListResourcePolicies", "AssociateCrossAccountReplica", "DisassociateCrossAccountReplica"} <= set(names)
    assert "SortBy" in model.input_shape("secretsmanager", "ListSecrets").members
    assert "Type" in model.input_shape("secretsmanager", "CreateSecret").members


def _documented_unserved() -> set[str]:
    """Operations docs/api.md lists as not served: the rows of its table that say "not yet"."""
    rows = [line for line in API_DOC.read_text().splitlines() if line.startswith("|") and "not yet" in line]
    return {word for row in rows for word in re.findall(r"\b[A-Z][A-Za-z]+\b", row.split("|")[1])}


def test_every_operation_is_served_or_documented_as_not_served() -> None:
    names = set(model.operation_names("secretsmanager"))
    unserved = _documented_unserved()
    assert set(OPERATIONS) <= names
    assert unserved <= names
    assert not set(OPERATIONS) & unserved
    assert set(OPERATIONS) | unserved == names, sorted(names - set(OPERATIONS) - unserved)


def test_the_iam_actions_are_the_operations_of_the_model() -> None:
    """resource-policy linting knows Secrets Manager's actions without the model (a lower layer)."""
    assert ACTIONS == model.operation_names("secretsmanager")


def test_the_sts_model_is_vendored_and_serves_its_operations() -> None:
    path = model.definition_path(STS.model)
    assert path.name == "sts-2011-06-15.json.gz"
    assert set(STS.operations) <= set(model.operation_names(STS.model))
    assert model.service_model(STS.model).metadata["xmlNamespace"] == "https://sts.amazonaws.com/doc/2011-06-15/"
