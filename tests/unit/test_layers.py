"""The import picture reads top-down: no module imports from a higher layer, no cycle between packages.

Every module's imports are read with ``ast`` (module level, functions, ``TYPE_CHECKING`` blocks
alike). The table is docs/architecture.md's ("Layers"); a new package must be placed in it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import strongroom

SRC = Path(strongroom.__file__).resolve().parent

#: Layers, top (1) to bottom: a module may import from its own layer and the layers below.
LAYERS: dict[int, tuple[str, ...]] = {
    1: ("cli", "__main__", "client"),  # entry points: nothing below imports them
    2: ("server",),  # the front door: app, router, API endpoint, lifespan, registry, wiring
    3: ("protocol",),  # wire adapters, service models, validation
    4: ("secrets", "sts", "functions", "rotators", "peering"),  # one package per service (and function code)
    5: ("service",),  # what every service shares: descriptors, request context, dependencies
    6: ("iam", "jobs", "audit"),
    7: ("kms", "crypto"),
    8: ("store",),
    9: ("sigv4", "errors", "clock", "regions", "integers", "__init__"),
}
#: Modules that sit lower than their package (standard library only; the client and SigV4 use them).
MODULE_LAYERS = {"strongroom.crypto.digests": 9}

#: Imports that break the picture (none: add one only with a reason and a plan to remove it).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()

PACKAGE_LAYER = {package: layer for layer, packages in LAYERS.items() for package in packages}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def imports(path: Path) -> set[str]:
    """The strongroom modules ``path`` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from pkg import module`
    modules = {module_name(p) for p in SRC.rglob("*.py")}
    return {target for target in found if target.startswith("strongroom") and target in modules}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int:
    return MODULE_LAYERS.get(module) or PACKAGE_LAYER[package_of(module)]


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in sorted(SRC.rglob("*.py"))}


def test_every_package_has_a_layer() -> None:
    packages = {package_of(module) for module in graph()}
    assert packages - set(PACKAGE_LAYER) == set(), "place the new package in LAYERS (and docs/architecture.md)"


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = set()
    for module, targets in graph().items():
        for target in targets:
            if package_of(target) != package_of(module) and layer_of(target) < layer_of(module):
                upward.add((module, target))
    assert upward - KNOWN_VIOLATIONS == set()
    assert KNOWN_VIOLATIONS - upward == set(), "these imports are gone: remove them from KNOWN_VIOLATIONS"


def test_no_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph().items():
        for target in targets:
            if package_of(target) != package_of(module) and (module, target) not in KNOWN_VIOLATIONS:
                edges[package_of(module)].add(package_of(target))
    cycles = []

    def visit(package: str, path: list[str]) -> None:
        for nxt in sorted(edges[package]):
            if nxt in path:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif len(path) < len(PACKAGE_LAYER):
                visit(nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, [start])
    assert cycles == []


def test_the_client_imports_only_sigv4_and_its_digests() -> None:
    """(Besides the package root: ``from strongroom import sigv4``.)"""
    outside = {
        target
        for module, targets in graph().items()
        if package_of(module) == "client"
        for target in targets
        if package_of(target) != "client"
    }
    assert outside <= {"strongroom", "strongroom.crypto.digests"} | {
        m for m in graph() if package_of(m) == "sigv4"
    }


def test_the_front_door_and_shared_layers_name_no_service() -> None:
    """Services are described once, in their packages and the registry: the layers that serve every
    service never spell one's name."""
    shared = [p for p in SRC.rglob("*.py") if package_of(module_name(p)) in ("server", "protocol", "service")]
    shared += [SRC / "iam" / name for name in ("authenticate.py", "authorizer.py", "caller.py")]
    mentions = [
        f"{path.relative_to(SRC)}:{number}"
        for path in shared
        if path.name != "registry.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "secretsmanager" in line
    ]
    assert mentions == []
