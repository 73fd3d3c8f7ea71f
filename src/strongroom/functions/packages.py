"""What a function keeps sealed: its code, its environment variables and its waiting Event invocations.

Each is sealed by the key ring under the account's default key (as secret values are: a fresh data
key per blob, docs/security.md), bound by its associated data to the function's ARN and to what it
is: the code to its CodeSha256, the environment to the function, an event to its request id. A
blob moved to another function, or code swapped for other code, does not open. Resolving the key
may write (the account's first default key), so a :class:`~strongroom.kms.keyring.Sealer` is got
before the write transaction (:func:`sealer_for`) and sealing inside it does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from strongroom.crypto.envelope import version_aad
from strongroom.errors import ApiError
from strongroom.functions.errors import KMSAccessDeniedException, KMSDisabledException
from strongroom.kms.errors import KeyDisabled, KmsError
from strongroom.kms.keyring import Sealer
from strongroom.service.dependencies import Services

#: The Lambda model's descriptions of these errors (it publishes no other wording).
DISABLED = ("Lambda couldn't decrypt the environment variables because the KMS key used is disabled. "
            "Check the Lambda function's KMS key settings.")
DENIED = ("Lambda couldn't decrypt the environment variables because KMS access was denied. "
          "Check the Lambda function's KMS permissions.")


def kms_error(error: KmsError) -> ApiError:
    """Lambda's errors for a key that can't be used (its model: KMSDisabledException, KMSAccessDeniedException)."""
    if isinstance(error, KeyDisabled):
        return KMSDisabledException(DISABLED)
    return KMSAccessDeniedException(DENIED)


async def sealer_for(services: Services, account: str, region: str) -> Sealer:
    """The sealer of the account's default key (resolved now: call it outside write transactions)."""
    try:
        return await services.keyring.sealer(account, region, None)
    except KmsError as exc:
        raise kms_error(exc) from None


def _code_aad(function_arn: str, code_sha256: str) -> bytes:
    return version_aad(function_arn, f"code:{code_sha256}")


def _environment_aad(function_arn: str) -> bytes:
    return version_aad(function_arn, "environment")


def _event_aad(function_arn: str, request_id: str) -> bytes:
    return version_aad(function_arn, f"event:{request_id}")


def seal_code(sealer: Sealer, function_arn: str, code_sha256: str, zip_bytes: bytes) -> bytes:
    return sealer.seal(zip_bytes, _code_aad(function_arn, code_sha256))


def seal_environment(sealer: Sealer, function_arn: str, variables: Mapping[str, str]) -> bytes | None:
    """The sealed variables; None when there are none (nothing to keep)."""
    return sealer.seal(orjson.dumps(dict(variables)), _environment_aad(function_arn)) if variables else None


def seal_event(sealer: Sealer, function_arn: str, request_id: str, event: bytes) -> bytes:
    return sealer.seal(event, _event_aad(function_arn, request_id))


async def _open(services: Services, account: str, region: str, blob: bytes, aad: bytes) -> bytes:
    try:
        return await services.keyring.open(account, region, blob, aad)
    except KmsError as exc:
        raise kms_error(exc) from None


async def open_code(services: Services, account: str, region: str, function_arn: str, code_sha256: str,
                    blob: bytes) -> bytes:
    return await _open(services, account, region, blob, _code_aad(function_arn, code_sha256))


async def open_environment(services: Services, account: str, region: str, function_arn: str,
                           blob: bytes | None) -> dict[str, str]:
    if blob is None:
        return {}
    variables: dict[str, str] = orjson.loads(await _open(services, account, region, blob,
                                                         _environment_aad(function_arn)))
    return variables


async def open_event(services: Services, account: str, region: str, function_arn: str, request_id: str,
                     blob: bytes) -> bytes:
    return await _open(services, account, region, blob, _event_aad(function_arn, request_id))
