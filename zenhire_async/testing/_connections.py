"""Counting the emulator's TCP connections as its server accepts and loses them."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

__all__ = ["ConnectionCounter"]


class ConnectionCounter:
    """The TCP connections of one ``aiohttp.web`` server: open now, and the most at once."""

    def __init__(self) -> None:
        self.open = 0
        self.peak = 0

    def attach(self, runner: web.AppRunner) -> None:
        """Count the connections of ``runner``'s server (after ``setup()``)."""
        server = runner.server
        assert server is not None
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            made(handler, transport)
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
