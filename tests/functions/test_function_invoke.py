"""Invocations that end normally or with an error of the function: payloads, context, log tail."""

from __future__ import annotations

import json
import re

import pytest
from functions_support import Function, Runner, answer, error, function, handler_zip, invoke

from strongroom.functions.runtime import EventTooLargeError, Runtime
from strongroom.functions.runtime.constants import MAX_EVENT_BYTES, MAX_RESPONSE_BYTES

KITCHEN = handler_zip("kitchen")


@pytest.fixture(scope="module")
def kitchen() -> Function:
    """One function whose warm worker serves every test of this module."""
    return function(KITCHEN, "kitchen.handler", timeout=30)


def test_the_event_reaches_the_handler_and_its_json_result_comes_back(run: Runner, runtime: Runtime,
                                                                    kitchen: Function) -> None:
    event = {"text": "héllo", "numbers": [1, 2.5, None], "nested": {"ok": True}}
    result = run(invoke(runtime, kitchen, event))
    assert answer(result)["event"] == event
    assert result.executed_version == "$LATEST"
    assert result.log_tail is None and result.duration_ms > 0
    assert result.payload.startswith('{"event": {"text": "héllo"'.encode())  # json.dumps's separators, as Lambda's


def test_non_ascii_is_escaped_except_on_python3_12_as_lambdas_runtime_does(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler", runtime="python3.13")
    assert run(invoke(runtime, fn, {"text": "héllo"})).payload.startswith(b'{"event": {"text": "h\\u00e9llo"}')


def test_the_context_has_lambdas_attributes_and_the_remaining_time_decreases(run: Runner, runtime: Runtime,
                                                                             kitchen: Function) -> None:
    result = answer(run(invoke(runtime, kitchen, {"do": "context"}, request_id="req-ctx-1")))
    spec = kitchen.spec
    assert result["function_name"] == spec.name and result["function_version"] == "$LATEST"
    assert result["invoked_function_arn"] == spec.arn
    assert result["memory_limit_in_mb"] == "128"  # a string, as in Lambda's Python runtime
    assert result["aws_request_id"] == "req-ctx-1"
    assert result["log_group_name"] == f"/aws/lambda/{spec.name}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", result["log_stream_name"])
    first, second = result["remaining"]
    assert 30_000 >= first > second > 0


def test_the_invoked_arn_is_the_one_the_caller_used(run: Runner, runtime: Runtime, kitchen: Function) -> None:
    qualified = f"{kitchen.spec.arn}:live"
    result = answer(run(invoke(runtime, kitchen, {"do": "context", "pause": 0}, invoked_function_arn=qualified)))
    assert result["invoked_function_arn"] == qualified


