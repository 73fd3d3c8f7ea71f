"""The completion handler the futures client calls when a call completes (the Java SDK's AsyncHandler)."""

from __future__ import annotations

from typing import Protocol, TypeVar

RequestT_contra = TypeVar("RequestT_contra", contravariant=True)
ResultT_contra = TypeVar("ResultT_contra", contravariant=True)


class AsyncHandler(Protocol[RequestT_contra, ResultT_contra]):
    """Told once when a call completes: ``on_success(request, result)`` or ``on_error(exception)``.

    Called on the client's handler thread, before the call's Future completes, so code waiting on
    the Future sees what the handler did. A handler may call the client's blocking methods. An
    exception raised by a handler is logged and does not change the Future's outcome.
    """

    def on_success(self, request: RequestT_contra, result: ResultT_contra) -> None: ...

    def on_error(self, exception: BaseException) -> None: ...
