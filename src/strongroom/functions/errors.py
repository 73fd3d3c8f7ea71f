"""Lambda's own error types and the messages Lambda words them with (sources in docs/api.md, "Lambda API").

The HTTP status of each type is its error shape's in the Lambda model (``error.httpStatusCode``:
InvalidParameterValueException 400, ResourceConflictException 409, PreconditionFailedException 412,
ServiceException 500); the REST JSON adapter reads it from there.
"""

from __future__ import annotations

from strongroom.errors import ApiError


class InvalidParameterValueException(ApiError):
    pass


class ResourceConflictException(ApiError):
    pass


class PreconditionFailedException(ApiError):
    pass


class PolicyLengthExceededException(ApiError):
    pass


class ServiceException(ApiError):
    status = 500


class KMSDisabledException(ApiError):
    status = 502


class KMSAccessDeniedException(ApiError):
    status = 502


def function_not_found(arn: str) -> str:
    return f"Function not found: {arn}"


def function_exists(name: str) -> str:
    return f"Function already exist: {name}"


ROLE_CANNOT_BE_ASSUMED = "The role defined for the function cannot be assumed by Lambda."
NO_POLICY = "The resource you requested does not exist."
REVISION_MISMATCH = "The RevisionId provided does not match the latest RevisionId for the Lambda function or alias."
QUALIFIER_MISMATCH = "The derived qualifier from the function name does not match the specified qualifier."
RUNTIME_AND_HANDLER = "Runtime and Handler are mandatory parameters for functions created with deployment packages."
UNKNOWN_OPERATION = "Unable to determine service/operation name to be authorized"
NO_CODE_SOURCE = "Please provide a source for function code."
LATEST_NOT_DELETABLE = "$LATEST version cannot be deleted without deleting the function."
TAGS_ON_QUALIFIED = "Tags on function aliases and versions are not supported. Please specify a function ARN."


def update_in_progress(arn: str) -> str:
    """ResourceConflictException when another change of the function committed first."""
    return f"The operation cannot be performed at this time. An update is in progress for resource: {arn}"


def statement_exists(statement_id: str) -> str:
    return (f"The statement id ({statement_id}) provided already exists. Please provide a new statement id, "
            "or remove the existing statement.")


def statement_not_found(statement_id: str) -> str:
    return f"Statement {statement_id} is not found in resource policy."


def request_too_large(limit: int, operation: str) -> str:
    """The front door's answer to a body over an operation's limit (RequestEntityTooLargeException, 413)."""
    return f"Request must be smaller than {limit} bytes for the {operation} operation"


def event_too_large(size: int, limit: int) -> str:
    return f"{size} byte payload is too large for the Event invocation type (limit {limit} bytes)"


def runtime_not_supported(runtime: str, retired: bool) -> str:
    """Lambda's words for a runtime it no longer takes (``retired``: a Python before 3.9), ours for one this
    server cannot run (another language, a Python after 3.14)."""
    if retired:
        return (f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
                "functions. We recommend you use a supported runtime while creating or updating functions.")
    return (f"The runtime parameter of {runtime} is not supported by this server, which runs python3.9 to "
            "python3.14. We recommend you use a supported runtime while creating or updating functions.")


def not_served(member: str) -> str:
    """A member of the model this server cannot honour (refused, never ignored)."""
    return f"{member} is not supported by this server: remove it from the request."
