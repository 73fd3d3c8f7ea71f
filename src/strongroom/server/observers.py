"""What happened on each API request, told to observers after the response: the audit trail now,
metrics later. An observer must be quick (it runs on the event loop) and must not raise."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from strongroom.audit.log import AuditLog


class RequestRecord(NamedTuple):
    """One API request, as far as it got: fields not known yet when it failed are None.

    Never a parameter besides the subject, never a value.
    """

    request_id: str
    #: the request's time (epoch seconds, to the millisecond), once it reached its operation
    time: float | None
    service: str | None
    action: str | None
    principal: str | None
    account: str | None
    region: str | None
    access_key_id: str | None
    #: what the request names, as the caller gave it (the service's ``audit_subject``)
    subject: str | None
    source_ip: str | None
    status: int
    #: the error type answered, if any
    error: str | None


Observer = Callable[[RequestRecord], None]


def audit_observer(log: AuditLog) -> Observer:
    """An observer writing each record to the hash-chained audit log.

    The line's keys are the trail's (docs/security.md): the IAM action ``<service>:<Operation>``,
    the subject as ``secret_id``; None fields are left out, a missing time is the log's clock.
    """

    def observe(record: RequestRecord) -> None:
        service, action = record.service, record.action
        fields = {
            "request_id": record.request_id,
            "time": record.time,
            "action": f"{service}:{action}" if action is not None else None,
            "principal": record.principal,
            "account": record.account,
            "region": record.region,
            "access_key_id": record.access_key_id,
            "secret_id": record.subject,
            "source_ip": record.source_ip,
            "status": record.status,
        }
        if record.error is not None:  # a complete record of a success has no None to filter out
            fields["error"] = record.error
        log.record(fields)

    return observe
