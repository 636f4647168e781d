"""Secrets stay out of events and telemetry: no key, link or token in any event or span.

A run against the emulator with a recording hook and the OpenTelemetry adapter (real SDK,
in-memory exporters, the aiohttp-client instrumentation on a borrowed session): invites
(single and bulk, through lost answers and 5xx), a wait, a watch, a transcript, a failed
call with a wrong key. Then no event's ``repr`` or JSON line, no span name, attribute or
span-event attribute, and no metric attribute holds the key, the wrong key, any link the
emulator minted or the token part of one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import aiohttp
import pytest
from opentelemetry.instrumentation.aiohttp_client import create_trace_config
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from zenhire_async import AuthenticationError, ZenHireClient, events
from zenhire_async.otel import OpenTelemetry
from zenhire_async.testing import Emulator, Simulation

pytestmark = pytest.mark.anyio

WRONG_KEY = "zh_api_wrong_key_0123456789"


async def test_no_secret_in_any_event_span_or_metric(tmp_path: Path) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    seen: list[events.Event] = []
    hooks: list[events.EventHook] = [seen.append, OpenTelemetry(tracer_provider, meter_provider)]
    simulation = Simulation(open_delay=(5, 30), duration=(10, 60), fail_probability=0.2)
    trace_config = create_trace_config(tracer_provider=tracer_provider)
    async with (
        Emulator(simulation=simulation, seed=4) as emu,
        aiohttp.ClientSession(trace_configs=[trace_config]) as http,
        ZenHireClient(
            api_key=emu.api_key, base_url=emu.base_url, session=http, on_event=hooks
        ) as zh,
    ):
        persona = await zh.personas.create("Engineer", "en")
        first = await zh.sessions.create(persona.id, consent_mode="explicit", candidate_ref="a")
        emu.faults.add("lost_response", count=2, route="POST /personas/{id}/sessions")
        emu.faults.add("503", count=3, retry_after=1)
        rows = [{"candidate_ref": f"c{n}"} for n in range(6)]
        await zh.sessions.bulk_invite(
            persona.id, rows, consent_mode="explicit", journal=tmp_path / "job.jsonl"
        )
        listed = [s.id async for s in zh.sessions.iter(persona_id=persona.id)]
        # Orphans (created, answer lost) are never opened: watching them is a week's wait.
        ids = [i for i in listed if i in emu.delivered_session_ids]
        done = await zh.sessions.await_completion(first.id)
        _ = [row async for row in zh.sessions.watch(ids)]
        if done.status == "completed":
            await zh.sessions.transcript(first.id)
        async with ZenHireClient(api_key=WRONG_KEY, base_url=emu.base_url, on_event=hooks) as wrong:
            with pytest.raises(AuthenticationError):
                await wrong.credits()
        links = list(emu.links.values())
        key = emu.api_key
    assert len(links) >= 7
    secrets = {key, WRONG_KEY, *links}
    secrets |= {link.split("#t=", 1)[1] for link in links if "#t=" in link}

    texts: list[tuple[str, str]] = []
    kinds = {type(e) for e in seen}
    assert {events.RetryScheduled, events.StatusChanged, events.BulkRowFinished} <= kinds
    for event in seen:
        texts.append(("event repr", repr(event)))
        texts.append(("event json", json.dumps(dataclasses.asdict(event))))
    finished = spans.get_finished_spans()
    assert any(s.name == "zenhire sessions.create" for s in finished)
    for span in finished:
        texts.append(("span name", span.name))
        texts.append((f"{span.name} attributes", repr(dict(span.attributes or {}))))
        for span_event in span.events:
            attributes = dict(span_event.attributes or {})
            texts.append((f"{span.name} event", f"{span_event.name} {attributes}"))
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    texts.append((metric.name, repr(dict(point.attributes or {}))))
    leaks = [(what, s) for what, text in texts for s in secrets if s in text]
    assert leaks == []
    tracer_provider.shutdown()
    meter_provider.shutdown()
