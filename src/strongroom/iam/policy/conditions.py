"""Condition operators: compiled once per policy, evaluated against a request context.

Semantics (sources: docs/api.md, "Policy evaluation"):

- several operators in a block, and several keys under one operator, are ANDed;
- several values for one key are ORed; for a negated operator (StringNotEquals, NotIpAddress, ...)
  they are NORed: a negated operator is exactly the negation of its positive form;
- a key that is not present makes a condition false, except that a negated operator and an
  ...IfExists operator are then true;
- ``Null`` tests presence: ``"true"`` means absent, ``"false"`` means present;
- ``ForAllValues:`` is true when every context value matches (so also for an empty or absent
  key), ``ForAnyValue:`` when at least one does (so false for an empty or absent key).
  With a negated operator, "matches" means "matches none of the policy values".
- Without a set qualifier, a multivalued context value matches when any of its values does.

Policy values of the wrong type (a non-number for a Numeric operator, a bad CIDR ...) are kept
out of matching rather than rejected at parse time; :func:`strongroom.iam.policy.checks.lint`
reports them.
"""

from __future__ import annotations

import base64
import datetime as _dt
import ipaddress
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from strongroom.iam.policy.context import RequestContext
from strongroom.iam.policy.variables import Template, parse_template
from strongroom.iam.policy.wildcard import GlobSet, compile_globs, glob_to_regex

# family, negated, comparison (for Numeric and Date)
_OPERATORS: dict[str, tuple[str, bool, str | None]] = {
    "StringEquals": ("string", False, None),
    "StringNotEquals": ("string", True, None),
    "StringEqualsIgnoreCase": ("string_ic", False, None),
    "StringNotEqualsIgnoreCase": ("string_ic", True, None),
    "StringLike": ("string_like", False, None),
    "StringNotLike": ("string_like", True, None),
    "NumericEquals": ("numeric", False, "eq"),
    "NumericNotEquals": ("numeric", True, "eq"),
    "NumericLessThan": ("numeric", False, "lt"),
    "NumericLessThanEquals": ("numeric", False, "le"),
    "NumericGreaterThan": ("numeric", False, "gt"),
    "NumericGreaterThanEquals": ("numeric", False, "ge"),
    "DateEquals": ("date", False, "eq"),
    "DateNotEquals": ("date", True, "eq"),
    "DateLessThan": ("date", False, "lt"),
    "DateLessThanEquals": ("date", False, "le"),
    "DateGreaterThan": ("date", False, "gt"),
    "DateGreaterThanEquals": ("date", False, "ge"),
    "Bool": ("bool", False, None),
    "BinaryEquals": ("binary", False, None),
    "IpAddress": ("ip", False, None),
    "NotIpAddress": ("ip", True, None),
    "ArnEquals": ("arn", False, None),
    "ArnLike": ("arn", False, None),
    "ArnNotEquals": ("arn", True, None),
    "ArnNotLike": ("arn", True, None),
    "Null": ("null", False, None),
}
OPERATOR_NAMES: frozenset[str] = frozenset(_OPERATORS)
_BY_LOWER = {name.lower(): name for name in _OPERATORS}
#: Families whose values may hold policy variables (IAM: string and ARN operators only).
_VARIABLE_FAMILIES = frozenset({"string", "string_ic", "string_like", "arn"})
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}

NO_QUALIFIER, FOR_ALL_VALUES, FOR_ANY_VALUE = 0, 1, 2


class OperatorError(ValueError):
    """An operator name that IAM does not know; the parser turns it into a policy error."""


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    name: str  # as canonically spelled, with qualifier and IfExists: "ForAnyValue:StringLikeIfExists"
    base: str  # "StringLike"
    family: str
    negated: bool
    if_exists: bool
    qualifier: int
    compare: str | None


def parse_operator(name: str) -> OperatorSpec:
    qualifier = NO_QUALIFIER
    rest = name
    prefix, sep, tail = name.partition(":")
    if sep:
        lowered = prefix.lower()
        if lowered == "forallvalues":
            qualifier, prefix = FOR_ALL_VALUES, "ForAllValues:"
        elif lowered == "foranyvalue":
            qualifier, prefix = FOR_ANY_VALUE, "ForAnyValue:"
        else:
            raise OperatorError(name)
        rest = tail
    else:
        prefix = ""
    if_exists = False
    base = _BY_LOWER.get(rest.lower())
    if base is None and rest.lower().endswith("ifexists"):
        base = _BY_LOWER.get(rest[: -len("IfExists")].lower())
        if_exists = True
    if base is None:
        raise OperatorError(name)
    family, negated, compare = _OPERATORS[base]
    if family == "null" and (if_exists or qualifier != NO_QUALIFIER):
        raise OperatorError(name)
    canonical = f"{prefix}{base}{'IfExists' if if_exists else ''}"
    return OperatorSpec(canonical, base, family, negated, if_exists, qualifier, compare)


