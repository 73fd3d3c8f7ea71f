"""The futures client: ``x_async(request, handler)`` returns a ``concurrent.futures.Future``, ``x(...)``
blocks. Calls run on one event-loop thread per client (started on first use), which holds the
connection pool; completion handlers run on a separate handler thread, so a slow handler never
delays I/O and a handler may call the client's blocking methods."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from strongroom.client._base import Operation, R, Shape
from strongroom.client._operations import OPERATIONS, FuturesOperations
from strongroom.client.core import ClientBase
from strongroom.client.errors import ClientShutdown
from strongroom.client.handlers import AsyncHandler
from strongroom.client.paginators import Paginator

logger = logging.getLogger(__name__)

_SHUTDOWN_MESSAGE = "the client was shut down before the call completed"


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (faster), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class SecretsManager(ClientBase, FuturesOperations):
    """Secrets Manager with Futures, completion handlers and blocking calls.

    ``sm.get_secret_value_async(GetSecretValueRequest(secret_id="db"), handler)`` returns a Future;
    ``sm.get_secret_value(secret_id="db")`` blocks. Settings are the keyword arguments of
    :class:`~strongroom.client.core.ClientBase`. Thread-safe. :meth:`shutdown` (or ``with``) closes
    the connections and the threads; calls still pending fail with :class:`ClientShutdown`.
    """

    def _init_client(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._handlers: ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- calls ------------------------------------------------------------------------------
    def _submit(self, operation: Operation[R], request: Shape, handler: AsyncHandler[Any, Any] | None) -> Future[R]:
        future: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise ClientShutdown("the client is shut down")
            if self._loop is None:
                self._start_threads()
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._start_call, operation, request, handler, future)
        return future

    def _call_blocking(self, operation: Operation[R], request: Shape) -> R:
        if self._thread is not None and threading.current_thread() is self._thread:
            raise RuntimeError("a blocking call on the client's own event-loop thread would never complete")
        return self._submit(operation, request, None).result()

    def _pages_blocking(self, operation: Operation[R], request: Shape) -> Paginator[R, Any]:
        assert operation.items is not None
        return Paginator(lambda page_request: self._call_blocking(operation, page_request), request, operation.items)

    def send_async(self, request: Shape, handler: AsyncHandler[Any, Any] | None = None) -> Future[Any]:
        """The operation of a request object, in the background (see the ``x_async`` methods)."""
        return self._submit(OPERATIONS[type(request)], request, handler)

    # --- on the loop thread -------------------------------------------------------------------
    def _start_threads(self) -> None:
        self._loop = _new_event_loop()
        self._handlers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strongroom-client-handlers")
        self._thread = threading.Thread(target=self._loop.run_forever, name="strongroom-client-loop", daemon=True)
        self._thread.start()

    def _start_call(
        self, operation: Operation[Any], request: Shape, handler: AsyncHandler[Any, Any] | None, future: Future[Any]
    ) -> None:
        if not future.set_running_or_notify_cancel():
            return  # cancelled by its caller before it started
        assert self._loop is not None
        task = self._loop.create_task(self._core.call(operation, request))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._complete(done, request, handler, future))

    def _complete(
        self, task: asyncio.Task[Any], request: Shape, handler: AsyncHandler[Any, Any] | None, future: Future[Any]
    ) -> None:
        self._tasks.discard(task)
        error = ClientShutdown(_SHUTDOWN_MESSAGE) if task.cancelled() else task.exception()
        result = None if error is not None else task.result()
        if handler is None:
            _settle(future, result, error)
        else:
            assert self._handlers is not None
            self._handlers.submit(_notify, handler, request, result, error, future)

    # --- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the client: pending calls fail with :class:`ClientShutdown` (their handlers get
        ``on_error``), connections close, the loop and handler threads end. Idempotent; later
        calls raise :class:`ClientShutdown`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread, handlers = self._loop, self._thread, self._handlers
        if loop is None or thread is None or handlers is None:
            return
        if threading.current_thread() is thread:
            raise RuntimeError("shutdown() cannot run on the client's own event-loop thread")
        asyncio.run_coroutine_threadsafe(self._close_on_loop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        # From a handler, waiting for the handler thread would wait for ourselves.
        on_handler_thread = threading.current_thread().name.startswith("strongroom-client-handlers")
        handlers.shutdown(wait=not on_handler_thread)

    async def _close_on_loop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._core.close()

    def __enter__(self) -> SecretsManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()


def _settle(future: Future[Any], result: Any, error: BaseException | None) -> None:
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _notify(
    handler: AsyncHandler[Any, Any], request: Shape, result: Any, error: BaseException | None, future: Future[Any]
) -> None:
    """Tell the handler, then complete the Future (as the AWS SDK for Java does)."""
    try:
        if error is None:
            handler.on_success(request, result)
        else:
            handler.on_error(error)
    except Exception:
        logger.exception("a completion handler raised; the call's Future is unaffected")
    finally:
        _settle(future, result, error)
