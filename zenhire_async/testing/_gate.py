"""The gate in front of the handlers: API keys, the per-key rate limit, error envelopes."""

from __future__ import annotations

import math
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ._clock import format_ms
from ._state import TenantState

__all__ = ["ApiError", "KeyInfo", "RateLimiter", "error_response"]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What an API key admits: one tenant, unless expired."""

    tenant: TenantState
    expired: bool = False


class ApiError(Exception):
    """An error answer in the platform's envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after


def new_request_id() -> str:
    """A fresh ``req_<hex>`` request id."""
    return f"req_{secrets.token_hex(8)}"


def error_response(err: ApiError, now_ms: int) -> web.Response:
    """Render ``err`` as the JSON envelope (+ ``Retry-After`` when given)."""
    request_id = new_request_id()
    body: dict[str, Any] = {
        "code": err.code,
        "message": err.message,
        "timestamp": format_ms(now_ms),
        "requestId": request_id,
        "details": err.details,
    }
    headers = {"X-Request-Id": request_id}
    if err.retry_after is not None:
        seconds = max(1, math.ceil(err.retry_after))
        retry = err.retry_after
        body["retryAfterSeconds"] = int(retry) if float(retry).is_integer() else retry
        headers["Retry-After"] = str(seconds)
    return web.json_response({"error": body}, status=err.status, headers=headers)


class RateLimiter:
    """A sliding 60-second window per key: at most ``per_minute`` admitted requests.

    Rejected requests do not use the budget. ``hit`` returns ``None`` when admitted, else
    the seconds until the oldest admitted request leaves the window.
    """

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        if per_minute < 1:
            raise ValueError("rate_limit_per_minute must be >= 1")
        self.per_minute = per_minute
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float) -> float | None:
        """Admit one request of ``key`` at ``now`` or say how long to wait."""
        hits = self._hits.setdefault(key, deque())
        horizon = now - self.window
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return hits[0] + self.window - now
        hits.append(now)
        return None
