"""Pure policies: retry decisions and delays, polling cadence, pacing arithmetic."""

from __future__ import annotations

import itertools

import pytest

from zenhire_async import APIConnectionError, APIError, APITimeoutError
from zenhire_async._pacing import RequestPacer
from zenhire_async._poll_policy import PollCadence
from zenhire_async._retry import RetryPolicy

policy = RetryPolicy(max_retries=3, base_delay=0.5, max_delay=8.0)


def api_error(status: int, retry_after: float | None = None) -> APIError:
    return APIError("x", status=status, retry_after=retry_after)


@pytest.mark.parametrize(
    ("error", "get", "post"),
    [
        (APIConnectionError("refused", request_sent=False), True, True),
        (APIConnectionError("reset"), True, False),
        (APITimeoutError("slow"), True, False),
        (APITimeoutError("connect", request_sent=False), True, True),
        (api_error(429, 2), True, True),
        (api_error(429), True, False),
        (api_error(503, 1), True, True),
        (api_error(503), True, False),
        (api_error(502), True, False),
        (api_error(504), True, False),
        (api_error(500), True, False),
        (api_error(400), False, False),
        (api_error(401), False, False),
        (api_error(404), False, False),
        (api_error(429, 3600), False, False),
    ],
)
def test_should_retry_matrix(error: APIError, get: bool, post: bool) -> None:
    assert policy.should_retry(error, idempotent=True) is get
    assert policy.should_retry(error, idempotent=False) is post


def test_delays_are_full_jitter_of_a_capped_exponential() -> None:
    for _ in range(200):
        delays = list(itertools.islice(policy.delays(), 8))
        caps = [0.5, 1, 2, 4, 8, 8, 8, 8]
        assert all(0 <= d <= cap for d, cap in zip(delays, caps, strict=True))


def test_retry_after_replaces_the_computed_delay() -> None:
    assert policy.delay_for(api_error(429, 7), 0.3) == 7
    assert policy.delay_for(APIConnectionError("x"), 0.3) == 0.3


def test_negative_retries_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_cadence_is_status_aware_growing_and_jittered() -> None:
    cadence = PollCadence()
    assert cadence.delay("active", 0, 0.5) == 5.0
    assert cadence.delay("initiated", 0, 0.5) == 15.0
    assert cadence.delay("initiated", 0, 0.5) > cadence.delay("active", 0, 0.5)
    assert cadence.delay("active", 3600, 0.5) == 20.0
    assert cadence.delay("initiated", 86_400, 0.5) == 300.0
    assert cadence.delay("initiated", 600, 0.5) > cadence.delay("initiated", 60, 0.5)
    assert cadence.delay("active", 0, 0.0) == pytest.approx(4.0)
    assert cadence.delay("active", 0, 0.999999) == pytest.approx(6.0, rel=1e-4)
    assert cadence.delay("some_new_status", 0, 0.5) == 5.0


def test_pacer_arithmetic_keeps_any_minute_under_the_limit() -> None:
    pacer = RequestPacer(500)
    assert pacer.burst == 5
    assert pacer.refill_per_second == pytest.approx(495 / 60)
    # Greedy consumer over simulated time: count tokens taken in every 60 s window.
    now, taken = 0.0, []
    while now < 300:
        wait = pacer.wait_time(now)
        if wait > 0:
            now += wait
            continue
        pacer.take()
        taken.append(now)
    for start in taken:
        in_window = sum(1 for t in taken if start <= t < start + 60)
        assert in_window <= 500


def test_pacer_pause_holds_every_token() -> None:
    pacer = RequestPacer(60, burst=10)
    assert pacer.wait_time(0.0) == 0
    pacer.hold(0.0, 30.0)
    assert pacer.wait_time(0.0) == pytest.approx(30 + 60 / 50)


@pytest.mark.parametrize("bad", [0, -5, 1.5])
def test_pacer_rejects_bad_rates(bad: object) -> None:
    with pytest.raises(ValueError, match="rate_limit_per_minute"):
        RequestPacer(bad)  # type: ignore[arg-type]
