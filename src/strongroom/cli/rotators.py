"""``strongroom admin install-rotators``: the shipped rotation functions as functions of an account.

The arguments are parsed here; the work is :func:`strongroom.rotators.install.install_rotators`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from strongroom.cli.admin import add_store_options, run_on_services

if TYPE_CHECKING:  # imported when the command runs: `strongroom serve` and --help never load them
    from strongroom.rotators.install import Installation
    from strongroom.server.config import Config
    from strongroom.service.dependencies import Services

DESCRIPTION = (
    "Install Strongroom's ready rotation functions (strongroom-postgres-single-user, "
    "strongroom-postgres-multi-user, strongroom-mysql-single-user, strongroom-random-password; "
    "docs/rotation.md) as functions of an account and region, as CreateFunction would, and let Secrets "
    "Manager invoke them (AddPermission for secretsmanager.amazonaws.com, limited to the account). "
    "They run with --role-arn, or with the role strongroom-rotators, created if missing: Lambda may "
    "assume it and it may call what the rotators call. Running it again updates only what differs "
    "(code, settings, the permission); the functions' environment variables are kept. Prints JSON "
    "with each function's ARN, the RotationLambdaARN to give RotateSecret. Servers run the functions "
    "only with functions on (docs/security.md)."
)


def register(admin_commands: Any) -> None:
    """Add ``install-rotators`` to the subparsers of the ``admin`` command group."""
    parser = admin_commands.add_parser(
        "install-rotators", help="install the ready rotation functions into an account", description=DESCRIPTION,
    )
    add_store_options(parser)
    parser.add_argument("--account-id", default=None, help="12-digit account (default: the server's)")
    parser.add_argument("--region", default="us-east-1", help="region of the functions (default us-east-1)")
    parser.add_argument(
        "--role-arn", default=None,
        help="execution role of the functions (arn:aws:iam::<account>:role/...; its trust policy must allow "
        "lambda.amazonaws.com); default: the role strongroom-rotators, created if missing",
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", default=None,
        help="install only this rotator (repeatable; default: all four)",
    )
    parser.set_defaults(admin_handler=run)


def report(installation: Installation) -> dict[str, Any]:
    """The command's JSON output."""
    return {
        "Account": installation.account,
        "Region": installation.region,
        "Role": {"Arn": installation.role_arn, "Created": installation.role_created},
        "Functions": [
            {"FunctionName": f.name, "FunctionArn": f.arn, "Result": f.outcome,
             **({"Changed": list(f.changed)} if f.changed else {}), "CodeSha256": f.code_sha256}
            for f in installation.functions
        ],
    }


def run(args: argparse.Namespace) -> int:
    async def work(services: Services, config: Config) -> Any:
        from strongroom.rotators.install import install_rotators

        installation = await install_rotators(services, config.account_id, args.region, role=args.role_arn,
                                              only=args.only)
        return report(installation)

    return run_on_services(args, work, errors=(LookupError, ValueError))
