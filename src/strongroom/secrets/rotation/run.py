"""The rotation job: one work item per run, invoking the function's steps in order.

Each attempt runs every step of the run again from createSecret (AWS: "If rotation fails,
Secrets Manager retries the entire rotation process"; the steps are idempotent with the same
token, docs/rotation.md). A step fails when the function answers an error payload, cannot be
invoked, or (finishSecret) leaves AWSCURRENT elsewhere; the attempt then fails and the jobs
runtime retries it with backoff, up to ``rotation_max_attempts``. After the last attempt the run
is ``failed``: AWSPENDING stays where it is (as AWS leaves it), the reason is kept in the run's
row, logged and written to the audit trail. What is kept and logged is the step and the error's
type, never the function's message or payload (they may hold the value).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from strongroom.errors import ApiError
from strongroom.iam.caller import system_caller
from strongroom.jobs import Clock, Job
from strongroom.secrets.changes import secret_change
from strongroom.secrets.rotation.schedule import next_rotation_date
from strongroom.secrets.rotation.start import SECRETS_MANAGER, STEPS, stored_rules
from strongroom.secrets.rotation.tokens import open_token
from strongroom.secrets.versions import AWSCURRENT, AWSPENDING
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import RotationRow

log = logging.getLogger("strongroom.rotation")

#: Told of every run that ends: the run (its final state and last error). The server writes an audit record.
Observe = Callable[[RotationRow], None]
#: errorTypes the runtime itself reports (their messages are Strongroom's, never the function's).
RUNTIME_ERRORS = ("Sandbox.", "Runtime.")


class StepFailed(Exception):
    """A failed step; the message names the step and the error's type (it is stored and logged)."""


def describe_error(payload: bytes) -> str:
    """The errorType of an error payload, with the runtime's own message (a timeout, an exit)."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return "an error payload that is not JSON"
    if not isinstance(document, dict):
        return "an error payload that is not an object"
    kind = str(document.get("errorType") or "Unhandled")[:200]
    message = document.get("errorMessage")
    if kind.startswith(RUNTIME_ERRORS) and isinstance(message, str):
        return f"{kind}: {message[:300]}"
    return kind


class Rotations:
    """Runs rotation work items for one server process."""

    def __init__(self, services: Services, clock: Clock, observe: Observe | None = None) -> None:
        self.services = services
        self.clock = clock
        self.observe = observe

    def context(self, run: RotationRow) -> RequestContext:
        return RequestContext.of(system_caller(run.account, run.region), self.clock.now(),
                                 f"rotation-{run.id}", "RotateSecret")

    async def run(self, job: Job) -> None:
        """One attempt of the run ``job`` names (module docstring)."""
        store = self.services.store
        async with store.read() as tx:
            run = await tx.rotations.get(int(job.payload["rotation"]))
        if run is None or run.state != "running":
            return  # finished by an earlier attempt whose completion was not recorded
        last = job.attempt >= job.max_attempts
        try:
            cancelled = await self._steps(run, job.attempt)
            if not cancelled:
                await self._succeeded(run, job.attempt)
        except (StepFailed, ApiError) as exc:
            reason = str(exc) if isinstance(exc, StepFailed) else f"{run.step}: {exc.code}"
            if not await self._record(run, attempts=job.attempt, last_error=reason,
                                      state="failed" if last else "running"):
                return  # cancelled meanwhile (CancelRotateSecret)
            if not last:
                raise StepFailed(reason) from None
            log.warning("rotation of %s (version %s) failed after %d attempts: %s", run.secret_arn,
                        run.version_id, job.attempt, reason)
            if run.mode == "test":
                with contextlib.suppress(ApiError):  # the secret is gone: so is its version
                    await self._remove_test_version(run)
            self._observe(run)
            return
        if cancelled:
            if await self._record(run, attempts=job.attempt, state="cancelled"):
                self._observe(run)
            return
        self._observe(run)

    async def _steps(self, run: RotationRow, attempt: int) -> bool:
        """Invoke the run's steps; True if rotation was cancelled meanwhile."""
        invoker = self.services.functions
        if invoker is None:
            raise StepFailed(f"{run.step}: the functions service is off")
        token = open_token(self.services.access_keys, run)
        for step in STEPS if run.mode == "rotate" else ("testSecret",):
            async with self.services.store.read() as tx:
                secret = await tx.secrets.get_secret(run.account, run.region, arn=run.secret_arn)
            if secret is None or secret.deleted_at is not None:
                raise StepFailed(f"{step}: the secret was deleted")
            if not secret.rotation_enabled and run.mode == "rotate":
                return True
            if not await self._record(run, step=step, attempts=attempt):
                return True
            event = {"Step": step, "SecretId": run.secret_arn, "ClientRequestToken": run.version_id,
                     "RotationToken": token}
            result = await invoker.invoke_for_service(run.account, run.region, run.function_arn, event,
                                                      service_principal=SECRETS_MANAGER, source_arn=run.secret_arn)
            if result.function_error is not None:
                raise StepFailed(f"{step}: {describe_error(result.payload)}")
        if run.mode == "rotate":
            async with self.services.store.read() as tx:
                stages = await tx.secrets.stage_map(run.secret_id)
            if AWSCURRENT not in stages.get(run.version_id, ()):
                raise StepFailed("finishSecret: the function did not move AWSCURRENT to the new version")
        return False

    async def _record(self, run: RotationRow, **changes: Any) -> bool:
        """Record progress of a run still running; False if it ended meanwhile (cancelled)."""
        changes["updated_at"] = self.clock.now()
        async with self.services.store.write() as tx:
            if not await tx.rotations.update(run.id, **changes):
                return False
        for name, value in changes.items():
            setattr(run, name, value)
        return True

    async def _succeeded(self, run: RotationRow, attempt: int) -> None:
        """LastRotatedDate, NextRotationDate and the next window; the run succeeded (one transaction)."""
        ctx = self.context(run)
        if run.mode == "test":
            await self._remove_test_version(run)
            await self._record(run, attempts=attempt, state="succeeded", last_error=None)
            return
        async with secret_change(self.services, ctx, run.secret_arn) as change:
            rules = stored_rules(change.secret)
            fields: dict[str, Any] = {"last_rotated_at": ctx.now, "rotation_enabled": True}
            due = None
            if rules is not None:
                window = rules.window_after(ctx.now)
                fields["next_rotation_at"] = next_rotation_date(window)
                due = window[0]
            change.set(**fields)
            await change.tx.rotations.set_due(change.secret.id, due)
            run.state, run.attempts, run.last_error, run.updated_at = "succeeded", attempt, None, ctx.now
            await change.tx.rotations.update(run.id, state="succeeded", attempts=attempt, last_error=None,
                                             updated_at=ctx.now)

    async def _remove_test_version(self, run: RotationRow) -> None:
        """RotateImmediately=false: the version testSecret ran against goes again (AWS: the test
        "creates an AWSPENDING version of the secret and then removes it")."""
        async with secret_change(self.services, self.context(run), run.secret_arn, active=False) as change:
            stages = await change.tx.secrets.stage_map(change.secret.id)
            labels = stages.get(run.version_id, [])
            if labels == [AWSPENDING] or not labels:
                await change.drop_versions([run.version_id])

    def _observe(self, run: RotationRow) -> None:
        if self.observe is not None:
            self.observe(run)
