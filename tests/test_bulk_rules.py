"""The pure rules of bulk invites: what a failed request means for the row, and its code."""

from __future__ import annotations

import pytest

from zenhire_async import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from zenhire_async._bulk_rules import Verdict, failure_code, judge


def _api(cls: type[APIError], status: int, **kw: float) -> APIError:
    return cls("m", status=status, code=None, retry_after=kw.get("retry_after"))


@pytest.mark.parametrize(
    ("error", "verdict", "code"),
    [
        (_api(AuthenticationError, 401), Verdict.FATAL, "HTTP_401"),
        (_api(PermissionDeniedError, 403), Verdict.FATAL, "HTTP_403"),
        (_api(InsufficientCreditsError, 402), Verdict.FATAL, "HTTP_402"),
        (_api(NotFoundError, 404), Verdict.FATAL, "HTTP_404"),
        (_api(RateLimitError, 429, retry_after=3), Verdict.REFUSED, "HTTP_429"),
        (_api(ServerError, 503, retry_after=3), Verdict.REFUSED, "HTTP_503"),
        (_api(ServerError, 503), Verdict.AMBIGUOUS, "HTTP_503"),
        (_api(ServerError, 500), Verdict.AMBIGUOUS, "HTTP_500"),
        (_api(APIError, 307), Verdict.AMBIGUOUS, "HTTP_307"),
        (_api(BadRequestError, 400), Verdict.REJECTED, "HTTP_400"),
        (APIConnectionError("x"), Verdict.AMBIGUOUS, "CONNECTION_ERROR"),
        (APIConnectionError("x", request_sent=False), Verdict.REFUSED, "CONNECTION_ERROR"),
        (APITimeoutError("x"), Verdict.AMBIGUOUS, "TIMEOUT"),
        (DecodeError("x"), Verdict.UNREADABLE, "DECODE_ERROR"),
    ],
)
def test_judge_and_code(error: Exception, verdict: Verdict, code: str) -> None:
    assert judge(error) is verdict  # type: ignore[arg-type]
    assert failure_code(error) == code  # type: ignore[arg-type]


def test_the_server_code_wins() -> None:
    error = InsufficientCreditsError("m", status=402, code="INSUFFICIENT_CREDITS")
    assert failure_code(error) == "INSUFFICIENT_CREDITS"
