"""OpenTelemetry: the span tree and the metric points, with the real SDK's in-memory exporters.

Our span is a child of the caller's, and the HTTP spans of the aiohttp-client
instrumentation (attached to a borrowed session) sit under ours; retries and pacing waits
are span events; a wait holds no span; every metric has its points, with bounded attributes
only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import create_trace_config
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from zenhire_async import NotFoundError, ZenHireClient, events
from zenhire_async.otel import OpenTelemetry
from zenhire_async.testing import Emulator, Simulation

pytestmark = pytest.mark.anyio

FAST = Simulation(open_delay=(30, 300), duration=(120, 300), fail_probability=0.3)
ALLOWED_ATTRIBUTES = {
    "zenhire.call",
    "zenhire.outcome",
    "zenhire.priority",
    "zenhire.session.status",
    "zenhire.bulk.outcome",
}


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    spans: InMemorySpanExporter
    meter_provider: MeterProvider
    reader: InMemoryMetricReader

    def hook(self) -> OpenTelemetry:
        return OpenTelemetry(self.tracer_provider, self.meter_provider)

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self) -> dict[str, list[NumberDataPoint | HistogramDataPoint]]:
        data = self.reader.get_metrics_data()
        out: dict[str, list[NumberDataPoint | HistogramDataPoint]] = {}
        if data is None:
            return out
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                if scope.scope.name != "zenhire_async":
                    continue
                for metric in scope.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)  # type: ignore[arg-type]
        return out


Point = NumberDataPoint | HistogramDataPoint


def _attribute(point: Point, name: str) -> object:
    """One attribute of a data point (a missing one is a KeyError)."""
    return (point.attributes or {})[name]


def _numbers(series: list[Point]) -> list[NumberDataPoint]:
    """The points of a counter: every one of them a NumberDataPoint."""
    assert all(isinstance(p, NumberDataPoint) for p in series), series
    return [p for p in series if isinstance(p, NumberDataPoint)]


def _histograms(series: list[Point]) -> list[HistogramDataPoint]:
    """The points of a histogram: every one of them a HistogramDataPoint."""
    assert all(isinstance(p, HistogramDataPoint) for p in series), series
    return [p for p in series if isinstance(p, HistogramDataPoint)]


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Telemetry(tracer_provider, spans, meter_provider, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
async def instrumented(emu: Emulator, telemetry: Telemetry) -> AsyncIterator[ZenHireClient]:
    """A client on a borrowed session carrying the aiohttp-client instrumentation."""
    trace_config = create_trace_config(tracer_provider=telemetry.tracer_provider)
    async with (
        aiohttp.ClientSession(trace_configs=[trace_config]) as http,
        ZenHireClient(
            api_key=emu.api_key, base_url=emu.base_url, session=http, on_event=telemetry.hook()
        ) as zh,
    ):
        yield zh


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    (span,) = [s for s in spans if s.name == name]
    return span


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_our_span_is_the_callers_child_and_the_http_spans_sit_under_it(
    instrumented: ZenHireClient, emu: Emulator, telemetry: Telemetry
) -> None:
    persona = emu.create_persona("Engineer", "en")
    session_id = emu.create_session(persona, consent_mode="explicit")
    emu.faults.add("503", count=1, route="GET /sessions/{id}", retry_after=1)
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("handle request") as handler:
        await instrumented.sessions.get(session_id)
        assert trace.get_current_span() is handler  # ours was detached on the way out
    spans = telemetry.finished()
    root = _one(spans, "handle request")
    ours = _one(spans, "zenhire sessions.get")
    assert ours.kind is SpanKind.INTERNAL
    assert _parent_id(ours) == root.context.span_id
    assert ours.context.trace_id == root.context.trace_id
    http = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert len(http) == 2  # the 503 and the retry
    assert {_parent_id(s) for s in http} == {ours.context.span_id}
    assert dict(ours.attributes or {}) == {
        "zenhire.call": "sessions.get",
        "http.response.status_code": 200,
        "http.request.resend_count": 1,
    }
    (retry,) = [e for e in ours.events if e.name == "zenhire.retry"]
    assert dict(retry.attributes or {}) == {
        "zenhire.retry.attempt": 1,
        "zenhire.retry.delay": 1.0,
        "zenhire.retry.reason": "ServerError",
    }
    assert ours.status.status_code is StatusCode.UNSET


async def test_a_failed_call_has_its_error_type(
    instrumented: ZenHireClient, telemetry: Telemetry
) -> None:
    with pytest.raises(NotFoundError):
        await instrumented.sessions.get("sess_missing")
    ours = _one(telemetry.finished(), "zenhire sessions.get")
    assert ours.status.status_code is StatusCode.ERROR
    assert ours.attributes is not None
    assert ours.attributes["error.type"] == "NotFoundError"
    assert ours.attributes["http.response.status_code"] == 404
    assert "http.request.resend_count" not in ours.attributes
    (point,) = [
        p
        for p in telemetry.points()["zenhire.client.call.duration"]
        if p.attributes and p.attributes["zenhire.outcome"] == "NotFoundError"
    ]
    assert isinstance(point, HistogramDataPoint) and point.count == 1


async def test_pacing_waits_and_429s_are_span_events_and_metrics(
    emu: Emulator, telemetry: Telemetry
) -> None:
    persona = emu.create_persona("Engineer", "en")
    session_id = emu.create_session(persona, consent_mode="explicit")
    emu.faults.add("429", count=1, route="GET /sessions/{id}", retry_after=2)
    async with ZenHireClient(
        api_key=emu.api_key,
        base_url=emu.base_url,
        rate_limit_per_minute=60,
        on_event=telemetry.hook(),
    ) as zh:
        await zh.sessions.get(session_id)
        await zh.sessions.get(session_id)
    first, second = [s for s in telemetry.finished() if s.name == "zenhire sessions.get"]
    assert [e.name for e in first.events] == [
        "zenhire.rate_limited",
        "zenhire.retry",
        "zenhire.pacing.wait",  # the retry waited for a token after the 429 emptied the bucket
    ]
    assert [e.name for e in second.events] == ["zenhire.pacing.wait"]
    points = telemetry.points()
    (limited,) = points["zenhire.client.rate_limited"]
    assert isinstance(limited, NumberDataPoint) and limited.value == 1
    (waits,) = points["zenhire.client.pacing.wait"]
    assert isinstance(waits, HistogramDataPoint) and waits.count == 2
    assert dict(waits.attributes or {}) == {"zenhire.priority": "interactive"}


async def test_pacing_waits_are_measured_by_priority(emu: Emulator, telemetry: Telemetry) -> None:
    async with ZenHireClient(
        api_key=emu.api_key,
        base_url=emu.base_url,
        rate_limit_per_minute=60,
        on_event=telemetry.hook(),
    ) as zh:
        for _ in range(3):  # burst 1: the second and third wait
            await zh.with_options(priority="batch").personas.list()
        await zh.personas.list()
    waits = {
        dict(p.attributes or {})["zenhire.priority"]: p
        for p in telemetry.points()["zenhire.client.pacing.wait"]
    }
    assert set(waits) == {"batch", "interactive"}
    batch, interactive = waits["batch"], waits["interactive"]
    assert isinstance(batch, HistogramDataPoint) and batch.count == 2
    assert isinstance(interactive, HistogramDataPoint) and interactive.count == 1


async def test_a_wait_holds_no_span_and_its_lifecycle_goes_to_metrics(
    emu: Emulator, telemetry: Telemetry, tmp_path: Path
) -> None:
    async with (
        Emulator(simulation=FAST, seed=21) as sim,
        ZenHireClient(api_key=sim.api_key, base_url=sim.base_url, on_event=telemetry.hook()) as zh,
    ):
        persona = await zh.personas.create("Engineer", "en")
        rows = [{"candidate_ref": f"c{n}"} for n in range(12)] + [{"candidate_ref": "c0"}]
        report = await zh.sessions.bulk_invite(
            persona.id, rows, consent_mode="explicit", journal=tmp_path / "job.jsonl"
        )
        ids = [s.id async for s in zh.sessions.iter(persona_id=persona.id)]
        tracer = telemetry.tracer_provider.get_tracer("test")
        with tracer.start_as_current_span("worker") as worker:
            done = await zh.sessions.await_completion(ids[0])
            watched = [row async for row in zh.sessions.watch(ids[1:])]
    spans = telemetry.finished()
    names = {s.name for s in spans}
    assert "zenhire sessions.await_completion" not in names
    worker_id = worker.get_span_context().span_id
    polls = [s for s in spans if _parent_id(s) == worker_id]
    assert polls and {s.name for s in polls} <= {"zenhire sessions.get", "zenhire sessions.list"}
    bulk = _one(spans, "zenhire sessions.bulk_invite")
    creates = [s for s in spans if s.name == "zenhire sessions.create"]
    assert len(creates) == 12 and {_parent_id(s) for s in creates} == {bulk.context.span_id}

    points = telemetry.points()
    assert set(points) >= {
        "zenhire.client.call.duration",
        "zenhire.session.status.duration",
        "zenhire.session.polls",
        "zenhire.bulk.rows",
    }
    bulk_rows = {
        _attribute(p, "zenhire.bulk.outcome"): p.value
        for p in _numbers(points["zenhire.bulk.rows"])
    }
    assert bulk_rows == {"created": report.created, "failed": 1}
    ended = [done.status] + [r.status for r in watched if r.status in ("completed", "failed")]
    polls_by_status = {
        _attribute(p, "zenhire.session.status"): p.count
        for p in _histograms(points["zenhire.session.polls"])
    }
    assert sum(polls_by_status.values()) == len(ended) == 12
    status_points = points["zenhire.session.status.duration"]
    assert {_attribute(p, "zenhire.session.status") for p in status_points} >= {
        "initiated",
        "active",
    }
    calls = {_attribute(p, "zenhire.call") for p in points["zenhire.client.call.duration"]}
    assert "sessions.await_completion" in calls  # the wait's duration is a metric, not a span
    for name, series in points.items():
        for point in series:
            assert set(point.attributes or {}) <= ALLOWED_ATTRIBUTES, name
            values = {str(v) for v in (point.attributes or {}).values()}
            assert not values & (set(ids) | {f"c{n}" for n in range(12)} | {persona.id})


async def test_leadership_of_the_shared_watcher_is_an_up_down_counter(
    telemetry: Telemetry,
) -> None:
    hook = telemetry.hook()
    for at, leading in enumerate((True, False, True)):
        hook(events.LeaderChanged(leading=leading, at=float(at)))
    [point] = _numbers(telemetry.points()["zenhire.watcher.leading"])
    assert point.value == 1 and not point.attributes
