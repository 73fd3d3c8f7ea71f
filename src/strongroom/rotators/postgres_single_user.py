"""Rotation function: PostgreSQL, single user (the user changes its own password).

Secret JSON: ``engine`` (postgres or aurora-postgresql), ``host``, ``username``, ``password``,
optional ``port`` (5432), ``dbname`` (postgres), ``ssl``, and ``masterarn``: with it, a user the
server does not have yet is first created with the master secret. Driver: pg8000.
"""

from .database import SingleUser
from .postgres import PostgreSQL, create_user_if_missing
from .steps import make_handler

STEPS = SingleUser(PostgreSQL(), prepare=create_user_if_missing).steps()
lambda_handler = make_handler(STEPS)
