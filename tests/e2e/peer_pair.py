"""Two deployments paired as two regions, for the peer replication tests (and the replication benchmarks).

``start_pair`` starts a receiving deployment serving ``eu-west-1`` (SigV4, not dev mode: its first
start writes the admin credentials the primary uses) and a primary deployment serving ``us-east-1``
(dev mode) configured with that peer, both on SQLite with their own data directories. The primary
reaches the peer through a :class:`RecordingProxy`, which keeps every request byte it forwards (to
show what travels) and can be pointed at a restarted peer (a new port).
"""

from __future__ import annotations

import base64
import configparser
import datetime
import ipaddress
import os
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from e2e_server import ServerProcess, make_client, start_server

PRIMARY_REGION = "us-east-1"
PEER_REGION = "eu-west-1"


class RecordingProxy:
    """A TCP proxy on 127.0.0.1 forwarding to ``upstream_port``, recording what clients send (with
    ``tls``, it terminates TLS as a reverse proxy in front of a peer would, and records the plaintext)."""

    def __init__(self, upstream_port: int, tls: ssl.SSLContext | None = None) -> None:
        self.upstream_port = upstream_port
        self.tls = tls
        self.sent = bytearray()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.tls is not None:
            try:
                client = self.tls.wrap_socket(client, server_side=True)
            except (OSError, ssl.SSLError):
                client.close()  # the client refused our certificate
                return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        except OSError:
            client.close()  # the peer is down: the caller sees the connection close
            return
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if record:
                    with self._lock:
                        self.sent += chunk
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def recorded(self) -> bytes:
        with self._lock:
            return bytes(self.sent)

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def self_signed(base: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (its own CA file) and a server context presenting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "strongroom peer test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = base / "peer-cert.pem", base / "peer-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private_file(key_file, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context


def private_file(path: Path, text: str) -> Path:
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def admin_credentials(data_dir: Path) -> tuple[str, str]:
    parser = configparser.ConfigParser()
    parser.read(data_dir / "admin-credentials")
    section = parser[parser.sections()[0]]
    return section["aws_access_key_id"], section["aws_secret_access_key"]


@dataclass
class Pair:
    base: Path
    primary: ServerProcess
    peer: ServerProcess
    proxy: RecordingProxy
    transfer_key: Path
    peer_config: Path
    clients: dict[str, Any] = field(default_factory=dict)

    def primary_client(self) -> Any:
        return make_client(self.primary.endpoint, region=PRIMARY_REGION)

    def peer_client(self) -> Any:
        key, secret = admin_credentials(self.peer.data_dir)
        cfg = Config(region_name=PEER_REGION, retries={"total_max_attempts": 1, "mode": "standard"},
                     connect_timeout=5, read_timeout=30)
        return boto3.session.Session().client(
            "secretsmanager", endpoint_url=self.peer.endpoint, region_name=PEER_REGION,
            aws_access_key_id=key, aws_secret_access_key=secret, config=cfg,
        )

    def start_peer(self) -> None:
        """(Re)start the peer on its data directory (a new port), and point the proxy at it."""
        self.peer = start_peer(self.base, self.peer_config)
        self.proxy.upstream_port = self.peer.port

    def stop(self) -> None:
        self.primary.stop()
        self.peer.stop()
        self.proxy.close()


def start_peer(base: Path, config: Path) -> ServerProcess:
    return start_server(base / "peer", base / "peer-logs", extra_args=["--config", str(config)], dev=False)


def primary_config(base: Path, name: str, endpoint: str, key_id: str, secret: str, transfer_key: Path,
                   interval: float = 0.1, ca_file: Path | None = None) -> Path:
    secret_file = private_file(base / f"{name}.secret", secret)
    config = base / f"{name}.toml"
    config.write_text(
        f"replication_interval = {interval}\n"
        f'[replication.peers."{PEER_REGION}"]\n'
        f'endpoint = "{endpoint}"\naccess_key_id = "{key_id}"\n'
        f'secret_access_key_file = "{secret_file}"\ntransfer_key_file = "{transfer_key}"\n'
        + (f'ca_file = "{ca_file}"\n' if ca_file else "")
    )
    return config


def start_pair(base: Path, interval: float = 0.1) -> Pair:
    """A peer deployment (eu-west-1) and a primary deployment (us-east-1) paired through a proxy."""
    transfer_key = private_file(base / "transfer.key", base64.b64encode(os.urandom(32)).decode())
    peer_config = base / "peer.toml"
    peer_config.write_text(f'[replication.peers."{PRIMARY_REGION}"]\ntransfer_key_file = "{transfer_key}"\n')
    peer = start_peer(base, peer_config)
    proxy = RecordingProxy(peer.port)
    key_id, secret = admin_credentials(peer.data_dir)
    config = primary_config(base, "primary", f"http://127.0.0.1:{proxy.port}", key_id, secret, transfer_key, interval)
    primary = start_server(base / "primary", base / "primary-logs", extra_args=["--config", str(config)])
    return Pair(base, primary, peer, proxy, transfer_key, peer_config)
