"""The credential chain, in botocore's order for the sources it covers:

1. the ``access_key_id`` / ``secret_access_key`` / ``session_token`` arguments;
2. the environment: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` (or
   ``AWS_SECURITY_TOKEN``); skipped when a profile is passed as an argument, as botocore does;
3. the profile's keys in the shared credentials file;
4. the profile's ``credential_process`` (JSON ``Version`` 1 with ``AccessKeyId``,
   ``SecretAccessKey``, optional ``SessionToken`` and ``Expiration``), run again before expiry;
5. the profile's keys in the config file.

Nothing found is :class:`NoCredentialsError`. A provider hands out the current credentials
without blocking while they are fresh (:meth:`fresh`); :meth:`get` may run the process.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from strongroom.client.config import Profile
from strongroom.client.errors import ConfigurationError, CredentialProcessError, NoCredentialsError
from strongroom.sigv4 import Credentials

logger = logging.getLogger(__name__)

#: botocore's RefreshableCredentials windows: refresh when fewer than 15 minutes are left, and do not
#: use credentials with fewer than 10 minutes left (a failed refresh then is an error).
ADVISORY_REFRESH_S = 15 * 60
MANDATORY_REFRESH_S = 10 * 60
PROCESS_TIMEOUT_S = 60.0
_MAX_PROCESS_OUTPUT = 64 * 1024


class CredentialProvider(Protocol):
    """Where a client gets the credentials of each request."""

    #: Which source of the chain they came from (``arguments``, ``environment``, ...).
    method: str

    def fresh(self) -> Credentials | None:
        """The current credentials if they need no refresh; never blocks."""

    def get(self) -> Credentials:
        """The current credentials, refreshed first if needed (may run a process)."""


class StaticCredentials:
    """Credentials that never change (arguments, environment, shared files)."""

    def __init__(self, credentials: Credentials, method: str) -> None:
        self._credentials = credentials
        self.method = method

    def fresh(self) -> Credentials:
        return self._credentials

    def get(self) -> Credentials:
        return self._credentials


Runner = Callable[[list[str]], "subprocess.CompletedProcess[bytes]"]


def _run(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, capture_output=True, timeout=PROCESS_TIMEOUT_S, check=False)


class ProcessCredentials:
    """Credentials printed by a profile's ``credential_process``; run on first use and again when
    fewer than 15 minutes of their ``Expiration`` are left. A failed refresh keeps the current
    credentials until 10 minutes before they expire, then raises."""

    method = "credential_process"

    def __init__(self, command: str, run: Runner = _run, clock: Callable[[], float] = time.time) -> None:
        self._argv = shlex.split(command)
        self._run = run
        self._clock = clock
        self._lock = threading.Lock()
        self._credentials: Credentials | None = None
        self._expires: float | None = None

    def _left(self) -> float:
        return float("inf") if self._expires is None else self._expires - self._clock()

    def fresh(self) -> Credentials | None:
        return self._credentials if self._credentials is not None and self._left() > ADVISORY_REFRESH_S else None

    def get(self) -> Credentials:
        with self._lock:
            if self._credentials is None or self._left() <= ADVISORY_REFRESH_S:
                try:
                    self._credentials, self._expires = self._load()
                except CredentialProcessError:
                    if self._credentials is None or self._left() <= MANDATORY_REFRESH_S:
                        raise
                    logger.warning("credential_process failed; using the current credentials until they expire")
            return self._credentials

    def _load(self) -> tuple[Credentials, float | None]:
        try:
            done = self._run(self._argv)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CredentialProcessError(f"credential_process {self._argv[0]!r} could not run: {exc}") from exc
        if done.returncode != 0:
            stderr = done.stderr[:500].decode("utf-8", "replace").strip()
            raise CredentialProcessError(f"credential_process exited with {done.returncode}: {stderr}")
        if len(done.stdout) > _MAX_PROCESS_OUTPUT:
            raise CredentialProcessError("credential_process printed more than 64 KiB")
        try:
            parsed = json.loads(done.stdout)
        except ValueError as exc:
            raise CredentialProcessError("credential_process did not print JSON") from exc
        if not isinstance(parsed, dict) or parsed.get("Version") != 1:
            version = parsed.get("Version", "<Version key not provided>") if isinstance(parsed, dict) else None
            raise CredentialProcessError(
                f"Unsupported version '{version}' for credential process provider, supported versions: 1"
            )
        try:
            credentials = Credentials(parsed["AccessKeyId"], parsed["SecretAccessKey"], parsed.get("SessionToken"))
        except KeyError as exc:
            raise CredentialProcessError(f"Missing required key in response: {exc}") from exc
        expiration = parsed.get("Expiration")
        try:
            expires = datetime.fromisoformat(expiration).timestamp() if expiration else None
        except (TypeError, ValueError) as exc:
            raise CredentialProcessError(f"credential_process printed an invalid Expiration: {expiration!r}") from exc
        return credentials, expires


def _static(keys: Mapping[str, str | None], names: tuple[str, str, str, str], method: str) -> StaticCredentials | None:
    """Static credentials from ``keys`` (access key, secret, token, alternate token names), or None
    when neither key is there; only one of the two is an error, as in botocore."""
    access_key, secret_key, token, legacy_token = (keys.get(name) for name in names)
    if not access_key and not secret_key:
        return None
    if not access_key or not secret_key:
        missing = names[1] if access_key else names[0]
        raise ConfigurationError(f"Partial credentials found in {method}, missing: {missing}")
    return StaticCredentials(Credentials(access_key, secret_key, token or legacy_token or None), method)


_ARGUMENTS = ("access_key_id", "secret_access_key", "session_token", "session_token")
_ENVIRONMENT = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_FILE_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token")


def resolve_credentials(
    arguments: Mapping[str, str | None],
    environ: Mapping[str, str],
    profile: Profile,
    profile_explicit: bool,
) -> CredentialProvider:
    """The first source of the chain that has credentials (see the module docstring)."""
    found = _static(arguments, _ARGUMENTS, "arguments")
    if found is None and not profile_explicit:
        found = _static(environ, _ENVIRONMENT, "environment")
    if found is None:
        found = _static(profile.credentials, _FILE_KEYS, "shared-credentials-file")
    if found is not None:
        return found
    command = profile.credentials.get("credential_process") or profile.config.get("credential_process")
    if command:
        return ProcessCredentials(command)
    found = _static(profile.config, _FILE_KEYS, "config-file")
    if found is None:
        raise NoCredentialsError(
            "Unable to locate credentials: pass access_key_id and secret_access_key, set AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY, or configure profile {profile.name!r} in the shared credentials or config file"
        )
    return found
