"""Names of the first administrator's credentials: the file in the data directory and its profile.

A module of its own so that ``strongroom serve``'s supervisor can print them without importing
the identity machinery (its import cost ~70 ms of start-up).
"""

ADMIN_PROFILE = "strongroom-admin"
CREDENTIALS_FILE = "admin-credentials"
