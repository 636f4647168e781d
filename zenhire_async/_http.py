"""The one request path: every byte the SDK sends or receives goes through :class:`Transport`.

It is the only module that awaits the network, sleeps between retries and sees the API key.
For each request it waits for a free connection of the client's pool (in its own queue, so
that the per-attempt timeout only runs once the attempt can start), takes a pacing token,
sends with a per-attempt timeout, maps failures to
the error tree, retries what :class:`RetryPolicy` allows, pauses the whole client on a 429, and
logs one redacted DEBUG line per attempt. Redirects are never followed automatically: aiohttp
would forward ``X-API-Key`` to whatever origin a ``Location`` names. Same-origin redirects of a
GET are followed here by hand; any other redirect is an error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import platform
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import aiohttp
import anyio
from yarl import URL

from ._pacing import RequestPacer
from ._protocol import RequestSpec, error_from_response
from ._redact import redact
from ._retry import RetryPolicy
from ._version import __version__
from .errors import APIConnectionError, APIError, APITimeoutError, ZenHireError

__all__ = ["Response", "Transport", "check_base_url"]

T = TypeVar("T")

logger = logging.getLogger("zenhire_async")

USER_AGENT = (
    f"zenhire-async/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)
_MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Response:
    """A complete (non-streamed) successful response."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    # An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4 host: judge it by that
    # form, on every Python (3.13 does so by itself, 3.11 and 3.12 do not).
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_base_url(base_url: str, *, allow_insecure_http: bool = False) -> URL:
    """Parse the platform root; plain ``http://`` is refused except to loopback or when allowed."""
    url = URL(base_url.rstrip("/"))
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.query_string or url.fragment or url.user or url.password:
        raise ValueError("base_url must not carry credentials, a query or a fragment")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ValueError(
            f"base_url {base_url!r} is plain http to a non-loopback host: the API key would "
            "cross the network unencrypted (pass allow_insecure_http=True to insist)"
        )
    return url


