"""A storage origin: results served through short-lived URLs, on a second loopback port.

With ``Emulator(storage=...)`` the emulator also serves ``GET /o/{token}`` on another port
(HTTPS when given an ``ssl.SSLContext``, plain HTTP when given ``True``). The
``storage_redirect`` and ``storage_url`` faults answer a recording or transcript request
with a URL minted here, valid for :data:`URL_TTL_SECONDS`: ``/o/<random token>``, what a
presigned object-store URL looks like. Every request the origin receives is recorded with
its headers (:attr:`Storage.requests`), so that a test can check what the client sent.
"""

from __future__ import annotations

import secrets
import ssl
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from ._clock import format_ms
from ._faults import FaultRule
from ._state import Store
from ._wav import stream_wav

__all__ = ["URL_TTL_SECONDS", "Served", "Storage", "storage_answer"]

URL_TTL_SECONDS = 300


class Served(Protocol):
    """What the origin reads of its emulator (its ``Context``): clock, sessions, WAV size."""

    store: Store
    recording_bytes: int

    def now_ms(self) -> int:
        """Emulator wall time in epoch milliseconds."""
        ...


@dataclass(frozen=True, slots=True)
class _Object:
    session_id: str
    artifact: str
    expires_ms: int


@dataclass(eq=False)
class Storage:
    """The storage origin of one emulator: minted URLs and the requests it received."""

    ctx: Served
    ssl_context: ssl.SSLContext | None
    base_url: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)
    _objects: dict[str, _Object] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    def mint(self, session_id: str, artifact: str) -> tuple[str, int]:
        """A short-lived URL of a session's artifact and its expiry (epoch ms)."""
        token = secrets.token_urlsafe(24)
        expires_ms = self.ctx.now_ms() + URL_TTL_SECONDS * 1000
        self._objects[token] = _Object(session_id, artifact, expires_ms)
        return f"{self.base_url}/o/{token}", expires_ms

    async def start(self, host: str) -> None:
        """Serve the origin on a free port of ``host``."""
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._serve)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, host, 0, ssl_context=self.ssl_context).start()
        self._runner = runner
        bound_host, port = runner.addresses[0][:2]
        scheme = "https" if self.ssl_context is not None else "http"
        self.base_url = f"{scheme}://{bound_host}:{port}"

    async def aclose(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        token = request.path.removeprefix("/o/")
        obj = self._objects.get(token) if request.path.startswith("/o/") else None
        if obj is None:
            return web.Response(status=404, text="NoSuchKey")
        if self.ctx.now_ms() >= obj.expires_ms:
            return web.Response(status=403, text="Request has expired")
        rec = self.ctx.store.sessions[obj.session_id]
        if obj.artifact == "transcript":
            return web.json_response(rec.transcript)
        return await stream_wav(request, self.ctx.recording_bytes)


def storage_answer(storage: Storage | None, request: web.Request, rule: FaultRule) -> web.Response:
    """The ``storage_redirect`` / ``storage_url`` answer to an artifact request.

    Called after the handler found the session ready (its answer was a 200).
    """
    assert storage is not None, "storage faults need Emulator(storage=...)"
    artifact = request.path.rsplit("/", 1)[-1]
    url, expires_ms = storage.mint(request.match_info["id"], artifact)
    if rule.kind == "storage_redirect":
        return web.Response(status=rule.status, headers={"Location": url})
    return web.json_response({"url": url, "expires_at": format_ms(expires_ms)})
