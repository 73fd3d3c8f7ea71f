"""Reading and writing secret values: GetSecretValue, BatchGetSecretValue, PutSecretValue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strongroom.errors import (
    ApiError,
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from strongroom.secrets.arns import SecretLookup
from strongroom.secrets.authorization import authorize_lookup, require_active
from strongroom.secrets.changes import secret_change
from strongroom.secrets.listing import select_secrets
from strongroom.secrets.lookup import lookup_secret_id
from strongroom.secrets.rotation.tokens import check_token
from strongroom.secrets.value import SecretValue, value_from
from strongroom.secrets.versions import AWSCURRENT, open_value
from strongroom.secrets.wire import require_token, version_response
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import SecretRow, VersionRow

STAGE_MISMATCH = "You provided a VersionStage that is not associated to the provided VersionId."
NO_VALUE = "You must provide either SecretString or SecretBinary."
BATCH_ARGS = "Either 'SecretIdList' or 'Filters' must be provided, but not both."  # moto's text
BATCH_MAX_RESULTS = "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided."


def check_version(
    version: VersionRow | None, version_id: str | None, stage: str | None
) -> VersionRow:
    """The version a GetSecretValue-style request names (AWSCURRENT by default), or AWS's error."""
    if version is not None and version.ciphertext is None:  # a rotation's AWSPENDING before createSecret
        version = None
    if version_id is not None:
        if version is None:
            raise ResourceNotFoundException(
                f"Secrets Manager can't find the specified secret value for VersionId: {version_id}"
            )
        if stage is not None and stage not in version.stages:
            raise InvalidRequestException(STAGE_MISMATCH)
        return version
    if version is None:
        raise ResourceNotFoundException(
            f"Secrets Manager can't find the specified secret value for staging label: {stage or AWSCURRENT}"
        )
    return version


def stale_access(ctx: RequestContext, secret: SecretRow, version: VersionRow) -> tuple[bool, bool]:
    """Whether the secret's and the version's LastAccessedDate predate today's (a day, as at AWS)."""
    today = ctx.today
    return (
        secret.last_accessed_at is None or secret.last_accessed_at < today,
        version.last_accessed_at is None or version.last_accessed_at < today,
    )


async def record_access(
    services: Services, ctx: RequestContext, secret: SecretRow, version: VersionRow, stale: tuple[bool, bool]
) -> None:
    """Write today's LastAccessedDate where :func:`stale_access` found it missing (once a day each).

    Not a change of the secret: no LastChangedDate, no outbox event (strongroom.secrets.changes).
    """
    secret_stale, version_stale = stale
    async with services.store.write() as tx:
        if secret_stale:
            await tx.secrets.touch_secret_accessed(secret.id, ctx.today)
        if version_stale:
            await tx.secrets.touch_version_accessed(secret.id, version.version_id, ctx.today)


def value_entry(secret: SecretRow, version: VersionRow, value: SecretValue) -> dict[str, Any]:
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name, "VersionId": version.version_id}
    out.update(value.response_fields())
    out["VersionStages"] = version.stages
    out["CreatedDate"] = version.created_at
    return out


async def read_value(
    services: Services, ctx: RequestContext, secret_id: str, version_id: str | None = None,
    stage: str | None = None,
) -> dict[str, Any]:
    lookup = lookup_secret_id(ctx, secret_id)
    async with services.store.read() as tx:
        found = await tx.secrets.get_secret_with_version(
            lookup.account, lookup.region, name=lookup.name, arn=lookup.arn, version_id=version_id,
            stage=None if version_id is not None else (stage or AWSCURRENT),
        )
    return await finish_read(services, ctx, secret_id, lookup, found, version_id, stage)


async def finish_read(
    services: Services, ctx: RequestContext, secret_id: str, lookup: SecretLookup,
    found: tuple[SecretRow, VersionRow | None] | None, version_id: str | None = None, stage: str | None = None,
) -> dict[str, Any]:
    """Authorize, check and decrypt what a read found; record the access."""
    secret = authorize_lookup(ctx, ("GetSecretValue",), secret_id, lookup, found[0] if found else None)
    require_active(secret)
    version = check_version(found[1] if found else None, version_id, stage)
    value = await open_value(services, secret, version)
    stale = stale_access(ctx, secret, version)
    if stale[0] or stale[1]:  # once a day each: the usual read writes nothing
        await record_access(services, ctx, secret, version, stale)
    return value_entry(secret, version, value)


