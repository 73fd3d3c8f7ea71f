"""Members of the current model Strongroom cannot honour are refused, never ignored (secrets.unsupported)."""

from __future__ import annotations

import pytest

from strongroom.errors import InvalidRequestException
from strongroom.protocol.model import input_shape
from strongroom.secrets.unsupported import UNSUPPORTED, refuse_unsupported

CASES = [(operation, member) for operation, members in UNSUPPORTED.items() for member in members]


@pytest.mark.parametrize(("operation", "member"), CASES)
def test_every_refused_member_is_in_the_model(operation: str, member: str) -> None:
    shape = input_shape("secretsmanager", operation)
    assert shape is not None and member in shape.members


@pytest.mark.parametrize(("operation", "member"), CASES)
def test_a_refused_member_is_named_in_the_error(operation: str, member: str) -> None:
    with pytest.raises(InvalidRequestException) as caught:
        refuse_unsupported(operation, {"SecretId": "s", member: "value-never-echoed"})
    assert member in caught.value.message and "value-never-echoed" not in caught.value.message


def test_managed_external_rotation_is_refused_for_rotate_secret() -> None:
    """RotateSecret's partner-rotation members are refused."""
    metadata = [{"Key": "k", "Value": "v"}]
    with pytest.raises(InvalidRequestException, match="managed external secrets"):
        refuse_unsupported("RotateSecret", {"SecretId": "s", "ExternalSecretRotationMetadata": metadata})


@pytest.mark.parametrize("operation", ["CreateSecret", "PutSecretValue", "RotateSecret", "GetSecretValue"])
def test_requests_without_them_pass(operation: str) -> None:
    refuse_unsupported(operation, {"SecretId": "s", "SecretString": "v", "RotationRules": {}})
