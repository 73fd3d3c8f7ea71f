"""The rotation functions Strongroom ships, and their deployment packages.

A package is a zip, as AWS's are: the handler module and the sibling modules it imports (under
the package name ``strongroom_rotators``), plus every distribution its third-party imports need,
copied from this environment, less what boto3 brings (a Python runtime with boto3 has those).
Its bytes depend only on the files (fixed timestamps and modes, sorted entries), so building the
same version twice gives the same zip and the same CodeSha256. `strongroom admin install-rotators`
(:mod:`strongroom.rotators.install`) installs them.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata as metadata
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: The package name of the rotator modules inside a deployment package.
PACKAGE = "strongroom_rotators"
#: What the target runtime is assumed to provide.
RUNTIME_PROVIDES = "boto3"
SOURCE_DIR = Path(__file__).resolve().parent
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
#: Installation bookkeeping that varies between installs of the same files.
SKIPPED_METADATA = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


@dataclass(frozen=True)
class Rotator:
    """One shipped rotation function, with AWS Lambda's function settings."""

    name: str
    module: str
    description: str
    runtime: str = "python3.11"
    timeout: int = 30
    memory_size: int = 128

    @property
    def handler(self) -> str:
        return f"{PACKAGE}.{self.module}.lambda_handler"


ROTATORS: tuple[Rotator, ...] = (
    Rotator(
        "strongroom-postgres-single-user",
        "postgres_single_user",
        "Rotates a PostgreSQL user's password, logged in as that user (single user)",
    ),
    Rotator(
        "strongroom-postgres-multi-user",
        "postgres_multi_user",
        "Rotates PostgreSQL credentials between a user and its _clone, using a master secret (alternating users)",
    ),
    Rotator(
        "strongroom-mysql-single-user",
        "mysql_single_user",
        "Rotates a MySQL or MariaDB user's password, logged in as that user (single user)",
    ),
    Rotator(
        "strongroom-random-password",
        "random_password",
        "Replaces a secret's password with a new random one (no service to update)",
    ),
)


@dataclass(frozen=True)
class FunctionPackage:
    """What the installer hands the function store for one rotator (Lambda CreateFunction's terms)."""

    rotator: Rotator
    zip_file: bytes

    @property
    def code_sha256(self) -> str:
        """The zip's SHA-256 in base64, as Lambda reports CodeSha256: equal means nothing changed."""
        return base64.b64encode(hashlib.sha256(self.zip_file).digest()).decode()


def rotator(name: str) -> Rotator:
    for candidate in ROTATORS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no rotator {name!r}; known: {', '.join(r.name for r in ROTATORS)}")


def module_imports(module: str) -> tuple[set[str], set[str]]:
    """(sibling modules, top-level absolute imports) of a rotator module, read from its source."""
    tree = ast.parse((SOURCE_DIR / f"{module}.py").read_text(encoding="utf-8"))
    siblings: set[str] = set()
    absolute: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            siblings.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            absolute.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            absolute.update(alias.name.split(".")[0] for alias in node.names)
    return siblings, absolute


def modules_needed(module: str) -> tuple[list[str], set[str]]:
    """(the module and every sibling it imports, directly or not; their third-party imports)."""
    seen: list[str] = []
    third_party: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        siblings, absolute = module_imports(current)
        todo.extend(siblings)
        third_party |= {name for name in absolute if name not in sys.stdlib_module_names and name != "__future__"}
    return sorted(seen), third_party


def requirement_closure(roots: set[str]) -> set[str]:
    """The canonical names of ``roots`` and every distribution they require in this environment."""
    closure: set[str] = set()
    todo = [canonicalize_name(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return closure


def bundled_distributions(module: str) -> list[str]:
    """The distributions a rotator's deployment package carries: what its imports need, less what
    the runtime (boto3 and its requirements) provides."""
    _, imports = modules_needed(module)
    providers = metadata.packages_distributions()
    roots = set()
    for name in imports:
        if name not in providers:
            raise LookupError(f"no installed distribution provides {name!r}, which {module} imports")
        roots.update(providers[name])
    return sorted(requirement_closure(roots) - requirement_closure({RUNTIME_PROVIDES}))


def distribution_files(name: str) -> dict[str, bytes]:
    """A distribution's installed files (code, licences, metadata) by path, without byte code,
    scripts outside site-packages and per-install bookkeeping."""
    distribution = metadata.distribution(name)
    if distribution.files is None:
        raise LookupError(f"{name} has no RECORD of its files; reinstall it with pip")
    files = {}
    for path in distribution.files:
        parts = path.parts
        if ".." in parts or "__pycache__" in parts or path.suffix == ".pyc":
            continue
        if parts[0].endswith(".dist-info") and path.name in SKIPPED_METADATA:
            continue
        files[path.as_posix()] = Path(str(distribution.locate_file(path))).read_bytes()
    return files


def package_files(rotator_: Rotator) -> dict[str, bytes]:
    """Every file of a rotator's deployment package, by its path in the zip."""
    modules, _ = modules_needed(rotator_.module)
    files = {f"{PACKAGE}/{name}.py": (SOURCE_DIR / f"{name}.py").read_bytes() for name in ["__init__", *modules]}
    for distribution in bundled_distributions(rotator_.module):
        files.update(distribution_files(distribution))
    return files


def build_zip(name: str) -> bytes:
    """The deployment package of the rotator ``name``: deterministic bytes for the same files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in sorted(package_files(rotator(name)).items()):
            info = zipfile.ZipInfo(path, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode below is read
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def function_packages() -> list[FunctionPackage]:
    """Every rotator with its zip. The installer (:mod:`strongroom.rotators.install`) creates a
    function that does not exist and updates one whose CodeSha256 differs."""
    return [FunctionPackage(r, build_zip(r.name)) for r in ROTATORS]
