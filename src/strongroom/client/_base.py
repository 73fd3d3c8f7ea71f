"""What the generated modules build on: :class:`Shape`, the base of every request, result and nested
structure, and :class:`Operation`, what the client needs to know about one operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

R = TypeVar("R")


class Shape(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An immutable structure of the API, encoded to and decoded from its JSON wire form by msgspec.

    Members default to None and absent members are left out of the wire form, as AWS expects.
    Immutable (lists are tuples in results), picklable and cheap to compare, so a cache can hold
    results and hand the same object to many callers. ``repr`` shows the members that are set
    and never the value of a sensitive one (``SecretString``, ``SecretBinary``, passwords).
    """

    __sensitive__: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is not None:
                shown.append(f"{name}=<redacted>" if name in self.__sensitive__ else f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


@dataclass(frozen=True, eq=False)
class Operation(Generic[R]):
    """One operation of the API: its name and X-Amz-Target, request and result types, the request
    members that are idempotency tokens, the error codes the model lists for it, and for a paginated
    operation the result member that holds its items."""

    name: str
    target: str
    request_type: type[Shape]
    result_type: type[R] | None
    idempotency_tokens: tuple[str, ...]
    errors: frozenset[str]
    items: str | None
    decoder: msgspec.json.Decoder[Any] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # strict=False lets msgspec read the wire's epoch-second timestamps as datetimes (UTC).
        decoder = msgspec.json.Decoder(self.result_type, strict=False) if self.result_type is not None else None
        object.__setattr__(self, "decoder", decoder)

    def decode(self, body: bytes) -> R:
        """The typed result of a successful response body (None for operations without output)."""
        if self.decoder is None:
            return None  # type: ignore[return-value]
        result: R = self.decoder.decode(body)
        return result
