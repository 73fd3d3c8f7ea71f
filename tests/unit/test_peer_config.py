"""The ``replication.peers`` setting: its shape is checked at load, its secret files (0600) at build."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from strongroom.server.config import Config


def private(path: Path, text: str, mode: int = 0o600) -> str:
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


def files(tmp_path: Path) -> dict[str, str]:
    return {
        "transfer_key_file": private(tmp_path / "transfer.key", base64.b64encode(os.urandom(32)).decode() + "\n"),
        "secret_access_key_file": private(tmp_path / "peer.secret", "the-secret\n"),
    }


def config(tmp_path: Path, **peer: Any) -> Config:
    return Config(data_dir=tmp_path, replication={"peers": {"eu-west-1": peer}})


def test_a_sending_peer_is_read_with_its_files(tmp_path: Path) -> None:
    f = files(tmp_path)
    peers = config(tmp_path, endpoint="https://eu.example:7420/", access_key_id="AKIDEU", **f).peers()
    peer = peers["eu-west-1"]
    assert peer.endpoint == "https://eu.example:7420" and peer.sends_to
    assert peer.credentials is not None and peer.credentials.secret_access_key == "the-secret"
    assert len(peer.transfer_key) == 32
    assert "the-secret" not in repr(peer) and "the-secret" not in repr(peer.credentials)


def test_a_receiving_peer_needs_only_the_transfer_key(tmp_path: Path) -> None:
    peer = config(tmp_path, transfer_key_file=files(tmp_path)["transfer_key_file"]).peers()["eu-west-1"]
    assert not peer.sends_to and peer.endpoint is None


def test_loading_from_toml(tmp_path: Path) -> None:
    f = files(tmp_path)
    toml = tmp_path / "strongroom.toml"
    toml.write_text(
        '[replication.peers."eu-west-1"]\nendpoint = "http://127.0.0.1:7421"\naccess_key_id = "AKIDEU"\n'
        f'secret_access_key_file = "{f["secret_access_key_file"]}"\ntransfer_key_file = "{f["transfer_key_file"]}"\n'
    )
    assert Config.load(toml, data_dir=tmp_path).peers()["eu-west-1"].endpoint == "http://127.0.0.1:7421"


@pytest.mark.parametrize(("replication", "message"), [
    ({"peer": {}}, "unknown settings in replication: peer"),
    ({"peers": {"EU": {"transfer_key_file": "k"}}}, "not a region name"),
    ({"peers": {"eu-west-1": {}}}, "transfer_key_file is required"),
    ({"peers": {"eu-west-1": {"transfer_key_file": "k", "colour": "red"}}}, "unknown settings in"),
    ({"peers": {"eu-west-1": {"transfer_key_file": "k", "endpoint": "ftp://x"}}}, "must be http(s)://host[:port]"),
    ({"peers": {"eu-west-1": {"transfer_key_file": "k", "endpoint": "http://x"}}}, "needs access_key_id"),
    ({"peers": {"eu-west-1": {"transfer_key_file": "k", "access_key_id": "A"}}}, "need an endpoint"),
    ({"peers": {"eu-west-1": {"transfer_key_file": "k", "endpoint": "http://x", "ca_file": "c", "access_key_id": "A",
                              "secret_access_key_file": "s"}}}, "ca_file needs an https endpoint"),
    ({"peers": {"eu-west-1": {"transfer_key_file": 3}}}, "must be a non-empty string"),
])  # fmt: skip
def test_malformed_settings_are_refused_at_load(tmp_path: Path, replication: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Config(data_dir=tmp_path, replication=replication)


def test_a_region_this_deployment_serves_cannot_be_a_peers(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a peer serves it"):
        Config(data_dir=tmp_path, regions=["us-east-1", "eu-west-1"],
               replication={"peers": {"eu-west-1": {"transfer_key_file": "k"}}})


def test_secret_files_must_be_private_and_well_formed(tmp_path: Path) -> None:
    f = files(tmp_path)
    os.chmod(f["secret_access_key_file"], 0o644)
    with pytest.raises(ValueError, match=r"readable by its owner only \(chmod 600\)"):
        config(tmp_path, endpoint="http://x", access_key_id="A", **f).peers()
    short = private(tmp_path / "short.key", base64.b64encode(b"0" * 16).decode())
    with pytest.raises(ValueError, match="32 random bytes in base64"):
        config(tmp_path, transfer_key_file=short).peers()
    with pytest.raises(ValueError, match="cannot read"):
        config(tmp_path, transfer_key_file=str(tmp_path / "missing")).peers()


def test_serve_refuses_an_unfit_file_with_a_message(tmp_path: Path) -> None:
    key = private(tmp_path / "transfer.key", base64.b64encode(os.urandom(32)).decode(), mode=0o644)
    config = tmp_path / "strongroom.toml"
    config.write_text(f'[replication.peers."eu-west-1"]\ntransfer_key_file = "{key}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "serve", "--dev", "--port", "0", "--data-dir", str(tmp_path / "data"),
         "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"transfer_key_file: {key} must be readable by its owner only (chmod 600)" in done.stderr
