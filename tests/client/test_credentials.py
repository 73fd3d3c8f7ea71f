"""The credential chain, region and endpoint resolution, each case with temporary files and environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from strongroom.client import (
    AsyncSecretsManager,
    ConfigurationError,
    CredentialProcessError,
    NoCredentialsError,
)
from strongroom.client.config import load_profile
from strongroom.client.credentials import ProcessCredentials
from strongroom.sigv4 import Credentials


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """An environment whose shared files live in tmp_path (empty until a test writes them)."""
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_REGION": "us-east-1",
    }


def creds_of(environ: dict[str, str], **kwargs: Any) -> Credentials:
    return AsyncSecretsManager(environ=environ, **kwargs)._core.credentials.get()


def test_arguments_win_over_everything(files: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "credentials", "[default]\naws_access_key_id = FILE\naws_secret_access_key = f\n")
    env = {**files, "AWS_ACCESS_KEY_ID": "ENV", "AWS_SECRET_ACCESS_KEY": "e"}
    assert creds_of(env, access_key_id="ARG", secret_access_key="a", session_token="t") == Credentials("ARG", "a", "t")


def test_environment_then_shared_credentials_file(files: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "credentials", "[default]\naws_access_key_id = FILE\naws_secret_access_key = f\n")
    env = {**files, "AWS_ACCESS_KEY_ID": "ENV", "AWS_SECRET_ACCESS_KEY": "e", "AWS_SESSION_TOKEN": "tok"}
    assert creds_of(env) == Credentials("ENV", "e", "tok")
    assert creds_of(files) == Credentials("FILE", "f")


def test_profile_argument_skips_the_environment_but_aws_profile_does_not(files: dict[str, str], tmp_path: Path) -> None:
    write(
        tmp_path / "credentials", "[dev]\naws_access_key_id = DEV\naws_secret_access_key = d\naws_session_token = s\n"
    )
    env = {**files, "AWS_ACCESS_KEY_ID": "ENV", "AWS_SECRET_ACCESS_KEY": "e"}
    assert creds_of(env, profile="dev") == Credentials("DEV", "d", "s")
    assert creds_of({**env, "AWS_PROFILE": "dev"}) == Credentials("ENV", "e")
    assert creds_of({**files, "AWS_PROFILE": "dev"}) == Credentials("DEV", "d", "s")


def test_config_file_profiles_and_precedence(files: dict[str, str], tmp_path: Path) -> None:
    write(
        tmp_path / "config",
        "[default]\nregion = eu-central-1\naws_access_key_id = CFGDEF\naws_secret_access_key = c\n"
        "[profile ops]\nregion = ap-south-1\naws_access_key_id = CFGOPS\naws_secret_access_key = o\n",
    )
    env = {k: v for k, v in files.items() if k != "AWS_REGION"}
    sm = AsyncSecretsManager(environ=env)
    assert sm.region == "eu-central-1" and sm._core.credentials.get() == Credentials("CFGDEF", "c")
    assert creds_of(env, profile="ops") == Credentials("CFGOPS", "o")
    write(tmp_path / "credentials", "[ops]\naws_access_key_id = FILEOPS\naws_secret_access_key = f\n")
    assert creds_of(env, profile="ops") == Credentials("FILEOPS", "f")  # credentials file before config file


def test_missing_or_partial_credentials_are_clear_errors(files: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(NoCredentialsError, match="Unable to locate credentials"):
        AsyncSecretsManager(environ=files)
    with pytest.raises(ConfigurationError, match="missing: AWS_SECRET_ACCESS_KEY"):
        AsyncSecretsManager(environ={**files, "AWS_ACCESS_KEY_ID": "A"})
    with pytest.raises(ConfigurationError, match=r"The config profile \(nope\) could not be found"):
        AsyncSecretsManager(environ=files, profile="nope")


PROCESS = """
import json, pathlib, sys
counter = pathlib.Path(sys.argv[1]); n = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(n))
print(json.dumps({"Version": 1, "AccessKeyId": f"PROC{n}", "SecretAccessKey": "p", "SessionToken": "t",
                  "Expiration": sys.argv[2]}))
