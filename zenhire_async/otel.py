"""OpenTelemetry for zenhire-async: spans and metrics from the client's events.

``pip install 'zenhire-async[otel]'`` (it needs ``opentelemetry-api`` only; the application
brings the SDK and exporters)::

    from zenhire_async.otel import OpenTelemetry
    ZenHireClient(on_event=OpenTelemetry())   # the global tracer and meter providers

**Spans.** One span per SDK call, ``"zenhire sessions.get"``, kind INTERNAL, a child of the
caller's current span, with ``zenhire.call``, ``http.response.status_code`` (of the last
attempt), ``http.request.resend_count`` (when it was resent) and ``error.type`` (the error's
class name) on failure. Retries (``zenhire.retry``), pacing waits (``zenhire.pacing.wait``)
and 429s (``zenhire.rate_limited``) are span events. The span is made current for the whole
call, so that an HTTP client span (``opentelemetry-instrumentation-aiohttp-client``) sits
under it. A wait (``await_completion``) holds no span open for days: each poll it makes is
a span of its own, and the session's lifecycle goes to the metrics.

How the span becomes current: the hook is a plain function, so it runs inline in the task
and ``contextvars`` context of the call itself; the client emits ``CallStarted`` and
``CallEnded`` from that one task, around the call. ``CallStarted`` attaches the span's
context and ``CallEnded`` detaches it, and only when the span's context is still the
current one (never another's, never from another context).

**Metrics** (no session id, candidate ref, link or key in any attribute):

=================================  =========  ========================================
``zenhire.client.call.duration``   histogram  s; ``zenhire.call``, ``zenhire.outcome``
``zenhire.client.pacing.wait``     histogram  s; ``zenhire.priority``
``zenhire.client.rate_limited``    counter    429 answers
``zenhire.session.status.duration`` histogram s a watched session was seen in a status;
                                              ``zenhire.session.status``
``zenhire.session.polls``          histogram  fetches per watched session, recorded when it
                                              ends; ``zenhire.session.status`` (final)
``zenhire.bulk.rows``              counter    ``zenhire.bulk.outcome``
=================================  =========  ========================================
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "zenhire_async.otel needs opentelemetry-api: pip install 'zenhire-async[otel]'"
    ) from exc

from ._events_dispatch import current_call_id
from ._version import __version__
from .events import (
    BulkRowFinished,
    CallEnded,
    CallStarted,
    Event,
    LeaderChanged,
    PacingWaited,
    RateLimited,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    StatusChanged,
)
from .models import TERMINAL_STATUSES

__all__ = ["OpenTelemetry"]

_WAIT_CALLS = frozenset({"sessions.await_completion"})
"""Calls that may last days: no span of their own (their polls have spans)."""

_SCOPE = "zenhire_async"
# Seconds, as the semantic conventions advise for HTTP client durations, then longer.
_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
_PACING_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# A status lasts seconds (active: an interview) to days (initiated: an unopened link).
_STATUS_BUCKETS = (10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)
_POLL_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass(slots=True)
class _Call:
    span: Span | None
    context: otel_context.Context | None = None
    token: contextvars.Token[otel_context.Context] | None = None
    attempts: int = 0
    status: int | None = None


class OpenTelemetry:
    """An ``on_event`` hook that reports calls as spans and the client's work as metrics.

    ``tracer_provider`` and ``meter_provider`` default to the global ones. One instance may
    serve many clients.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider)
        self._call_duration = meter.create_histogram(
            "zenhire.client.call.duration",
            unit="s",
            description="Duration of SDK calls, retries and waits included",
            explicit_bucket_boundaries_advisory=_CALL_BUCKETS,
        )
        self._pacing_wait = meter.create_histogram(
            "zenhire.client.pacing.wait",
            unit="s",
            description="Time requests waited for the client-side rate limit",
            explicit_bucket_boundaries_advisory=_PACING_BUCKETS,
        )
        self._rate_limited = meter.create_counter(
            "zenhire.client.rate_limited",
            unit="{response}",
            description="429 answers from the server",
        )
        self._status_duration = meter.create_histogram(
            "zenhire.session.status.duration",
            unit="s",
            description="Time a watched session was seen in a status",
            explicit_bucket_boundaries_advisory=_STATUS_BUCKETS,
        )
        self._polls = meter.create_histogram(
            "zenhire.session.polls",
            unit="{request}",
            description="Fetches that read a watched session's state, until it ended",
            explicit_bucket_boundaries_advisory=_POLL_BUCKETS,
        )
        self._bulk_rows = meter.create_counter(
            "zenhire.bulk.rows", unit="{row}", description="Bulk-invite rows, by outcome"
        )
        self._leading = meter.create_up_down_counter(
            "zenhire.watcher.leading",
            unit="{watcher}",
            description="Shared watchers of this process leading their key's fleet (0 or 1 each)",
        )
        self._calls: dict[int, _Call] = {}

    def __repr__(self) -> str:
        return f"<OpenTelemetry {len(self._calls)} call(s) in flight>"

    def __call__(self, event: Event) -> None:
        """Turn one event into span and metric updates."""
        match event:
            case CallStarted():
                self._started(event)
            case CallEnded():
                self._ended(event)
            case RequestSent():
                call = self._calls.get(event.call_id)
                if call is not None:
                    call.attempts = max(call.attempts, event.attempt)
                    call.status = None  # the last attempt's status, none if it got no answer
            case ResponseReceived():
                call = self._calls.get(event.call_id)
                if call is not None:
                    call.status = event.status
            case RetryScheduled():
                call = self._calls.get(event.call_id)
                if call is not None and call.span is not None:
                    call.span.add_event(
                        "zenhire.retry",
                        {
                            "zenhire.retry.attempt": event.attempt,
                            "zenhire.retry.delay": event.delay,
                            "zenhire.retry.reason": event.reason,
                        },
                    )
            case PacingWaited():
                self._pacing_wait.record(event.seconds, {"zenhire.priority": event.priority})
                self._span_event("zenhire.pacing.wait", {"zenhire.pacing.seconds": event.seconds})
            case RateLimited():
                self._rate_limited.add(1)
                after = (
                    {} if event.retry_after is None else {"zenhire.retry_after": event.retry_after}
                )
                self._span_event("zenhire.rate_limited", after)
            case StatusChanged():
                if event.old is not None and event.seconds_in_old is not None:
                    self._status_duration.record(
                        event.seconds_in_old, {"zenhire.session.status": event.old}
                    )
                if event.new in TERMINAL_STATUSES:
                    self._polls.record(event.polls, {"zenhire.session.status": event.new})
            case BulkRowFinished():
                self._bulk_rows.add(1, {"zenhire.bulk.outcome": event.outcome})
            case LeaderChanged():
                self._leading.add(1 if event.leading else -1)
            case _:
                pass

    def _started(self, event: CallStarted) -> None:
        if event.call in _WAIT_CALLS:
            self._calls[event.call_id] = _Call(None)
            return
        span = self._tracer.start_span(
            f"zenhire {event.call}",
            kind=SpanKind.INTERNAL,
            attributes={"zenhire.call": event.call},
        )
        context = trace.set_span_in_context(span)
        token = otel_context.attach(context)
        self._calls[event.call_id] = _Call(span, context, token)

    def _ended(self, event: CallEnded) -> None:
        self._call_duration.record(
            event.elapsed, {"zenhire.call": event.call, "zenhire.outcome": event.outcome}
        )
        call = self._calls.pop(event.call_id, None)
        if call is None or call.span is None:
            return
        span = call.span
        if call.status is not None:
            span.set_attribute("http.response.status_code", call.status)
        if call.attempts > 1:
            span.set_attribute("http.request.resend_count", call.attempts - 1)
        if event.outcome != "ok":
            span.set_attribute("error.type", event.outcome)
            span.set_status(Status(StatusCode.ERROR, event.outcome))
        span.end()
        if call.token is not None and otel_context.get_current() is call.context:
            otel_context.detach(call.token)

    def _span_event(self, name: str, attributes: dict[str, float]) -> None:
        """Add an event to the span of the call running here (the hook runs inline in it)."""
        call = self._calls.get(current_call_id())
        if call is not None and call.span is not None:
            call.span.add_event(name, attributes)
