"""Making a benchmark server ready to rotate: functions on, a role for the function, the ready
``strongroom-random-password`` rotator created through boto3's Lambda client (as a user would),
and the permission that lets Secrets Manager invoke it.

The rotator's package is :func:`strongroom.rotators.catalog.build_zip`'s; a cold start is forced by
updating the function's code with the same files plus a file naming a nonce (a new CodeSha256,
so the runtime retires the warm workers).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from bench.signing import REGION, Creds

ACCOUNT = "123456789012"
ROLE_NAME = "bench-rotation"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
FUNCTION_NAME = "bench-random-password"
ROTATOR = "strongroom-random-password"
SECRETS_MANAGER = "secretsmanager.amazonaws.com"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
#: What the rotator calls: DescribeSecret, GetSecretValue, GetRandomPassword, PutSecretValue,
#: UpdateSecretVersionStage.
ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}],
}
NONCE_FILE = "bench_nonce.txt"


def worker_python(explicit: str | None = None) -> str | None:
    """An interpreter the functions' workers can run: ``explicit``, else the one the server would choose
    (this one, or the system's of the same version when the workers' user, ``nobody`` under root,
    cannot run this one); None when there is none."""
    from strongroom.functions.runtime import RuntimeConfig, worker_interpreter

    return explicit or worker_interpreter(RuntimeConfig(python=sys.executable))


def server_settings(python: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The server's settings for a rotation run: functions on with ``python``, plus ``extra``."""
    return {"functions": True, "functions_python": python, **(extra or {})}


def admin(data_dir: Path, *args: str) -> None:
    """``strongroom admin ...`` on the data dir's store (safe while the server runs)."""
    env = dict(os.environ)
    env.pop("STRONGROOM_MASTER_KEY", None)
    done = subprocess.run([sys.executable, "-m", "strongroom", "admin", args[0], "--data-dir", str(data_dir),
                           *args[1:]], capture_output=True, text=True, env=env, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"strongroom admin {args[0]} failed: {done.stderr.strip()[-1000:]}")


def create_role(data_dir: Path, auth: str) -> str:
    """The function's role (trusting Lambda, allowed every Secrets Manager action); dev mode keeps no
    identities and takes any role ARN of the account."""
    if auth != "dev":
        admin(data_dir, "create-role", "--role-name", ROLE_NAME,
              "--assume-role-policy-document", json.dumps(TRUST_POLICY))
        admin(data_dir, "put-role-policy", "--role-name", ROLE_NAME, "--policy-name", "secrets",
              "--policy-document", json.dumps(ROLE_POLICY))
    return ROLE_ARN


def with_nonce(package: bytes, nonce: str) -> bytes:
    """``package`` (a zip) with one more file naming ``nonce``: the same code, a new CodeSha256."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != NONCE_FILE:
                target.writestr(info, source.read(info))
        target.writestr(NONCE_FILE, nonce)
    return out.getvalue()


def rotator_package() -> bytes:
    from strongroom.rotators.catalog import build_zip

    return build_zip(ROTATOR)


def lambda_client(port: int, creds: Creds) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION, aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key, aws_session_token=creds.token,
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )


def install_function(lam: Any, role_arn: str, package: bytes) -> str:
    """Create the rotator as a function (AWS's settings for it) and let Secrets Manager invoke it;
    its ARN once it is Active."""
    from strongroom.rotators.catalog import rotator

    spec = rotator(ROTATOR)
    created = lam.create_function(
        FunctionName=FUNCTION_NAME, Runtime=spec.runtime, Role=role_arn, Handler=spec.handler,
        Code={"ZipFile": package}, Timeout=spec.timeout, MemorySize=spec.memory_size, Description=spec.description,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION_NAME, WaiterConfig={"Delay": 1})
    lam.add_permission(FunctionName=FUNCTION_NAME, StatementId="secretsmanager", Action="lambda:InvokeFunction",
                       Principal=SECRETS_MANAGER)
    return str(created["FunctionArn"])


def update_code(lam: Any, package: bytes) -> None:
    """New code for the function (its warm workers retire); returns once the update has completed."""
    lam.update_function_code(FunctionName=FUNCTION_NAME, ZipFile=package)
    lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION_NAME, WaiterConfig={"Delay": 1})
