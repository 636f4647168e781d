"""Serving one emulator: its ``aiohttp.web`` runner on loopback, and the connections it sees.

:class:`Server` binds the app built over the emulator's :class:`~._context.Context`,
starts the emulator clock on the running loop, and starts the storage origin if there is
one; :class:`ConnectionCounter` counts the TCP connections as the server accepts and
loses them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ._app import build_app
from ._clock import EmulatorClock
from ._context import Context

__all__ = ["ConnectionCounter", "Server"]


class ConnectionCounter:
    """The TCP connections of one ``aiohttp.web`` server: open now, and the most at once."""

    def __init__(self) -> None:
        self.open = 0
        self.peak = 0
        self.made = 0  # every connection ever accepted: tells a reopened one from a new one

    def attach(self, runner: web.AppRunner) -> None:
        """Count the connections of ``runner``'s server (after ``setup()``)."""
        server = runner.server
        assert server is not None
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            made(handler, transport)
            self.made += 1
            self.open += 1
            self.peak = max(self.peak, self.open)

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            lost(handler, exc)
            self.open -= 1

        # aiohttp's Server calls these from each connection's protocol; wrapping them is
        # the one place that sees every connection open and close.
        setattr(server, "connection_made", connection_made)  # noqa: B010
        setattr(server, "connection_lost", connection_lost)  # noqa: B010

    def reset_peak(self) -> None:
        """Restart the peak from the connections open now."""
        self.peak = self.open


class Server:
    """The emulator's HTTP server: bound on :meth:`start`, stopped on :meth:`aclose`."""

    def __init__(self, ctx: Context, host: str, port: int) -> None:
        self._ctx = ctx
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.connections = ConnectionCounter()

    @property
    def runner(self) -> web.AppRunner | None:
        """The running app's runner (``None`` unless started), to serve it on more sites."""
        return self._runner

    async def start(self) -> None:
        """Bind the server on the running loop and start the emulator clock."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already started")
        self._ctx.clock = EmulatorClock(asyncio.get_running_loop())
        runner = web.AppRunner(build_app(self._ctx), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        self.connections.attach(runner)
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._ctx.base_url = f"http://{host}:{port}"
        if self._ctx.storage is not None:
            await self._ctx.storage.start(self._host)

    async def aclose(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self._ctx.storage is not None:
            await self._ctx.storage.aclose()
