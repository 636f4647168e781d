"""Answers that misbehave on the wire: stalls, trickles, huge, endless and gzip bodies, bad HTTP.

Each function writes one answer for a fault kind of :mod:`._faults`. None of them holds a
large body in memory: huge and endless bodies are written from one repeated block, and a
gzip bomb is compressed once per size and kept compressed (a thousandth of its size).
A client that goes away mid-answer ends the answer quietly.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
from collections.abc import Iterator

from aiohttp import web

from ._faults import FaultRule

__all__ = ["endless", "gzip_bomb", "gzipped", "huge", "malformed", "spread", "wants_gzip"]

_BLOCK = b"0" * (64 * 1024)
_HEAD = b'{"data":[],"has_more":false,"total":0,"padding":"'
_TAIL = b'"}'
DEFAULT_HUGE = 200 * 1024 * 1024
DEFAULT_BOMB = 300 * 1024 * 1024
DEFAULT_TRICKLE = 16

_JSON = {"Content-Type": "application/json; charset=utf-8"}

_STATUS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
_MALFORMED: dict[str, bytes] = {
    "bad_status_line": b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}",
    "bad_content_length": _STATUS + b"Content-Length: 12abc\r\n\r\n{}",
    "bad_chunk_size": _STATUS + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "too_many_headers": _STATUS
    + b"".join(b"X-Filler-%d: x\r\n" % i for i in range(1000))
    + b"Content-Length: 2\r\n\r\n{}",
    "long_header": _STATUS + b"X-Long: " + b"a" * (64 * 1024) + b"\r\nContent-Length: 2\r\n\r\n{}",
    "ssh_banner": b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n",
}


def malformed(request: web.Request, kind: str) -> web.Response:
    """Write the raw bytes of a malformed-HTTP fault on the socket and close it.

    The returned answer is never sent (the transport is closing); aiohttp drops it.
    """
    transport = request.transport
    assert transport is not None
    transport.write(_MALFORMED[kind])
    transport.close()
    return web.Response(status=500)


def _padded(size: int) -> Iterator[bytes]:
    """A valid JSON page of exactly ``size`` bytes (at least the head and tail), in blocks."""
    yield _HEAD
    left = max(0, size - len(_HEAD) - len(_TAIL))
    while left > 0:
        piece = _BLOCK if left >= len(_BLOCK) else _BLOCK[:left]
        left -= len(piece)
        yield piece
    yield _TAIL


async def huge(request: web.Request, rule: FaultRule) -> web.StreamResponse:
    """A 200 JSON page of ``rule.size`` bytes (default 200 MiB), with its Content-Length."""
    size = rule.size or DEFAULT_HUGE
    resp = web.StreamResponse(status=200, headers=_JSON)
    resp.content_length = max(size, len(_HEAD) + len(_TAIL))
    try:
        await resp.prepare(request)
        for piece in _padded(size):
            await resp.write(piece)
        await resp.write_eof()
    except ConnectionError:
        pass  # the client gave up reading: the point of the fault
    return resp


async def endless(request: web.Request) -> web.StreamResponse:
    """A chunked 200 JSON body that never ends (until the client goes away)."""
    resp = web.StreamResponse(status=200, headers=_JSON)
    resp.enable_chunked_encoding()
    try:
        await resp.prepare(request)
        await resp.write(_HEAD)
        while True:
            await resp.write(_BLOCK)
    except ConnectionError:
        pass
    return resp


_MEMBER = 4 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def _zeros_member() -> bytes:
    return gzip.compress(b"0" * _MEMBER, 9)


@functools.lru_cache(maxsize=2)
def _bomb(size: int) -> bytes:
    """The gzip encoding of ``b"".join(_padded(size))``: a run of identical gzip members.

    Concatenated members are one valid gzip stream (RFC 1952); compressing one 4 MiB block
    and repeating it keeps this fast (0.3 MB on the wire for 300 MiB).
    """
    padding = max(0, size - len(_HEAD) - len(_TAIL))
    middle, rest = divmod(padding, _MEMBER)
    head = gzip.compress(_HEAD, 9)
    tail = gzip.compress(b"0" * rest + _TAIL, 9)
    return head + _zeros_member() * middle + tail


async def gzip_bomb(request: web.Request, rule: FaultRule) -> web.StreamResponse:
    """A 200 JSON page of ``rule.size`` bytes once inflated (default 300 MiB), gzip-encoded."""
    body = await asyncio.to_thread(_bomb, rule.size or DEFAULT_BOMB)
    resp = web.StreamResponse(status=200, headers={**_JSON, "Content-Encoding": "gzip"})
    resp.content_length = len(body)
    try:
        await resp.prepare(request)
        await resp.write(body)
        await resp.write_eof()
    except ConnectionError:
        pass
    return resp


def wants_gzip(request: web.Request) -> bool:
    """Whether the request's ``Accept-Encoding`` allows gzip (q=0 refuses it)."""
    for item in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _body_of(resp: web.Response) -> bytes:
    body = resp.body
    return body if isinstance(body, bytes) else b""


def _headers_of(resp: web.Response) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}


def gzipped(resp: web.Response) -> web.Response:
    """``resp`` with its body gzip-compressed and the compressed Content-Length."""
    headers = {**_headers_of(resp), "Content-Encoding": "gzip"}
    return web.Response(status=resp.status, headers=headers, body=gzip.compress(_body_of(resp)))


async def spread(request: web.Request, resp: web.Response, rule: FaultRule) -> web.StreamResponse:
    """Send ``resp`` slowly: ``stall_body`` (half, a pause, the rest) or ``trickle``.

    ``ConnectionError`` when the client goes away meanwhile.
    """
    data = _body_of(resp)
    if rule.kind == "stall_body":
        half = len(data) // 2
        pieces = [data[:half], data[half:]]
    else:
        step = rule.size or DEFAULT_TRICKLE
        pieces = [data[i : i + step] for i in range(0, len(data), step)]
    out = web.StreamResponse(status=resp.status, headers=_headers_of(resp))
    out.content_length = len(data)
    await out.prepare(request)
    for number, piece in enumerate(pieces):
        if number:
            await asyncio.sleep(rule.delay)
        await out.write(piece)
    await out.write_eof()
    return out
