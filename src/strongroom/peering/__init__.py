"""The peer replication service: how another Strongroom deployment keeps its primaries' replicas in this
one (ApplyReplicaState, RemoveReplica; docs/api.md, "Replication between deployments"). Internal, not
an AWS API; its model is this package's JSON definition, its domain code ``secrets/replication/receive.py``."""
