"""The hello-world ceiling: an empty raw ASGI app on Strongroom's exact server stack.

uvicorn with uvloop and httptools, access log off, no server/date headers, no proxy headers, no
websockets, the same worker count, the same uvicorn arguments and the same multi-worker runner
(one SO_REUSEPORT listener per worker, strongroom.cli.workers) as ``strongroom serve``
(src/strongroom/cli/serve.py). It
reads the request body and answers a small JSON 200, so a load generator driving it with the same
signed requests measures what the HTTP stack alone costs: Strongroom's throughput as a percentage
of this is the share of the ceiling the service logic leaves.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from strongroom.cli.workers import run_workers

_BODY = b'{"ok":true}'
_HEADERS = [(b"content-type", b"application/x-amz-json-1.1"), (b"content-length", str(len(_BODY)).encode())]


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # consume the body, as a real handler must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    common = dict(
        host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
        loop="uvloop", http="httptools", ws="none", lifespan="on", server_header=False, date_header=False,
        proxy_headers=False,  # strongroom serve's default (no --forwarded-allow-ips)
    )
    if args.workers > 1:  # the same multi-worker runner as strongroom serve
        run_workers(uvicorn.Config("bench.hello:app", workers=args.workers, **common))
    else:
        uvicorn.run(app, **common)
    return 0


if __name__ == "__main__":
    sys.exit(main())
