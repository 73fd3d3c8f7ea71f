"""The store seam: code outside store/ sees only its protocols and records; store/ imports nothing above it.

Parsed with ``ast`` (imports inside functions count too), so a violation fails here whatever runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "strongroom"
#: What code outside store/ may import from it.
PUBLIC = {"strongroom.store", "strongroom.store.base", "strongroom.store.records", "strongroom.store.factory"}
#: Who may open a store from its settings (store.factory): the wiring, and the master key check that
#: inspects a store before any is opened.
WIRING = ("server/", "cli/", "kms/key_check.py")


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` counts as ``a.b`` and ``a.b.c``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(*, inside_store: bool) -> list[Path]:
    paths = sorted(PACKAGE.rglob("*.py"))
    return [p for p in paths if (p.relative_to(PACKAGE).parts[0] == "store") is inside_store]


def strongroom_modules() -> set[str]:
    return {".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__") for p in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize("path", modules(inside_store=False), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_code_outside_the_store_sees_only_its_protocols_and_records(path: Path) -> None:
    real = strongroom_modules()
    used = {name for name in imports(path) if name.startswith("strongroom.store") and name in real}
    assert used <= PUBLIC, f"{path.relative_to(PACKAGE)} imports store internals: {sorted(used - PUBLIC)}"
    if "strongroom.store.factory" in used:
        assert str(path.relative_to(PACKAGE)).startswith(WIRING), f"{path} opens stores itself"


@pytest.mark.parametrize("path", modules(inside_store=True), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_store_imports_nothing_above_it(path: Path) -> None:
    """Not kms (KmsKeyRow lives in store.records), not server (StoreSettings lives in store.factory)."""
    above = {name for name in imports(path) if name.startswith("strongroom.")} - {
        name for name in imports(path) if name.startswith("strongroom.store")
    }
    assert not above, f"{path.relative_to(PACKAGE)} imports {sorted(above)}"


def test_service_dependencies_import_no_service_package() -> None:
    used = imports(PACKAGE / "service" / "dependencies.py")
    assert not {name for name in used if name.startswith(("strongroom.secrets", "strongroom.sts", "strongroom.server"))}


def test_the_checks_see_real_violations(tmp_path: Path) -> None:
    """The parser finds the imports these tests forbid (guards against a check that finds nothing)."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from strongroom.store.sql import SqlTx\n    import strongroom.store.sqlite\n")
    assert {"strongroom.store.sql", "strongroom.store.sql.SqlTx", "strongroom.store.sqlite"} <= imports(sample)
    assert len(modules(inside_store=False)) > 50 and len(modules(inside_store=True)) >= 10
