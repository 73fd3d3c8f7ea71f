"""What start-up imports: `strongroom serve` must answer in under a second (docs/benchmarks.md).

With several workers the supervisor only parses the configuration, checks the master key and
spawns the workers; the request machinery is imported by each worker, in parallel. These tests
pin which modules each stage may import, so an innocent-looking import cannot add a few hundred
milliseconds to start-up unnoticed.
"""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_supervisor_imports_no_request_machinery() -> None:
    loaded = _modules_after(
        "import strongroom.cli.main, strongroom.cli.serve, strongroom.cli.workers\n"
        "from strongroom.kms.master_key import load_master_key\n"
        "from strongroom.store.factory import check_database_url\n"
        "from strongroom.iam.admin_credentials import ADMIN_PROFILE, CREDENTIALS_FILE\n"
        "import strongroom.cli.serve as serve\n"
        "from strongroom.server.config import Config\n"
        "serve.banner(Config(dev=False))\n"
    )
    heavy = {"strongroom.server.app", "strongroom.server.api", "strongroom.iam.identities", "strongroom.iam.policy",
             "strongroom.sigv4.verifier", "strongroom.cli.iam", "strongroom.protocol.validation", "botocore", "boto3"}
    assert not heavy & loaded


def test_a_worker_imports_no_botocore() -> None:
    loaded = _modules_after(
        "import strongroom.server.build, strongroom.cli.main, strongroom.cli.serve\n"
        "from strongroom.protocol.validation import parse_input\n"
        "from strongroom.secrets.service import SERVICE\n"
        "parse_input(SERVICE, 'GetSecretValue', {'SecretId': 'x'})\n"
    )
    assert not {name for name in loaded if name.split(".")[0] in ("botocore", "boto3", "urllib3")}
    assert "strongroom.server.app" in loaded  # the import above did load the request path
