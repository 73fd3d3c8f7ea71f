"""Refresh the vendored service models from the installed botocore (``make update-models``).

Strongroom validates requests with copies of botocore's ``service-2`` definitions kept in
``src/strongroom/protocol/models/`` (see :mod:`strongroom.protocol.model`), so every machine
validates with the same, current models whatever botocore it has installed. This script copies the
newest API version of the model of each registered service (server/registry.py) from the
installed botocore, byte for byte (gzip
written with a zero timestamp, so an unchanged model gives an unchanged file), and removes
older copies. Then run the tests: a new operation must be served or listed as not served in
docs/api.md (tests/unit/test_model.py).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import botocore
from botocore.loaders import Loader

from strongroom.protocol.model import MODELS_DIR, model_file_name
from strongroom.server.registry import SERVICES


def botocore_definition(loader: Loader, service: str) -> tuple[str, bytes]:
    """(API version, JSON text) of the newest service-2 definition botocore ships for ``service``."""
    api_version = loader.determine_latest_version(service, "service-2")
    folder = Path(Loader.BUILTIN_DATA_PATH) / service / api_version
    plain, packed = folder / "service-2.json", folder / "service-2.json.gz"
    if plain.is_file():
        return api_version, plain.read_bytes()
    return api_version, gzip.decompress(packed.read_bytes())


def vendor(service: str, api_version: str, text: bytes) -> Path:
    """Write ``text`` as the vendored definition; remove copies of other API versions."""
    target = MODELS_DIR / model_file_name(service, api_version)
    for stale in MODELS_DIR.glob(model_file_name(service, "*")):
        if stale != target:
            stale.unlink()
    target.write_bytes(gzip.compress(text, mtime=0))
    return target


def main() -> int:
    loader = Loader()
    # botocore's services only: a service defined by Strongroom names its own definition's path
    for service in sorted({descriptor.model for descriptor in SERVICES if isinstance(descriptor.model, str)}):
        api_version, text = botocore_definition(loader, service)
        path = vendor(service, api_version, text)
        print(f"{path}: {service} {api_version} from botocore {botocore.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
