"""``strongroom admin rotation-status``: each secret's latest rotation run, read from the store."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from strongroom.cli.admin import add_store_options, config_or_none


def register(admin_commands: Any) -> None:
    parser = admin_commands.add_parser(
        "rotation-status", help="show each secret's latest rotation: step, attempts, state and why it failed",
        description=(
            "Print, per secret, its latest rotation run (newest first, tab-separated): the secret's ARN, the "
            "version the run makes, the mode (rotate, or test for RotateImmediately=false), the state "
            "(running, succeeded, failed, cancelled), the step reached, the attempts made, when it last "
            "changed and, for a failure, the step and the error's type (never a value)."
        ),
    )
    parser.add_argument("--secret-id", help="only this secret (its ARN, or its name)")
    add_store_options(parser)
    parser.set_defaults(admin_handler=_status)


def _matches(arn: str, secret_id: str) -> bool:
    """Whether ``secret_id`` (an ARN or a name) names the secret ``arn``."""
    if secret_id.startswith("arn:"):
        return arn == secret_id
    return arn.rpartition(":secret:")[2][:-7] == secret_id


def _status(args: argparse.Namespace) -> int:
    config = config_or_none(args)
    if config is None:
        return 2
    from strongroom.secrets.rotation.status import render, rotation_status
    from strongroom.store.factory import open_store

    store = open_store(config.store_settings())

    async def read() -> str:
        try:
            await store.migrate()
            arn = args.secret_id if args.secret_id and args.secret_id.startswith("arn:") else None
            runs = await rotation_status(store, arn)
            if args.secret_id:
                runs = [run for run in runs if _matches(run.secret_arn, args.secret_id)]
            return render(runs)
        finally:
            await store.close()

    try:
        print(asyncio.run(read()))
    except Exception as exc:  # noqa: BLE001 - an operator command reports and exits non-zero
        print(f"strongroom: reading rotations failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
