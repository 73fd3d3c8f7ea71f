"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}`` ...

IAM substitutes request-context values for ``${key}`` in the Resource element and in values of the
string and ARN condition operators, in policies whose Version is 2012-10-17 (older versions treat
the text literally). ``${*}``, ``${?}`` and ``${$}`` stand for a literal ``*``, ``?`` and ``$``.
A default value may follow the key: ``${key, 'text'}`` (``''`` inside it is one quote).

A variable whose key is not present (and has no default), or holds several values, cannot be
resolved; IAM then treats the statement as not matching ("any attempt to match it fails and causes
the statement to be invalid", IAM User Guide, "IAM policy elements: Variables and tags").
Substituted values are always matched literally: a ``*`` inside a user name is not a wildcard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from strongroom.iam.policy.context import RequestContext
from strongroom.iam.policy.wildcard import glob_to_regex

_TEXT = 0  # policy text: may hold wildcards
_CHAR = 1  # an escaped character from ${*} ${?} ${$}: literal
_VAR = 2  # a context key

_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_VARIABLE = re.compile(r"\s*([^\s,'{}$][^,'{}$]*?)\s*(?:,\s*'((?:[^']|'')*)'\s*)?")


@dataclass(frozen=True, slots=True)
class Template:
    """A string with policy variables, split into parts once at compile time.

    Work per request is one context lookup per variable; whatever is built from the substituted
    values (a regex, a matcher) is memoized by the caller under :meth:`resolve`'s tuple.
    """

    source: str
    parts: tuple[tuple[int, str, str | None], ...]  # (kind, text-or-key, default)
    _regexes: dict[tuple[str, ...], re.Pattern[str]] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    def keys(self) -> list[str]:
        return [text for kind, text, _ in self.parts if kind == _VAR]

    def has_variables(self) -> bool:
        return any(kind == _VAR for kind, _, _ in self.parts)

    def resolve(self, ctx: RequestContext) -> tuple[str, ...] | None:
        """The substituted value of each variable, or None when one cannot be resolved."""
        values: list[str] = []
        for kind, key, default in self.parts:
            if kind != _VAR:
                continue
            raw = ctx.get(key)
            value = raw if type(raw) is str else resolve_variable(ctx, key)
            if value is None:
                if default is None:
                    return None
                value = default
            values.append(value)
        return tuple(values)

    def pieces(self, values: tuple[str, ...]) -> list[tuple[bool, str]]:
        """``(is_policy_text, text)`` pieces with ``values`` (from :meth:`resolve`) substituted."""
        out: list[tuple[bool, str]] = []
        substituted = iter(values)
        for kind, text, _ in self.parts:
            if kind == _VAR:
                out.append((False, next(substituted)))
            else:
                out.append((kind == _TEXT, text))
        return out

    def text(self, values: tuple[str, ...]) -> str:
        """The plain string with ``values`` substituted."""
        return "".join(text for _, text in self.pieces(values))

    def regex(self, values: tuple[str, ...]) -> str:
        """Regex source: policy text keeps its wildcards, substituted text is literal."""
        return "".join(glob_to_regex(t) if is_text else re.escape(t) for is_text, t in self.pieces(values))

    def compiled(self, values: tuple[str, ...]) -> re.Pattern[str]:
        """:meth:`regex` compiled, memoized per template (bounded)."""
        pattern = self._regexes.get(values)
        if pattern is None:
            if len(self._regexes) >= 256:
                self._regexes.clear()
            pattern = self._regexes[values] = re.compile(self.regex(values), re.DOTALL)
        return pattern


def resolve_variable(ctx: RequestContext, key: str) -> str | None:
    value = ctx.get(key)
    if value is None or isinstance(value, (bytes, bytearray)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return None  # multivalued keys cannot be substituted
    return str(value)


def parse_template(text: str) -> Template | None:
    """Split ``text`` into literal text and variables; None when it holds no variable."""
    if "${" not in text:
        return None
    parts: list[tuple[int, str, str | None]] = []
    buffer: list[str] = []
    i = 0
    found = False
    while i < len(text):
        start = text.find("${", i)
        if start < 0:
            buffer.append(text[i:])
            break
        end = text.find("}", start + 2)
        if end < 0:
            buffer.append(text[i:])
            break
        buffer.append(text[i:start])
        inner = text[start + 2 : end]
        if inner in _ESCAPES:
            part: tuple[int, str, str | None] = (_CHAR, _ESCAPES[inner], None)
        else:
            match = _VARIABLE.fullmatch(inner)
            if match is None:  # not a variable: keep the text as written
                buffer.append(text[start : end + 1])
                i = end + 1
                continue
            default = match.group(2)
            part = (_VAR, match.group(1).lower(), None if default is None else default.replace("''", "'"))
        found = True
        if buffer:
            parts.append((_TEXT, "".join(buffer), None))
            buffer = []
        parts.append(part)
        i = end + 1
    if not found:
        return None
    if buffer and "".join(buffer):
        parts.append((_TEXT, "".join(buffer), None))
    return Template(text, tuple(p for p in parts if p[0] != _TEXT or p[1]))
