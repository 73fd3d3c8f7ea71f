"""RotateSecret, and the start of every rotation run (requested or scheduled).

A run starts inside the secret's unit of work: the rotation settings are written, version *T*
(the ClientRequestToken) is created with AWSPENDING and no value, the run's row is inserted and
its work item enqueued, all in one transaction; the function's steps then run as that item
(:mod:`strongroom.secrets.rotation.run`).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from strongroom.errors import InvalidRequestException, ResourceExistsException
from strongroom.jobs import JobRuntime
from strongroom.secrets.authorization import find_secret, require_active
from strongroom.secrets.changes import SecretChange, secret_change
from strongroom.secrets.rotation.schedule import Rules, next_rotation_date, parse_rules
from strongroom.secrets.rotation.tokens import new_token
from strongroom.secrets.versions import AWSCURRENT, AWSPENDING, TOKEN_IN_USE
from strongroom.secrets.wire import require_token
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import RotationRow, SecretRow

#: The work items' kind.
ROTATION_JOB = "secrets.rotation"
SECRETS_MANAGER = "secretsmanager.amazonaws.com"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
NO_FUNCTION = "No Lambda rotation function ARN is associated with this secret."
NOT_COMPLETE = "A previous rotation isn't complete. That rotation will be reattempted."
FUNCTIONS_OFF = (
    "Strongroom's functions service is off, so no rotation function can run (set functions = true)."
)


def function_arn(ref: str, account: str, region: str) -> str:
    """The ARN of a RotationLambdaARN given as an ARN or as a function name (in the secret's account)."""
    return ref if ref.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{ref}"


def pending_elsewhere(stages: dict[str, list[str]]) -> bool:
    """Whether AWSPENDING is on a version other than AWSCURRENT's: a rotation not complete."""
    holder = {stage: vid for vid, labels in stages.items() for stage in labels}
    return AWSPENDING in holder and holder[AWSPENDING] != holder.get(AWSCURRENT)


def stored_rules(secret: SecretRow) -> Rules | None:
    return parse_rules(orjson.loads(secret.rotation_rules)) if secret.rotation_rules else None


async def begin(services: Services, jobs: JobRuntime, change: SecretChange, version_id: str, function: str,
                mode: str) -> RotationRow:
    """In ``change``: the empty AWSPENDING version ``version_id``, the run's row, its work item."""
    secret = change.secret
    await change.add_empty_version(version_id, [AWSPENDING])
    _, sealed = new_token(services.access_keys, secret.arn, version_id)
    run = RotationRow(secret.id, secret.account, secret.region, secret.arn, version_id, function, mode, sealed,
                      "running", STEPS[0] if mode == "rotate" else "testSecret", 0, None, change.now, change.now)
    await change.tx.rotations.insert(run)
    await jobs.enqueue(change.tx, ROTATION_JOB, f"rotation:{run.id}", {"rotation": run.id})
    return run


async def rotate_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """RotateSecret: configure rotation and start a run (or, RotateImmediately=false, test the function)."""
    token = require_token(params)
    secret_id = params["SecretId"]
    rules = parse_rules(params["RotationRules"]) if params.get("RotationRules") is not None else None
    immediately = params.get("RotateImmediately") is not False
    async with services.store.read() as tx:
        seen = await find_secret(tx, ctx, secret_id)
    require_active(seen)
    ref = params.get("RotationLambdaARN") or seen.rotation_lambda_arn
    if not ref:
        raise InvalidRequestException(NO_FUNCTION)
    arn = function_arn(ref, seen.account, seen.region)
    ctx.authorize("lambda:InvokeFunction", arn, None, ref)
    invoker, jobs = services.functions, services.jobs
    if invoker is None or jobs is None:
        raise InvalidRequestException(FUNCTIONS_OFF)
    arn = await invoker.check_service_may_invoke(seen.account, seen.region, arn, service_principal=SECRETS_MANAGER,
                                                 source_arn=seen.arn)
    async with secret_change(services, ctx, secret_id) as change:
        secret, tx = change.secret, change.tx
        if await tx.rotations.of_version(secret.id, token) is not None:  # a retried request
            return {"ARN": secret.arn, "Name": secret.name, "VersionId": token}
        if await tx.secrets.get_version(secret.id, version_id=token, with_value=False) is not None:
            raise ResourceExistsException(TOKEN_IN_USE.format(token=token, arn=secret.arn))
        if pending_elsewhere(await tx.secrets.stage_map(secret.id)):
            raise InvalidRequestException(NOT_COMPLETE)
        rules = rules or stored_rules(secret)
        fields: dict[str, Any] = {"rotation_lambda_arn": arn, "rotation_enabled": True}
        if params.get("RotationRules") is not None and rules is not None:
            fields["rotation_rules"] = orjson.dumps(rules.wire).decode()
        due = None
        if rules is not None:
            window = rules.window_after(change.now)
            fields["next_rotation_at"] = next_rotation_date(window)
            due = None if immediately else window[0]
        change.set(**fields)
        await begin(services, jobs, change, token, arn, "rotate" if immediately else "test")
        await tx.rotations.set_due(secret.id, due)
    jobs.notify()
    return {"ARN": secret.arn, "Name": secret.name, "VersionId": token}


async def resume_schedule(change: SecretChange) -> None:
    """A restored secret's rotation schedule goes on: the scheduler dropped its due time while it was
    scheduled for deletion, so an enabled rotation with rules gets its next window again."""
    secret, tx = change.secret, change.tx
    rules = stored_rules(secret)
    if not (secret.rotation_enabled and secret.rotation_lambda_arn and rules is not None):
        return
    if await tx.rotations.due_at(secret.id) is not None:
        return  # still scheduled: the window it had stands
    window = rules.window_after(change.now)
    change.set(next_rotation_at=next_rotation_date(window))
    await tx.rotations.set_due(secret.id, window[0])


async def start_scheduled(services: Services, jobs: JobRuntime, ctx: RequestContext, arn: str) -> str | None:
    """Start the scheduled rotation of the secret ``arn`` (a system context); why not, if it cannot."""
    async with secret_change(services, ctx, arn) as change:
        secret, tx = change.secret, change.tx
        if not secret.rotation_enabled or not secret.rotation_lambda_arn:
            return "rotation is not enabled"
        if pending_elsewhere(await tx.secrets.stage_map(secret.id)):
            rules = stored_rules(secret)  # tried again at the next window
            await tx.rotations.set_due(secret.id, rules.window_after(change.now)[0] if rules else None)
            return "a previous rotation is not complete (AWSPENDING is on a version other than AWSCURRENT)"
        await begin(services, jobs, change, str(uuid.uuid4()), secret.rotation_lambda_arn, "rotate")
    return None
