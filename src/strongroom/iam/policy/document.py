"""Parse an IAM JSON policy document and compile it into an immutable, fast-to-evaluate form.

Grammar: IAM User Guide, "IAM JSON policy elements reference" and "Grammar of the IAM JSON policy
language". Element names and the Effect values are case-sensitive, as in IAM ("allow" is refused).
Every grammar error raises :class:`MalformedPolicyDocumentException` and nothing else; the message
starts with Secrets Manager's own wording ("This resource policy contains a syntax error." /
"... an unsupported principal." / "... an invalid service principal.", from the Secrets Manager
User Guide, "Managing a resource-based policy for a secret") and then says what and where.

Decisions beyond the IAM grammar, each on the side of refusing an ambiguous document:
duplicate JSON object keys are refused (which one would IAM honour?), as are ``NaN``/``Infinity``,
an empty Statement list, an empty Action or Resource list, and duplicate non-empty Sids.

IAM's own documents (a role's trust policy, a session policy: ``kind="trust"`` / ``"session"``)
are worded as IAM words its MalformedPolicyDocument errors ("This policy contains invalid Json",
"Has prohibited field Resource", "Invalid principal in policy: ..."; sources in docs/api.md, "STS").
A trust policy names a Principal in every statement, no Resource, and only STS's role actions; a
session policy is an identity policy whose Allow limits a role session (``Policy.session``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from strongroom.errors import MalformedPolicyDocumentException
from strongroom.iam.policy.conditions import Condition, OperatorError, compile_condition, parse_operator
from strongroom.iam.policy.context import Principal, RequestContext
from strongroom.iam.policy.variables import Template, parse_template
from strongroom.iam.policy.wildcard import GlobSet, compile_globs

VERSIONS = ("2012-10-17", "2008-10-17")
PolicyKind = Literal["identity", "resource", "trust", "session"]

SYNTAX_ERROR = "This resource policy contains a syntax error."
UNSUPPORTED_PRINCIPAL = "This resource policy contains an unsupported principal."
INVALID_SERVICE_PRINCIPAL = "This resource policy contains an invalid service principal."
#: IAM's wording of the same errors in its own documents (trust and session policies).
IAM_SYNTAX_ERROR = "Syntax errors in policy."
IAM_INVALID_PRINCIPAL = "Invalid principal in policy:"
IAM_PROHIBITED_RESOURCE = "Has prohibited field Resource"
IAM_MISSING_PRINCIPAL = (
    "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
    "The passed in policy has a statement with no principals!"
)
IAM_INVALID_JSON = "This policy contains invalid Json"
_NOT_JSON = "The policy is not valid JSON"
IAM_PROHIBITED_PRINCIPAL = "Policy document should not specify a principal."
TRUST_ACTIONS_ONLY = "AssumeRole policy may only specify STS AssumeRole actions."
_IAM_WORDING = {
    SYNTAX_ERROR: IAM_SYNTAX_ERROR,
    UNSUPPORTED_PRINCIPAL: IAM_INVALID_PRINCIPAL,
    INVALID_SERVICE_PRINCIPAL: IAM_INVALID_PRINCIPAL,
}
#: The actions a trust policy may name (lower case): assuming the role and what comes with it.
TRUST_POLICY_ACTIONS = (
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
    "sts:tagsession",
    "sts:setsourceidentity",
    "sts:setcontext",
)

_TOP_LEVEL = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated"})
_ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
_PARTITION = r"aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?"
_ROOT_ARN = re.compile(rf"arn:{_PARTITION}:iam::(\d{{12}}):root", re.ASCII)
_IAM_ARN = re.compile(rf"arn:{_PARTITION}:iam::(\d{{12}}):(user|role)/[\w+=,.@/-]+", re.ASCII)
_STS_ARN = re.compile(rf"arn:{_PARTITION}:sts::(\d{{12}}):(assumed-role|federated-user)/[\w+=,.@/-]+", re.ASCII)
_UNIQUE_ID = re.compile(r"A(?:IDA|ROA)[A-Z0-9]{12,}")
_SERVICE = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?")
_ACTION = re.compile(r"[A-Za-z0-9*?_-]+:[A-Za-z0-9*?_-]+")

#: How well a statement's Principal matches a caller: not at all, by the caller's account, by
#: naming the caller (its user or role ARN, unique id, "*"), or by naming a role session's own
#: ARN (what a session policy does not limit: docs/api.md, "STS").
NO_MATCH, ACCOUNT_MATCH, DIRECT_MATCH, SESSION_MATCH = 0, 1, 2, 3


def _fail(detail: str, *, prefix: str = SYNTAX_ERROR) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(f"{prefix} {detail}" if prefix else detail)


def _role_of_session(arn: str) -> tuple[str, str] | None:
    """(account, role name) for an ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`` caller."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    role = parts[5].split("/")
    return (parts[4], role[1]) if len(role) >= 3 else None


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """The principals named by a Principal or NotPrincipal element."""

    wildcard: bool
    accounts: frozenset[str]  # account ids, from "123456789012" or arn:aws:iam::123456789012:root
    arns: frozenset[str]  # user, role, assumed-role and federated-user ARNs
    roles: frozenset[tuple[str, str]]  # (account, role name): matches the role's sessions
    unique_ids: frozenset[str]
    services: frozenset[str]
    federated: frozenset[str]
    raw: Mapping[str, tuple[str, ...]]  # type -> values as written ("*" is {"AWS": ("*",)})

    def match(self, principal: Principal) -> int:
        """DIRECT_MATCH for "*" or the caller itself, SESSION_MATCH for a role session named by its
        own ARN, ACCOUNT_MATCH for the caller's account."""
        if self.wildcard:
            return DIRECT_MATCH
        arn = principal.arn
        if arn in self.arns:
            return SESSION_MATCH if ":assumed-role/" in arn else DIRECT_MATCH
        if arn in self.services or arn in self.federated:
            return DIRECT_MATCH
        if self.roles:
            role = _role_of_session(arn)
            if role is not None and role in self.roles:
                return DIRECT_MATCH
        if self.unique_ids and principal.userid.split(":", 1)[0] in self.unique_ids:
            return DIRECT_MATCH
        if principal.account in self.accounts:
            return ACCOUNT_MATCH
        return NO_MATCH


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """Resource or NotResource patterns: static ones compiled, ones with variables kept as templates."""

    static: GlobSet
    escaped: tuple[re.Pattern[str], ...]  # patterns with only ${*} ${?} ${$} escapes
    templates: tuple[Template, ...]  # patterns with variables, resolved per request
    patterns: tuple[str, ...]

    def matches(self, resource: str, ctx: RequestContext) -> bool | None:
        """True/False, or None when a pattern's variable cannot be resolved (statement invalid)."""
        if self.static.matches(resource):
            return True
        for regex in self.escaped:
            if regex.fullmatch(resource) is not None:
                return True
        unresolved = False
        for template in self.templates:
            values = template.resolve(ctx)
            if values is None:
                unresolved = True
            elif template.compiled(values).fullmatch(resource) is not None:
                return True
        return None if unresolved else False


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement."""

    index: int
    sid: str | None
    allow: bool
    principal: PrincipalSpec | None
    not_principal: bool
    actions: GlobSet  # lower-cased patterns
    not_action: bool
    action_patterns: tuple[str, ...]
    resources: ResourceSpec
    not_resource: bool
    conditions: tuple[Condition, ...]
    label: str  # "Statement 0 (Sid "Share")", for messages and logs


@dataclass(frozen=True, slots=True)
class Policy:
    """A compiled policy document. Immutable; evaluate it as often as needed."""

    version: str | None
    id: str | None
    statements: tuple[Statement, ...]
    text: str
    #: a session policy: it limits what a role session's identity policies allow (AssumeRole's Policy)
    session: bool = False

    @property
    def context_free(self) -> bool:
        """True when no statement reads the request context (no Condition, no policy variable).

        Such a policy's answer depends only on principal, action and resource, so it can be cached.
        """
        return all(not s.conditions and not s.resources.templates for s in self.statements)


# --- parsing --------------------------------------------------------------------------------------
class _DuplicateKey(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _load(text: Any) -> Any:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise _fail("The policy is not UTF-8 text.") from None
    if not isinstance(text, str):
        raise _fail("The policy must be a JSON string.")
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        raise _fail(f'Duplicate key "{exc.args[0]}" in a JSON object.') from None
    except (ValueError, RecursionError) as exc:
        raise _fail(f"{_NOT_JSON} ({exc}).") from None


def _string_list(value: Any, where: str, element: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise _fail(f"{where}: {element} must be a string or a list of strings.")
        out.append(item)
    return out


def _parse_principal(value: Any, where: str, element: str) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(
            True,
            frozenset(),
            frozenset(),
            frozenset(),
            frozenset(),
            frozenset(),
            frozenset(),
            MappingProxyType({"AWS": ("*",)}),
        )
    if not isinstance(value, dict) or not value:
        raise _fail(f'{where}: {element} must be "*" or an object such as {{"AWS": "123456789012"}}.')
    wildcard = False
    accounts: set[str] = set()
    arns: set[str] = set()
    roles: set[tuple[str, str]] = set()
    unique_ids: set[str] = set()
    services: set[str] = set()
    federated: set[str] = set()
    raw: dict[str, tuple[str, ...]] = {}
    for kind, entries in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise _fail(f'{where}: {element} type "{kind}" is not supported here.', prefix=UNSUPPORTED_PRINCIPAL)
        names = _string_list(entries, where, f'{element} "{kind}"')
        if not names:
            raise _fail(f'{where}: {element} "{kind}" is empty.')
        raw[kind] = tuple(names)
        for name in names:
            if kind == "AWS":
                if name == "*":
                    wildcard = True
                elif _ACCOUNT_ID.fullmatch(name):
                    accounts.add(name)
                elif m := _ROOT_ARN.fullmatch(name):
                    accounts.add(m.group(1))
                elif m := _IAM_ARN.fullmatch(name):
                    arns.add(name)
                    if m.group(2) == "role":
                        roles.add((m.group(1), name.rsplit("/", 1)[1]))
                elif _STS_ARN.fullmatch(name):
                    arns.add(name)
                elif _UNIQUE_ID.fullmatch(name):
                    unique_ids.add(name)
                else:
                    raise _fail(f'{where}: "AWS": "{name}" is not a valid principal.', prefix=UNSUPPORTED_PRINCIPAL)
            elif kind == "Service":
                if name == "*":
                    wildcard = True
                elif not _SERVICE.fullmatch(name):
                    raise _fail(f'{where}: "Service": "{name}".', prefix=INVALID_SERVICE_PRINCIPAL)
                services.add(name)
            else:
                if not name.strip():
                    raise _fail(f'{where}: "Federated" principal is empty.', prefix=UNSUPPORTED_PRINCIPAL)
                if name == "*":
                    wildcard = True
                federated.add(name)
    return PrincipalSpec(
        wildcard,
        frozenset(accounts),
        frozenset(arns),
        frozenset(roles),
        frozenset(unique_ids),
        frozenset(services),
        frozenset(federated),
        MappingProxyType(raw),
    )


def _parse_actions(value: Any, where: str, element: str) -> list[str]:
    actions = _string_list(value, where, element)
    if not actions:
        raise _fail(f"{where}: {element} must name at least one action.")
    for action in actions:
        if action != "*" and not _ACTION.fullmatch(action):
            raise _fail(
                f'{where}: {element} "{action}" must be "*" or service:action, prefaced by a vendor '
                "(e.g. secretsmanager:GetSecretValue)."
            )
    return actions


def _check_trust_actions(actions: list[str]) -> None:
    """A trust policy's actions must each name one of STS's role actions (wildcards allowed)."""
    for action in actions:
        globs = compile_globs([action], ignore_case=True)
        if not any(globs.matches(name) for name in TRUST_POLICY_ACTIONS):
            raise _fail(TRUST_ACTIONS_ONLY, prefix="")


def _parse_resources(value: Any, where: str, element: str, variables: bool) -> ResourceSpec:
    resources = _string_list(value, where, element)
    if not resources:
        raise _fail(f"{where}: {element} must name at least one resource.")
    static: list[str] = []
    escaped: list[re.Pattern[str]] = []
    templates: list[Template] = []
    for resource in resources:
        if resource != "*" and not resource.startswith("arn:"):
            raise _fail(f'{where}: {element} "{resource}" must be in ARN format or "*".')
        template = parse_template(resource) if variables else None
        if template is None:
            static.append(resource)
        elif template.has_variables():
            templates.append(template)
        else:  # only ${*} ${?} ${$} escapes: literal characters, resolvable now
            escaped.append(re.compile(template.regex(()), re.DOTALL))
    return ResourceSpec(compile_globs(static), tuple(escaped), tuple(templates), tuple(resources))


def _parse_conditions(value: Any, where: str, variables: bool) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise _fail(f"{where}: Condition must be an object of operator -> {{key: value}}.")
    conditions: list[Condition] = []
    for operator_name, block in value.items():
        try:
            spec = parse_operator(operator_name)
        except OperatorError:
            raise _fail(f'{where}: Invalid Condition type "{operator_name}".') from None
        if not isinstance(block, dict):
            raise _fail(f'{where}: Condition "{operator_name}" must be an object of key -> value(s).')
        for key, raw_values in block.items():
            if ":" not in key or key.startswith(":") or not key.strip():
                raise _fail(f'{where}: Condition key "{key}" must be prefaced by a vendor, e.g. aws:SourceIp.')
            values = raw_values if isinstance(raw_values, list) else [raw_values]
            for item in values:
                if isinstance(item, (dict, list)) or item is None:
                    raise _fail(
                        f'{where}: Condition "{operator_name}" key "{key}" values must be strings, numbers or booleans.'
                    )
            conditions.append(compile_condition(spec, key, values, variables=variables))
    return tuple(conditions)


def _parse_statement(raw: Any, index: int, variables: bool, kind: PolicyKind | None) -> Statement:
    where = f"Statement {index}"
    if not isinstance(raw, dict):
        raise _fail(f"{where} must be a JSON object.")
    for key in raw:
        if key not in _STATEMENT_KEYS:
            raise _fail(f'{where} contains an unknown element "{key}".')
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _fail(f"{where}: Sid must be a string.")
    if sid:
        where = f'{where} (Sid "{sid}")'
    if "Effect" not in raw:
        raise _fail(f"{where}: Missing required field Effect.")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny"):
        raise _fail(f'{where}: Effect must be "Allow" or "Deny", not {json.dumps(effect)}.')
    for a, b in (("Principal", "NotPrincipal"), ("Action", "NotAction"), ("Resource", "NotResource")):
        if a in raw and b in raw:
            raise _fail(f"{where}: a statement can't hold both {a} and {b}.")
    if "Action" not in raw and "NotAction" not in raw:
        raise _fail(f"{where}: Missing required field Action (or NotAction).")
    has_resource = "Resource" in raw or "NotResource" in raw
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if kind == "trust":
        if has_resource:
            raise _fail(IAM_PROHIBITED_RESOURCE, prefix="")
        if not has_principal:
            raise _fail(IAM_MISSING_PRINCIPAL, prefix="")
    elif not has_resource:
        raise _fail(f"{where}: Missing required field Resource (or NotResource).")
    if kind == "session" and has_principal:
        raise _fail(IAM_PROHIBITED_PRINCIPAL, prefix="")
    if kind == "identity" and has_principal:
        raise _fail(f"{where}: Has prohibited field Principal (an identity-based policy names no principal).")
    if kind == "resource" and not has_principal:
        raise _fail(f"{where}: Missing required field Principal.")
    principal = None
    not_principal = "NotPrincipal" in raw
    if has_principal:
        element = "NotPrincipal" if not_principal else "Principal"
        principal = _parse_principal(raw[element], where, element)
    not_action = "NotAction" in raw
    action_element = "NotAction" if not_action else "Action"
    actions = _parse_actions(raw[action_element], where, action_element)
    if kind == "trust" and not not_action:
        _check_trust_actions(actions)
    not_resource = "NotResource" in raw
    if has_resource:
        resource_element = "NotResource" if not_resource else "Resource"
        resources = _parse_resources(raw[resource_element], where, resource_element, variables)
    else:  # a trust policy: its resource is the role itself
        resources = _parse_resources("*", where, "Resource", variables)
    conditions = _parse_conditions(raw["Condition"], where, variables) if "Condition" in raw else ()
    return Statement(
        index=index,
        sid=sid or None,
        allow=effect == "Allow",
        principal=principal,
        not_principal=not_principal,
        actions=compile_globs(actions, ignore_case=True),
        not_action=not_action,
        action_patterns=tuple(actions),
        resources=resources,
        not_resource=not_resource,
        conditions=conditions,
        label=where,
    )


def parse_policy(text: str, *, kind: PolicyKind | None = None) -> Policy:
    """Parse and compile a policy document.

    ``kind="resource"`` requires a Principal (or NotPrincipal) in every statement,
    ``kind="identity"`` forbids it; the default checks neither. ``kind="trust"`` (a role's trust
    policy) requires a Principal, prohibits Resource and allows only STS's role actions;
    ``kind="session"`` (a session policy) is an identity policy marked ``session``. Both are
    worded as IAM words its errors. Policy size is the caller's check.
    Raises :class:`MalformedPolicyDocumentException` for every grammar error.
    """
    if kind not in ("trust", "session"):
        return _parse_document(text, kind)
    try:
        return _parse_document(text, kind)
    except MalformedPolicyDocumentException as exc:
        if exc.message.startswith(f"{SYNTAX_ERROR} {_NOT_JSON}"):
            raise MalformedPolicyDocumentException(IAM_INVALID_JSON) from None
        for ours, iams in _IAM_WORDING.items():
            if exc.message.startswith(ours + " "):
                raise MalformedPolicyDocumentException(f"{iams} {exc.message[len(ours) + 1 :]}") from None
        raise


def _parse_document(text: str, kind: PolicyKind | None) -> Policy:
    document = _load(text)
    if not isinstance(document, dict):
        raise _fail("The policy must be a JSON object.")
    for key in document:
        if key not in _TOP_LEVEL:
            raise _fail(f'The policy contains an unknown element "{key}".')
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        raise _fail(f'Version {json.dumps(version)} is not supported; use "2012-10-17".')
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _fail("Id must be a string.")
    if "Statement" not in document:
        raise _fail("Missing required field Statement.")
    raw_statements = document["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise _fail("Statement must be an object or a non-empty list of objects.")
    variables = version == "2012-10-17"
    statements = tuple(_parse_statement(raw, i, variables, kind) for i, raw in enumerate(raw_statements))
    seen: set[str] = set()
    for statement in statements:
        if statement.sid:
            if statement.sid in seen:
                raise _fail(f'Statement IDs (SID) in a single policy must be unique: "{statement.sid}".')
            seen.add(statement.sid)
    return Policy(version, policy_id, statements, text if isinstance(text, str) else "", session=kind == "session")