# --- value conversions --------------------------------------------------------------------------
def policy_value_text(value: Any) -> str:
    """How IAM reads a JSON scalar in a condition: booleans as true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return None


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):  # no "inf", "nan", "1_000" (Python would take them)
            return None
        try:
            return int(text)
        except ValueError:
            return float(text)  # has a fraction or exponent, or too many digits for int()
    return None


def as_epoch(value: Any) -> float | None:
    """Seconds since the epoch for an ISO 8601 date/time, an epoch number, or a datetime."""
    if isinstance(value, _dt.datetime):
        moment = value
    elif isinstance(value, bool):
        return None
    elif isinstance(value, (int, float)):
        return float(value)
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return float(text)
        try:
            moment = _dt.datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp()


def _as_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    return _parse_ip(value) if isinstance(value, str) else None


@lru_cache(maxsize=2048)
def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def as_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _as_binary_text(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value if isinstance(value, str) else None


def _split_arn(text: str) -> list[str] | None:
    parts = text.split(":", 5)
    return parts if len(parts) == 6 else None


# --- matchers: does one context value match any of the (compiled) policy values? ----------------
Matcher = Callable[[Any], bool]


def _string_matcher(family: str, values: Sequence[str]) -> Matcher:
    if family == "string":
        exact = frozenset(values)

        def match(value: Any) -> bool:
            return _as_text(value) in exact

        return match
    lowered = frozenset(v.lower() for v in values)

    def match_ic(value: Any) -> bool:
        text = _as_text(value)
        return text is not None and text.lower() in lowered

    return match_ic


def _like_matcher(globs: GlobSet) -> Matcher:
    def match_like(value: Any) -> bool:
        text = _as_text(value)
        return text is not None and globs.matches(text)

    return match_like


def _arn_matcher(patterns: Sequence[Sequence[str]]) -> Matcher:
    """ARN operators: each of the six colon-separated components is matched on its own."""
    compiled = [[re.compile(c, re.DOTALL) for c in comps] for comps in patterns]

    def match_arn(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        parts = _split_arn(value)
        if parts is None:
            return False
        for pattern in compiled:
            for regex, part in zip(pattern, parts, strict=True):
                if regex.fullmatch(part) is None:
                    break
            else:
                return True
        return False

    return match_arn


def _arn_components(pieces: Sequence[tuple[bool, str]]) -> list[str] | None:
    """Split resolved pieces into six component regex sources (policy text keeps wildcards)."""
    components: list[list[str]] = [[]]
    for is_text, text in pieces:
        chunks = text.split(":")
        for n, chunk in enumerate(chunks):
            if n:
                if len(components) == 6:
                    components[-1].append(":")  # the resource part may hold colons
                else:
                    components.append([])
            if chunk:
                components[-1].append(glob_to_regex(chunk) if is_text else re.escape(chunk))
    if len(components) != 6:
        return None
    return ["".join(c) for c in components]


def _ordered_matcher(
    convert: Callable[[Any], Any], values: Sequence[str], compare: Callable[[Any, Any], bool]
) -> Matcher:
    """Numeric and Date operators: convert both sides, then compare with any policy value."""
    wanted = [w for w in (convert(v) for v in values) if w is not None]

    def match(value: Any) -> bool:
        got = convert(value)
        return got is not None and any(compare(got, w) for w in wanted)

    return match


def _static_matcher(spec: OperatorSpec, values: Sequence[str]) -> Matcher:
    family = spec.family
    if family in ("string", "string_ic"):
        return _string_matcher(family, values)
    if family == "string_like":
        return _like_matcher(compile_globs(values))
    if family == "arn":
        patterns = [c for c in (_arn_components([(True, v)]) for v in values) if c is not None]
        return _arn_matcher(patterns)
    if family == "numeric":
        return _ordered_matcher(as_number, values, _COMPARE[spec.compare or "eq"])
    if family == "date":
        return _ordered_matcher(as_epoch, values, _COMPARE[spec.compare or "eq"])
    if family == "bool":
        truths = frozenset(v.lower() for v in values)

        def match_bool(value: Any) -> bool:
            text = _as_text(value)
            return text is not None and text.lower() in truths

        return match_bool
    if family == "binary":
        blobs = frozenset(values)

        def match_binary(value: Any) -> bool:
            return _as_binary_text(value) in blobs

        return match_binary
    if family == "ip":
        # (version, network as int, mask as int): an int test is ~10x faster than `address in net`
        ranges = [
            (n.version, int(n.network_address), int(n.netmask))
            for n in (as_network(v) for v in values)
            if n is not None
        ]

        def match_ip(value: Any) -> bool:
            address = _as_ip(value)
            if address is None:
                return False
            version, number = address.version, int(address)
            for v, net, mask in ranges:
                if v == version and number & mask == net:
                    return True
            return False

        return match_ip
    raise AssertionError(family)


# --- the compiled condition ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key, values) triple of a Condition block."""

    spec: OperatorSpec
    key: str  # as written in the policy
    key_lower: str
    values: tuple[str, ...]  # policy values as text
    templates: tuple[Template | None, ...] | None  # per value, when any value holds a variable
    matcher: Matcher | None  # precompiled when no value holds a variable

    def evaluate(self, ctx: RequestContext) -> bool:
        spec = self.spec
        raw = ctx.get(self.key_lower)
        if spec.family == "null":
            absent = raw is None or (isinstance(raw, (list, tuple)) and not raw)
            return any((v.lower() == "true") == absent for v in self.values if v.lower() in ("true", "false"))
        if raw is not None and spec.qualifier == NO_QUALIFIER and not isinstance(raw, (list, tuple)):
            matcher = self.matcher or self._resolve(ctx)
            if matcher is None:
                return False  # an unresolvable variable invalidates the statement
            return matcher(raw) != spec.negated
        if raw is None:
            items: Sequence[Any] = ()
        elif isinstance(raw, (list, tuple)):
            items = raw
        else:
            items = (raw,)
        if not items:
            if spec.qualifier == FOR_ALL_VALUES:
                return True
            return spec.if_exists or (spec.negated and spec.qualifier == NO_QUALIFIER)
        matcher = self.matcher
        if matcher is None:
            matcher = self._resolve(ctx)
            if matcher is None:
                return False  # an unresolvable variable invalidates the statement
        if spec.qualifier == FOR_ALL_VALUES:
            if spec.negated:
                return not any(matcher(item) for item in items)
            return all(matcher(item) for item in items)
        if spec.qualifier == FOR_ANY_VALUE:
            if spec.negated:
                return not all(matcher(item) for item in items)
            return any(matcher(item) for item in items)
        hit = any(matcher(item) for item in items)
        return not hit if spec.negated else hit

    def _resolve(self, ctx: RequestContext) -> Matcher | None:
        assert self.templates is not None
        resolved: list[tuple[str, ...]] = []
        for template in self.templates:
            if template is None:
                resolved.append(())
                continue
            values = template.resolve(ctx)
            if values is None:
                return None
            resolved.append(values)
        return _matcher_for(self.spec, self.values, self.templates, tuple(resolved))


