"""Lambda-compatible functions: the runtime that runs their code (``runtime``); the API comes later."""
