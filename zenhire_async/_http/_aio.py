"""What the request path needs of aiohttp, and the translation of its failures.

Every other module of the SDK sees only what this one hands out: a :class:`StreamedBody`
rather than an ``aiohttp.ClientResponse``, and SDK errors rather than aiohttp's exceptions
(:func:`connection_error` is the one mapping from the network's failures to the error tree).
aiohttp's ``ClientResponseError`` carries the request headers, key included, so a failure is
described in the SDK error's message and the caller raises it outside its ``except`` block
(no ``__cause__``, no ``__context__``).
"""

from __future__ import annotations

import platform
import ssl
from collections.abc import AsyncIterator, Mapping

import aiohttp
from aiohttp import ClientSession

from .._redact import redact, shorten
from .._version import __version__
from ..errors import APIConnectionError, APITimeoutError, ZenHireError
from ._limits import decoded_size

__all__ = [
    "NETWORK_ERRORS",
    "USER_AGENT",
    "ClientSession",
    "StreamedBody",
    "attempt_timeouts",
    "connection_error",
    "detach",
    "new_session",
]

USER_AGENT = (
    f"zenhire-async/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)

NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, ConnectionError)
"""What a request or a body read raises when the network (not the server's answer) fails."""


def new_session(max_connections: int, ssl_context: ssl.SSLContext | None) -> ClientSession:
    """The client's own session: a pool of ``max_connections``, the fixed headers, gzip."""
    return ClientSession(
        connector=aiohttp.TCPConnector(
            limit=max_connections, ssl=ssl_context if ssl_context is not None else True
        ),
        headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        auto_decompress=True,
    )


def attempt_timeouts(timeout: float) -> dict[bool, aiohttp.ClientTimeout]:
    """Per attempt, keyed by ``stream``: a whole-request bound, or a per-read one."""
    return {
        False: aiohttp.ClientTimeout(total=timeout),
        True: aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
    }


def connection_error(
    exc: BaseException, *, timeout: float, streaming: bool = False
) -> APIConnectionError:
    """Classify an aiohttp/OS failure; ``request_sent`` is False only when provably unsent.

    ``streaming``: it broke off a streamed body the caller was reading. The message
    describes ``exc`` without its URL or request (a storage URL is a short-lived
    credential; aiohttp's ``request_info`` holds the key).
    """
    if streaming:
        what = shorten(redact(str(exc)), 300)
        return APIConnectionError(f"the recording download broke off: {type(exc).__name__}: {what}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(f"connecting timed out after {timeout:g}s", request_sent=False)
    if isinstance(exc, TimeoutError):
        return APITimeoutError(f"the request timed out after {timeout:g}s")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"could not connect: {exc.os_error.strerror or type(exc.os_error).__name__}",
            request_sent=False,
        )
    if isinstance(exc, aiohttp.ClientHttpProxyError):  # the proxy refused the tunnel
        what = shorten(redact(str(exc.message)), 300)
        return APIConnectionError(
            f"the proxy refused the connection: HTTP {exc.status} {what}", request_sent=False
        )
    if isinstance(exc, aiohttp.ClientResponseError):  # the answer was not valid HTTP
        what = shorten(redact(str(exc.message)), 300)
        return APIConnectionError(f"the server sent a malformed HTTP answer: {what}")
    if isinstance(exc, aiohttp.InvalidURL):
        return APIConnectionError(f"the connection failed: {type(exc).__name__}")
    what = shorten(redact(str(exc)), 300)
    return APIConnectionError(f"the connection failed: {type(exc).__name__}: {what}")


def detach(error: BaseException) -> None:
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


class StreamedBody:
    """A successful response held open while the caller reads its body (a recording).

    ``content_length`` is the size of the body as read, from ``Content-Length``: ``None``
    when the server sent none, or compressed the body anyway (the header is then the size
    on the wire). A failure while reading is an :class:`~zenhire_async.APIConnectionError`.
    """

    __slots__ = ("_resp", "content_length", "headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status: int = resp.status
        self.headers: Mapping[str, str] = resp.headers
        self.content_length: int | None = decoded_size(resp)

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body in chunks of at most ``size`` bytes, as they arrive."""
        if size < 1:
            raise ValueError(f"chunk_size must be positive, got {size!r}")
        failure: APIConnectionError | None = None
        try:
            async for chunk in self._resp.content.iter_chunked(size):
                yield chunk
        except NETWORK_ERRORS as exc:
            failure = connection_error(exc, timeout=0.0, streaming=True)
        if failure is not None:
            raise failure
