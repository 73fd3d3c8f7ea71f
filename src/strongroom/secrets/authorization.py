"""Finding a secret for a request and authorizing the request's actions on it."""

from __future__ import annotations

from strongroom.errors import AccessDeniedException, InvalidRequestException, ResourceNotFoundException
from strongroom.secrets.arns import SecretLookup
from strongroom.secrets.lookup import lookup_secret_id
from strongroom.secrets.messages import MARKED_FOR_DELETION, SECRET_NOT_FOUND
from strongroom.service.context import RequestContext
from strongroom.store.base import Tx
from strongroom.store.records import SecretRow


def authorize_lookup(
    ctx: RequestContext, actions: tuple[str, ...], secret_id: str, lookup: SecretLookup, secret: SecretRow | None
) -> SecretRow:
    """Authorize each of ``actions`` on what looking up ``secret_id`` found, then return the secret.

    A missing secret is ResourceNotFoundException, once every action is allowed on the requested
    ARN. The decision is made on an existing secret's real ARN, tags and resource policy (a
    policy on ``secret:name-??????`` works). A refused caller learns nothing more: the denial
    names ``secret_id`` as the caller gave it, and when a missing secret would have been refused
    as well, the caller gets that very denial (same code, same message, same reason), so an
    existing and a missing secret cannot be told apart. Only a caller allowed on the requested
    ARN but refused by the secret itself (its resource policy, its tags) gets AccessDenied where
    a missing secret answers ResourceNotFoundException, as on AWS.
    """
    requested = lookup.arn or f"arn:aws:secretsmanager:{lookup.region}:{lookup.account}:secret:{lookup.name}"
    for action in actions:
        if secret is None:
            ctx.authorize(action, requested, None, secret_id)
            continue
        try:
            ctx.authorize(action, secret.arn, secret, secret_id)
        except AccessDeniedException:
            ctx.authorize(action, requested, None, secret_id)  # raises a missing secret's denial, if it is one
            raise
    if secret is None:
        raise ResourceNotFoundException(SECRET_NOT_FOUND)
    return secret


async def find_secret(
    tx: Tx, ctx: RequestContext, secret_id: str, *, for_update: bool = False, also: tuple[str, ...] = ()
) -> SecretRow:
    """Resolve a SecretId and authorize the request's action on it, and each action in ``also``."""
    lookup = lookup_secret_id(ctx, secret_id)
    secret = await tx.secrets.get_secret(
        lookup.account, lookup.region, name=lookup.name, arn=lookup.arn, for_update=for_update
    )
    return authorize_lookup(ctx, (ctx.action, *also), secret_id, lookup, secret)


def require_active(secret: SecretRow) -> None:
    """Reads and changes of a secret scheduled for deletion fail as AWS fails them."""
    if secret.deleted_at is not None:
        raise InvalidRequestException(MARKED_FOR_DELETION)
