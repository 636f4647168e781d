"""Running event hooks: the failure log and the bounded queue of each coroutine hook.

The :class:`~._events_dispatch.EventDispatcher` sorts a client's hooks with
:func:`is_coroutine_hook`, calls the sync ones inline itself, and hands each event to one
:class:`AsyncHookRunner` per coroutine hook. A runner keeps a bounded queue and a drain task
that exists only while the queue is not empty, run in an empty context (it inherits no
caller's span or call id); a full queue drops the event and counts it, with one WARNING.
:class:`HookFailures` logs a hook's first failure at WARNING and later ones at DEBUG,
redacted of the client's secrets.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import anyio

from ._redact import redact
from .events import Event, EventHook, OnEvent

__all__ = [
    "FLUSH_TIMEOUT",
    "QUEUE_SIZE",
    "AsyncHookRunner",
    "HookFailures",
    "hook_name",
    "hooks_of",
    "is_coroutine_hook",
]

logger = logging.getLogger("zenhire_async")

QUEUE_SIZE = 1024
"""Events a coroutine hook may fall behind by before new ones are dropped."""
FLUSH_TIMEOUT = 10.0
"""Seconds ``aclose()`` waits for coroutine hooks to catch up before cancelling them."""


def hook_name(hook: object) -> str:
    """The name a log message gives ``hook``: its qualified name, or its type's."""
    name = getattr(hook, "__qualname__", None)
    return name if isinstance(name, str) else type(hook).__qualname__


def is_coroutine_hook(hook: object) -> bool:
    """Whether ``hook`` is an ``async def`` function or an object with an async ``__call__``."""
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
        getattr(hook, "__call__", None)  # noqa: B004 - a callable object's async __call__
    )


def hooks_of(on_event: OnEvent | None) -> list[EventHook]:
    """The hooks ``on_event`` names (one callable or a list of them), each checked callable."""
    if on_event is None:
        return []
    hooks = [on_event] if callable(on_event) else list(on_event)
    for hook in hooks:
        if not callable(hook):
            raise TypeError(f"on_event takes a callable or a list of them, got {hook!r}")
    return hooks


class HookFailures:
    """Logs a hook's failures: the first at WARNING, the rest at DEBUG."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self._secrets = secrets
        self._warned: set[int] = set()

    def report(self, hook: object, error: Exception) -> None:
        """Log that ``hook`` raised ``error`` (its message redacted), then carry on."""
        level = logging.DEBUG if id(hook) in self._warned else logging.WARNING
        self._warned.add(id(hook))
        logger.log(
            level,
            "event hook %s raised %s: %s; it is ignored%s",
            hook_name(hook),
            type(error).__name__,
            redact(str(error), *self._secrets),
            " (logged at WARNING once per hook)" if level == logging.WARNING else "",
        )


class AsyncHookRunner:
    """One coroutine hook: its bounded queue and the task draining it, in order."""

    def __init__(self, hook: Callable[[Event], Awaitable[None]], size: int, failures: HookFailures):
        self.hook = hook
        self._size = size
        self._failures = failures
        self._queue: deque[Event] = deque()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.dropped = 0

    def put(self, event: Event) -> None:
        """Queue ``event`` for the hook, starting the drain task; drop it when full or closed."""
        if self._closed:
            return
        if len(self._queue) >= self._size:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning(
                    "event hook %s is more than %d events behind: events are dropped "
                    "(counted; the total is logged when the client closes)",
                    hook_name(self.hook),
                    self._size,
                )
            return
        self._queue.append(event)
        if self._task is None:
            # An empty context: the drain task carries no caller's span or call id.
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._drain(), context=contextvars.Context())

    async def _drain(self) -> None:
        try:
            while self._queue:
                event = self._queue.popleft()
                try:
                    await self.hook(event)
                except Exception as error:
                    self._failures.report(self.hook, error)
        finally:
            self._task = None

    async def aclose(self, timeout: float) -> None:
        """Stop taking events, let the queue drain for ``timeout`` seconds, then cancel."""
        self._closed = True
        task = self._task
        if task is not None:
            with anyio.move_on_after(timeout):
                await asyncio.wait([task])
            if not task.done():
                task.cancel()
                with anyio.CancelScope(shield=True):
                    await asyncio.wait([task])
                logger.warning(
                    "event hook %s did not catch up within %gs of aclose(); it was cancelled",
                    hook_name(self.hook),
                    timeout,
                )
        self.dropped += len(self._queue)
        self._queue.clear()
        if self.dropped:
            logger.warning(
                "event hook %s missed %d event(s): it fell behind",
                hook_name(self.hook),
                self.dropped,
            )