@lru_cache(maxsize=4096)
def _matcher_for(
    spec: OperatorSpec,
    values: tuple[str, ...],
    templates: tuple[Template | None, ...],
    resolved: tuple[tuple[str, ...], ...],
) -> Matcher:
    """A matcher for values with variables substituted (``resolved`` from Template.resolve)."""
    pieces_per_value = [
        [(True, value)] if template is None else template.pieces(subs)
        for value, template, subs in zip(values, templates, resolved, strict=True)
    ]
    family = spec.family
    if family in ("string", "string_ic"):
        return _string_matcher(family, ["".join(text for _, text in pieces) for pieces in pieces_per_value])
    if family == "string_like":
        sources = [
            "".join(glob_to_regex(text) if is_text else re.escape(text) for is_text, text in pieces)
            for pieces in pieces_per_value
        ]
        regex = re.compile("|".join(f"(?:{s})" for s in sources), re.DOTALL) if sources else None
        return _like_matcher(GlobSet(False, frozenset(), regex))
    patterns = [c for c in (_arn_components(p) for p in pieces_per_value) if c is not None]
    return _arn_matcher(patterns)


def compile_condition(spec: OperatorSpec, key: str, values: Sequence[Any], *, variables: bool) -> Condition:
    """Compile one key's values; ``variables`` is False for Version 2008-10-17 (text is literal)."""
    texts = tuple(policy_value_text(v) for v in values)
    templates: tuple[Template | None, ...] | None = None
    if variables and spec.family in _VARIABLE_FAMILIES:
        parsed = tuple(parse_template(t) for t in texts)
        if any(t is not None for t in parsed):
            templates = parsed
    matcher: Matcher | None
    if spec.family == "null":
        matcher = None
    elif templates is None:
        matcher = _static_matcher(spec, texts)
    elif not any(t is not None and t.has_variables() for t in templates):
        # only ${*} ${?} ${$} escapes: resolve once, now
        matcher = _matcher_for(spec, texts, templates, tuple(() for _ in templates))
        templates = None
    else:
        matcher = None
    return Condition(spec, key, key.lower(), texts, templates, matcher)