def _connection_error(exc: BaseException, *, timeout: float) -> APIConnectionError:
    """Classify an aiohttp/OS failure; ``request_sent`` is False only when provably unsent."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(f"connecting timed out after {timeout:g}s", request_sent=False)
    if isinstance(exc, TimeoutError):
        return APITimeoutError(f"the request timed out after {timeout:g}s")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"could not connect: {exc.os_error.strerror or type(exc.os_error).__name__}",
            request_sent=False,
        )
    return APIConnectionError(f"the connection failed: {type(exc).__name__}: {exc}")


_NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, ConnectionError)


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
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self._timeout = timeout
        self._retry = retry
        self.pacer = pacer
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._root = base_url.path.rstrip("/")
        # Built once: each request reuses them (they are immutable).
        self._timeouts = {
            False: aiohttp.ClientTimeout(total=timeout),
            True: aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        }
        # Built once (aiohttp copies what it is given). A session of our own sends the fixed
        # headers by default, so that a request adds only its own; a borrowed one gets all.
        fixed = {} if session is None else {"Accept": "application/json", "User-Agent": USER_AGENT}
        self._header_sets = {
            (authenticated, has_body): {
                **fixed,
                **({"X-API-Key": api_key} if authenticated else {}),
                **({"Content-Type": "application/json"} if has_body else {}),
            }
            for authenticated in (False, True)
            for has_body in (False, True)
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._slots: anyio.Semaphore | None = None
        self._gate_built = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._closed

    def check_usable(self) -> None:
        """Raise ``RuntimeError`` when closed or first used in another event loop.

        The first call binds the transport to the running loop. Long operations (waits,
        watches, bulk invites, downloads) call it before they start, so that a second
        loop gets this clear error up front rather than from deep inside a task group.
        """
        if self._closed:
            raise RuntimeError("this ZenHireClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "this ZenHireClient was first used in another event loop; "
                "create one client per event loop"
            )

    def _client_session(self) -> aiohttp.ClientSession:
        self.check_usable()
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                auto_decompress=True,
            )
        return self._session

    async def _take_slot(self) -> anyio.Semaphore | None:
        """Take a place in the connection pool; the caller releases it after the attempt.

        The place is held for a whole attempt (body included). Waiting here instead of in
        aiohttp's connector keeps that wait out of the attempt's timeout (10,000 concurrent
        calls with ``timeout=1`` would otherwise all time out queued behind a 50-connection
        pool) and costs a waiter far less memory than a started aiohttp request. A borrowed
        session's pool is its owner's: the gate then follows its connector's limit, if it
        has one (``None``: no gate). A free place is taken without an await (every request
        pays this; ``acquire_nowait`` costs a tenth of ``async with``).
        """
        if not self._gate_built:
            limit = self._max_connections
            if not self._owns_session:
                connector = self._session.connector if self._session is not None else None
                limit = connector.limit if connector is not None else 0
            self._slots = anyio.Semaphore(limit, fast_acquire=True) if limit > 0 else None
            self._gate_built = True
        gate = self._slots
        if gate is not None:
            try:
                gate.acquire_nowait()
            except anyio.WouldBlock:
                await gate.acquire()
        return gate

    async def aclose(self) -> None:
        """Close the session if we created it (a borrowed one is left to its owner)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    def _headers(self, spec: RequestSpec) -> dict[str, str]:
        return self._header_sets[spec.authenticated, spec.body is not None]

    def _redirect_target(self, current: URL, location: str | None) -> URL | None:
        """The same-origin URL a redirect points to, or ``None`` when we must not follow it."""
        if not location:
            return None
        target = current.join(URL(location))
        if target.origin() != self._base_url.origin():
            return None
        return target

    def _refuse_redirect(self, spec: RequestSpec, status: int) -> NoReturn:
        raise APIError(
            f"the server redirected {spec.method} {spec.route} elsewhere (HTTP {status}); "
            "redirects to another origin are not followed so that the API key stays with "
            "the platform",
            status=status,
        )

    async def _pace(self) -> None:
        if self.pacer is not None:
            await self.pacer.acquire()

    def _note_failure(self, error: ZenHireError) -> None:
        if self.pacer is not None and isinstance(error, APIError) and error.status == 429:
            # Capped: a server asking for hours (or 1e300 s) must not freeze the client.
            wait = error.retry_after if error.retry_after is not None else 1.0
            self.pacer.pause(min(wait, self._retry.max_retry_after))

    async def _open(  # noqa: RET503 - the loop returns or raises; _refuse_redirect raises
        self, spec: RequestSpec, *, stream: bool
    ) -> aiohttp.ClientResponse:
        """One attempt (with same-origin redirects): a successful response, body unread.

        The caller owns the response: it enters ``async with resp`` at once, with no await
        in between, and maps network failures while reading the body with
        :func:`_connection_error`, so that a truncated body is a retryable failure too.
        A plain coroutine rather than a context manager: this is every request's hot path.
        """
        session = self._client_session()
        await self._pace()
        started = self._loop.time() if self._loop is not None else 0.0
        url = self._base_url.with_path(self._root + spec.path)
        if spec.params:
            url = url.with_query(list(spec.params))
        timeout = self._timeouts[stream]
        for hop in range(_MAX_REDIRECTS + 1):
            if hop:
                await self._pace()  # a followed redirect is one more request to the server
            try:
                resp = await session.request(
                    spec.method,
                    url,
                    data=spec.body,
                    headers=self._headers(spec),
                    timeout=timeout,
                    allow_redirects=False,
                )
                if resp.status < 400 and resp.status not in _REDIRECT_STATUSES:
                    self._log(spec, started, resp.status, resp.headers.get("X-Request-Id"))
                    return resp
                async with resp:
                    if resp.status in _REDIRECT_STATUSES:
                        target = self._redirect_target(url, resp.headers.get("Location"))
                        if target is None or spec.method != "GET":
                            self._refuse_redirect(spec, resp.status)
                        url = target
                        continue
                    body = await resp.read()
                    raise error_from_response(resp.status, body, resp.headers, self._api_key)
            except _NETWORK_ERRORS as exc:
                raise _connection_error(exc, timeout=self._timeout) from exc
            except ZenHireError as error:
                request_id = error.request_id if isinstance(error, APIError) else None
                status = error.status if isinstance(error, APIError) else None
                self._log(spec, started, status, request_id, error)
                raise
        self._refuse_redirect(spec, 310)

    @asynccontextmanager
    async def _attempt(
        self, spec: RequestSpec, *, stream: bool
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """:meth:`_open` as a context manager that maps network failures in its body."""
        gate = await self._take_slot()
        try:
            resp = await self._open(spec, stream=stream)
            try:
                async with resp:
                    yield resp
            except _NETWORK_ERRORS as exc:
                raise _connection_error(exc, timeout=self._timeout) from exc
        finally:
            if gate is not None:
                gate.release()

    async def _call(self, spec: RequestSpec, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it succeeds or the retry policy gives up; raise the last error."""
        delays = self._retry.delays()
        for number in itertools.count(1):
            try:
                return await attempt()
            except ZenHireError as error:
                self._note_failure(error)
                if number > self._retry.max_retries or not self._retry.should_retry(
                    error, idempotent=spec.idempotent
                ):
                    raise
                delay = self._retry.delay_for(error, next(delays))
                logger.debug(
                    "retrying %s %s in %.2fs (attempt %d failed)",
                    spec.method,
                    spec.path,
                    delay,
                    number,
                )
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, spec: RequestSpec) -> Response:
        """Send ``spec`` (with retries) and return the whole successful response."""

        async def once() -> Response:
            gate = await self._take_slot()
            try:
                resp = await self._open(spec, stream=False)
                try:
                    async with resp:
                        return Response(resp.status, resp.headers, await resp.read())
                except _NETWORK_ERRORS as exc:
                    raise _connection_error(exc, timeout=self._timeout) from exc
            finally:
                if gate is not None:
                    gate.release()

        return await self._call(spec, once)

    @asynccontextmanager
    async def stream(self, spec: RequestSpec) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send ``spec`` and hold the successful response open while the caller reads it.

        Only getting the response is retried; a failure in the middle of the body is raised.
        """
        async with AsyncExitStack() as stack:

            async def once() -> aiohttp.ClientResponse:
                return await stack.enter_async_context(self._attempt(spec, stream=True))

            yield await self._call(spec, once)

    async def fetch_streamed(
        self, spec: RequestSpec, consume: Callable[[aiohttp.ClientResponse], Awaitable[T]]
    ) -> T:
        """Send ``spec`` and let ``consume`` read the successful response's body, with retries.

        Unlike :meth:`stream`, a failure while ``consume`` reads the body (a connection that
        breaks off, a body shorter than its ``Content-Length``: ``APIConnectionError``) fails
        the whole attempt, and the request is sent again under the retry policy. ``consume``
        must therefore start from scratch each time it is called (``download_recording``
        writes a fresh temporary file).
        """

        async def once() -> T:
            async with self._attempt(spec, stream=True) as resp:
                return await consume(resp)

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
            spec.path,
            outcome,
            elapsed_ms,
            request_id or "-",
            f" error={redact(str(error), self._api_key)}" if error is not None else "",
        )