async def read_current_values(
    services: Services, ctx: RequestContext, secret_ids: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """BatchGetSecretValue's reads: the AWSCURRENT value of each id, errors reported per id.

    Secrets of the caller's account and region are fetched in one statement; an ARN of another
    account is read on its own.
    """
    lookups: dict[str, SecretLookup] = {}
    errors: list[dict[str, str]] = []
    for secret_id in dict.fromkeys(secret_ids):
        try:
            lookups[secret_id] = lookup_secret_id(ctx, secret_id)
        except ApiError as exc:
            errors.append(_batch_error(secret_id, exc))
    local = [lk for lk in lookups.values() if (lk.account, lk.region) == (ctx.account, ctx.region)]
    async with services.store.read() as tx:
        rows = await tx.secrets.get_secrets_with_stage(
            ctx.account, ctx.region, [lk.name for lk in local if lk.name is not None],
            [lk.arn for lk in local if lk.arn is not None], AWSCURRENT,
        )
    by_name = {secret.name: (secret, version) for secret, version in rows}
    by_arn = {secret.arn: (secret, version) for secret, version in rows}
    values: list[dict[str, Any]] = []
    for secret_id, lookup in lookups.items():
        try:
            if (lookup.account, lookup.region) != (ctx.account, ctx.region):
                values.append(await read_value(services, ctx, secret_id))
                continue
            found = by_arn.get(lookup.arn) if lookup.arn is not None else by_name.get(lookup.name or "")
            values.append(await finish_read(services, ctx, secret_id, lookup, found))
        except ApiError as exc:
            errors.append(_batch_error(secret_id, exc))
    return values, errors


def _batch_error(secret_id: str, error: ApiError) -> dict[str, str]:
    return {"SecretId": secret_id, "ErrorCode": error.code, "Message": error.message}


async def get_secret_value(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await read_value(
        services, ctx, params["SecretId"], params.get("VersionId"), params.get("VersionStage")
    )


async def batch_get_secret_value(
    services: Services, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """Up to 20 current values by id, or the current values of the secrets a filter selects.

    BatchGetSecretValue itself is authorized on ``*`` before this runs; filters list secrets, so
    they also need ``secretsmanager:ListSecrets`` (on ``*``, as ListSecrets is), checked before
    anything is read. Each secret then needs GetSecretValue; a denial is reported in ``Errors``
    under the id it was asked by: the caller's SecretId, or the ARN the filter selected, which
    ListSecrets shows this caller anyway (docs/api.md).
    """
    ids, filters = params.get("SecretIdList"), params.get("Filters")
    if (ids is None) == (filters is None):
        raise InvalidParameterException(BATCH_ARGS)
    if filters is None and params.get("MaxResults") is not None:
        raise InvalidParameterException(BATCH_MAX_RESULTS)
    out: dict[str, Any] = {}
    if ids is None:
        ctx.authorize("ListSecrets", "*", None)
        page = await select_secrets(
            services, ctx, params, scope="BatchGetSecretValue", default_limit=20, include_deleted=False
        )
        ids = [s.arn for s in page.secrets]
        if page.next_token:
            out["NextToken"] = page.next_token
    values, errors = await read_current_values(services, ctx, ids)
    out["SecretValues"] = values
    out["Errors"] = errors
    return out


async def put_value(
    services: Services, ctx: RequestContext, secret_id: str, value: SecretValue, token: str, stages: Sequence[str],
    rotation_token: str | None = None,
) -> tuple[SecretRow, list[str]]:
    """Create a version of a secret (or accept an identical retry); returns the secret and the version's labels.

    With ``rotation_token`` (a rotation function's put), the token must be that of the running
    rotation that made version ``token`` (:mod:`strongroom.secrets.rotation.tokens`).
    """
    async with secret_change(services, ctx, secret_id, sealing=True) as change:
        if rotation_token is not None:
            run = await change.tx.rotations.of_version(change.secret.id, token)
            check_token(services.access_keys, run, rotation_token)
        retry = await change.existing_version(token, value)
        if retry is not None and retry.ciphertext is None:  # a rotation's AWSPENDING: createSecret fills it
            return change.secret, await change.fill_version(retry, value, stages)
        if retry is not None:
            return change.secret, retry.stages
        return change.secret, await change.add_version(token, value, stages)


async def put_secret_value(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    value = value_from(params)
    if value is None:
        raise InvalidRequestException(NO_VALUE)
    token = require_token(params)
    stages = params.get("VersionStages") or [AWSCURRENT]
    secret, labels = await put_value(services, ctx, params["SecretId"], value, token, stages,
                                     params.get("RotationToken"))
    return version_response(secret, token, labels)
