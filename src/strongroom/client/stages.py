"""Version labels (staging labels): which version holds AWSCURRENT, AWSPREVIOUS, AWSPENDING or any
label, from a DescribeSecret result (``version_ids_to_stages``) or a ListSecretVersionIds result
(``versions``)::

    described = await sm.describe_secret(secret_id="db")
    stages.current(described)            # the version id labelled AWSCURRENT, or None
    stages.version_with(described, "blue")
    stages.labels(described, version_id)  # ("AWSPREVIOUS",)
"""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.client.shapes import DescribeSecretResponse, ListSecretVersionIdsResponse

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
PENDING = "AWSPENDING"

Versions = DescribeSecretResponse | ListSecretVersionIdsResponse


def labels_by_version(versions: Versions) -> Mapping[str, tuple[str, ...]]:
    """Version id -> its labels (versions without labels included when the result lists them)."""
    if isinstance(versions, DescribeSecretResponse):
        return {vid: tuple(labels) for vid, labels in (versions.version_ids_to_stages or {}).items()}
    return {v.version_id: tuple(v.version_stages or ()) for v in versions.versions or () if v.version_id}


def version_with(versions: Versions, label: str) -> str | None:
    """The id of the version that carries ``label`` (a label is on one version at most), or None."""
    return next((vid for vid, labels in labels_by_version(versions).items() if label in labels), None)


def labels(versions: Versions, version_id: str) -> tuple[str, ...]:
    """The labels of ``version_id`` (empty if it has none or is not listed)."""
    return labels_by_version(versions).get(version_id, ())


def current(versions: Versions) -> str | None:
    return version_with(versions, CURRENT)


def previous(versions: Versions) -> str | None:
    return version_with(versions, PREVIOUS)


def pending(versions: Versions) -> str | None:
    return version_with(versions, PENDING)
