"""``strongroom admin`` store commands (``admin migrate``): they act on the store directly.

Each subcommand is a function that adds its parser to the ``admin`` group, with
``set_defaults(admin_handler=...)``, and is listed in :data:`SUBCOMMANDS`; a handler takes the
parsed arguments and returns the exit status. Subcommands that need the store find it with the
same options as ``serve`` (:func:`add_store_options`, :func:`load_config`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.server.config import Config, default_data_dir_text

if TYPE_CHECKING:  # imported when a command runs: `strongroom serve` and --help never load them
    from strongroom.service.dependencies import Services


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """--config, --data-dir (master key file; the SQLite store) and --database-url (PostgreSQL)."""
    parser.add_argument("--config", type=Path, help="TOML file with settings (command-line flags win)")
    parser.add_argument("--database-url", help="postgresql://... : the PostgreSQL database")
    parser.add_argument(
        "--data-dir", type=Path,
        help=(
            "data directory: master key file, and the SQLite store unless --database-url "
            f"(default {default_data_dir_text()})"
        ),
    )


def load_config(args: argparse.Namespace) -> Config:
    """Settings from --config and the flags (a bad --account-id, where a command has one, fails here)."""
    return Config.load(
        args.config, data_dir=args.data_dir, database_url=args.database_url,
        account_id=getattr(args, "account_id", None),
    )


def config_or_none(args: argparse.Namespace) -> Config | None:
    """:func:`load_config`, or None after printing why the settings are unusable."""
    try:
        return load_config(args)
    except (ValueError, OSError) as exc:
        print(f"strongroom: {exc}", file=sys.stderr)
        return None


def run_on_services(
    args: argparse.Namespace, work: Callable[[Services, Config], Awaitable[Any]],
    errors: tuple[type[Exception], ...] = (),
) -> int:
    """Run ``work`` on the store of ``args`` and print its result as JSON: the exit status.

    The master key is checked before anything is opened (a wrong key changes nothing), the store is
    migrated and the key check recorded, as the server does at start. Settings that cannot be used
    exit 2; AWS errors, store conflicts, key ring errors and ``errors`` print their message and exit 1.
    """
    from strongroom.errors import ApiError
    from strongroom.kms.errors import KmsError
    from strongroom.kms.key_check import checked_master_key, record_key_check
    from strongroom.kms.master_key import MasterKeyError
    from strongroom.server.build import build_services
    from strongroom.store.base import Conflict

    try:
        config = load_config(args)
        master = checked_master_key(config)  # a wrong key stops here, before anything is created or changed
    except (ValueError, OSError, MasterKeyError) as exc:
        print(f"strongroom: {exc}", file=sys.stderr)
        return 2
    if hasattr(args, "account_id"):
        args.account_id = config.account_id

    async def main() -> Any:
        services = build_services(config, master)
        try:
            await services.store.migrate()
            await record_key_check(services.store, master, config)
            return await work(services, config)
        finally:
            await services.store.close()

    handled: tuple[type[Exception], ...] = (ApiError, KmsError, Conflict, OSError, MasterKeyError, *errors)
    try:
        result = asyncio.run(main())
    except handled as exc:
        message = getattr(exc, "message", None) or (exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
        print(f"strongroom: {message}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


# --- admin migrate ------------------------------------------------------------------------
def _add_migrate(sub: Any) -> None:
    parser = sub.add_parser(
        "migrate", help="apply pending schema migrations and exit",
        description=(
            "Apply pending schema migrations to the store and exit. Servers also migrate at start "
            "(safely, however many start at once); run this first when the servers' database role "
            "may not change the schema, or to upgrade the schema before rolling out a release."
        ),
    )
    add_store_options(parser)
    parser.set_defaults(admin_handler=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    config = config_or_none(args)
    if config is None:
        return 2
    from strongroom.store.factory import describe_store, open_store

    settings = config.store_settings()
    where = describe_store(settings)
    store = open_store(settings)

    async def migrate() -> int:
        try:
            return await store.migrate()
        finally:
            await store.close()

    try:
        version = asyncio.run(migrate())
    except Exception as exc:  # noqa: BLE001 - an operator command reports and exits non-zero
        print(f"strongroom: migrating {where} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"strongroom: schema of {where} is at version {version}")
    return 0


# --- admin verify-audit ---------------------------------------------------------------------
def _add_verify_audit(sub: Any) -> None:
    parser = sub.add_parser(
        "verify-audit", help="check the hash chains of the audit trail",
        description=(
            "Check every audit file under <data-dir>/audit: each record must carry the SHA-256 of the "
            "record before it. Prints one line per file; exits 1 if any chain is broken."
        ),
    )
    parser.add_argument("--config", type=Path, help="TOML file with settings (command-line flags win)")
    parser.add_argument("--data-dir", type=Path, help=f"data directory (default {default_data_dir_text()})")
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.set_defaults(admin_handler=_verify_audit)


def _verify_audit(args: argparse.Namespace) -> int:
    from strongroom.audit.log import audit_files, verify_file

    config = config_or_none(args)
    if config is None:
        return 2
    directory = config.data_dir / "audit"
    files = list(audit_files(directory))
    if not files:
        print(f"strongroom: no audit files in {directory}")
        return 0
    broken = 0
    for index, path in enumerate(files, start=1):
        result = verify_file(path)
        state = "ok" if result.ok else f"BROKEN at line {result.broken_at}"
        print(f"[{index}/{len(files)}] {path.name}: {result.records} records, {state}", flush=True)
        broken += not result.ok
    return 1 if broken else 0


#: The store subcommands of ``strongroom admin``, in the order ``--help`` lists them.
SUBCOMMANDS: list[Callable[[Any], None]] = [_add_migrate, _add_verify_audit]


def register(admin_commands: Any) -> None:
    """Add the store subcommands to the subparsers of the ``admin`` command group."""
    for add in SUBCOMMANDS:
        add(admin_commands)


def run(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = args.admin_handler
    return handler(args)
