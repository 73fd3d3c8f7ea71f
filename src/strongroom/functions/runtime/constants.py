"""What the worker and the parent both need (kept apart so that the worker imports nothing more)."""

MAX_EVENT_BYTES = 6_291_456
"""A synchronous invocation's request payload (6 MB); checked by ``Runtime.invoke``."""
MAX_RESPONSE_BYTES = 6_291_556
"""A function's response payload; beyond it the result is ``Function.ResponseSizeTooLarge``."""
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
"""Where the role's credentials reach the function, as in Lambda; refreshed before every invocation."""
