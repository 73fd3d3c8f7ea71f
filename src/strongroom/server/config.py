"""Server configuration: defaults, an optional TOML file, then command-line flags (last wins)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.regions import AcceptedRegions
from strongroom.store.factory import SQLITE_FILE, StoreSettings

if TYPE_CHECKING:
    from strongroom.service.peers import Peer

DEFAULT_PORT = 7420
DEFAULT_ACCOUNT = "123456789012"


def default_data_dir() -> Path:
    import platformdirs  # here, not at import: start-up pays for it only when the default is used

    return Path(platformdirs.user_data_dir("strongroom"))


def default_data_dir_text() -> str:
    """The default data directory for help texts (also without the server's dependencies installed)."""
    try:
        return str(default_data_dir())
    except ImportError:
        return "the platform's user data directory"


_TYPES: dict[str, tuple[type, ...]] = {
    "host": (str,),
    "port": (int,),
    "account_id": (str,),
    "dev": (bool,),
    "database_url": (str, type(None)),
    "workers": (int,),
    "database_pool_size": (int,),
    "sqlite_synchronous": (str,),
    "purge_interval": (int, float),
    "replication_interval": (int, float),
    "rotation_schedule_interval": (int, float),
    "rotation_max_attempts": (int,),
    "rotation_retry_seconds": (int, float),
    "rotation_concurrency": (int,),
    "max_body_bytes": (int,),
    "log_level": (str,),
    "audit": (bool,),
    "read_cache_size": (int,),
    "forwarded_allow_ips": (str, type(None)),
    "regions": (list, type(None)),
    "functions": (bool, type(None)),
    "functions_worker_user": (str,),
    "functions_max_workers": (int,),
    "functions_nice": (int,),
    "functions_python": (str, type(None)),
    "public_endpoint": (str, type(None)),
    "replication": (dict,),
}


@dataclass(slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = None  # type: ignore[assignment]  # filled by __post_init__
    account_id: str = DEFAULT_ACCOUNT
    dev: bool = False
    database_url: str | None = None
    workers: int = 1
    #: Largest number of PostgreSQL connections per server process.
    database_pool_size: int = 10
    #: SQLite durability: NORMAL survives a process crash, FULL also power loss (an fsync per commit).
    sqlite_synchronous: str = "NORMAL"
    #: Seconds between purges of secrets whose recovery window has passed.
    purge_interval: float = 60.0
    #: Seconds between the replication relay's looks for changes to deliver to replicas.
    replication_interval: float = 0.05
    #: Seconds between the rotation scheduler's looks for rotations whose window has opened.
    rotation_schedule_interval: float = 60.0
    #: Attempts of a rotation run (each runs the function's steps from createSecret) before it fails.
    rotation_max_attempts: int = 5
    #: Seconds before a failed rotation attempt is retried, doubling with each attempt (jittered, at most 1 h).
    rotation_retry_seconds: float = 30.0
    #: Rotation runs at once per server process at most (the rest wait in the queue): bounds the
    #: CPU that rotations take from requests when many come due together (raise it for functions
    #: that mostly wait, on a database).
    rotation_concurrency: int = 1
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 1_048_576
    log_level: str = "info"
    #: Write the audit trail (one hash-chained JSON line per API call) under ``<data_dir>/audit``.
    audit: bool = True
    #: GetSecretValue reads each process keeps (emptied by any commit; 0 disables).
    read_cache_size: int = 10_000
    #: Reverse proxies (comma-separated IPs or networks, or "*") whose X-Forwarded-For and
    #: X-Forwarded-Proto are believed (aws:SourceIp, aws:SecureTransport); none by default.
    forwarded_allow_ips: str | None = None
    #: The regions this deployment serves (credential scopes naming another are refused); None:
    #: any well-formed region name (strongroom.regions).
    regions: list[str] | None = None
    #: The functions service (Lambda's API, rotation functions): on, off, or None (default): on in dev
    #: mode and when the server runs as root (functions then run as ``functions_worker_user``), off
    #: otherwise, where functions would run as the server's own user (docs/security.md, "Functions").
    functions: bool | None = None
    #: Who functions run as when the server runs as root (never root).
    functions_worker_user: str = "nobody"
    #: Function worker processes per server process at most (further invocations wait).
    functions_max_workers: int = 8
    #: The function workers' nice value (0-19; also their scheduling autogroup's on Linux): requests
    #: go first when the CPU is short.
    functions_nice: int = 10
    #: The functions' Python (the server's own by default); the worker user must be able to run it.
    functions_python: str | None = None
    #: This server's URL as functions reach it (their AWS_ENDPOINT_URL and SECRETS_MANAGER_ENDPOINT);
    #: None: http://<host>:<port> (a wildcard host becomes the loopback address).
    public_endpoint: str | None = None
    #: Peer deployments serving other regions (TOML only: ``[replication.peers."<region>"]``, see
    #: server/peer_config.py and docs/deployment.md, "Pairing two deployments").
    replication: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, kinds in _TYPES.items():
            value = getattr(self, name)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                expected = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
                raise ValueError(f"setting {name} must be {expected}, got {value!r}")
        if not isinstance(self.data_dir, str | Path | type(None)):
            raise ValueError(f"setting data_dir must be a path, got {self.data_dir!r}")
        self.data_dir = Path(self.data_dir) if self.data_dir else default_data_dir()
        if not (self.account_id.isdigit() and len(self.account_id) == 12):
            raise ValueError(f"account id must be 12 digits, got {self.account_id!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535, got {self.port}")
        for name in ("workers", "database_pool_size", "max_body_bytes", "functions_max_workers",
                     "rotation_concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"setting {name} must be at least 1")
        if not 0 <= self.functions_nice <= 19:
            raise ValueError("setting functions_nice must be 0-19")
        if self.read_cache_size < 0:
            raise ValueError("setting read_cache_size must be 0 or more")
        for name in ("purge_interval", "replication_interval", "rotation_schedule_interval", "rotation_retry_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"setting {name} must be positive")
        if not 1 <= self.rotation_max_attempts <= 100:
            raise ValueError("setting rotation_max_attempts must be 1-100")
        if self.regions is not None:
            try:
                AcceptedRegions(self.regions)
            except ValueError as exc:
                raise ValueError(f"setting regions: {exc}") from None
        if self.replication:
            from strongroom.server.peer_config import check_replication  # here: it imports SigV4

            check_replication(self.replication, self.regions)

    @classmethod
    def load(cls, file: Path | None = None, **overrides: Any) -> Config:
        """Defaults, then ``file`` (TOML, keys as the field names), then non-None ``overrides``."""
        values: dict[str, Any] = {}
        if file is not None:
            import tomllib  # only with a settings file (~30 ms of every start-up otherwise)

            with open(file, "rb") as handle:
                data = tomllib.load(handle)
            known = {f.name for f in fields(cls)}
            unknown = set(data) - known
            if unknown:
                raise ValueError(f"unknown settings in {file}: {', '.join(sorted(unknown))}")
            values.update(data)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def functions_enabled(self) -> bool:
        """Whether the functions service runs: as set, else in dev mode or when running as root."""
        if self.functions is not None:
            return self.functions
        return self.dev or os.geteuid() == 0

    def endpoint_url(self) -> str:
        """This server's URL for its own functions."""
        if self.public_endpoint:
            return self.public_endpoint
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)  # noqa: S104
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def peers(self) -> dict[str, Peer]:
        """The peer deployments, their key and credential files read (ValueError if one is unfit)."""
        from strongroom.server.peer_config import load_peers

        return load_peers(self.replication)

    def store_settings(self) -> StoreSettings:
        """What opening the store needs of this configuration."""
        return StoreSettings(
            database_url=self.database_url, sqlite_path=self.data_dir / SQLITE_FILE,
            pool_size=self.database_pool_size, synchronous=self.sqlite_synchronous,
            read_cache_size=self.read_cache_size,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["data_dir"] = str(self.data_dir)
        return data
