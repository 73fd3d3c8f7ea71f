"""First start: the administrator and its credentials file, so an operator can begin."""

from __future__ import annotations

import os
from pathlib import Path

from strongroom.iam.admin_credentials import ADMIN_PROFILE, CREDENTIALS_FILE
from strongroom.iam.identities import Identities, NewAccessKey


async def bootstrap_admin(identities: Identities, account: str, data_dir: Path) -> Path | None:
    """On the very first start, create the administrator and write its credentials to
    ``<data_dir>/admin-credentials`` (0600, as the AWS credentials-file profile ``strongroom-admin``).

    Returns the file written, or None when identities already exist or another instance won the
    race (its data dir gets the file). A crash before the file is written leaves a key no one
    knows: delete it with ``strongroom admin`` and create another.
    """
    key = await identities.create_first_admin(account)
    return None if key is None else write_credentials(Path(data_dir) / CREDENTIALS_FILE, key)


def write_credentials(path: Path, key: NewAccessKey) -> Path:
    """Write ``key`` as the admin profile; a pre-existing file is made 0600 before the secret goes in."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a pre-existing file keeps its mode on O_CREAT: fix it before writing
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f"[{ADMIN_PROFILE}]\naws_access_key_id = {key.access_key_id}\n"
            f"aws_secret_access_key = {key.secret_access_key}\n"
        )
    return path


def first_start_message(path: Path) -> str:
    """What the server tells the operator after writing the administrator's credentials."""
    return (
        f"First start: administrator credentials written to {path} (mode 0600), profile [{ADMIN_PROFILE}].\n"
        f"  Use them with: AWS_SHARED_CREDENTIALS_FILE={path} AWS_PROFILE={ADMIN_PROFILE} "
        "aws --endpoint-url ... sts get-caller-identity"
    )
