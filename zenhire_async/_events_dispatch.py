"""Delivering events to hooks, and marking the calls they belong to.

Theory of operation. A client with hooks owns one :class:`EventDispatcher`; a client without
any has ``None`` in its place, and every seam that could emit checks ``if events is not
None`` first, so that the hot path builds no event, reads no clock and touches no context
variable when nobody listens.

* **Calls.** :func:`observed` wraps a public coroutine method (:func:`observed_context` an
  ``async with`` one): with hooks, the call gets an id, :class:`~.events.CallStarted` and
  :class:`~.events.CallEnded` are emitted around it *from the caller's own task*, and the
  id is kept in a context variable for the request path to tag its events with. Because a
  sync hook runs inline in that same task and context, whatever it sets in ``contextvars``
  on ``CallStarted`` (an OpenTelemetry span made current) stays current for the whole
  call, HTTP request included, and is restored on ``CallEnded``.
* **Sync hooks** run inline, in order, and must be quick.
* **Coroutine hooks** each get a bounded queue and a drain task that exists only while the
  queue is not empty, run in an empty context (it inherits no caller's span or call id).
  A call never waits on one: when its queue is full, the event is dropped and counted, with
  one WARNING. :meth:`EventDispatcher.aclose` waits (boundedly) for the queues to drain.
  The queues and the failure log are in :mod:`._events_hooks`.
* A hook that raises is logged at WARNING once (later failures at DEBUG) and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import itertools
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from ._events_hooks import (
    FLUSH_TIMEOUT,
    QUEUE_SIZE,
    AsyncHookRunner,
    HookFailures,
    hooks_of,
    is_coroutine_hook,
)
from .errors import APIError, ZenHireError
from .events import (
    BulkOutcome,
    BulkRowFinished,
    CallEnded,
    CallStarted,
    Event,
    EventHook,
    LeaderChanged,
    OnEvent,
    PacingWaited,
    RateLimited,
    RequestFailed,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    StatusChanged,
)

if TYPE_CHECKING:
    from ._protocol import RequestSpec

__all__ = [
    "EventDispatcher",
    "current_call_id",
    "event_route",
    "observed",
    "observed_context",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_CALL_ID: contextvars.ContextVar[int] = contextvars.ContextVar("zenhire_call_id", default=0)
# Call ids are unique in the process, so that one hook object serving many clients (one
# OpenTelemetry adapter for all) never mistakes one client's call for another's.
_CALL_IDS = itertools.count(1)


def current_call_id() -> int:
    """The id of the SDK call running in this context (0 outside any)."""
    return _CALL_ID.get()


@functools.cache
def event_route(spec_route: str) -> str:
    """``"GET /sessions/{id}"`` (a request spec's route) → ``"/sessions/{session_id}"``."""
    _, _, path = spec_route.partition(" ")
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part == "{id}" and index > 0:
            parts[index] = "{" + parts[index - 1].removesuffix("s") + "_id}"
    return "/".join(parts)


class EventDispatcher:
    """A client's hooks, and the helpers its seams call to emit events."""

    def __init__(
        self,
        hooks: Sequence[EventHook],
        *,
        secrets: tuple[str, ...] = (),
        queue_size: int = QUEUE_SIZE,
        inherited: EventDispatcher | None = None,
    ) -> None:
        self._failures: HookFailures = (
            inherited._failures if inherited is not None else HookFailures(secrets)
        )
        sync: list[Callable[[Event], object]] = []
        shared: list[AsyncHookRunner] = []
        if inherited is not None:
            sync += inherited._sync
            shared += inherited._async
        own: list[AsyncHookRunner] = []
        for hook in hooks:
            if is_coroutine_hook(hook):
                own.append(AsyncHookRunner(hook, queue_size, self._failures))  # type: ignore[arg-type]
            else:
                sync.append(hook)
        self._sync: tuple[Callable[[Event], object], ...] = tuple(sync)
        self._async: tuple[AsyncHookRunner, ...] = tuple(shared + own)
        self._own: tuple[AsyncHookRunner, ...] = tuple(
            own
        )  # flushed by this dispatcher's aclose; inherited ones are not

    @classmethod
    def build(
        cls, on_event: OnEvent | None, *, secrets: tuple[str, ...] = ()
    ) -> EventDispatcher | None:
        """A dispatcher for ``on_event`` (a hook or a list), or ``None`` when there is none."""
        hooks = hooks_of(on_event)
        return cls(hooks, secrets=secrets) if hooks else None

    @staticmethod
    def derive(
        parent: EventDispatcher | None, on_event: OnEvent | None, *, secrets: tuple[str, ...] = ()
    ) -> EventDispatcher | None:
        """The parent's hooks plus ``on_event`` (for ``with_options``); queues are shared."""
        hooks = hooks_of(on_event)
        if not hooks:
            return parent
        if parent is None:
            return EventDispatcher(hooks, secrets=secrets)
        return EventDispatcher(hooks, inherited=parent)

    @property
    def dropped(self) -> int:
        """Events dropped so far because a coroutine hook fell behind."""
        return sum(runner.dropped for runner in self._async)

    async def aclose(self, timeout: float = FLUSH_TIMEOUT) -> None:
        """Let this dispatcher's coroutine hooks catch up (at most ``timeout`` seconds)."""
        for runner in self._own:
            await runner.aclose(timeout)

    # -- emitting ---------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Hand ``event`` to every hook; a hook's failure is logged, never raised."""
        for hook in self._sync:
            try:
                returned = hook(event)
            except Exception as error:
                self._failures.report(hook, error)
            else:
                if returned is not None and inspect.isawaitable(returned):
                    if inspect.iscoroutine(returned):
                        returned.close()
                    self._failures.report(
                        hook, TypeError("it returned an awaitable: pass an `async def` hook")
                    )
        for runner in self._async:
            runner.put(event)

    @staticmethod
    def now() -> float:
        """The event loop's clock."""
        return asyncio.get_running_loop().time()

    def request_sent(self, spec: RequestSpec, attempt: int) -> None:
        """An attempt of ``spec`` goes out now."""
        self.emit(
            RequestSent(_CALL_ID.get(), spec.method, event_route(spec.route), attempt, self.now())
        )

    def response_received(
        self, spec: RequestSpec, attempt: int, status: int, started: float, request_id: str | None
    ) -> None:
        """A response of ``status`` arrived for the attempt that went out at ``started``."""
        now = self.now()
        route = event_route(spec.route)
        self.emit(
            ResponseReceived(
                _CALL_ID.get(), spec.method, route, attempt, status, now - started, request_id, now
            )
        )

    def request_failed(self, spec: RequestSpec, attempt: int, error: ZenHireError) -> None:
        """Attempt ``attempt`` of ``spec`` failed with ``error`` (a 429 is also RateLimited)."""
        now = self.now()
        route = event_route(spec.route)
        self.emit(
            RequestFailed(_CALL_ID.get(), spec.method, route, attempt, type(error).__name__, now)
        )
        if isinstance(error, APIError) and error.status == 429:
            self.emit(RateLimited(error.retry_after, now))

    def retry_scheduled(self, attempt: int, delay: float, error: ZenHireError) -> None:
        """After attempt ``attempt`` failed with ``error``, the next follows in ``delay``."""
        self.emit(RetryScheduled(_CALL_ID.get(), attempt, delay, type(error).__name__, self.now()))

    def pacing_waited(self, seconds: float, priority: str) -> None:
        """The rate limiter held the current request (of ``priority``) back for ``seconds``."""
        self.emit(PacingWaited(seconds, priority, self.now()))

    def status_changed(
        self,
        session_id: str,
        old: str | None,
        new: str,
        seconds_in_old: float | None,
        polls: int,
    ) -> None:
        """A watched session was seen in a new status."""
        self.emit(StatusChanged(session_id, old, new, seconds_in_old, polls, self.now()))

    def leader_changed(self, leading: bool) -> None:
        """This process gained or lost the shared watcher's leadership."""
        self.emit(LeaderChanged(leading, self.now()))

    def bulk_row(self, job_id: str, outcome: BulkOutcome) -> None:
        """A bulk-invite row finished."""
        self.emit(BulkRowFinished(job_id, outcome, self.now()))

    # -- calls -------------------------------------------------------------------------------

    def begin(self, call: str) -> _CallScope:
        """Start a call in this task: CallStarted now, CallEnded at :meth:`_CallScope.end`."""
        return _CallScope(self, call)

    async def run_call(self, call: str, coro: Coroutine[Any, Any, R]) -> R:
        """Await ``coro`` as the call ``call``, between its CallStarted and CallEnded."""
        scope = _CallScope(self, call)
        outcome = "ok"
        try:
            return await coro
        except BaseException as error:
            outcome = type(error).__name__
            raise
        finally:
            scope.end(outcome)


class _CallScope:
    """One call in progress: its id is current in this context until :meth:`end`."""

    __slots__ = ("_call", "_dispatcher", "_id", "_started", "_token")

    def __init__(self, dispatcher: EventDispatcher, call: str) -> None:
        self._dispatcher = dispatcher
        self._call = call
        self._id = next(_CALL_IDS)
        self._started = dispatcher.now()
        self._token: contextvars.Token[int] | None = _CALL_ID.set(self._id)
        dispatcher.emit(CallStarted(call, self._id, self._started))

    def end(self, outcome: str) -> None:
        """Emit CallEnded (once) and restore the enclosing call's id."""
        token, self._token = self._token, None
        if token is None:
            return
        now = self._dispatcher.now()
        self._dispatcher.emit(CallEnded(self._call, self._id, outcome, now - self._started, now))
        with contextlib.suppress(ValueError):  # ended in another context than it began
            _CALL_ID.reset(token)


class _Observable(Protocol):
    @property
    def events(self) -> EventDispatcher | None: ...


class _HasTransport(Protocol):
    @property
    def _transport(self) -> _Observable: ...


S = TypeVar("S", bound=_HasTransport)


def observed(
    call: str,
) -> Callable[
    [Callable[Concatenate[S, P], Coroutine[Any, Any, R]]],
    Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
]:
    """Make a coroutine method a call named ``call`` (``"sessions.get"``) for the hooks.

    Without hooks the method's own coroutine is returned as it is: no wrapper coroutine,
    no event, no clock read.
    """

    def decorate(
        method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
    ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
        @functools.wraps(method)
        def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
            events = self._transport.events
            if events is None:
                return method(self, *args, **kwargs)
            return events.run_call(call, method(self, *args, **kwargs))

        return wrapper

    return decorate


def observed_context(
    call: str,
) -> Callable[
    [Callable[Concatenate[S, P], AbstractAsyncContextManager[T]]],
    Callable[Concatenate[S, P], AbstractAsyncContextManager[T]],
]:
    """Make a method returning an ``async with`` manager a call spanning the whole block."""

    def decorate(
        method: Callable[Concatenate[S, P], AbstractAsyncContextManager[T]],
    ) -> Callable[Concatenate[S, P], AbstractAsyncContextManager[T]]:
        @functools.wraps(method)
        def wrapper(
            self: S, /, *args: P.args, **kwargs: P.kwargs
        ) -> AbstractAsyncContextManager[T]:
            events = self._transport.events
            if events is None:
                return method(self, *args, **kwargs)
            return _ObservedContext(events, call, method(self, *args, **kwargs))

        return wrapper

    return decorate


class _ObservedContext(AbstractAsyncContextManager[T]):
    def __init__(
        self, events: EventDispatcher, call: str, inner: AbstractAsyncContextManager[T]
    ) -> None:
        self._events = events
        self._call = call
        self._inner = inner
        self._scope: _CallScope | None = None

    async def __aenter__(self) -> T:
        scope = self._scope = self._events.begin(self._call)
        try:
            return await self._inner.__aenter__()
        except BaseException as error:
            scope.end(type(error).__name__)
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        outcome = "ok"
        try:
            suppressed = await self._inner.__aexit__(exc_type, exc, tb)
            if exc_type is not None and not suppressed:
                outcome = exc_type.__name__
            return suppressed
        except BaseException as error:
            outcome = type(error).__name__
            raise
        finally:
            if self._scope is not None:
                self._scope.end(outcome)
