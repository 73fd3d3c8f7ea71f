"""Replication of secrets: replicas in other regions (ReplicateSecretToRegions) and other accounts
(AssociateCrossAccountReplica), kept up to date by the relay.

- :mod:`.targets`: which replicas a primary has (``replication_targets`` rows) and the name rule;
- :mod:`.status`: how DescribeSecret and the operations show them;
- :mod:`.regions`, :mod:`.accounts`: the operations;
- :mod:`.destination`: where a replica lives (:class:`~.destination.ReplicaDestination`), with
  :mod:`.local` for this store (another region or account) and :mod:`.remote` for a peer
  deployment (over :mod:`.peer_client`, in the vocabulary of :mod:`.peer_wire`); both change a
  replica through :mod:`.apply`;
- :mod:`.receive`: the receiving end of a peer's deliveries (served by ``strongroom.peering``);
- :mod:`.relay`: the leased periodic job that delivers the outbox's changes to every target.

docs/architecture.md ("Replication") describes the whole; docs/api.md the AWS behaviour.
"""
