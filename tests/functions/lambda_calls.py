"""Lambda API calls to the in-process app, as boto3 makes them: botocore's rest-json serializer and
parser over botocore's own Lambda model, signed with SigV4 for the ``lambda`` service.

``app`` in a test module is the running app's :class:`test_app_protocol.Client`; ``call(app, "Invoke",
FunctionName=..., Payload=b"...")`` returns a :class:`Reply` with the parsed answer (``Error`` on a
failure), the status and the headers.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import botocore.session
from botocore.compat import HTTPHeaders
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))  # the in-process app's client
from test_app_protocol import CREDS, REGION, Client  # noqa: E402

from strongroom.sigv4 import Credentials, sign_headers  # noqa: E402

MODEL = botocore.session.get_session().get_service_model("lambda")
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/function-role"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    data: dict[str, Any]

    @property
    def error(self) -> tuple[str, str]:
        """(code, message) of an error answer."""
        error = self.data["Error"]
        return error["Code"], error["Message"]


async def call(app: Client, operation: str, credentials: Credentials = CREDS, region: str = REGION,
               **params: Any) -> Reply:
    operation_model = MODEL.operation_model(operation)
    request = create_serializer("rest-json", include_validation=False).serialize_to_request(params, operation_model)
    query = urlencode(request["query_string"], doseq=True)
    url = f"http://localhost:7420{request['url_path']}" + (f"?{query}" if query else "")
    body = request["body"] if isinstance(request["body"], bytes) else request["body"].encode()
    headers = {"host": "localhost:7420", **{k.lower(): str(v) for k, v in request["headers"].items()}}
    headers.update(sign_headers(request["method"], url, headers, body, credentials, region, "lambda", time.time()))
    wire = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    wire.append((b"content-length", str(len(body)).encode()))
    response = await app.raw(request["method"], request["url_path"], wire, [body], query.encode())
    parsed_headers = HTTPHeaders()
    for name, value in response.headers.items():
        parsed_headers[name] = value
    data = create_parser("rest-json").parse(
        {"status_code": response.status, "headers": parsed_headers, "body": response.body},
        operation_model.output_shape,
    )
    return Reply(response.status, response.headers, response.body, data)


def create_params(name: str, code: bytes, **overrides: Any) -> dict[str, Any]:
    """CreateFunction's parameters for ``app.handler`` in ``code`` (a zip: functions_support.make_zip)."""
    params: dict[str, Any] = {"FunctionName": name, "Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler",
                              "Code": {"ZipFile": code}}
    params.update(overrides)
    return params
