"""Audit trail: one tamper-evident record per API call (who, what, on which secret, outcome)."""
