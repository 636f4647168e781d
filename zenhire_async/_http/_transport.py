"""The one request path: every byte the SDK sends or receives goes through :class:`Transport`.

It is the only module that awaits the network, sleeps between retries and sees the API key.
For each request it waits for a free connection of the client's pool (in its own queue, so
that the per-attempt timeout only runs once the attempt can start), takes a pacing token,
sends with a per-attempt timeout, maps failures to
the error tree, retries what :class:`RetryPolicy` allows, pauses the whole client on a 429, and
logs one redacted DEBUG line per attempt (the full path sent) and one INFO line per call.
A derived transport (``with_options``) has its own timeout, retries and headers over its
home's session, pool gate, pacer and loop. Redirects are never followed automatically: aiohttp
would forward ``X-API-Key`` to whatever origin a ``Location`` names. Same-origin redirects of a
GET are followed here by hand (at most 5, each paced). A recording or transcript may also be
served from a storage origin, by a redirect or by a JSON ``{"url": ...}`` answer: that origin
must be ``https``, and it gets no key and no header of ours but ``Accept`` and ``User-Agent``
(nor, once there, does any later hop). Any other redirect is a ``RedirectError``.

Bounds against a hostile server: a non-streamed body is read up to ``max_response_bytes``
(counted once decompressed; more is a ``ResponseTooLargeError`` and the connection is
closed), an error body up to :data:`MAX_ERROR_BODY`. Streamed bodies (recordings) are never
asked compressed (``Accept-Encoding: identity``), so that their ``Content-Length`` is their
size. No exception of aiohttp's leaves this module: its ``ClientResponseError`` carries the
request headers, key included, so a failure is described in the SDK error's message and
raised outside the ``except`` block (no ``__cause__``, no ``__context__``), and
:meth:`Transport._call` cuts any foreign exception still chained to an error it raises.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import aiohttp
import anyio
from multidict import CIMultiDict
from yarl import URL

from .._pacing import RequestPacer
from .._protocol import RequestSpec, error_from_response
from .._redact import redact
from .._retry import RetryPolicy
from ..errors import (
    APIConnectionError,
    APIError,
    DecodeError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    ZenHireError,
)
from ._aio import (
    NETWORK_ERRORS,
    USER_AGENT,
    StreamedBody,
    attempt_timeouts,
    connection_error,
    new_session,
)
from ._limits import DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_BODY, is_json, read_capped
from ._redirects import (
    ARTIFACT_ROUTES,
    MAX_POINTER_BODY,
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    redirect_target,
    storage_pointer,
)
from ._state import ClientState

if TYPE_CHECKING:
    from .._events_dispatch import EventDispatcher

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_ERROR_BODY",
    "Response",
    "Transport",
]

T = TypeVar("T")

logger = logging.getLogger("zenhire_async")

_IDENTITY = {"Accept-Encoding": "identity"}


@dataclass(frozen=True, slots=True)
class Response:
    """A complete (non-streamed) successful response."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _detach(error: BaseException) -> None:
    """Cut every exception that is not the SDK's out of ``error``'s cause/context chain.

    A last guard at the top of the request path: aiohttp's exceptions (and whatever they
    chain) hold request headers, the API key among them.
    """
    todo: list[BaseException] = [error]
    seen: set[int] = set()
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        if exc.__cause__ is not None and not isinstance(exc.__cause__, ZenHireError):
            exc.__cause__ = None
        if exc.__context__ is not None and not isinstance(exc.__context__, ZenHireError):
            exc.__context__ = None
        todo += [e for e in (exc.__cause__, exc.__context__) if e is not None]


