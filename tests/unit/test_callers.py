"""Caller kinds: authentication says how a caller was established; DEV and SYSTEM stay distinct."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from strongroom.errors import MalformedPolicyDocumentException
from strongroom.iam.authenticate import DevAuthenticator
from strongroom.iam.caller import CallerKind, root_principal, system_caller
from strongroom.kms.master_key import MasterKey
from strongroom.secrets.create import create_secret
from strongroom.secrets.resource_policy import put_resource_policy
from strongroom.service.context import RequestContext, allow_all
from strongroom.service.dependencies import Services
from strongroom.sigv4 import Credentials, sign_headers
from strongroom.store.sqlite import SqliteStore

ACCOUNT, REGION = "123456789012", "eu-west-1"


def test_a_system_caller_is_the_account_root_of_kind_system() -> None:
    caller = system_caller(ACCOUNT, REGION)
    assert caller.kind is CallerKind.SYSTEM
    assert caller.principal == root_principal(ACCOUNT) and caller.account == ACCOUNT
    assert (caller.region, caller.policies, caller.temporary) == (REGION, (), False)
    ctx = RequestContext.of(caller, 1000.0, action="PutResourcePolicy")
    assert (ctx.account, ctx.region, ctx.principal_arn, ctx.kind) == (
        ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:root", CallerKind.SYSTEM,
    )  # fmt: skip
    assert RequestContext(ACCOUNT, REGION, "arn", 0.0).kind is CallerKind.API  # no caller: evaluated


def test_dev_mode_authentication_gives_a_dev_caller() -> None:
    headers = {"host": "localhost", "x-amz-target": "secretsmanager.ListSecrets"}
    headers.update(sign_headers("POST", "http://localhost/", headers, b"{}", Credentials("AKIDEXAMPLE", "x"),
                                REGION, "secretsmanager", time.time()))  # fmt: skip
    wire = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    caller = asyncio.run(DevAuthenticator(ACCOUNT).authenticate("POST", b"/", b"", wire, b"{}", "secretsmanager"))
    assert caller.kind is CallerKind.DEV and caller.principal == root_principal(ACCOUNT)
    assert (caller.region, caller.access_key_id) == (REGION, "AKIDEXAMPLE")


def test_a_system_caller_is_never_taken_for_dev_mode(tmp_path: Path) -> None:
    """Dev mode skips the check that a policy's IAM user principals exist; a system job does not."""
    policy = orjson.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/nobody-here"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}).decode()  # fmt: skip

    async def main() -> None:
        store = SqliteStore(tmp_path / "store.db")
        await store.migrate()
        services = Services.build(store, MasterKey(bytes(32)))
        try:
            dev = RequestContext.of(system_caller(ACCOUNT, REGION)._replace(kind=CallerKind.DEV), time.time(),
                                    authorize=allow_all)  # fmt: skip
            system = RequestContext.of(system_caller(ACCOUNT, REGION), time.time())
            await create_secret(services, dev, {"Name": "s", "SecretString": "v", "ClientRequestToken": "t" * 32})
            await put_resource_policy(services, dev, {"SecretId": "s", "ResourcePolicy": policy})
            with pytest.raises(MalformedPolicyDocumentException):
                await put_resource_policy(services, system, {"SecretId": "s", "ResourcePolicy": policy})
        finally:
            await store.close()

    asyncio.run(main())
