"""Several uvicorn workers, each with its own listening socket (``SO_REUSEPORT``) on Linux.

uvicorn's multi-worker mode shares one listening socket among the workers, and libuv (under
uvloop) accepts every pending connection in one go: a burst of new connections can all land on
one worker and stay there for their keep-alive lifetime while the others idle. Measured with 64
connections opened at once against 2 workers: all 64 on one worker in 2 runs of 3 (half the
throughput). With ``SO_REUSEPORT`` every worker listens on a socket of its own on the same address
and the kernel spreads new connections over them by a hash of the client's address and port.

uvicorn's supervisor (restarts, signals, health checks) is kept: it hands each worker process a
:class:`ReusePortListener`, which unpickles in the worker as a socket of its own, bound with
``SO_REUSEPORT``; uvicorn starts listening on it when the worker's app has started.
Elsewhere than Linux (no load-balancing ``SO_REUSEPORT``) the shared socket is used, as uvicorn does.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from uvicorn import Config
from uvicorn.supervisors import Multiprocess


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with SO_REUSEPORT, not yet listening.

    The worker's server starts listening on it once the app has started, so the kernel never
    queues a connection for a worker that is still starting.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class ReusePortListener:
    """Stands for the listening socket in the supervisor; a fresh bound socket in each worker."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return reuse_port_socket, (self.host, self.port)


def balances_connections() -> bool:
    """Whether this platform's SO_REUSEPORT spreads connections over the sockets (Linux 3.9+)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def free_address(host: str, port: int) -> int:
    """The port, checked free (OSError if anything listens there, even with SO_REUSEPORT); 0 picks one.

    Bound without SO_REUSEPORT on purpose: joining the port group of a server already running
    (say an earlier ``strongroom serve``) would split the traffic with it silently.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return int(probe.getsockname()[1])


def run_workers(config: Config) -> None:
    """Run ``config.workers`` worker processes under uvicorn's supervisor until it is stopped.

    The address is checked here first (OSError if taken), so a port in use is one clear error
    rather than workers failing one after another; port 0 becomes one free port for all workers.
    """
    if not balances_connections():
        sockets: list[Any] = [config.bind_socket()]
    else:
        sockets = [ReusePortListener(config.host, free_address(config.host, config.port))]
    try:
        Multiprocess(config, sockets=sockets).run()
    except KeyboardInterrupt:  # as uvicorn.run: the supervisor handles signals; this is a fallback
        pass
