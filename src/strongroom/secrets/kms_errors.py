"""Secrets Manager's wording of the key ring's errors (:mod:`strongroom.kms.errors`).

What AWS answers, and how we know:

* an unknown or malformed customer ``KmsKeyId`` -> InvalidParameterException, "The operation failed
  because of an invalid KMS key: " followed by KMS's own wording. Sources: hashicorp/terraform-
  provider-aws PR #13303 records CreateSecret answering a bad alias with "InvalidParameterException:
  The operation failed because of an invalid KMS key: Invalid keyId"; boto/boto3 issue #1533 reports
  an invalid key id or alias giving InvalidParameterException. The suffixes are KMS's
  NotFoundException messages ("Key '<arn>' does not exist", hashicorp/terraform-provider-aws issue
  #30272; "Alias <alias-arn> is not found.", cloudposse/docs issue #152; "Invalid keyId <ref>").
* a disabled key, or one that can't be used, on write -> EncryptionFailure (botocore's model:
  "Check that the KMS key is available, enabled, and not in an invalid state"), worded like KMS's
  DisabledException ("<arn> is disabled.", fugue/credstash issue #86).
* any failure on read -> DecryptionFailure: the only KMS-related error GetSecretValue declares in
  botocore's service model.
"""

from __future__ import annotations

from strongroom.errors import ApiError, DecryptionFailure, EncryptionFailure, InvalidParameterException
from strongroom.kms.errors import CannotDecrypt, InvalidKeyReference, KeyDisabled, KeyNotFound, KmsError

INVALID_KEY = "The operation failed because of an invalid KMS key: "
CANT_ENCRYPT = "Secrets Manager can't encrypt the protected secret text using the provided KMS key."
CANT_DECRYPT = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."


def sealing_error(error: KmsError) -> ApiError:
    """The AWS error for a key that can't be resolved or used to encrypt."""
    if isinstance(error, InvalidKeyReference | KeyNotFound):
        return InvalidParameterException(INVALID_KEY + error.detail)
    if isinstance(error, KeyDisabled):
        return EncryptionFailure(f"Secrets Manager can't encrypt the secret value: {error.detail}")
    return EncryptionFailure(CANT_ENCRYPT)


def opening_error(error: KmsError) -> ApiError:
    """The AWS error for a stored value that can't be decrypted."""
    if isinstance(error, KeyDisabled):
        return DecryptionFailure(f"Secrets Manager can't decrypt the secret value: {error.detail}")
    if isinstance(error, CannotDecrypt) and error.reason:
        return DecryptionFailure(f"Secrets Manager can't decrypt the protected secret text: {error.reason}.")
    return DecryptionFailure(CANT_DECRYPT)
