"""Where the client's settings come from: the shared AWS config and credentials files, the
environment, and the arguments, resolved in the order botocore uses (docs/client.md lists it).

- Profile: the ``profile`` argument, else ``AWS_PROFILE``, else ``AWS_DEFAULT_PROFILE``, else
  ``default``. Its keys come from the credentials file (``AWS_SHARED_CREDENTIALS_FILE`` or
  ``~/.aws/credentials``, section ``[name]``) and the config file (``AWS_CONFIG_FILE`` or
  ``~/.aws/config``, section ``[profile name]``, or ``[default]``).
- Region: argument, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's ``region``.
- Endpoint: argument, ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, ``AWS_ENDPOINT_URL``, the profile's
  ``services`` section (key ``secrets_manager``, ``endpoint_url``), the profile's ``endpoint_url``
  (the configured ones are skipped when ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true), else
  AWS's endpoint for the region.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from strongroom.client.errors import ConfigurationError

SERVICE_ENDPOINT_ENV = "AWS_ENDPOINT_URL_SECRETS_MANAGER"
SERVICE_CONFIG_KEY = "secrets_manager"  # botocore: the service id, hyphenized, "-" -> "_"
_MAX_CONFIG_BYTES = 1 << 20  # a shared config file larger than this is not a config file


@dataclass(frozen=True)
class Profile:
    """One profile's keys from the credentials file and from the config file, and the entries of
    the ``services`` section it names (service key -> its settings)."""

    name: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _read_ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:
        if path.is_file():
            if path.stat().st_size > _MAX_CONFIG_BYTES:
                raise ConfigurationError(f"{path} is larger than {_MAX_CONFIG_BYTES} bytes")
            parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Unable to parse config file: {path}: {exc}") from exc
    return parser


def _nested(value: str) -> dict[str, str]:
    """The ``key = value`` lines of a nested setting (a services entry), as botocore reads them."""
    out = {}
    for line in value.splitlines():
        key, sep, val = line.partition("=")
        if sep:
            out[key.strip()] = val.strip()
    return out


def _path(environ: Mapping[str, str], variable: str, default: str) -> Path:
    return Path(environ.get(variable) or default).expanduser()


def profile_name(explicit: str | None, environ: Mapping[str, str]) -> str:
    return explicit or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"


def load_profile(name: str, environ: Mapping[str, str], *, required: bool) -> Profile:
    """The profile ``name`` from the shared files; ``required``: a profile that was asked for by
    name must exist (``default`` may be absent, as botocore allows)."""
    creds_file = _read_ini(_path(environ, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"))
    config_file = _read_ini(_path(environ, "AWS_CONFIG_FILE", "~/.aws/config"))
    credentials = dict(creds_file.items(name)) if creds_file.has_section(name) else None
    section = f"profile {name}"
    if not config_file.has_section(section) and name == "default":
        section = "default"
    config = dict(config_file.items(section)) if config_file.has_section(section) else None
    if credentials is None and config is None and required and name != "default":
        raise ConfigurationError(f"The config profile ({name}) could not be found")
    services: dict[str, dict[str, str]] = {}
    services_name = (config or {}).get("services")
    if services_name:
        services_section = f"services {services_name}"
        if not config_file.has_section(services_section):
            raise ConfigurationError(
                f'The profile is configured to use the services section but the "{services_name}" '
                "services configuration does not exist."
            )
        services = {key: _nested(value) for key, value in config_file.items(services_section)}
    return Profile(name, credentials or {}, config or {}, services)


def resolve_region(explicit: str | None, environ: Mapping[str, str], profile: Profile) -> str:
    region = explicit or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or profile.config.get("region")
    if not region:
        raise ConfigurationError(
            "You must specify a region: region=..., AWS_REGION, AWS_DEFAULT_REGION or the profile's region"
        )
    return region


def default_endpoint(region: str) -> str:
    """AWS's public endpoint of Secrets Manager in ``region`` (the China partition's domain for cn-*)."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://secretsmanager.{region}.{domain}"


def resolve_endpoint(explicit: str | None, environ: Mapping[str, str], profile: Profile, region: str) -> str:
    candidates = [explicit]
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        candidates += [
            environ.get(SERVICE_ENDPOINT_ENV),
            environ.get("AWS_ENDPOINT_URL"),
            profile.services.get(SERVICE_CONFIG_KEY, {}).get("endpoint_url"),
            profile.config.get("endpoint_url"),
        ]
    url = next((c for c in candidates if c), None) or default_endpoint(region)
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"Invalid endpoint: {url} (it must start with http:// or https://)")
    return url.rstrip("/") + "/"
