"""Hypothesis profiles for the fuzz tests, and the figures the robustness tests report.

``ZENHIRE_FUZZ_PROFILE`` picks the profile: ``ci`` (the default, bounded so that ``make
test`` stays fast) or ``long`` (for a soak run: ``ZENHIRE_FUZZ_PROFILE=long make pytest``).
Every fuzz test calls :func:`fuzzed` once per input, and ``test_lifecycle`` records how many
await points it cancelled each operation at; both are printed at the end of the run (see
``conftest.pytest_terminal_summary``) so that the figures can be quoted.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from hypothesis import HealthCheck, settings

FUZZED: Counter[str] = Counter()
"""Inputs tried, per fuzz target."""

CANCELLATION_POINTS: Counter[str] = Counter()
"""Await points at which ``test_lifecycle`` cancelled each operation."""

_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=_SLOW_DATA, print_blob=True
)
settings.register_profile(
    "long", max_examples=5_000, deadline=None, suppress_health_check=_SLOW_DATA, print_blob=True
)
PROFILE = os.environ.get("ZENHIRE_FUZZ_PROFILE", "ci")
settings.load_profile(PROFILE)


def fuzzed(target: str) -> None:
    """Count one input tried against ``target``."""
    FUZZED[target] += 1


class Stepped:
    """Drives a coroutine in the awaiting task, calling ``on_suspend()`` at each of its
    suspensions: how the cancellation tests reach every await point of an operation."""

    def __init__(self, coro: Coroutine[Any, Any, Any], on_suspend: Callable[[], None]) -> None:
        self._coro = coro
        self._on_suspend = on_suspend

    def __await__(self) -> Generator[Any, Any, Any]:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                if error is not None:
                    pending, error = error, None
                    yielded = self._coro.throw(pending)
                else:
                    yielded = self._coro.send(value)
            except StopIteration as stop:
                return stop.value
            self._on_suspend()
            try:
                value = yield yielded
            except BaseException as exc:  # cancellation (or close) delivered to the task
                error, value = exc, None
