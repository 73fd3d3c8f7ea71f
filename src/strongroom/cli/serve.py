"""``strongroom serve``: configure, print the banner, run uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

import orjson
import uvicorn

from strongroom.cli.workers import run_workers
from strongroom.server.config import Config

CONFIG_ENV = "STRONGROOM_SERVER_CONFIG"


def banner(config: Config) -> str:
    from strongroom.iam.admin_credentials import ADMIN_PROFILE, CREDENTIALS_FILE

    endpoint = f"http://{config.host}:{config.port}"
    store = config.database_url.split("@")[-1] if config.database_url else f"SQLite in {config.data_dir}"
    if config.dev:
        mode = "dev (emulator: any well-formed SigV4 credentials act as the account root)"
        env = "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=dev AWS_DEFAULT_REGION=us-east-1"
        client = (
            f'boto3.client("secretsmanager", endpoint_url="{endpoint}", region_name="us-east-1",\n'
            '                    aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="dev")'
        )
    else:
        credentials = config.data_dir / CREDENTIALS_FILE
        mode = f"authenticated (SigV4 + IAM policies); administrator credentials: {credentials}"
        env = (
            f"export AWS_SHARED_CREDENTIALS_FILE={credentials} AWS_PROFILE={ADMIN_PROFILE} "
            "AWS_DEFAULT_REGION=us-east-1"
        )
        client = (
            f'boto3.Session(profile_name="{ADMIN_PROFILE}")  # AWS_SHARED_CREDENTIALS_FILE set as above\n'
            f'  sm = session.client("secretsmanager", endpoint_url="{endpoint}", region_name="us-east-1")'
        )
    return f"""
Strongroom is listening on {endpoint}
  mode:    {mode}
  store:   {store}
  account: {config.account_id}

AWS CLI:
  {env}
  aws --endpoint-url {endpoint} secretsmanager create-secret --name demo --secret-string s3cr3t
  aws --endpoint-url {endpoint} secretsmanager get-secret-value --secret-id demo

boto3:
  import boto3
  {"session = " if not config.dev else "sm = "}{client}
  sm.get_secret_value(SecretId="demo")["SecretString"]
"""


def forwarding(allow_ips: str | None) -> dict[str, Any]:
    """uvicorn's proxy-header settings: X-Forwarded-* are believed only from the configured proxies.

    uvicorn's own default trusts them from 127.0.0.1, which would let any local client choose
    the aws:SourceIp its policies are evaluated with; Strongroom trusts no one unless told to.
    """
    if not allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": allow_ips}


def app_factory():  # type: ignore[no-untyped-def]
    """uvicorn factory for worker processes: the config travels in an environment variable."""
    from strongroom.server.build import build_app

    return build_app(Config(**orjson.loads(os.environ[CONFIG_ENV])))


def serve(args: argparse.Namespace) -> int:
    try:
        config = Config.load(
            args.config, host=args.host, port=args.port, data_dir=args.data_dir, account_id=args.account_id,
            database_url=args.database_url, workers=args.workers, dev=args.dev, log_level=args.log_level,
            forwarded_allow_ips=args.forwarded_allow_ips, functions=args.functions,
        )
    except (ValueError, OSError) as exc:
        print(f"strongroom: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    common: dict[str, Any] = dict(
        host=config.host, port=config.port, log_level=config.log_level, access_log=False,
        loop="uvloop", http="httptools", ws="none", lifespan="on", server_header=False, date_header=False,
        **forwarding(config.forwarded_allow_ips),
    )
    from strongroom.kms.key_check import checked_master_key
    from strongroom.kms.master_key import MasterKeyError

    try:
        # A wrong key stops here, before anything is created or changed; with several workers the
        # key file is created here once, not raced by them.
        checked_master_key(config)
    except MasterKeyError as exc:
        print(f"strongroom: {exc}", file=sys.stderr)
        return 2
    if config.replication:
        try:
            config.peers()  # the peers' key and credential files, checked before any worker starts
        except ValueError as exc:
            print(f"strongroom: {exc}", file=sys.stderr)
            return 2
    if config.workers > 1:
        # The supervisor only checks what workers would refuse, then spawns them; each worker
        # imports and builds the app itself, so the supervisor never pays for that import.
        print(banner(config), flush=True)
        os.environ[CONFIG_ENV] = orjson.dumps(config.to_dict()).decode()
        try:
            run_workers(
                uvicorn.Config("strongroom.cli.serve:app_factory", factory=True, workers=config.workers, **common)
            )
        except OSError as exc:
            print(f"strongroom: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
            return 1
        return 0
    from strongroom.server.build import build_app

    app = build_app(config)  # validates the configuration (and the master key) before binding
    print(banner(config), flush=True)
    uvicorn.run(app, **common)
    return 0
