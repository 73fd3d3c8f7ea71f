"""The key ring and the crypto layer raise neutral errors; Secrets Manager words them at its edge.

Each neutral error maps to AWS's error type with AWS's message (secrets/kms_errors.py), and the
operations that seal or open values answer with exactly those errors.
"""

from __future__ import annotations

import ast
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from strongroom.errors import ApiError, DecryptionFailure, EncryptionFailure, InvalidParameterException
from strongroom.kms.errors import CannotDecrypt, CannotEncrypt, InvalidKeyReference, KeyDisabled, KeyNotFound
from strongroom.kms.master_key import MasterKey
from strongroom.secrets.create import create_secret
from strongroom.secrets.kms_errors import opening_error, sealing_error
from strongroom.secrets.update import update_secret
from strongroom.secrets.values import get_secret_value, put_secret_value
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.sqlite import SqliteStore

ACCOUNT, REGION = "111111111111", "us-east-1"
ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
SRC = Path(__file__).resolve().parents[2] / "src" / "strongroom"


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (InvalidKeyReference("nope"), InvalidParameterException,
         "The operation failed because of an invalid KMS key: Invalid keyId nope"),
        (KeyNotFound(ARN, alias=False), InvalidParameterException,
         f"The operation failed because of an invalid KMS key: Key '{ARN}' does not exist"),
        (KeyNotFound(f"{ARN[:ARN.index(':key/')]}:alias/x", alias=True), InvalidParameterException,
         f"The operation failed because of an invalid KMS key: Alias {ARN[:ARN.index(':key/')]}:alias/x is not found."),
        (KeyDisabled(ARN), EncryptionFailure, f"Secrets Manager can't encrypt the secret value: {ARN} is disabled."),
        (CannotEncrypt(), EncryptionFailure,
         "Secrets Manager can't encrypt the protected secret text using the provided KMS key."),
    ],
)
def test_sealing_errors_get_aws_types_and_messages(error: Exception, kind: type[ApiError], message: str) -> None:
    mapped = sealing_error(error)  # type: ignore[arg-type]
    assert type(mapped) is kind and mapped.message == message


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (KeyDisabled(ARN), f"Secrets Manager can't decrypt the secret value: {ARN} is disabled."),
        (CannotDecrypt(), "Secrets Manager can't decrypt the protected secret text using the provided KMS key."),
        (CannotDecrypt("its KMS key was wrapped by a different master key"),
         "Secrets Manager can't decrypt the protected secret text: its KMS key was wrapped by a different master key."),
        (CannotDecrypt("unsupported ciphertext format"),
         "Secrets Manager can't decrypt the protected secret text: unsupported ciphertext format."),
    ],
)
def test_opening_errors_are_decryption_failures(error: Exception, message: str) -> None:
    mapped = opening_error(error)  # type: ignore[arg-type]
    assert type(mapped) is DecryptionFailure and mapped.message == message


@pytest.mark.parametrize("package", ["kms", "crypto"])
def test_kms_and_crypto_never_use_aws_errors(package: str) -> None:
    """Neither package imports the AWS error types (strongroom.errors): their errors are their own."""
    for path in sorted((SRC / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "strongroom.errors", path
            elif isinstance(node, ast.Import):
                assert all(alias.name != "strongroom.errors" for alias in node.names), path


# --- through the operations ------------------------------------------------------------------------
def ctx(action: str) -> RequestContext:
    return RequestContext(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:root", time.time(), action=action)


def with_services(tmp_path: Path, body: Callable[[Services, SqliteStore], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        store = SqliteStore(tmp_path / "db")
        await store.migrate()
        try:
            return await body(Services.build(store, MasterKey(os.urandom(32))), store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_operations_answer_kms_conditions_with_aws_errors(tmp_path: Path) -> None:
    async def body(services: Services, store: SqliteStore) -> None:
        params = {"Name": "db", "SecretString": "v", "ClientRequestToken": "t" * 32}
        with pytest.raises(InvalidParameterException, match="^The operation failed because of an invalid KMS key: "
                           "Invalid keyId nope$"):
            await create_secret(services, ctx("CreateSecret"), {**params, "KmsKeyId": "nope"})
        with pytest.raises(InvalidParameterException, match="Alias .*alias/missing is not found.$"):
            await create_secret(services, ctx("CreateSecret"), {**params, "KmsKeyId": "alias/missing"})
        key = await services.keyring.create_key(ACCOUNT, REGION, alias="alias/app")
        await create_secret(services, ctx("CreateSecret"), {**params, "KmsKeyId": "alias/app"})
        async with store.write() as tx:
            await tx.x.execute("UPDATE kms_keys SET enabled = 0 WHERE arn = $1", key.arn)
        services.keyring.forget(key.arn)
        with pytest.raises(EncryptionFailure, match=f"^Secrets Manager can't encrypt the secret value: {key.arn} "
                           "is disabled.$"):
            await put_secret_value(services, ctx("PutSecretValue"),
                                   {"SecretId": "db", "SecretString": "w", "ClientRequestToken": "u" * 32})
        with pytest.raises(EncryptionFailure, match="is disabled"):
            await update_secret(services, ctx("UpdateSecret"), {"SecretId": "db", "KmsKeyId": key.arn})
        with pytest.raises(DecryptionFailure, match=f"^Secrets Manager can't decrypt the secret value: {key.arn} "
                           "is disabled.$"):
            await get_secret_value(services, ctx("GetSecretValue"), {"SecretId": "db"})

    with_services(tmp_path, body)
