"""Identities and access: who a caller is (SigV4 -> Caller), what it may do (policies), first-start admin."""
