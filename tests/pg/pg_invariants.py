"""The staging-label invariants the multi-instance tests check after every round, through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"


@dataclass
class Labels:
    """A secret's versions and labels as one instance reports them."""

    versions: dict[str, list[str]]  # version id -> its staging labels ([] when deprecated)
    current: str
    previous: str | None

    @property
    def labelled(self) -> set[str]:
        return {v for v, stages in self.versions.items() if stages}


def version_map(client: Any, secret_id: str) -> dict[str, list[str]]:
    """Every version (deprecated ones too) of a secret -> its labels."""
    out: dict[str, list[str]] = {}
    kwargs: dict[str, Any] = {"SecretId": secret_id, "IncludeDeprecated": True, "MaxResults": 100}
    while True:
        page = client.list_secret_version_ids(**kwargs)
        for v in page["Versions"]:
            assert v["VersionId"] not in out, f"version {v['VersionId']} listed twice"
            out[v["VersionId"]] = sorted(v.get("VersionStages", []))
        if not page.get("NextToken"):
            return out
        kwargs["NextToken"] = page["NextToken"]


def check_labels(client: Any, secret_id: str) -> Labels:
    """Exactly one AWSCURRENT, at most one AWSPREVIOUS on another version, each label once."""
    versions = version_map(client, secret_id)
    holders: dict[str, list[str]] = {}
    for version_id, stages in versions.items():
        for stage in stages:
            holders.setdefault(stage, []).append(version_id)
    for stage, on in holders.items():
        assert len(on) == 1, f"{secret_id}: label {stage} on {len(on)} versions {on}"
    assert CURRENT in holders, f"{secret_id}: no AWSCURRENT among {versions}"
    current = holders[CURRENT][0]
    previous = holders[PREVIOUS][0] if PREVIOUS in holders else None
    assert previous != current, f"{secret_id}: AWSPREVIOUS and AWSCURRENT on the same version"
    return Labels(versions, current, previous)


def check_same_everywhere(clients: list[Any], secret_id: str) -> Labels:
    """The invariants hold, and every instance reports the same versions and labels."""
    first = check_labels(clients[0], secret_id)
    for other in clients[1:]:
        assert version_map(other, secret_id) == first.versions, f"{secret_id}: instances disagree"
    return first


def check_current_value(clients: list[Any], secret_id: str, labels: Labels, values: dict[str, str]) -> None:
    """GetSecretValue through every instance returns the AWSCURRENT version's value."""
    for client in clients:
        got = client.get_secret_value(SecretId=secret_id)
        assert got["VersionId"] == labels.current
        assert CURRENT in got["VersionStages"]
        if labels.current in values:
            assert got["SecretString"] == values[labels.current]
