"""AWS's messages that several Secrets Manager operations share (their sources: docs/api.md)."""

from __future__ import annotations

SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret."  # test_secret_not_found
MARKED_FOR_DELETION = (  # test_tag_untag_resource_on_deleted_secret
    "You can't perform this operation on the secret because it was marked for deletion."
)
INVALID_NAME = (  # recorded: test_invalid_secret_name (every operation taking a SecretId)
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)
TOKEN_REQUIRED = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
BOTH_VALUES = "You can't specify both a binary secret value and a string secret value in the same secret."
#: Ours: a secret's KMS key changed between sealing a value and writing it, more than a few times.
CHANGED_MEANWHILE = "The secret changed while the request ran; retry the request."
