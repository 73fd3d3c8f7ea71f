"""A secret value as a client sends and receives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strongroom.errors import InvalidParameterException
from strongroom.secrets.messages import BOTH_VALUES


@dataclass(frozen=True, slots=True)
class SecretValue:
    """A secret value as given by the client: a string (UTF-8) or raw binary."""

    kind: str  # "string" | "binary"
    data: bytes

    def response_fields(self) -> dict[str, Any]:
        if self.kind == "string":
            return {"SecretString": self.data.decode("utf-8")}
        return {"SecretBinary": self.data}

    def __repr__(self) -> str:  # never show a value
        return f"SecretValue(kind={self.kind!r}, length={len(self.data)})"


def value_from(params: dict[str, Any]) -> SecretValue | None:
    """The SecretString/SecretBinary of a request, or None when it has neither."""
    string, binary = params.get("SecretString"), params.get("SecretBinary")
    if string is not None and binary is not None:
        raise InvalidParameterException(BOTH_VALUES)
    if string is not None:
        return SecretValue("string", string.encode("utf-8"))
    if binary is not None:
        return SecretValue("binary", bytes(binary))
    return None
