"""The services this server answers: the one list, and the protocol adapters built from it once.

Adding a service is a package with a ``service.py`` exporting its descriptor, plus one line here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strongroom.functions.service import SERVICE as LAMBDA
from strongroom.peering.service import SERVICE as PEER_REPLICATION
from strongroom.protocol.json_rpc import JsonRpc
from strongroom.protocol.query import Query
from strongroom.protocol.rest_json import RestJson
from strongroom.secrets.service import SERVICE as SECRETS_MANAGER
from strongroom.service.descriptor import ServiceDescriptor
from strongroom.sts.service import SERVICE as STS

SERVICES: tuple[ServiceDescriptor, ...] = (SECRETS_MANAGER, STS, LAMBDA, PEER_REPLICATION)


def serving(*, functions: bool) -> tuple[ServiceDescriptor, ...]:
    """The services a server answers: Lambda's API only with functions on (off, its routes are unknown)."""
    return SERVICES if functions else tuple(service for service in SERVICES if service is not LAMBDA)


@dataclass(frozen=True, slots=True)
class Registry:
    """The services and one adapter per wire protocol, each with its routing table."""

    services: tuple[ServiceDescriptor, ...]
    json_rpc: JsonRpc
    query: Query
    rest_json: RestJson

    @classmethod
    def of(cls, services: Sequence[ServiceDescriptor] = SERVICES) -> Registry:
        names = [service.name for service in services]
        if len(set(names)) != len(names):
            raise ValueError(f"service names must be unique: {names}")
        return cls(tuple(services), JsonRpc(services), Query(services), RestJson(services))
