"""The ``replication`` setting: peer deployments by region, checked at load, their files read at build.

TOML::

    [replication.peers."eu-west-1"]
    endpoint = "https://strongroom.eu.example:7420"   # omit on a deployment that only receives
    access_key_id = "AKIA..."                         # a user or role of the peer allowed strongroom-replication:*
    secret_access_key_file = "/etc/strongroom/eu-west-1.secret"   # mode 0600
    transfer_key_file = "/etc/strongroom/eu-west-1.transfer"      # 32 bytes, base64; mode 0600; the same on both sides
    ca_file = "/etc/strongroom/eu-ca.pem"             # https endpoints only; default: the system's CAs

docs/deployment.md ("Pairing two deployments") walks through it.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from strongroom.regions import is_region_name
from strongroom.service.peers import Peer
from strongroom.sigv4 import Credentials

PEER_KEYS = frozenset({"endpoint", "access_key_id", "secret_access_key_file", "transfer_key_file", "ca_file"})
TRANSFER_KEY_BYTES = 32


def check_replication(value: Mapping[str, Any], served: list[str] | None) -> None:
    """Refuse a malformed ``replication`` table (raises ValueError naming the setting)."""
    unknown = set(value) - {"peers"}
    if unknown:
        raise ValueError(f"unknown settings in replication: {', '.join(sorted(unknown))}")
    peers = value.get("peers", {})
    if not isinstance(peers, Mapping):
        raise ValueError("setting replication.peers must be a table of regions")
    for region, peer in peers.items():
        where = f"replication.peers.{region!r}"
        if not is_region_name(region):
            raise ValueError(f"{where}: not a region name (lower case, like eu-west-1)")
        if served is not None and region in served:
            raise ValueError(f"{where}: the region is in this deployment's regions; a peer serves it")
        if not isinstance(peer, Mapping):
            raise ValueError(f"{where} must be a table")
        unknown = set(peer) - PEER_KEYS
        if unknown:
            raise ValueError(f"unknown settings in {where}: {', '.join(sorted(unknown))}")
        for key, text in peer.items():
            if not isinstance(text, str) or not text:
                raise ValueError(f"{where}.{key} must be a non-empty string")
        if "transfer_key_file" not in peer:
            raise ValueError(f"{where}: transfer_key_file is required")
        endpoint = peer.get("endpoint")
        if endpoint is None:
            if {"access_key_id", "secret_access_key_file", "ca_file"} & set(peer):
                raise ValueError(f"{where}: credentials and ca_file need an endpoint")
            continue
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"{where}.endpoint must be http(s)://host[:port], got {endpoint!r}")
        if "ca_file" in peer and parts.scheme != "https":
            raise ValueError(f"{where}.ca_file needs an https endpoint")
        if "access_key_id" not in peer or "secret_access_key_file" not in peer:
            raise ValueError(f"{where}: an endpoint needs access_key_id and secret_access_key_file")


def load_peers(value: Mapping[str, Any]) -> dict[str, Peer]:
    """The peers of a checked ``replication`` table, their secret files read (each must be 0600)."""
    out: dict[str, Peer] = {}
    for region, peer in value.get("peers", {}).items():
        where = f"replication.peers.{region!r}"
        key_text = _read_private(peer["transfer_key_file"], f"{where}.transfer_key_file")
        try:
            key = base64.b64decode(key_text, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != TRANSFER_KEY_BYTES:
            raise ValueError(f"{where}.transfer_key_file must hold {TRANSFER_KEY_BYTES} random bytes in base64")
        credentials = None
        if "endpoint" in peer:
            secret = _read_private(peer["secret_access_key_file"], f"{where}.secret_access_key_file")
            credentials = Credentials(peer["access_key_id"], secret)
        out[region] = Peer(
            region=region, transfer_key=key, endpoint=peer.get("endpoint", "").rstrip("/") or None,
            credentials=credentials, ca_file=peer.get("ca_file"),
        )
    return out


def _read_private(name: str, where: str) -> str:
    """A secret file's text, stripped; ValueError unless only its owner may read it (0600 or 0400)."""
    path = Path(name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise ValueError(f"{where}: cannot read {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise ValueError(f"{where}: {path} must be readable by its owner only (chmod 600)")
        with os.fdopen(fd, "r", closefd=False) as handle:
            text = handle.read(4096).strip()
    finally:
        os.close(fd)
    if not text:
        raise ValueError(f"{where}: {path} is empty")
    return text
