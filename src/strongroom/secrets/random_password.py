"""GetRandomPassword as an operation (the generator lives in :mod:`strongroom.secrets.password`)."""

from __future__ import annotations

from typing import Any

from strongroom.secrets.password import generate_random_password
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services


async def get_random_password(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"RandomPassword": generate_random_password(params)}
