"""Function names and ARNs: building them, and reading a FunctionName as Lambda does.

A FunctionName is a name (``my-function``), a partial ARN (``123456789012:function:my-function``)
or a full ARN (``arn:aws:lambda:us-east-1:123456789012:function:my-function``), each optionally
followed by ``:<qualifier>`` (the model's pattern). Only ``$LATEST`` exists here (no published
versions or aliases); another qualifier names a function that does not exist.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from strongroom.errors import ResourceNotFoundException, ValidationException
from strongroom.functions.errors import QUALIFIER_MISMATCH, InvalidParameterValueException, function_not_found

LATEST = "$LATEST"
MAX_NAME = 64
_REFERENCE = re.compile(
    r"(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9-_.]+)"
    r"(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_NAME = re.compile(r"[a-zA-Z0-9-_]+")


def function_arn(region: str, account: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:lambda:{region}:{account}:function:{name}"


class FunctionRef(NamedTuple):
    """The function a FunctionName names, and the qualifier it carries (None: unqualified)."""

    account: str
    region: str
    name: str
    qualifier: str | None

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account, self.name)

    @property
    def qualified_arn(self) -> str:
        return self.arn if self.qualifier is None else f"{self.arn}:{self.qualifier}"


def parse_function_name(text: str, account: str, region: str, qualifier: str | None = None) -> FunctionRef:
    """The function ``text`` names for a caller in ``account``/``region``; ``qualifier`` is the request's.

    A qualifier in the name and another in the request is InvalidParameterValueException (Lambda's
    message); a name over 64 characters is Lambda's length ValidationException.
    """
    match = _REFERENCE.fullmatch(text)
    if match is None:  # the model's pattern let it through, so only a partition or region shape differs
        raise ValidationException(f"1 validation error detected: Value '{text}' at 'functionName' failed to "
                                  f"satisfy constraint: Member must satisfy regular expression pattern: "
                                  f"{_REFERENCE.pattern}")
    name = match["name"]
    if len(name) > MAX_NAME:
        raise ValidationException(f"1 validation error detected: Value '{name}' at 'functionName' failed to "
                                  f"satisfy constraint: Member must have length less than or equal to {MAX_NAME}")
    derived = match["qualifier"]
    if derived is not None and qualifier is not None and derived != qualifier:
        raise InvalidParameterValueException(QUALIFIER_MISMATCH)
    return FunctionRef(match["account"] or account, match["region"] or region, name, derived or qualifier)


def require_latest(ref: FunctionRef, region: str) -> FunctionRef:
    """The unqualified function ``ref`` names, if it can exist here: in ``region`` (regions are separate
    namespaces, in Lambda's words), with a name of Lambda's alphabet, unqualified or ``$LATEST``; else
    ResourceNotFoundException."""
    if ref.region != region:
        raise ResourceNotFoundException(f"Functions from '{ref.region}' are not reachable in this region ('{region}')")
    if not _NAME.fullmatch(ref.name) or ref.qualifier not in (None, LATEST):
        raise ResourceNotFoundException(function_not_found(ref.qualified_arn))
    return ref._replace(qualifier=None)
