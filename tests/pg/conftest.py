"""Fixtures for the PostgreSQL and many-instance tests.

``postgres``          the admin URL, once PostgreSQL is known to be reachable (else the test is
                      skipped with the reason; with STRONGROOM_REQUIRE_POSTGRES=1 it fails instead)
``new_database``      ``new_database(tag) -> url``: a fresh empty database, dropped at session end
``pg_url``            one fresh database shared by the store-API tests of the session
``master_key``        one master key (base64) for every server of the session

PostgreSQL is found at STRONGROOM_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
``make test`` starts it first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pg_servers import (
    create_database,
    database_url,
    drop_database,
    new_master_key,
    require_postgres,
)


@pytest.fixture(scope="session")
def postgres() -> str:
    require_postgres()
    from pg_servers import ADMIN_URL

    return ADMIN_URL


@pytest.fixture(scope="session")
def new_database(postgres: str) -> Iterator[Callable[[str], str]]:
    created: list[str] = []

    def make(tag: str) -> str:
        name = create_database(tag)
        created.append(name)
        return database_url(name)

    yield make
    for name in created:
        drop_database(name)


@pytest.fixture(scope="session")
def pg_url(new_database: Callable[[str], str]) -> str:
    return new_database("store")


@pytest.fixture(scope="session")
def master_key() -> str:
    return new_master_key()
