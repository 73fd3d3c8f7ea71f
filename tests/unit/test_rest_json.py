"""The REST JSON adapter, with a small fake REST service registered beside the real ones (Lambda's
own routes would take the fake's paths, so it stands in for Lambda, switched off).

Requests are what botocore's rest-json serializer sends for the fake service's model (path
labels, greedy labels, query string, headers, a blob payload, a JSON body), signed for the
service's own signing name and answered through the whole app; answers and errors are read back
with botocore's rest-json parser.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.compat import HTTPHeaders
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from test_app_protocol import CREDS, REGION, Client, Response, with_app

from strongroom.errors import ResourceNotFoundException
from strongroom.protocol.rest_json import compile_route
from strongroom.server.registry import Registry, serving
from strongroom.service.context import RequestContext
from strongroom.service.descriptor import Operation, ServiceDescriptor
from strongroom.sigv4 import sign_headers

SIGNING_NAME = "fakefn"
MODEL: dict[str, Any] = {
    "version": "2.0",
    "metadata": {
        "apiVersion": "2015-03-31", "endpointPrefix": SIGNING_NAME, "protocol": "rest-json", "serviceId": "FakeFn",
        "signatureVersion": "v4", "signingName": SIGNING_NAME, "uid": "fakefn-2015-03-31",
    },
    "operations": {
        "Invoke": {
            "name": "Invoke",
            "http": {"method": "POST", "requestUri": "/2015-03-31/functions/{FunctionName}/invocations",
                     "responseCode": 200},
            "input": {"shape": "InvocationRequest"}, "output": {"shape": "InvocationResponse"},
            "errors": [{"shape": "ResourceNotFoundException"}],
        },
        "CreateFunction": {
            "name": "CreateFunction",
            "http": {"method": "POST", "requestUri": "/2015-03-31/functions", "responseCode": 201},
            "input": {"shape": "CreateFunctionRequest"}, "output": {"shape": "FunctionConfiguration"},
        },
        "GetFunction": {
            "name": "GetFunction",
            "http": {"method": "GET", "requestUri": "/2015-03-31/functions/{FunctionName}", "responseCode": 200},
            "input": {"shape": "GetFunctionRequest"}, "output": {"shape": "FunctionConfiguration"},
            "errors": [{"shape": "ResourceNotFoundException"}],
        },
        "GetFile": {
            "name": "GetFile",
            "http": {"method": "GET", "requestUri": "/files/{Key+}", "responseCode": 200},
            "input": {"shape": "GetFileRequest"}, "output": {"shape": "GetFileResponse"},
        },
    },
    "shapes": {
        "InvocationRequest": {
            "type": "structure", "required": ["FunctionName"], "payload": "Payload",
            "members": {
                "FunctionName": {"shape": "Name", "location": "uri", "locationName": "FunctionName"},
                "InvocationType": {"shape": "InvocationType", "location": "header",
                                   "locationName": "X-Amz-Invocation-Type"},
                "Qualifier": {"shape": "Name", "location": "querystring", "locationName": "Qualifier"},
                "Payload": {"shape": "Blob"},
            },
        },
        "InvocationResponse": {
            "type": "structure", "payload": "Payload",
            "members": {
                "StatusCode": {"shape": "Integer", "location": "statusCode"},
                "FunctionError": {"shape": "String", "location": "header", "locationName": "X-Amz-Function-Error"},
                "ExecutedVersion": {"shape": "String", "location": "header", "locationName": "X-Amz-Executed-Version"},
                "Payload": {"shape": "Blob"},
            },
        },
        "CreateFunctionRequest": {
            "type": "structure", "required": ["FunctionName"],
            "members": {"FunctionName": {"shape": "Name"}, "MemorySize": {"shape": "MemorySize"},
                        "Tags": {"shape": "Tags"}},
        },
        "GetFunctionRequest": {
            "type": "structure", "required": ["FunctionName"],
            "members": {"FunctionName": {"shape": "Name", "location": "uri", "locationName": "FunctionName"}},
        },
        "FunctionConfiguration": {
            "type": "structure",
            "members": {"FunctionName": {"shape": "Name"}, "MemorySize": {"shape": "MemorySize"},
                        "Tags": {"shape": "Tags"}},
        },
        "GetFileRequest": {
            "type": "structure", "required": ["Key"],
            "members": {
                "Key": {"shape": "String", "location": "uri", "locationName": "Key"},
                "MaxItems": {"shape": "Integer", "location": "querystring", "locationName": "max-items"},
                "Versions": {"shape": "Names", "location": "querystring", "locationName": "version"},
            },
        },
        "GetFileResponse": {
            "type": "structure",
            "members": {"Key": {"shape": "String"}, "MaxItems": {"shape": "Integer"}, "Versions": {"shape": "Names"}},
        },
        "ResourceNotFoundException": {
            "type": "structure", "members": {"Type": {"shape": "String"}, "Message": {"shape": "String"}},
            "error": {"httpStatusCode": 404, "senderFault": True}, "exception": True,
        },
        "Name": {"type": "string", "min": 1, "max": 64, "pattern": "[a-zA-Z0-9-_]+"},
        "Names": {"type": "list", "member": {"shape": "Name"}},
        "InvocationType": {"type": "string", "enum": ["Event", "RequestResponse", "DryRun"]},
        "MemorySize": {"type": "integer", "min": 128, "max": 10240},
        "Tags": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
        "Blob": {"type": "blob", "sensitive": True},
        "String": {"type": "string"},
        "Integer": {"type": "integer"},
    },
}


async def invoke(services: Any, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if params["FunctionName"] == "missing":
        raise ResourceNotFoundException(f"Function not found: {params['FunctionName']}")
    echoed = {"name": params["FunctionName"], "type": params.get("InvocationType"),
              "qualifier": params.get("Qualifier"), "payload": params.get("Payload", b"").decode()}
    return {"StatusCode": 202 if params.get("InvocationType") == "Event" else 200,
            "ExecutedVersion": "$LATEST", "Payload": json.dumps(echoed).encode()}  # fmt: skip


async def create_function(services: Any, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return dict(params)


async def get_function(services: Any, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if params["FunctionName"] == "missing":
        raise ResourceNotFoundException("Function not found")
    return {"FunctionName": params["FunctionName"], "MemorySize": 128}


async def get_file(services: Any, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return dict(params)


def fake_service(model_path: Path) -> ServiceDescriptor:
    handlers = {"Invoke": invoke, "CreateFunction": create_function, "GetFunction": get_function, "GetFile": get_file}
    operations = {}
    for name, handler in handlers.items():
        http = MODEL["operations"][name]["http"]
        operations[name] = Operation(name, handler, route=(http["method"], http["requestUri"]))
    return ServiceDescriptor(
        name="fakefn", signing_name=SIGNING_NAME, model=model_path, operations=operations, rest_prefix="/"
    )


def _botocore_model() -> ServiceModel:
    return ServiceModel(MODEL, service_name=SIGNING_NAME)


async def _send(client: Client, operation: str, params: dict[str, Any], service: str = SIGNING_NAME) -> Response:
    request = create_serializer("rest-json", include_validation=False).serialize_to_request(
        params, _botocore_model().operation_model(operation))
    query = urlencode(request["query_string"], doseq=True)
    url = f"http://localhost:7420{request['url_path']}" + (f"?{query}" if query else "")
    body = request["body"] if isinstance(request["body"], bytes) else request["body"].encode()
    headers = {"host": "localhost:7420", **{k.lower(): v for k, v in request["headers"].items()}}
    headers.update(sign_headers(request["method"], url, headers, body, CREDS, REGION, service, time.time()))
    wire = [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
    wire.append((b"content-length", str(len(body)).encode()))
    return await client.raw(request["method"], request["url_path"], wire, [body], query.encode())


def _parse(operation: str, response: Response) -> dict[str, Any]:
    headers = HTTPHeaders()  # case-insensitive, as botocore reads them
    for name, value in response.headers.items():
        headers[name] = value
    parsed: dict[str, Any] = create_parser("rest-json").parse(
        {"status_code": response.status, "headers": headers, "body": response.body},
        _botocore_model().operation_model(operation).output_shape,
    )
    return parsed


def run(tmp_path: Path, body: Any) -> None:
    model_path = tmp_path / "fakefn-2015-03-31.json"
    model_path.write_text(json.dumps(MODEL))
    with_app(tmp_path, body, Registry.of([*serving(functions=False), fake_service(model_path)]))


def test_labels_headers_query_and_a_blob_payload(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        params = {"FunctionName": "my-fn", "InvocationType": "Event", "Qualifier": "v2", "Payload": b'{"k": "v"}'}
        response = await _send(client, "Invoke", params)
        assert response.status == 202  # the statusCode member
        parsed = _parse("Invoke", response)
        assert parsed["ExecutedVersion"] == "$LATEST"
        assert json.loads(parsed["Payload"]) == {"name": "my-fn", "type": "Event", "qualifier": "v2",
                                                 "payload": '{"k": "v"}'}  # fmt: skip

    run(tmp_path, body)


def test_json_body_and_the_models_response_code(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        params = {"FunctionName": "fn", "MemorySize": 256, "Tags": {"team": "blue"}}
        response = await _send(client, "CreateFunction", params)
        assert response.status == 201
        assert response.headers["content-type"] == "application/json"
        assert {k: v for k, v in _parse("CreateFunction", response).items() if k != "ResponseMetadata"} == params

    run(tmp_path, body)


def test_greedy_labels_and_repeated_query_keys(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        params = {"Key": "a/b c/d.txt", "MaxItems": 5, "Versions": ["v1", "v2"]}
        response = await _send(client, "GetFile", params)
        assert response.status == 200, response.body
        assert {k: v for k, v in _parse("GetFile", response).items() if k != "ResponseMetadata"} == params

    run(tmp_path, body)


def test_errors_carry_the_error_type_header_and_the_shapes_status(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        missing = await _send(client, "GetFunction", {"FunctionName": "missing"})
        assert missing.status == 404
        assert missing.headers["x-amzn-errortype"] == "ResourceNotFoundException"
        assert json.loads(missing.body) == {"Type": "User", "Message": "Function not found"}
        error = _parse("GetFunction", missing)["Error"]
        assert (error["Code"], error["Message"]) == ("ResourceNotFoundException", "Function not found")
        # validation from the service's model; an error type the model lacks keeps its own status
        invalid = await _send(client, "CreateFunction", {"FunctionName": "fn", "MemorySize": 1})
        assert invalid.status == 400
        assert _parse("CreateFunction", invalid)["Error"] == {
            "Code": "ValidationException",
            "Message": "1 validation error detected: Value '1' at 'memorySize' failed to satisfy constraint: "
            "Member must have value greater than or equal to 128",
        }

    run(tmp_path, body)


def test_requests_are_authenticated_for_the_services_signing_name(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        wrong = await _send(client, "GetFunction", {"FunctionName": "fn"}, service="secretsmanager")
        assert wrong.status == 400
        assert wrong.headers["x-amzn-errortype"] == "InvalidSignatureException"

    run(tmp_path, body)


def test_a_path_no_route_takes_is_an_unknown_operation(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        response = await client.raw("GET", "/2015-03-31/nothing-here", [(b"host", b"localhost")], [])
        assert response.status == 400
        assert response.headers["content-type"] == "application/x-amz-json-1.1"
        assert response.json() == {"__type": "UnknownOperationException", "Message": ""}
        # the right path with another method is no route either
        response = await client.raw("DELETE", "/2015-03-31/functions/fn", [(b"host", b"localhost")], [])
        assert response.json()["__type"] == "UnknownOperationException"

    run(tmp_path, body)


@pytest.mark.parametrize(
    ("template", "path", "labels"),
    [
        ("/2015-03-31/functions/{FunctionName}", "/2015-03-31/functions/f%3A1", {"FunctionName": "f%3A1"}),
        ("/files/{Key+}", "/files/a/b/c", {"Key": "a/b/c"}),
        ("/2015-03-31/functions/{FunctionName}/invocations", "/2015-03-31/functions/x/y/invocations", None),
        ("/2015-03-31/functions/{FunctionName}", "/2015-03-31/functions/", None),
    ],
)
def test_route_templates(template: str, path: str, labels: dict[str, str] | None) -> None:
    route = compile_route("GET", template, None)  # type: ignore[arg-type]
    match = route.path.match(path)
    assert (match.groupdict() if match else None) == labels


def test_routes_must_lie_under_the_services_prefix(tmp_path: Path) -> None:
    service = fake_service(tmp_path / "model.json")
    with pytest.raises(ValueError, match="outside /2015-03-31/"):
        # GetFile: /files/...
        Registry.of([*serving(functions=False), dataclasses.replace(service, rest_prefix="/2015-03-31/")])


def test_specific_routes_win_over_greedy_ones() -> None:
    literal = compile_route("GET", "/files/index", None)  # type: ignore[arg-type]
    label = compile_route("GET", "/files/{Name}", None)  # type: ignore[arg-type]
    greedy = compile_route("GET", "/files/{Key+}", None)  # type: ignore[arg-type]
    assert sorted([greedy, label, literal], key=lambda r: r.rank) == [literal, label, greedy]
    required = compile_route("GET", "/{Bucket}?versions", None)  # type: ignore[arg-type]
    assert required.query == (("versions", None),)
