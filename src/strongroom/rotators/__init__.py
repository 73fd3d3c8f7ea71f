"""The rotation functions Strongroom ships: Lambda handlers that rotate a secret in four steps.

Everything in this package except ``catalog`` and ``install`` (which run in the server's
environment) is user code for the function runtime: it imports
only the standard library, boto3 and a database driver, and relative siblings, so the same files
run from a deployment package (where the package is named ``strongroom_rotators``). See
docs/rotation.md.
"""

import logging

logging.getLogger(__name__).setLevel(logging.INFO)
