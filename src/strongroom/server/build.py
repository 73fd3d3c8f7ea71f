"""The one wiring: services and the app from a Config, for the server, the admin CLI and the benchmark."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace

from strongroom.functions.invoker import Functions, FunctionsSettings
from strongroom.functions.runtime import RuntimeConfig, interpreter_problem, worker_interpreter
from strongroom.iam.authenticate import Authenticator, DevAuthenticator, SigV4Authenticator
from strongroom.kms.master_key import MasterKey, load_master_key
from strongroom.regions import AcceptedRegions
from strongroom.server.api import ApiEndpoint
from strongroom.server.app import StrongroomApp
from strongroom.server.config import Config
from strongroom.server.lifespan import Lifespan
from strongroom.server.observers import Observer
from strongroom.server.registry import Registry, serving
from strongroom.service.dependencies import Services
from strongroom.store.factory import open_store

log = logging.getLogger("strongroom")


def build_services(config: Config, master: MasterKey | None = None) -> Services:
    """The store, key ring, sealers, identities and authorizer of ``config`` (the store not yet
    migrated). ``master`` defaults to the data directory's master key."""
    master = master if master is not None else load_master_key(config.data_dir)
    peers = config.peers()
    regions = AcceptedRegions(config.regions, excluded=peers)  # a peer's region is served by the peer
    return Services.build(open_store(config.store_settings()), master, regions, peers)


def build_functions(services: Services, config: Config) -> Functions | None:
    """The functions service of ``config`` as ``services.functions`` (its runtime starts with the server),
    or None when functions are off.

    Left to its default (``functions`` unset), the service is on only where its workers can run (a
    warning says why not); set on, a runtime that cannot run stops the server at start. Without
    ``functions_python``, workers use this interpreter, or the system's of the same version when the
    worker user cannot run this one.
    """
    if not config.functions_enabled():
        return None
    runtime = RuntimeConfig(max_workers=config.functions_max_workers, worker_user=config.functions_worker_user,
                            python=config.functions_python or sys.executable, nice=config.functions_nice)
    if config.functions_python is None:
        python = worker_interpreter(runtime)  # e.g. not this Python under /root, which nobody may run
        if python is not None and python != runtime.python:
            log.info("functions run on %s: the worker user cannot run %s", python, sys.executable)
            runtime = replace(runtime, python=python)
    problem = interpreter_problem(runtime) if config.functions is None else None
    if problem is not None:
        log.warning("functions are off: %s (set functions_python to an interpreter the worker user can run, "
                    "or functions = false)", problem)
        return None
    functions = Functions(services, FunctionsSettings(runtime, config.endpoint_url(), dev=config.dev))
    services.functions = functions
    return functions


def build_app(config: Config, registry: Registry | None = None) -> StrongroomApp:
    """The ASGI app of ``config``: every service it serves behind one API endpoint (Lambda's only with
    functions on)."""
    master = load_master_key(config.data_dir)
    services = build_services(config, master)
    functions = build_functions(services, config)
    regions = services.regions
    authenticator: Authenticator
    if config.dev:
        authenticator = DevAuthenticator(config.account_id, regions)
    else:
        authenticator = SigV4Authenticator(services.identities, regions=regions)
    observers: list[Observer] = []
    registry = registry or Registry.of(serving(functions=functions is not None))
    api = ApiEndpoint(registry, services, authenticator, config.max_body_bytes, observers)
    return StrongroomApp(api, Lifespan(config, services, master, observers, functions))
