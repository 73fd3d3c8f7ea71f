"""``strongroom admin`` identity commands: users, groups, roles, access keys, policies, KMS keys.

They work directly on the store (safe while servers run: SQLite WAL + busy timeout, or
PostgreSQL transactions) and print JSON, so scripts can use them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.cli.admin import add_store_options, run_on_services

if TYPE_CHECKING:  # imported when a command runs: `strongroom serve` and --help never load them
    from strongroom.iam.identities import Identities
    from strongroom.kms.keyring import KeyRing

Command = Callable[[argparse.Namespace, "Identities", "KeyRing"], Awaitable[Any]]
_COMMANDS: dict[str, Command] = {}


def _document(text: str) -> str:
    """A policy given inline or as ``file://path``."""
    if text.startswith("file://"):
        return Path(text[len("file://") :]).read_text()
    return text


def _user_out(user: Any) -> dict[str, Any]:
    return {"UserName": user.user_name, "UserId": user.user_id, "Arn": user.arn, "CreateDate": user.created_at}


def _role_out(role: Any) -> dict[str, Any]:
    """A role as IAM's Role object shows it (the trust policy as JSON, not URL-encoded text)."""
    out = {
        "Path": role.path, "RoleName": role.role_name, "RoleId": role.role_id, "Arn": role.arn,
        "CreateDate": role.created_at, "AssumeRolePolicyDocument": json.loads(role.trust_policy),
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.description is not None:
        out["Description"] = role.description
    return out


def _key_out(key: Any) -> dict[str, Any]:
    return {
        "AccessKeyId": key.access_key_id, "UserName": key.user_name, "Status": key.status,
        "CreateDate": key.created_at,
    }


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the identity commands to the ``admin`` command group."""

    def command(name: str, help_text: str, *arguments: tuple[tuple[str, ...], dict[str, Any]]):  # type: ignore[no-untyped-def]
        parser = commands.add_parser(name, help=help_text, description=help_text)
        add_store_options(parser)
        parser.add_argument("--account-id", default=None, help="12-digit account (default: the server's)")
        for flags, options in arguments:
            parser.add_argument(*flags, **options)

        def decorate(func: Command) -> Command:
            parser.set_defaults(iam_command=func)
            _COMMANDS[name] = func
            return func

        return decorate

    user = (("--user-name",), {"required": True})
    group = (("--group-name",), {"required": True})
    key_id = (("--access-key-id",), {"required": True})
    policy_name = (("--policy-name",), {"required": True})
    document = (("--policy-document",), {"required": True, "help": "JSON text or file://path"})

    @command("create-user", "Create an IAM user.", user)
    async def create_user(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        return _user_out(await ids.create_user(a.account_id, a.user_name))

    @command("list-users", "List the IAM users of an account.")
    async def list_users(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        return {"Users": [_user_out(u) for u in await ids.list_users(a.account_id)]}

    @command("delete-user", "Delete a user with its access keys and policies.", user)
    async def delete_user(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.delete_user(a.account_id, a.user_name)
        return {}

    @command("create-group", "Create a group.", group)
    async def create_group(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.create_group(a.account_id, a.group_name)
        return {"GroupName": a.group_name}

    @command("list-groups", "List the groups of an account.")
    async def list_groups(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        return {"Groups": await ids.list_groups(a.account_id)}

    @command("delete-group", "Delete a group with its policies.", group)
    async def delete_group(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.delete_group(a.account_id, a.group_name)
        return {}

    @command("add-user-to-group", "Add a user to a group.", group, user)
    async def add_user_to_group(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.add_user_to_group(a.account_id, a.group_name, a.user_name)
        return {}

    @command("remove-user-from-group", "Remove a user from a group.", group, user)
    async def remove_user_from_group(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.remove_user_from_group(a.account_id, a.group_name, a.user_name)
        return {}

    @command(
        "create-access-key", "Create an access key (for a user, or the account root without --user-name).",
        (("--user-name",), {"default": None}),
    )
    async def create_access_key(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        key = await ids.create_access_key(a.account_id, a.user_name)
        return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key, "Arn": key.principal_arn}

    @command("list-access-keys", "List access keys (no secrets).", (("--user-name",), {"default": None}))
    async def list_access_keys(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        return {"AccessKeys": [_key_out(k) for k in await ids.list_access_keys(a.account_id, a.user_name)]}

    @command("deactivate-access-key", "Make an access key inactive.", key_id)
    async def deactivate_access_key(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.set_access_key_status(a.access_key_id, active=False)
        return {}

    @command("activate-access-key", "Make an access key active again.", key_id)
    async def activate_access_key(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.set_access_key_status(a.access_key_id, active=True)
        return {}

    @command("delete-access-key", "Delete an access key.", key_id)
    async def delete_access_key(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.delete_access_key(a.access_key_id)
        return {}

    role = (("--role-name",), {"required": True})
    trust = (("--assume-role-policy-document",), {
        "required": True, "help": "the trust policy (who may assume the role): JSON text or file://path",
    })

    @command(
        "create-role", "Create an IAM role: who may assume it (its trust policy) and for how long.", role, trust,
        (("--max-session-duration",), {
            "type": int, "default": 3600, "help": "longest AssumeRole session in seconds, 3600-43200 (default 3600)",
        }),
        (("--description",), {"default": None}),
    )
    async def create_role(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        made = await ids.roles.create_role(
            a.account_id, a.role_name, _document(a.assume_role_policy_document),
            max_session_duration=a.max_session_duration, description=a.description,
        )
        return {"Role": _role_out(made)}

    @command("get-role", "Show a role.", role)
    async def get_role(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        return {"Role": _role_out(await ids.roles.get_role(a.account_id, a.role_name))}

    @command("list-roles", "List the roles of an account.")
    async def list_roles(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        return {"Roles": [_role_out(r) for r in await ids.roles.list_roles(a.account_id)]}

    @command(
        "update-assume-role-policy", "Replace a role's trust policy (sessions already issued keep working).", role,
        (("--policy-document",), {"required": True, "help": "the trust policy: JSON text or file://path"}),
    )
    async def update_assume_role_policy(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.roles.update_trust_policy(a.account_id, a.role_name, _document(a.policy_document))
        return {}

    @command("delete-role", "Delete a role without inline policies; its sessions stop working.", role)
    async def delete_role(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.roles.delete_role(a.account_id, a.role_name)
        return {}

    for kind, owner in (("user", user), ("group", group), ("role", role)):
        _policy_commands(command, kind, owner, policy_name, document)

    @command("create-kms-key", "Create a customer KMS key for KmsKeyId.", (("--alias",), {"default": None}))
    async def create_kms_key(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        key = await ring.create_key(a.account_id, a.region, a.alias)
        return {"KeyId": key.key_id, "Arn": key.arn, "Alias": key.alias}

    commands.choices["create-kms-key"].add_argument("--region", default="us-east-1", help="region of the key")


def _policy_commands(command: Any, kind: str, owner: Any, policy_name: Any, document: Any) -> None:
    title = kind.capitalize()
    owner_attr = f"{kind}_name"

    @command(f"put-{kind}-policy", f"Attach (or replace) an inline identity policy on a {kind}.",
             owner, policy_name, document)
    async def put_policy(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.put_policy(a.account_id, kind, getattr(a, owner_attr), a.policy_name, _document(a.policy_document))
        return {}

    @command(f"delete-{kind}-policy", f"Remove an inline policy from a {kind}.", owner, policy_name)
    async def delete_policy(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        await ids.delete_policy(a.account_id, kind, getattr(a, owner_attr), a.policy_name)
        return {}

    @command(f"list-{kind}-policies", f"List a {kind}'s inline policies with their documents.", owner)
    async def list_policies(a: argparse.Namespace, ids: Identities, ring: KeyRing) -> Any:
        rows = await ids.list_policies(a.account_id, kind, getattr(a, owner_attr))
        return {f"{title}Policies": [{"PolicyName": n, "PolicyDocument": json.loads(d)} for n, d in rows]}


def run(args: argparse.Namespace) -> int:
    """Run one identity command; errors go to stderr with a non-zero exit."""

    async def work(services: Any, config: Any) -> Any:
        return await args.iam_command(args, services.identities, services.keyring)

    return run_on_services(args, work)
