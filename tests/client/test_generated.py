"""The generated modules match the model the server validates with, and cover all of it."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from strongroom.client import COMMON_ERRORS, MODELED_ERRORS, shapes
from strongroom.client._operations import OPERATIONS, AsyncOperations, FuturesOperations
from strongroom.protocol.model import definition_path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "strongroom" / "client"
GENERATED = ("shapes.py", "_modeled_errors.py", "_operations.py")


def _model() -> dict:
    raw = definition_path("secretsmanager").read_bytes()
    return json.loads(gzip.decompress(raw) if definition_path("secretsmanager").suffix == ".gz" else raw)


def test_checked_in_modules_are_what_the_generator_writes(tmp_path: Path) -> None:
    model = definition_path("secretsmanager")
    argv = [sys.executable, str(REPO / "scripts" / "generate_client.py"), str(model), "--out", str(tmp_path)]
    paginators = model.parent / "paginators-1.json"
    if paginators.is_file():
        argv += ["--paginators", str(paginators)]
    subprocess.run(argv, check=True, timeout=60)
    for name in GENERATED:
        assert (tmp_path / name).read_text() == (PACKAGE / name).read_text(), (
            f"{name} drifted from the service model: run scripts/generate_client.py"
        )


def test_check_mode_reports_drift(tmp_path: Path) -> None:
    for name in GENERATED:
        (tmp_path / name).write_text((PACKAGE / name).read_text())
    (tmp_path / "shapes.py").write_text("# edited\n")
    script = str(REPO / "scripts" / "generate_client.py")
    done = subprocess.run(
        [sys.executable, script, str(definition_path("secretsmanager")), "--out", str(tmp_path), "--check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "shapes.py" in done.stderr


def test_every_operation_has_its_methods_and_types() -> None:
    model = _model()
    assert {op.name for op in OPERATIONS.values()} == set(model["operations"])
    for op in OPERATIONS.values():
        definition = model["operations"][op.name]
        assert op.request_type.__name__ == definition["input"]["shape"]
        assert (op.result_type.__name__ if op.result_type else None) == definition.get("output", {}).get("shape")
        method = next(m for m in dir(AsyncOperations) if m.replace("_", "") == op.name.lower())
        assert callable(getattr(FuturesOperations, method)) and callable(getattr(FuturesOperations, f"{method}_async"))
    paginated = {op.name: op.items for op in OPERATIONS.values() if op.items}
    assert paginated == {
        "ListSecrets": "secret_list", "ListSecretVersionIds": "versions",
        "BatchGetSecretValue": "secret_values", "ListResourcePolicies": "resource_policies",
    }  # fmt: skip
    idempotent = {op.name for op in OPERATIONS.values() if op.idempotency_tokens}
    assert idempotent == {"CreateSecret", "PutSecretValue", "UpdateSecret", "RotateSecret"}


def test_one_exception_class_per_error_shape() -> None:
    model = _model()
    error_shapes = {name for name, shape in model["shapes"].items() if shape.get("exception")}
    assert set(MODELED_ERRORS) == error_shapes
    assert not set(MODELED_ERRORS) & set(COMMON_ERRORS)
    structures = {name for name, s in model["shapes"].items() if s["type"] == "structure" and not s.get("exception")}
    assert set(shapes.__all__) == structures