"""


def test_credential_process_from_a_profile(files: dict[str, str], tmp_path: Path) -> None:
    script = write(tmp_path / "proc.py", PROCESS)
    command = f"{sys.executable} {script} {tmp_path / 'n'} 2999-01-01T00:00:00Z"
    write(tmp_path / "config", f"[profile proc]\ncredential_process = {command}\n")
    assert creds_of(files, profile="proc") == Credentials("PROC1", "p", "t")


def test_credential_process_is_run_again_before_expiry(tmp_path: Path) -> None:
    script = write(tmp_path / "proc.py", PROCESS)
    now = [1_800_000_000.0]  # 2027-01-15T08:00:00Z
    command = f"{sys.executable} {script} {tmp_path / 'n'} 2027-01-15T09:00:00Z"
    provider = ProcessCredentials(command, clock=lambda: now[0])
    assert provider.fresh() is None  # nothing loaded yet
    assert provider.get().access_key_id == "PROC1"
    assert provider.fresh() is not None and provider.get().access_key_id == "PROC1"  # 60 min left: fresh
    now[0] += 46 * 60  # 14 min left: inside the 15-minute advisory window
    assert provider.fresh() is None
    assert provider.get().access_key_id == "PROC2"


def test_credential_process_failures(tmp_path: Path) -> None:
    def runner(stdout: bytes, code: int = 0) -> Any:
        return lambda argv: subprocess.CompletedProcess(argv, code, stdout, b"boom")

    cases = [
        (runner(b"", 3), "exited with 3: boom"),
        (runner(b"not json"), "did not print JSON"),
        (runner(json.dumps({"Version": 2}).encode()), "Unsupported version '2'"),
        (runner(json.dumps({"Version": 1, "AccessKeyId": "A"}).encode()), "Missing required key"),
    ]
    for run, message in cases:
        with pytest.raises(CredentialProcessError, match=message):
            ProcessCredentials("tool", run=run).get()


def test_region_resolution_order(files: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "config", "[default]\nregion = from-profile\n")
    base = {k: v for k, v in files.items() if k != "AWS_REGION"}
    base.update(AWS_ACCESS_KEY_ID="A", AWS_SECRET_ACCESS_KEY="s")
    assert AsyncSecretsManager(environ=base).region == "from-profile"
    assert AsyncSecretsManager(environ={**base, "AWS_DEFAULT_REGION": "default-env"}).region == "default-env"
    env = {**base, "AWS_DEFAULT_REGION": "default-env", "AWS_REGION": "region-env"}
    assert AsyncSecretsManager(environ=env).region == "region-env"
    assert AsyncSecretsManager(environ=env, region="arg").region == "arg"
    (tmp_path / "config").unlink()
    with pytest.raises(ConfigurationError, match="You must specify a region"):
        AsyncSecretsManager(environ=base)


def test_endpoint_resolution_order(files: dict[str, str], tmp_path: Path) -> None:
    base = {**files, "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s"}
    assert AsyncSecretsManager(environ=base).endpoint_url == "https://secretsmanager.us-east-1.amazonaws.com/"
    assert AsyncSecretsManager(environ=base, region="cn-north-1").endpoint_url == (
        "https://secretsmanager.cn-north-1.amazonaws.com.cn/"
    )
    write(
        tmp_path / "config",
        "[default]\nendpoint_url = http://profile-global\nservices = local\n"
        "[services local]\nsecrets_manager =\n  endpoint_url = http://profile-service:1\n",
    )
    assert AsyncSecretsManager(environ=base).endpoint_url == "http://profile-service:1/"
    assert AsyncSecretsManager(environ={**base, "AWS_ENDPOINT_URL": "http://global-env"}).endpoint_url == (
        "http://global-env/"
    )
    env = {**base, "AWS_ENDPOINT_URL": "http://global-env", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://service-env"}
    assert AsyncSecretsManager(environ=env).endpoint_url == "http://service-env/"
    assert AsyncSecretsManager(environ=env, endpoint_url="http://arg:7420").endpoint_url == "http://arg:7420/"
    ignored = {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    assert AsyncSecretsManager(environ=ignored).endpoint_url == "https://secretsmanager.us-east-1.amazonaws.com/"
    write(tmp_path / "config", "[default]\nendpoint_url = http://profile-global\n")
    assert AsyncSecretsManager(environ=base).endpoint_url == "http://profile-global/"


def test_a_services_section_that_does_not_exist_is_an_error(files: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "config", "[default]\nservices = missing\n")
    with pytest.raises(ConfigurationError, match='"missing" services configuration does not exist'):
        load_profile("default", files, required=False)
