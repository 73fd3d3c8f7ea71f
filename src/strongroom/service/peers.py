"""Peer deployments: other Strongroom deployments serving regions of this one's replicas (issue 16).

A :class:`Peer` is plain configuration (the ``[replication.peers."<region>"]`` tables, read by
``server/peer_config.py``): where the peer answers and with which credentials this deployment
signs its requests (both only on the sending side), the transfer key the two deployments share
to seal values on the wire, and the CA file of an https endpoint. docs/deployment.md ("Pairing
two deployments") and docs/security.md ("Replication between deployments") describe their use.
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.sigv4 import Credentials


@dataclass(frozen=True, slots=True)
class Peer:
    """Another deployment serving ``region``."""

    region: str
    #: 32 bytes shared with the peer: values travel sealed under it (AES-256-GCM).
    transfer_key: bytes
    #: The peer's endpoint (http:// or https://); None: the peer only sends to this deployment.
    endpoint: str | None = None
    credentials: Credentials | None = None
    #: PEM file of the certificate authorities an https endpoint is checked against (None: the system's).
    ca_file: str | None = None

    @property
    def sends_to(self) -> bool:
        """Whether replicas can be kept in this peer (an endpoint and credentials are configured)."""
        return self.endpoint is not None and self.credentials is not None

    def __repr__(self) -> str:  # never print the key or the credentials' secret
        return f"Peer(region={self.region!r}, endpoint={self.endpoint!r})"