def test_an_exception_becomes_lambdas_unhandled_error_payload(run: Runner, runtime: Runtime,
                                                             kitchen: Function) -> None:
    result = run(invoke(runtime, kitchen, {"do": "fail", "message": "no such user"}, request_id="req-fail"))
    payload = error(result)
    assert list(payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert payload["errorMessage"] == "no such user" and payload["errorType"] == "ValueError"
    assert payload["requestId"] == "req-fail"
    assert len(payload["stackTrace"]) == 2  # the function's frames only, not the worker's
    assert payload["stackTrace"][-1].endswith('in fail\n    raise ValueError(event.get("message", "boom"))\n')
    assert answer(run(invoke(runtime, kitchen)))["event"] == {}  # the worker stays warm


def test_a_result_that_is_not_json_is_a_marshal_error(run: Runner, runtime: Runtime, kitchen: Function) -> None:
    payload = error(run(invoke(runtime, kitchen, {"do": "unserializable"}, request_id="req-m")))
    assert payload == {"errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
                       "errorType": "Runtime.MarshalError", "requestId": "req-m", "stackTrace": []}


def test_an_event_that_is_not_json_is_an_unmarshal_error(run: Runner, runtime: Runtime, kitchen: Function) -> None:
    payload = error(run(invoke(runtime, kitchen, b"{not json", request_id="req-u")))
    assert payload["errorType"] == "Runtime.UnmarshalError"
    assert payload["errorMessage"].startswith("Unable to unmarshal input: Expecting property name")


def test_decimals_and_bytes_are_returned_as_lambda_returns_them(run: Runner, runtime: Runtime,
                                                               kitchen: Function) -> None:
    assert run(invoke(runtime, kitchen, {"do": "decimal"})).payload == b'{"half": 1.5, "ten": 10}'
    assert run(invoke(runtime, kitchen, {"do": "bytes"})).payload == b"raw \x00 bytes"


def test_a_response_over_6_mb_is_function_response_size_too_large(run: Runner, runtime: Runtime,
                                                                  kitchen: Function) -> None:
    fits = run(invoke(runtime, kitchen, {"do": "large", "size": MAX_RESPONSE_BYTES - 2}))
    assert len(fits.payload) == MAX_RESPONSE_BYTES and fits.function_error is None
    payload = error(run(invoke(runtime, kitchen, {"do": "large", "size": MAX_RESPONSE_BYTES})))
    assert payload == {"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                       "errorType": "Function.ResponseSizeTooLarge"}
    assert answer(run(invoke(runtime, kitchen)))["event"] == {}  # read and discarded: the channel stays in step


def test_an_event_of_6_mb_reaches_the_function(run: Runner, runtime: Runtime, kitchen: Function) -> None:
    padding = "x" * (MAX_EVENT_BYTES - len('{"do": "context", "pause": 0, "padding": ""}'))
    event = json.dumps({"do": "context", "pause": 0, "padding": padding}).encode()
    assert len(event) == MAX_EVENT_BYTES
    assert answer(run(invoke(runtime, kitchen, event, request_id="req-6mb")))["aws_request_id"] == "req-6mb"


def test_an_event_over_6_mb_is_refused_before_any_worker_sees_it(run: Runner, runtime: Runtime,
                                                                  kitchen: Function) -> None:
    with pytest.raises(EventTooLargeError) as refused:
        run(invoke(runtime, kitchen, b'"' + b"x" * MAX_EVENT_BYTES + b'"'))
    assert refused.value.limit == 6_291_456


def test_the_log_tail_has_lambdas_lines_the_output_and_the_logging_format(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler")
    cold = run(invoke(runtime, fn, {"do": "log"}, request_id="req-log-1", log_tail=True)).log_tail
    warm = run(invoke(runtime, fn, {"do": "log"}, request_id="req-log-2", log_tail=True)).log_tail
    assert cold is not None and warm is not None
    lines = cold.decode().split("\n")
    assert lines[0] == "kitchen: module imported"  # the init's output precedes START on a cold start
    assert lines[1] == "START RequestId: req-log-1 Version: $LATEST"
    assert lines[2] == "printed line"
    assert re.fullmatch(r"\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-log-1\twarned 1", lines[3])
    assert lines[4] == "to stderr"
    assert lines[5] == "END RequestId: req-log-1"
    assert re.fullmatch(r"REPORT RequestId: req-log-1\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                        r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t", lines[6])
    assert warm.decode().startswith("START RequestId: req-log-2 Version: $LATEST\nprinted line\n")
    assert "Init Duration" not in warm.decode()


def test_an_error_is_logged_as_lambdas_python_runtime_logs_it(run: Runner, runtime: Runtime,
                                                             kitchen: Function) -> None:
    tail = run(invoke(runtime, kitchen, {"do": "fail"}, request_id="req-e", log_tail=True)).log_tail
    assert tail is not None
    record = tail.decode().split("\n")[1]
    assert record.startswith("[ERROR] ValueError: boom\rTraceback (most recent call last):\r\u00a0\u00a0File ")
    assert record.endswith('\r\u00a0\u00a0\u00a0\u00a0raise ValueError(event.get("message", "boom"))')


def test_credentials_are_given_to_the_function_and_refreshed_on_every_invocation(run: Runner, runtime: Runtime,
                                                                                 kitchen: Function) -> None:
    from strongroom.functions.runtime import Credentials

    first = Credentials("ASIAFIRST", "secret-1", "token-1", 1e10)
    second = Credentials("ASIASECOND", "secret-2", "token-2", 1e10)
    environ = answer(run(invoke(runtime, kitchen, {"do": "process"}, credentials=first)))["environ"]
    assert (environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"], environ["AWS_SESSION_TOKEN"]) == \
        ("ASIAFIRST", "secret-1", "token-1")
    environ = answer(run(invoke(runtime, kitchen, {"do": "process"}, credentials=second)))["environ"]
    assert environ["AWS_ACCESS_KEY_ID"] == "ASIASECOND" and environ["AWS_SESSION_TOKEN"] == "token-2"
    environ = answer(run(invoke(runtime, kitchen, {"do": "process"})))["environ"]
    assert "AWS_ACCESS_KEY_ID" not in environ and "AWS_SESSION_TOKEN" not in environ
    assert "secret-2" not in repr(second)


def test_the_payload_of_a_successful_invocation_is_json_even_for_none(run: Runner, runtime: Runtime,
                                                                      kitchen: Function) -> None:
    assert json.loads(run(invoke(runtime, kitchen, {"do": "log"})).payload) is None
