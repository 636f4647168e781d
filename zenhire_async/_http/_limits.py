"""Reading a body within a limit, whatever the server sends.

aiohttp inflates a compressed body in bounded pieces; reading them here, counted once
inflated, stops at the limit: a 200 MB page, a gzip bomb or an endless chunked body never
costs more than about the limit.
"""

from __future__ import annotations

import aiohttp

from .._protocol import error_from_response
from ..errors import APIError, ResponseTooLargeError

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_ERROR_BODY",
    "decoded_size",
    "error_of",
    "is_json",
    "read_body",
    "read_capped",
]

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""The default cap of a non-streamed body (8 MiB), counted once decompressed."""
MAX_ERROR_BODY = 1024 * 1024
"""The most of an error answer's body that is read (1 MiB; capped by ``max_response_bytes``)."""


def decoded_size(resp: aiohttp.ClientResponse) -> int | None:
    """The size of the body as read, from ``Content-Length``; ``None`` when unknown.

    With a ``Content-Encoding`` (a server that compressed anyway), ``Content-Length`` is the
    size on the wire, not the size of the inflated bytes the reader gets.
    """
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    return resp.content_length if encoding in ("", "identity") else None


async def read_capped(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """The body, decompressed, up to ``limit`` bytes; and whether there was more.

    Reading stops as soon as the limit is passed: no more than about ``limit`` bytes are
    held, however large (or endless, or inflated) the body is.
    """
    declared = decoded_size(resp)
    if declared is not None:
        if declared > limit:
            return b"", True
        # Not encoded, and aiohttp reads no more than Content-Length: the fast path.
        return await resp.read(), False
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


def is_json(resp: aiohttp.ClientResponse) -> bool:
    """Whether the response says its body is JSON."""
    return resp.content_type in ("application/json", "text/json") or resp.content_type.endswith(
        "+json"
    )


async def read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """A successful response's body; :class:`ResponseTooLargeError` past ``limit``."""
    body, more = await read_capped(resp, limit)
    if more:
        raise ResponseTooLargeError(
            f"the server's answer is larger than max_response_bytes={limit:,} "
            "(counted once decompressed); it was not read further",
            limit=limit,
        )
    return body


async def error_of(resp: aiohttp.ClientResponse, max_body: int, api_key: str) -> APIError:
    """The typed error of an error response, reading at most :data:`MAX_ERROR_BODY`
    (and never more than ``max_body``, the client's ``max_response_bytes``)."""
    limit = min(MAX_ERROR_BODY, max_body)
    body, more = await read_capped(resp, limit)
    error = error_from_response(resp.status, body, resp.headers, api_key)
    if not more:
        return error
    return type(error)(
        f"the server answered HTTP {resp.status} with a body over {limit:,} bytes (not read)",
        status=error.status,
        request_id=error.request_id,
        retry_after=error.retry_after,
    )
