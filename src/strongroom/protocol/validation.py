"""Model-driven parsing and validation of request parameters, per (service, operation).

``parse_input(service, operation, body)`` checks already-decoded parameters (a JSON body, or what
the query and REST adapters decode) against the operation's input shape in the service's model
and returns what the domain layer sees: blobs base64-decoded to ``bytes``, timestamps as float
epoch seconds, every other value as sent; unknown members and nulls are dropped. Wrong JSON types
raise ``SerializationException`` at the first bad value; constraint failures are collected and
raised as one ``ValidationException`` (at most :data:`MAX_REPORTED_ERRORS` listed) in AWS's
wording. Values of sensitive and binary members are never echoed. Each operation's checker is
compiled once from its model into closures, so a call does no model lookups. AWS's behaviour
and the sources for each rule: docs/api.md, "Input validation".
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Callable, Iterable
from functools import partial
from typing import NamedTuple, cast

from strongroom.errors import SerializationException, UnknownOperationException, ValidationException
from strongroom.protocol.java_regex import python_pattern
from strongroom.protocol.model import ModelSource, Shape, input_shape, operation_names, service_model
from strongroom.service.descriptor import ServiceDescriptor

__all__ = ["MAX_REPORTED_ERRORS", "json_integer", "parse_input"]

MAX_REPORTED_ERRORS = 10

_NOT_NULL = "Member must not be null"
_START_OF_STRUCTURE = "Start of structure or map found where not expected"
_UNEXPECTED_FIELD = "Unexpected field type"
_UNEXPECTED_VALUE = "Unexpected value type in payload"
_NUMBER_TYPES = frozenset({"integer", "long"})
_CONTAINER_TYPES = frozenset({"structure", "list", "map"})
_INT_RANGES = {"integer": ("Integer", 2**31), "long": ("Long", 2**63)}


class Violation(NamedTuple):
    """One failed constraint, formatted only if it is among the reported ones."""

    path: str
    value: object
    constraint: str
    redact: bool


#: A compiled checker: (value, path, violations) -> normalized value; raises SerializationException.
Checker = Callable[[object, str, list[Violation]], object]


def parse_input(service: ServiceDescriptor, operation: str, body: object) -> dict[str, object]:
    """Validate ``body`` against the input shape of ``service``'s ``operation``; the normalized params.

    Raises ``SerializationException`` for a value of the wrong JSON type, ``ValidationException``
    for model constraint failures and ``UnknownOperationException`` for an operation the model
    does not define.
    """
    check = _roots.get((service.name, operation))
    if check is None:
        check = _roots[service.name, operation] = _root_checker(service.model, operation)
    violations: list[Violation] = []
    params = check({} if body is None else body, "", violations)
    if violations:
        raise _validation_error(violations)
    return cast("dict[str, object]", params)


# --- Compilation ---------------------------------------------------------------------------

#: The root checker of each (service, operation), compiled on first use.
_roots: dict[tuple[str, str], Checker] = {}


def _root_checker(model: ModelSource, operation: str) -> Checker:
    if operation not in operation_names(model):
        raise UnknownOperationException("")
    shape = input_shape(model, operation)
    if shape is None:
        return _structure_checker({}, (), _UNEXPECTED_VALUE)
    return _compiler(model).structure(shape, mismatch=_UNEXPECTED_VALUE)


_compilers: dict[ModelSource, _Compiler] = {}


def _compiler(model: ModelSource) -> _Compiler:
    compiler = _compilers.get(model)
    if compiler is None:
        compiler = _compilers[model] = _Compiler(model)
    return compiler


class _Compiler:
    """Compiles the checkers of one model's shapes; a named shape's checker is shared by every
    member that uses it."""

    def __init__(self, model: ModelSource) -> None:
        self._model = service_model(model)
        self._checkers: dict[str, Checker] = {}
        self._redacted: dict[str, bool] = {}

    def checker(self, shape_name: str) -> Checker:
        """The checker of a named shape in member position."""
        check = self._checkers.get(shape_name)
        if check is None:
            shape = self._model.shape_for(shape_name)
            check = self._checkers[shape_name] = _COMPILERS.get(shape.type_name, _passthrough)(self, shape)
        return check

    def redacted(self, shape_name: str) -> bool:
        """Whether values of this shape must never be echoed: sensitive, binary, or holding such."""
        redact = self._redacted.get(shape_name)
        if redact is None:
            shape = self._model.shape_for(shape_name)
            redact = bool(shape.metadata.get("sensitive")) or shape.type_name == "blob"
            redact = self._redacted[shape_name] = redact or any(self.redacted(c.name) for c in _children(shape))
        return redact

    def structure(self, shape: Shape, mismatch: str = _UNEXPECTED_FIELD) -> Checker:
        return _structure(self, shape, mismatch)


def _children(shape: Shape) -> list[Shape]:
    kind = shape.type_name
    if kind == "structure":
        return list(shape.members.values())
    if kind == "list":
        return [shape.member]
    if kind == "map":
        return [shape.key, shape.value]
    return []


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _constraints(shape: Shape) -> dict[str, str]:
    """The shape's constraints in AWS wording, keyed by kind, in AWS's order (max, min, pattern, enum)."""
    meta = shape.metadata
    unit = "value" if shape.type_name in _NUMBER_TYPES else "length"
    texts = {}
    if "max" in meta:
        texts["max"] = f"Member must have {unit} less than or equal to {meta['max']}"
    if "min" in meta:
        texts["min"] = f"Member must have {unit} greater than or equal to {meta['min']}"
    if "pattern" in meta:
        texts["pattern"] = f"Member must satisfy regular expression pattern: {meta['pattern']}"
    if meta.get("enum"):
        texts["enum"] = f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]"
    return texts


def _bounds(shape: Shape) -> tuple[float, float]:
    meta = shape.metadata
    default_low = -math.inf if shape.type_name in _NUMBER_TYPES else 0
    return meta.get("min", default_low), meta.get("max", math.inf)


def _bound_violation(size: float, low: float, texts: dict[str, str]) -> str:
    return texts["min"] if size < low else texts["max"]


# --- Structures, lists, maps ---------------------------------------------------------------


def _structure(compiler: _Compiler, shape: Shape, mismatch: str = _UNEXPECTED_FIELD) -> Checker:
    members = {name: (_lower_first(name), compiler.checker(member.name)) for name, member in shape.members.items()}
    required = tuple((name, _lower_first(name)) for name in shape.required_members)
    return _structure_checker(members, required, mismatch)


def _structure_checker(
    members: dict[str, tuple[str, Checker]], required: tuple[tuple[str, str], ...], mismatch: str
) -> Checker:
    def check(value: object, path: str, violations: list[Violation]) -> dict[str, object]:
        if type(value) is not dict:
            raise SerializationException(mismatch)
        prefix = f"{path}." if path else ""
        params = {}
        for key, item in value.items():
            member = members.get(key)
            if member is not None and item is not None:
                params[key] = member[1](item, prefix + member[0], violations)
        for key, lowered in required:
            if value.get(key) is None:
                violations.append(Violation(prefix + lowered, None, _NOT_NULL, False))
        return params

    return check


def _list(compiler: _Compiler, shape: Shape) -> Checker:
    each = _elements(compiler, shape.member, "Member must satisfy constraint")
    low, high = _bounds(shape)
    texts = _constraints(shape)
    redact = compiler.redacted(shape.name)

    def check(value: object, path: str, violations: list[Violation]) -> list[object]:
        if type(value) is not list:
            raise SerializationException(_START_OF_STRUCTURE if type(value) is dict else _UNEXPECTED_FIELD)
        if not low <= len(value) <= high:
            violations.append(Violation(path, value, _bound_violation(len(value), low, texts), redact))
        return each(enumerate(value, 1), path, value, violations)

    return check


def _map(compiler: _Compiler, shape: Shape) -> Checker:
    each_key = _elements(compiler, shape.key, "Map keys must satisfy constraint")
    each_value = _elements(compiler, shape.value, "Map value must satisfy constraint")
    low, high = _bounds(shape)
    texts = _constraints(shape)
    redact = compiler.redacted(shape.name)

    def check(value: object, path: str, violations: list[Violation]) -> dict[object, object]:
        if type(value) is not dict:
            raise SerializationException(_UNEXPECTED_FIELD)
        if not low <= len(value) <= high:
            violations.append(Violation(path, value, _bound_violation(len(value), low, texts), redact))
        keys = each_key(((key, key) for key in value), path, value, violations)
        items = each_value(value.items(), path, value, violations)
        return dict(zip(keys, items, strict=True))

    return check


#: Checks the elements of a list or map: ((key, element) pairs, container path, container,
#: violations) -> normalized elements. A key is a list's 1-based index or a map's key.
Elements = Callable[[Iterable[tuple[object, object]], str, object, list[Violation]], list[object]]


def _elements(compiler: _Compiler, shape: Shape, label: str) -> Elements:
    """Element checking for lists and maps.

    Container elements (structures, lists, maps) report their own violations at
    ``<container>.<key>.member``; scalar elements are reported, as AWS does, as one violation at
    the container that lists every constraint of the element shape.
    """
    if shape.type_name not in _CONTAINER_TYPES:
        texts = list(_constraints(shape).values())
        return partial(_scalar_elements, compiler.checker(shape.name), label, texts, compiler.redacted(shape.name))
    if shape.type_name == "structure":
        return partial(_nested_elements, compiler.structure(shape, mismatch=_UNEXPECTED_VALUE))
    return partial(_nested_elements, compiler.checker(shape.name))


def _nested_elements(
    check_item: Checker,
    pairs: Iterable[tuple[object, object]],
    path: str,
    container: object,
    violations: list[Violation],
) -> list[object]:
    checked = []
    for key, item in pairs:
        item_path = f"{path}.{key}.member"
        if item is None:
            violations.append(Violation(item_path, None, _NOT_NULL, False))
        else:
            checked.append(check_item(item, item_path, violations))
    return checked


def _scalar_elements(
    check_item: Checker,
    label: str,
    texts: list[str],
    redact: bool,
    pairs: Iterable[tuple[object, object]],
    path: str,
    container: object,
    violations: list[Violation],
) -> list[object]:
    mark = len(violations)
    has_null = False
    checked = []
    for _, item in pairs:
        if item is None:
            has_null = True
        else:
            checked.append(check_item(item, path, violations))
    if has_null or len(violations) > mark:
        del violations[mark:]
        listed = [*texts, _NOT_NULL] if has_null else texts
        violations.append(Violation(path, container, f"{label}: [{', '.join(listed)}]", redact))
    return checked


# --- Scalars -------------------------------------------------------------------------------


def _string(compiler: _Compiler, shape: Shape) -> Checker:
    texts = _constraints(shape)
    low, high = _bounds(shape)
    pattern = shape.metadata.get("pattern")
    fullmatch = _fullmatch(pattern) if pattern else None
    allowed = frozenset(shape.metadata.get("enum", ()))
    redact = compiler.redacted(shape.name)

    def check(value: object, path: str, violations: list[Violation]) -> str:
        if type(value) is not str:
            raise _mismatch(value, "String")
        if not low <= len(value) <= high:
            violations.append(Violation(path, value, _bound_violation(len(value), low, texts), redact))
        if fullmatch is not None and fullmatch(value) is None:
            violations.append(Violation(path, value, texts["pattern"], redact))
        if allowed and value not in allowed:
            violations.append(Violation(path, value, texts["enum"], redact))
        return value

    return check


def _fullmatch(pattern: str) -> Callable[[str], object]:
    """Whole-value matching of a model pattern, as AWS's Java regexes match: ``\\d``, ``\\w``,
    ``\\s`` in ASCII only, Unicode property classes such as ``\\p{L}`` (tag keys) over all of Unicode."""
    return re.compile(python_pattern(pattern), re.ASCII).fullmatch


def json_integer(value: object, type_name: str = "integer") -> int:
    """A JSON value read into a model ``integer`` or ``long`` member, as AWS's JSON reader reads it.

    Only a JSON number will do (``"900"`` is STRING_VALUE, a SerializationException); decimals
    are truncated, as Jackson does; values outside the type's 32/64-bit range are refused.
    """
    target, limit = _INT_RANGES[type_name]
    if type(value) is int:
        number = value
    elif type(value) is float and math.isfinite(value):
        number = int(value)  # Jackson truncates decimals read into integer members
    else:
        raise _mismatch(value, target)
    if not -limit <= number < limit:
        raise SerializationException(f"NUMBER_VALUE cannot be converted to {target}")
    return number


def _integer(compiler: _Compiler, shape: Shape) -> Checker:
    texts = _constraints(shape)
    low, high = _bounds(shape)
    kind = shape.type_name
    redact = compiler.redacted(shape.name)

    def check(value: object, path: str, violations: list[Violation]) -> int:
        number = json_integer(value, kind)
        if not low <= number <= high:
            violations.append(Violation(path, number, _bound_violation(number, low, texts), redact))
        return number

    return check


def _boolean(compiler: _Compiler, shape: Shape) -> Checker:
    def check(value: object, path: str, violations: list[Violation]) -> bool:
        if value is True or value is False:
            return value
        if type(value) is str:
            lowered = value.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            raise SerializationException("Unexpected token received from parser")
        raise _mismatch(value, "Boolean")

    return check


def _blob(compiler: _Compiler, shape: Shape) -> Checker:
    texts = _constraints(shape)
    low, high = _bounds(shape)

    def check(value: object, path: str, violations: list[Violation]) -> bytes:
        if type(value) is bytes:  # a REST payload, taken as sent (JSON never decodes to bytes)
            data = value
        elif type(value) is not str:
            if type(value) in (list, dict):
                raise _mismatch(value, "ByteBuffer", "java.nio.ByteBuffer")
            raise SerializationException("only base-64-encoded strings are convertible to bytes")
        else:
            data = _decode_base64(value)
        if not low <= len(data) <= high:
            violations.append(Violation(path, value, _bound_violation(len(data), low, texts), True))
        return data

    return check


def _timestamp(compiler: _Compiler, shape: Shape) -> Checker:
    def check(value: object, path: str, violations: list[Violation]) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value) if abs(value) < 1e300 else math.inf
            if math.isfinite(seconds):
                return seconds
        raise _mismatch(value, "Date", "java.util.Date")

    return check


def _passthrough(compiler: _Compiler, shape: Shape) -> Checker:
    """Shapes no served input uses (document, double...): accepted as sent."""

    def check(value: object, path: str, violations: list[Violation]) -> object:
        return value

    return check


_COMPILERS: dict[str, Callable[[_Compiler, Shape], Checker]] = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "boolean": _boolean,
    "blob": _blob,
    "timestamp": _timestamp,
}


def _decode_base64(text: str) -> bytes:
    """Strict, canonical base64, as AWS's decoder requires. Messages never echo the value."""
    if len(text) % 4:
        raise SerializationException(
            f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(text)}"
        )
    try:
        data = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise SerializationException("Invalid Base64 character detected") from None
    if binascii.b2a_base64(data, newline=False).decode("ascii") != text:
        raise SerializationException("Invalid last non-pad Base64 character dectected")
    return data


