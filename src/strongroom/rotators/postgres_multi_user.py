"""Rotation function: PostgreSQL, alternating users.

The first rotation creates ``<username>_clone`` with the master secret (``masterarn``) and makes
it a member of the original user, so it has the same rights; every rotation after that changes
the password of the user that is not AWSCURRENT, so AWSCURRENT keeps working throughout.
Secret JSON: as for the single-user function, plus the required ``masterarn``. Driver: pg8000.
"""

from __future__ import annotations

import logging
from contextlib import closing
from typing import Any

from .database import (
    can_login,
    create_step,
    finish_step,
    login,
    master_connection,
    read_secret,
    same_user_and_host,
    test_step,
)
from .postgres import PostgreSQL, create_login_role, role_exists, set_password
from .steps import CURRENT, PENDING, make_handler

logger = logging.getLogger(__name__)

CLONE_SUFFIX = "_clone"
MAX_NAME_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1
DB = PostgreSQL()


def alternate_username(username: str) -> str:
    """The other user of the pair: ``name`` <-> ``name_clone``."""
    if username.endswith(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    clone = username + CLONE_SUFFIX
    if len(clone) > MAX_NAME_LENGTH:
        raise ValueError(f"Unable to clone user, {clone} would exceed {MAX_NAME_LENGTH} characters")
    return clone


def set_secret(client: Any, arn: str, token: str) -> None:
    """setSecret: done if the pending user already logs in with the pending password; otherwise,
    after proving the current credentials work, log in with the master secret and create the
    pending user (a member of the current one) or change its password."""
    current = read_secret(client, DB, arn, CURRENT)
    pending = read_secret(client, DB, arn, PENDING, token)
    if can_login(DB, pending):
        logger.info("setSecret: AWSPENDING secret is already set as password in PostgreSQL DB for secret arn %s.", arn)
        return
    alternate = {"username": alternate_username(current["username"]), "host": current["host"]}
    same_user_and_host(alternate, pending, "current user's alternate")
    conn = login(DB, current)  # the rotated credentials must be valid: no confused deputy
    if conn is None:
        raise ValueError(f"Unable to log into database using current credentials for secret {arn}")
    conn.close()
    with closing(master_connection(client, DB, current)) as master:
        if role_exists(master, pending["username"]):
            set_password(master, pending["username"], pending["password"])
        else:
            create_login_role(master, pending["username"], pending["password"], member_of=current["username"])
    logger.info("setSecret: Successfully set password for %s in PostgreSQL for %s.", pending["username"], arn)


STEPS = {
    "createSecret": create_step(DB, rename=alternate_username),
    "setSecret": set_secret,
    "testSecret": test_step(DB),
    "finishSecret": finish_step,
}
lambda_handler = make_handler(STEPS)
