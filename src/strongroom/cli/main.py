"""The ``strongroom`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from strongroom import __version__
from strongroom.server.config import DEFAULT_ACCOUNT, DEFAULT_PORT, default_data_dir_text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strongroom", description="A secrets service that speaks the AWS Secrets Manager API."
    )
    parser.add_argument("--version", action="version", version=f"strongroom {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the server",
        description=(
            "Run the Strongroom server (AWS Secrets Manager API: JSON 1.1 and query protocols, "
            "plus sts:GetCallerIdentity and sts:GetSessionToken, and the Lambda-compatible functions API)."
        ),
    )
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help=f"port to listen on (default {DEFAULT_PORT})")
    serve.add_argument("--data-dir", type=Path, help=f"data directory (default {default_data_dir_text()})")
    serve.add_argument(
        "--account-id",
        help=f"12-digit account of dev mode's caller and of the first administrator (default {DEFAULT_ACCOUNT})",
    )
    serve.add_argument(
        "--config", type=Path,
        help="TOML file with settings (command-line flags win); peer deployments serving other regions are "
        'set only there, as [replication.peers."<region>"] (docs/deployment.md)',
    )
    serve.add_argument("--database-url", help="postgresql://... to use PostgreSQL instead of the embedded SQLite")
    serve.add_argument(
        "--workers", type=int,
        help="number of server processes (default 1); on Linux each listens on its own SO_REUSEPORT socket",
    )
    serve.add_argument(
        "--dev", action="store_true", default=None,
        help="emulator mode: accept any well-formed SigV4 credentials as the account root",
    )
    serve.add_argument(
        "--functions", action=argparse.BooleanOptionalAction, default=None,
        help="serve the Lambda-compatible functions API and run functions (default: on in dev mode and when "
        "running as root, off otherwise; see docs/security.md)",
    )
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="log level")
    serve.add_argument(
        "--forwarded-allow-ips", metavar="IPS",
        help="reverse proxies (comma-separated IPs or networks) whose X-Forwarded-For/-Proto are believed "
        "for aws:SourceIp and aws:SecureTransport (default: none)",
    )
    admin = commands.add_parser(
        "admin", help="administer identities, keys and the store; install the ready rotators",
        description="Administration commands; they work on the store directly and are safe while servers run.",
    )
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    from strongroom.cli import iam

    iam.register(admin_commands)
    from strongroom.cli import admin as store_admin

    store_admin.register(admin_commands)
    from strongroom.cli import rotation, rotators

    rotation.register(admin_commands)
    rotators.register(admin_commands)
    return parser


#: Top-level modules of the ``server`` and ``postgres`` extras (pyproject.toml), which the client does not need.
SERVER_MODULES = frozenset({"uvicorn", "uvloop", "orjson", "cryptography", "platformdirs", "asyncpg"})


def missing_extra(command: str, module: str) -> str:
    """What to tell someone running ``command`` without the server's dependencies."""
    extra = "postgres" if module == "asyncpg" else "server"
    return (
        f"strongroom: `strongroom {command}` needs the server's dependencies ({module} is not installed).\n"
        f"  Install them with: pip install 'strongroom[{extra}]'"
        + ("" if extra == "postgres" else "  (and 'strongroom[server,postgres]' for PostgreSQL)")
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in SERVER_MODULES:
            raise
        print(missing_extra(args.command, exc.name.split(".")[0]), file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        from strongroom.cli.serve import serve

        return serve(args)
    if args.command == "admin":
        if getattr(args, "admin_handler", None) is not None:
            from strongroom.cli import admin as store_admin

            return store_admin.run(args)
        if getattr(args, "iam_command", None) is not None:
            from strongroom.cli import iam

            return iam.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
