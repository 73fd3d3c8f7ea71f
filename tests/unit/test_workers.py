"""strongroom.cli.workers: one SO_REUSEPORT listener per worker, the supervisor's address check."""

from __future__ import annotations

import pickle
import socket
from typing import Any

import pytest
import uvicorn

from strongroom.cli import workers
from strongroom.cli.workers import ReusePortListener, free_address, reuse_port_socket, run_workers

HOST = "127.0.0.1"
linux_only = pytest.mark.skipif(not workers.balances_connections(), reason="load-balancing SO_REUSEPORT is Linux's")


def _accept_all(listener: socket.socket) -> int:
    listener.setblocking(False)
    accepted = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return accepted
        conn.close()
        accepted += 1


@linux_only
def test_listener_unpickles_as_a_bound_reuse_port_socket_that_is_not_yet_listening() -> None:
    port = free_address(HOST, 0)
    sock = pickle.loads(pickle.dumps(ReusePortListener(HOST, port)))  # noqa: S301 - what a worker does
    try:
        assert isinstance(sock, socket.socket)
        assert sock.getsockname() == (HOST, port)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        with pytest.raises(ConnectionRefusedError):  # no connection is queued for a worker still starting
            socket.create_connection((HOST, port), timeout=2).close()
        sock.listen(8)
        socket.create_connection((HOST, port), timeout=2).close()
    finally:
        sock.close()


@linux_only
def test_the_kernel_spreads_connections_over_the_workers_sockets() -> None:
    port = free_address(HOST, 0)
    listeners = [reuse_port_socket(HOST, port) for _ in range(2)]
    clients = []
    try:
        for listener in listeners:
            listener.listen(128)
        clients = [socket.create_connection((HOST, port), timeout=2) for _ in range(64)]
        counts = [_accept_all(listener) for listener in listeners]
        assert sum(counts) == 64
        assert min(counts) > 0  # all 64 on one socket: 2 chances in 2**64 with a working hash
    finally:
        for sock in clients + listeners:
            sock.close()


def test_free_address_picks_a_port_for_zero() -> None:
    port = free_address(HOST, 0)
    assert 0 < port < 65536


def test_free_address_refuses_a_port_someone_listens_on() -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen(1)
        with pytest.raises(OSError):
            free_address(HOST, taken.getsockname()[1])


@linux_only
def test_free_address_refuses_to_join_a_running_servers_reuse_port_group() -> None:
    running = reuse_port_socket(HOST, 0)  # as a worker of a server already serving this port
    try:
        running.listen(1)
        with pytest.raises(OSError):
            free_address(HOST, running.getsockname()[1])
    finally:
        running.close()


class _FakeSupervisor:
    """Records what run_workers hands uvicorn's supervisor instead of spawning workers."""

    seen: list[Any] = []

    def __init__(self, config: uvicorn.Config, sockets: list[Any]) -> None:
        type(self).seen = sockets

    def run(self) -> None:
        pass


def _config(port: int) -> uvicorn.Config:
    return uvicorn.Config("bench.hello:app", host=HOST, port=port, workers=2)


@linux_only
def test_run_workers_gives_each_worker_a_listener_on_the_checked_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "Multiprocess", _FakeSupervisor)
    run_workers(_config(0))
    (listener,) = _FakeSupervisor.seen
    assert isinstance(listener, ReusePortListener)
    assert listener.host == HOST and listener.port > 0  # port 0 resolved once, for every worker


def test_run_workers_shares_one_socket_where_reuse_port_does_not_balance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "Multiprocess", _FakeSupervisor)
    monkeypatch.setattr(workers, "balances_connections", lambda: False)
    run_workers(_config(0))
    (shared,) = _FakeSupervisor.seen
    try:
        assert isinstance(shared, socket.socket)  # uvicorn's own bind_socket(): one socket for all
    finally:
        shared.close()


def test_run_workers_fails_before_spawning_when_the_port_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "Multiprocess", _FakeSupervisor)
    _FakeSupervisor.seen = []
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen(1)
        with pytest.raises(OSError):
            run_workers(_config(taken.getsockname()[1]))
    assert _FakeSupervisor.seen == []