def _mismatch(value: object, target: str, java_class: str | None = None) -> SerializationException:
    """The SerializationException for ``value`` read where a ``target`` was expected."""
    if type(value) is dict:
        return SerializationException(_START_OF_STRUCTURE)
    if type(value) is list:
        java_class = java_class or f"java.lang.{target}"
        return SerializationException(f"Unrecognized collection type class {java_class}")
    return SerializationException(f"{_token(value)} cannot be converted to {target}")


def _token(value: object) -> str:
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if type(value) is int:
        return "NUMBER_VALUE"
    if type(value) is float:
        return "DECIMAL_VALUE"
    return "STRING_VALUE"


# --- Messages ------------------------------------------------------------------------------


def _validation_error(violations: list[Violation]) -> ValidationException:
    reported = violations[:MAX_REPORTED_ERRORS]
    noun = "error" if len(reported) == 1 else "errors"
    details = "; ".join(map(_describe, reported))
    return ValidationException(f"{len(reported)} validation {noun} detected: {details}")


def _describe(violation: Violation) -> str:
    path, value, constraint, redact = violation
    if value is None:
        shown = "Value null"
    elif redact:
        shown = "Value"
    else:
        shown = f"Value '{_render(value)}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _render(value: object) -> str:
    """A value as Java's toString prints it: lists as [a, b], maps as {k=v}, booleans lowercase."""
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if type(value) is list:
        return f"[{', '.join(map(_render, value))}]"
    if type(value) is dict:
        return "{" + ", ".join(f"{key}={_render(item)}" for key, item in value.items()) + "}"
    return str(value)