class Transport:
    """Owns (or borrows) the aiohttp session and sends :class:`RequestSpec`s through it."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: URL,
        timeout: float,
        retry: RetryPolicy,
        pacer: RequestPacer | None,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        headers: Mapping[str, str] | None = None,
        proxy: URL | None = None,
        ssl_context: ssl.SSLContext | None = None,
        events: EventDispatcher | None = None,
    ) -> None:
        self.events = events  # None when no hook listens: every emit checks that first
        self._api_key = api_key
        self._max_body = max_response_bytes
        self._base_url = base_url
        self.pacer = pacer
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._root = base_url.path.rstrip("/")
        # The proxy's credentials travel in a header, never in the URL aiohttp keeps (and
        # would show in its errors): to the proxy in CONNECT for https, on the request
        # itself for plain http (the proxy sees it; no origin server does).
        self._proxy = proxy.with_user(None) if proxy is not None else None
        self._proxy_headers: dict[str, str] | None = None
        self._proxy_request_auth: str | None = None
        if proxy is not None and (proxy.user is not None or proxy.password is not None):
            pair = f"{proxy.user or ''}:{proxy.password or ''}".encode()
            auth = "Basic " + base64.b64encode(pair).decode("ascii")
            if base_url.scheme == "https":
                self._proxy_headers = {"Proxy-Authorization": auth}
            else:
                self._proxy_request_auth = auth
        self._ssl_context = ssl_context
        # A derived transport (``with_options``) shares its home's session, pool gate and
        # loop, and is closed when its parent is (``_state`` then records its own closing).
        self._parent: Transport | None = None
        self._home: Transport = self
        self._configure(timeout, retry, CIMultiDict(headers or {}))
        # A storage origin gets these and nothing else of ours (no key, no extra header).
        self._storage_headers = {"Accept": "*/*", "User-Agent": USER_AGENT}
        self._state = ClientState.UNOPENED
        self._loop: asyncio.AbstractEventLoop | None = None  # the home's, once OPENED
        self._slots: anyio.Semaphore | None = None  # the home's pool gate, once OPENED

    def _configure(self, timeout: float, retry: RetryPolicy, headers: CIMultiDict[str]) -> None:
        self._timeout = timeout
        self._retry = retry
        self._extra_headers = headers
        # Built once: each request reuses them (they are immutable).
        self._timeouts = attempt_timeouts(timeout)
        # Built once (aiohttp copies what it is given). A session of our own sends the fixed
        # headers by default, so that a request adds only its own; a borrowed one gets all.
        # The caller's default headers go over the fixed ones, names case-insensitive.
        fixed = (
            {} if self._owns_session else {"Accept": "application/json", "User-Agent": USER_AGENT}
        )
        self._header_sets: dict[tuple[bool, bool], CIMultiDict[str]] = {}
        for authenticated in (False, True):
            for has_body in (False, True):
                merged = CIMultiDict(fixed)
                merged.update(headers)
                if authenticated:
                    merged["X-API-Key"] = self._api_key
                if has_body:
                    merged["Content-Type"] = "application/json"
                if self._proxy_request_auth is not None:
                    merged["Proxy-Authorization"] = self._proxy_request_auth
                self._header_sets[authenticated, has_body] = merged

    def derive(
        self, *, timeout: float, retry: RetryPolicy, headers: Mapping[str, str]
    ) -> Transport:
        """A transport with other options over this one's session, pool, pacer and loop.

        ``headers`` merge over this transport's (names case-insensitive). Closing the
        derived transport closes nothing; closing this one makes the derived one unusable.
        """
        child = Transport.__new__(Transport)
        child.__dict__.update(self.__dict__)
        merged = CIMultiDict(self._extra_headers)
        merged.update(headers)
        child._configure(timeout, retry, merged)
        child._parent = self
        child._state = ClientState.UNOPENED
        return child

    @property
    def timeout(self) -> float:
        """The per-attempt timeout in seconds."""
        return self._timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failed attempts are retried."""
        return self._retry

    @property
    def state(self) -> ClientState:
        """CLOSED once this transport or one it derives from is closed, else its home's."""
        transport: Transport | None = self
        while transport is not None:
            if transport._state is ClientState.CLOSED:
                return ClientState.CLOSED
            transport = transport._parent
        return self._home._state

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called, on this transport or on its parent."""
        return self.state is ClientState.CLOSED

    def check_usable(self) -> None:
        """Raise ``RuntimeError`` when closed or first used in another event loop.

        The first call opens the client (binds it to the running loop). Long operations
        (waits, watches, bulk invites, downloads) call it before they start, so that a
        second loop gets this clear error up front rather than from deep inside a task group.
        """
        state = self.state
        if state is ClientState.CLOSED:
            raise RuntimeError("this ZenHireClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        home = self._home
        if state is ClientState.UNOPENED:
            home._bind(loop)
        elif home._loop is not loop:
            raise RuntimeError(
                "this ZenHireClient was first used in another event loop; "
                "create one client per event loop"
            )

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """UNOPENED -> OPENED (on the home transport): bind ``loop``, build the pool gate.

        A borrowed session's pool is its owner's: the gate then follows its connector's
        limit, if it has one (none: no gate).
        """
        limit = self._max_connections
        if not self._owns_session:
            connector = self._session.connector if self._session is not None else None
            limit = connector.limit if connector is not None else 0
        self._slots = anyio.Semaphore(limit, fast_acquire=True) if limit > 0 else None
        self._loop = loop
        self._state = ClientState.OPENED

    def _client_session(self) -> aiohttp.ClientSession:
        home = self._home
        if home._session is None:
            home._session = new_session(home._max_connections, home._ssl_context)
        return home._session

    async def _take_slot(self) -> anyio.Semaphore | None:
        """Check the client is usable and take a place in the connection pool; the caller
        releases it after the attempt.

        The place is held for a whole attempt (body included). Waiting here instead of in
        aiohttp's connector keeps that wait out of the attempt's timeout (10,000 concurrent
        calls with ``timeout=1`` would otherwise all time out queued behind a 50-connection
        pool) and costs a waiter far less memory than a started aiohttp request. A free
        place is taken without an await (every request pays this; ``acquire_nowait`` costs
        a tenth of ``async with``).
        """
        self.check_usable()
        gate = self._home._slots
        if gate is not None:
            try:
                gate.acquire_nowait()
            except anyio.WouldBlock:
                await gate.acquire()
        return gate

    async def aclose(self) -> None:
        """Close the session if we created it (a borrowed one is left to its owner).

        A derived transport is only marked closed: its session is its home's.
        """
        self._state = ClientState.CLOSED
        if self._home is not self:
            return
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    def _headers(self, spec: RequestSpec) -> CIMultiDict[str]:
        return self._header_sets[spec.authenticated, spec.body is not None]

    def _hop_headers(self, spec: RequestSpec, *, stream: bool, offsite: bool) -> Mapping[str, str]:
        """The headers of one hop: a storage origin gets only Accept and User-Agent; a
        streamed body is asked uncompressed, so that its Content-Length is its size."""
        headers = self._storage_headers if offsite else self._headers(spec)
        return {**headers, **_IDENTITY} if stream else headers

    async def _pace(self) -> None:
        if self.pacer is not None:
            events = self.events
            await self.pacer.acquire(None if events is None else events.pacing_waited)

    def _note_failure(self, error: ZenHireError) -> None:
        if self.pacer is not None and isinstance(error, APIError) and error.status == 429:
            # Capped: a server asking for hours (or 1e300 s) must not freeze the client.
            wait = error.retry_after if error.retry_after is not None else 1.0
            self.pacer.pause(min(wait, self._retry.max_retry_after))

    async def _open(
        self, spec: RequestSpec, *, stream: bool, attempt: int = 1
    ) -> tuple[aiohttp.ClientResponse, bytes | None]:
        """One attempt (with its redirects): a successful response, and its body if read.

        The body is read here only when an artifact route answered JSON (it might name a
        storage URL); otherwise it is ``None`` and left unread. The caller (:meth:`_attempt`)
        owns the response: it enters ``async with resp`` at once, with no await in between,
        and maps network failures while reading the body, so that a truncated body is a
        retryable failure too.
        """
        session = self._client_session()
        await self._pace()
        loop = self._home._loop
        started = loop.time() if loop is not None else 0.0
        url = self._base_url.with_path(self._root + spec.path)
        if spec.params:
            url = url.with_query(list(spec.params))
        timeout = self._timeouts[stream]
        offsite = False  # at a storage origin: no key, ever again in this attempt
        status = 0
        events = self.events
        for hop in range(MAX_REDIRECTS + 1):
            if hop:
                await self._pace()  # a followed redirect is one more request to the server
            elif events is not None:
                events.request_sent(spec, attempt)
            failure: APIConnectionError | None = None
            try:
                resp = await session.request(
                    spec.method,
                    url,
                    data=None if offsite else spec.body,
                    # Not a local variable: a traceback formatted with its locals shows them.
                    headers=self._hop_headers(spec, stream=stream, offsite=offsite),
                    proxy=self._proxy,
                    proxy_headers=self._proxy_headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
                status = resp.status
                if status in REDIRECT_STATUSES:
                    async with resp:
                        location = resp.headers.get("Location")
                        url, offsite = redirect_target(
                            spec, self._base_url, url, status, location, offsite
                        )
                    continue
                if status >= 400:
                    async with resp:
                        raise await self._error_from(resp)
                if not offsite and spec.route in ARTIFACT_ROUTES and is_json(resp):
                    async with resp:
                        limit = MAX_POINTER_BODY if stream else self._max_body
                        body = await self._read_body(resp, limit)
                    target = storage_pointer(spec, body, status)
                    if target is not None:
                        url, offsite = target, True
                        continue
                    if stream:
                        raise DecodeError(
                            f"unexpected {spec.route} answer: JSON, neither audio nor a URL"
                        )
                    self._received(spec, attempt, started, status, resp.headers)
                    return resp, body
                self._received(spec, attempt, started, status, resp.headers)
                return resp, None
            except NETWORK_ERRORS as exc:
                failure = connection_error(exc, timeout=self._timeout)
            except ZenHireError as error:
                request_id = error.request_id if isinstance(error, APIError) else None
                error_status = error.status if isinstance(error, APIError) else None
                self._log(spec, started, error_status, request_id, error)
                if events is not None and error_status is not None:
                    events.response_received(spec, attempt, error_status, started, request_id)
                raise
            raise failure  # here, outside the handler: aiohttp's exception is not chained
        raise TooManyRedirectsError(
            f"the server redirected {spec.route} more than {MAX_REDIRECTS} times",
            status=status,
        )

    def _received(
        self,
        spec: RequestSpec,
        attempt: int,
        started: float,
        status: int,
        headers: Mapping[str, str],
    ) -> None:
        """Log (and emit) a successful answer of one attempt."""
        request_id = headers.get("X-Request-Id")
        self._log(spec, started, status, request_id)
        events = self.events
        if events is not None:
            events.response_received(spec, attempt, status, started, request_id)

    async def _read_body(self, resp: aiohttp.ClientResponse, limit: int) -> bytes:
        """A successful response's body; :class:`ResponseTooLargeError` past ``limit``."""
        body, more = await read_capped(resp, limit)
        if more:
            raise ResponseTooLargeError(
                f"the server's answer is larger than max_response_bytes={limit:,} "
                "(counted once decompressed); it was not read further",
                limit=limit,
            )
        return body

    async def _error_from(self, resp: aiohttp.ClientResponse) -> APIError:
        """The typed error of an error response, reading at most :data:`MAX_ERROR_BODY`."""
        body, more = await read_capped(resp, min(MAX_ERROR_BODY, self._max_body))
        error = error_from_response(resp.status, body, resp.headers, self._api_key)
        if not more:
            return error
        return type(error)(
            f"the server answered HTTP {resp.status} with a body over "
            f"{min(MAX_ERROR_BODY, self._max_body):,} bytes (not read)",
            status=error.status,
            request_id=error.request_id,
            retry_after=error.retry_after,
        )

    @asynccontextmanager
    async def _attempt(
        self, spec: RequestSpec, *, stream: bool, attempt: int
    ) -> AsyncIterator[tuple[aiohttp.ClientResponse, bytes | None]]:
        """One attempt: a place in the pool, :meth:`_open`, and the successful response
        held open (with its body, if :meth:`_open` read it) while the caller reads it.

        Network failures in the caller's block (a body that breaks off) are mapped here;
        the place in the pool is released when the block exits. The one path of every
        attempt, whole or streamed.
        """
        gate = await self._take_slot()
        try:
            resp, body = await self._open(spec, stream=stream, attempt=attempt)
            failure: APIConnectionError | None = None
            try:
                async with resp:
                    yield resp, body
            except NETWORK_ERRORS as exc:
                failure = connection_error(exc, timeout=self._timeout)
            if failure is not None:
                raise failure
        finally:
            if gate is not None:
                gate.release()

    async def _call(self, spec: RequestSpec, attempt: Callable[[int], Awaitable[T]]) -> T:
        """Run ``attempt(number)`` until it succeeds or the retry policy gives up; raise the
        last error."""
        delays = self._retry.delays()
        started = anyio.current_time()
        for number in itertools.count(1):
            try:
                result = await attempt(number)
            except ZenHireError as error:
                _detach(error)
                self._note_failure(error)
                events = self.events
                if events is not None:
                    events.request_failed(spec, number, error)
                if number > self._retry.max_retries or not self._retry.should_retry(
                    error, idempotent=spec.idempotent
                ):
                    self._log_call(spec, started, number, error)
                    raise
                delay = self._retry.delay_for(error, next(delays))
                if events is not None:
                    events.retry_scheduled(number, delay, error)
                logger.debug(
                    "retrying %s %s in %.2fs (attempt %d failed)",
                    spec.method,
                    self._root + spec.path,
                    delay,
                    number,
                )
            else:
                self._log_call(spec, started, number, None)
                return result
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _log_call(
        self, spec: RequestSpec, started: float, attempts: int, error: ZenHireError | None
    ) -> None:
        """One INFO line per call (``ZENHIRE_LOG=info``); DEBUG adds one per attempt."""
        if not logger.isEnabledFor(logging.INFO):
            return
        if error is None:
            outcome = "ok"
        else:
            status = error.status if isinstance(error, APIError) else None
            outcome = type(error).__name__ + (f" ({status})" if status is not None else "")
        logger.info(
            "%s %s -> %s in %.1fms (%d attempt%s)",
            spec.method,
            self._root + spec.path,
            outcome,
            (anyio.current_time() - started) * 1000,
            attempts,
            "" if attempts == 1 else "s",
        )

    async def send(self, spec: RequestSpec) -> Response:
        """Send ``spec`` (with retries) and return the whole successful response."""

        async def once(number: int) -> Response:
            async with self._attempt(spec, stream=False, attempt=number) as (resp, body):
                if body is None:
                    body = await self._read_body(resp, self._max_body)
                return Response(resp.status, resp.headers, body)

        return await self._call(spec, once)

    @asynccontextmanager
    async def stream(self, spec: RequestSpec) -> AsyncIterator[StreamedBody]:
        """Send ``spec`` and hold the successful response open while the caller reads it.

        Only getting the response is retried; a failure in the middle of the body is raised.
        """
        async with AsyncExitStack() as stack:

            async def once(number: int) -> StreamedBody:
                attempt = self._attempt(spec, stream=True, attempt=number)
                resp, _ = await stack.enter_async_context(attempt)
                return StreamedBody(resp)

            body = await self._call(spec, once)
            try:
                yield body
            except ZenHireError as error:
                _detach(error)  # raised while the caller read the body
                raise

    async def fetch_streamed(
        self, spec: RequestSpec, consume: Callable[[StreamedBody], Awaitable[T]]
    ) -> T:
        """Send ``spec`` and let ``consume`` read the successful response's body, with retries.

        Unlike :meth:`stream`, a failure while ``consume`` reads the body (a connection that
        breaks off, a body shorter than its ``Content-Length``: ``APIConnectionError``) fails
        the whole attempt, and the request is sent again under the retry policy. ``consume``
        must therefore start from scratch each time it is called (``download_recording``
        writes a fresh temporary file).
        """

        async def once(number: int) -> T:
            async with self._attempt(spec, stream=True, attempt=number) as (resp, _):
                return await consume(StreamedBody(resp))

        return await self._call(spec, once)

    def _log(
        self,
        spec: RequestSpec,
        started: float,
        status: int | None,
        request_id: str | None,
        error: BaseException | None = None,
    ) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return
        elapsed_ms = (asyncio.get_running_loop().time() - started) * 1000
        outcome = str(status) if status is not None else type(error).__name__
        logger.debug(
            "%s %s -> %s elapsed=%.1fms request_id=%s%s",
            spec.method,
            self._root + spec.path,
            outcome,
            elapsed_ms,
            request_id or "-",
            f" error={redact(str(error), self._api_key)}" if error is not None else "",
        )
