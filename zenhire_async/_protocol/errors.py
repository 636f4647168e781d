"""Error responses: an HTTP status and body mapped onto the exception tree.

:func:`error_from_response` never fails, whatever the body is; ``Retry-After`` (header, or
``retryAfterSeconds`` in the envelope) becomes a finite number of seconds or ``None``.
Messages are redacted of the caller's secrets before they are stored.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import cast

import msgspec

from .._redact import redact
from ..errors import (
    APIError,
    ArtifactNotReadyError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from ..models import JSONObject


class _ErrorBody(msgspec.Struct, kw_only=True):
    code: str | None = None
    message: str | None = None
    requestId: str | None = None
    details: dict[str, object] | None = None
    retryAfterSeconds: float | None = None


class _ErrorEnvelope(msgspec.Struct, kw_only=True):
    error: _ErrorBody


_ERROR = msgspec.json.Decoder(_ErrorEnvelope)


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):  # NaN, or "inf"/"1e999": no wait the client can act on
        return None
    return max(0.0, seconds)


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *secrets: str
) -> APIError:
    """Map an error response to the exception tree; never fails, whatever the body is."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    code: str | None = None
    message: str
    details: JSONObject = {}
    request_id = headers.get("X-Request-Id")
    try:
        envelope = _ERROR.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
        kind = "an empty body" if not body.strip() else "a body that is not the error envelope"
        message = f"the server answered HTTP {status} with {kind}"
    else:
        err = envelope.error
        code = err.code
        message = err.message or f"HTTP {status}"
        details = cast("JSONObject", err.details or {})
        request_id = err.requestId or request_id
        seconds = err.retryAfterSeconds
        if retry_after is None and seconds is not None and math.isfinite(seconds):
            retry_after = max(0.0, seconds)
    cls = _STATUS_ERRORS.get(status)
    if code == "ARTIFACT_NOT_READY":
        cls = ArtifactNotReadyError
    elif cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(
        redact(message, *secrets),
        status=status,
        code=code,
        details=details,
        request_id=request_id,
        retry_after=retry_after,
    )
