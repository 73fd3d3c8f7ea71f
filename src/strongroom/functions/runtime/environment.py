"""A worker's environment, built from nothing: never a variable of the server's own environment.

In order: a base the function may override (PATH, LANG; TMPDIR, the endpoint of this server and no
instance-metadata lookups), the function's own variables, then what Lambda defines itself (reserved,
so a function cannot set them: ``spec.check_environment``) and the role's credentials.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from strongroom.functions.runtime.constants import CREDENTIAL_VARIABLES
from strongroom.functions.runtime.spec import Credentials, FunctionSpec

PATH = "/usr/local/bin:/usr/bin:/bin"


def log_stream_name(version: str) -> str:
    """A new execution environment's stream, as Lambda names it: ``2024/01/31/[$LATEST]<32 hex digits>``."""
    return time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{version}]{uuid.uuid4().hex}"


def credential_variables(credentials: Credentials | None) -> dict[str, str]:
    if credentials is None:
        return {}
    values = (credentials.access_key_id, credentials.secret_access_key, credentials.session_token)
    return dict(zip(CREDENTIAL_VARIABLES, values, strict=True))


def worker_environment(spec: FunctionSpec, *, task_root: Path, runtime_dir: Path, tmp_dir: Path,
                       log_stream: str, credentials: Credentials | None, endpoint_url: str | None) -> dict[str, str]:
    environment = {"PATH": PATH, "LANG": "en_US.UTF-8", "TMPDIR": str(tmp_dir), "AWS_EC2_METADATA_DISABLED": "true"}
    if endpoint_url:
        environment.update(AWS_ENDPOINT_URL=endpoint_url, SECRETS_MANAGER_ENDPOINT=endpoint_url)
    environment.update(spec.environment)
    environment.update({
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
    })
    environment.update(credential_variables(credentials))
    return environment
