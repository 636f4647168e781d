"""Each fault kind, the per-key rate limit, and fault targeting/counting."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from emulator_support import Api, assert_envelope

from zenhire_async.testing import Emulator
from zenhire_async.testing._faults import MALFORMED_KINDS

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(emu: Emulator) -> AsyncIterator[Api]:
    # a fresh connection per request: a dropped connection is never silently reused
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        yield Api(emu, http)


async def _session(api: Api) -> str:
    pid = api.emu.create_persona()
    return api.emu.create_session(pid)


async def test_500(api: Api) -> None:
    api.emu.faults.add("500", count=1)
    assert_envelope(await api.call("GET", "/sessions"), 500, "INTERNAL_ERROR")
    assert (await api.call("GET", "/sessions")).status == 200
    assert api.emu.faults.injected["500"] == 1


async def test_502_html(api: Api) -> None:
    api.emu.faults.add("502_html", count=1)
    reply = await api.call("GET", "/sessions")
    assert reply.status == 502
    assert reply.headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in reply.raw


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("503", 503, "SERVICE_UNAVAILABLE"), ("429", 429, "RATE_LIMIT_EXCEEDED")],
)
async def test_retry_after_faults(api: Api, kind: Any, status: int, code: str) -> None:
    api.emu.faults.add(kind, count=1, retry_after=7)
    err = assert_envelope(await api.call("GET", "/sessions"), status, code)
    assert err["retryAfterSeconds"] == 7
    reply = await api.call("GET", "/sessions")
    assert reply.status == 200


async def test_retry_after_header(api: Api) -> None:
    api.emu.faults.add("503", count=1, retry_after=2.5)
    reply = await api.call("GET", "/sessions")
    assert reply.headers["Retry-After"] == "3"
    assert reply.error["retryAfterSeconds"] == 2.5


async def test_empty(api: Api) -> None:
    api.emu.faults.add("empty", count=1)
    reply = await api.call("GET", "/sessions")
    assert reply.status >= 500
    assert reply.raw == b""


async def test_reset(api: Api) -> None:
    # aiohttp itself resends an idempotent request once after a disconnect: reset twice
    api.emu.faults.add("reset", count=2)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.call("GET", "/sessions")
    assert (await api.call("GET", "/sessions")).status == 200
    assert api.emu.request_counts["GET /sessions"] == 3
    assert api.emu.faults.injected["reset"] == 2


async def test_reset_on_create_creates_nothing(api: Api) -> None:
    pid = api.emu.create_persona()
    api.emu.faults.add("reset", count=1, method="POST")
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.call("POST", f"/personas/{pid}/sessions", json={"consent_mode": "explicit"})
    assert api.emu.sessions_of() == []


async def test_slow(api: Api) -> None:
    api.emu.faults.add("slow", count=1, delay=42.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await api.call("GET", "/sessions")).status == 200
    assert loop.time() - started >= 42.0


async def test_slow_trips_a_client_timeout(api: Api) -> None:
    api.emu.faults.add("slow", count=1, delay=60.0)
    timeout = aiohttp.ClientTimeout(total=10)
    url = api.emu.base_url + "/api/v1/interview/sessions"
    with pytest.raises(asyncio.TimeoutError):
        async with api.http.get(url, headers={"X-API-Key": api.emu.api_key}, timeout=timeout):
            pass


@pytest.mark.parametrize(
    ("method", "route", "path"),
    [
        ("POST", "POST /personas/{id}/sessions", "/personas/{pid}/sessions"),
        ("GET", "GET /sessions/{id}/recording", "/sessions/{sid}/recording"),
    ],
)
async def test_a_client_gone_during_a_slow_fault_is_not_a_server_error(
    api: Api, caplog: pytest.LogCaptureFixture, method: str, route: str, path: str
) -> None:
    # Seen in the chaos suite: the handler then read the body of (or answered) a request
    # whose client had timed out, and aiohttp logged "Error handling request" tracebacks.
    pid = api.emu.create_persona()
    sid = api.emu.create_session(pid)
    api.emu.start_session(sid)
    api.emu.complete_session(sid)
    api.emu.faults.add("slow", count=1, delay=60.0, route=route)
    url = api.emu.base_url + "/api/v1/interview" + path.format(pid=pid, sid=sid)
    headers = {"X-API-Key": api.emu.api_key}
    with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
        with pytest.raises(asyncio.TimeoutError):
            async with api.http.request(
                method,
                url,
                json={"consent_mode": "explicit"} if method == "POST" else None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ):
                pass
        await asyncio.sleep(120)  # the slow fault ends and the handler meets the closed socket
    # asyncio's own debug-mode note of a slow callback depends on the machine's load, not on us
    assert [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "asyncio"] == []


async def test_truncated_json(api: Api) -> None:
    sid = await _session(api)
    api.emu.faults.add("truncated", count=1, route="GET /sessions/{id}")
    with pytest.raises(aiohttp.ClientPayloadError):
        await api.call("GET", f"/sessions/{sid}")
    assert (await api.call("GET", f"/sessions/{sid}")).status == 200


async def test_truncated_recording(api: Api) -> None:
    sid = await _session(api)
    api.emu.complete_session(sid)
    api.emu.faults.add("truncated", count=1, route="/sessions/{id}/recording")
    with pytest.raises(aiohttp.ClientPayloadError):
        await api.call("GET", f"/sessions/{sid}/recording")
    assert len((await api.call("GET", f"/sessions/{sid}/recording")).raw) == 32_044


async def test_lost_response_creates_the_session(api: Api) -> None:
    pid = api.emu.create_persona()
    api.emu.faults.add("lost_response", count=1)
    path = f"/personas/{pid}/sessions"
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.call("POST", path, json={"consent_mode": "explicit"})
    created = (await api.call("POST", path, json={"consent_mode": "explicit"})).json
    emu = api.emu
    assert len(emu.sessions_of()) == 2
    (lost,) = emu.undelivered_session_ids
    assert emu.delivered_session_ids == {created["id"]}
    assert lost != created["id"]
    assert emu.session(lost)["status"] == "initiated"
    assert lost in emu.links


async def test_lost_response_only_hits_posts(api: Api) -> None:
    api.emu.faults.add("lost_response")
    assert (await api.call("GET", "/sessions")).status == 200
    assert api.emu.faults.injected["lost_response"] == 0


async def test_stale_read(api: Api) -> None:
    sid = await _session(api)
    api.emu.start_session(sid)
    api.emu.faults.add("stale_read", count=2)
    assert (await api.call("GET", f"/sessions/{sid}")).json["status"] == "initiated"
    row = (await api.call("GET", "/sessions")).json["data"][0]
    assert row["status"] == "initiated"
    assert row["started_at"] is None
    assert (await api.call("GET", f"/sessions/{sid}")).json["status"] == "active"
    api.emu.complete_session(sid)
    api.emu.faults.add("stale_read", count=1)
    stale = (await api.call("GET", f"/sessions/{sid}")).json
    assert stale["status"] == "active"
    assert stale["feedback"] is None


async def test_redirect(api: Api) -> None:
    emu = api.emu
    emu.faults.add("redirect", count=1, location="http://elsewhere.invalid")
    reply = await api.call("GET", "/sessions", params={"limit": "5"})
    assert reply.status == 307
    assert reply.headers["Location"] == "http://elsewhere.invalid/api/v1/interview/sessions?limit=5"
    emu.faults.add("redirect", count=1)  # default: back to the emulator itself
    url = emu.base_url + "/api/v1/interview/sessions"
    async with api.http.get(url, headers={"X-API-Key": emu.api_key}) as resp:
        assert resp.status == 200
        assert len(resp.history) == 1
    assert emu.request_counts["GET /sessions"] == 3


async def test_targeting_and_rates(api: Api) -> None:
    emu = api.emu
    sid = await _session(api)
    emu.faults.add("500", route="GET /sessions/{id}", count=3)
    assert (await api.call("GET", "/sessions")).status == 200
    statuses = [(await api.call("GET", f"/sessions/{sid}")).status for _ in range(4)]
    assert statuses == [500, 500, 500, 200]
    emu.faults.add("500", method="POST")
    assert (await api.call("GET", "/sessions")).status == 200
    emu.faults.clear()
    emu.faults.add("500", rate=0.5)
    results = [(await api.call("GET", "/sessions")).status for _ in range(200)]
    assert 50 < results.count(500) < 150
    assert emu.faults.injected["500"] == 3 + results.count(500)
    with pytest.raises(ValueError, match="unknown fault"):
        emu.faults.add("teapot")  # type: ignore[arg-type]


async def test_rate_limit() -> None:
    async with Emulator(rate_limit_per_minute=5) as emu, aiohttp.ClientSession() as http:
        api = Api(emu, http)
        loop = asyncio.get_running_loop()
        for _ in range(5):
            assert (await api.call("GET", "/sessions")).status == 200
            await asyncio.sleep(2)
        reply = await api.call("GET", "/sessions")
        err = assert_envelope(reply, 429, "RATE_LIMIT_EXCEEDED")
        retry = int(reply.headers["Retry-After"])
        assert 1 <= retry <= 60
        assert err["retryAfterSeconds"] == retry
        # a second key has its own budget
        other = emu.add_key()
        assert (await api.call("GET", "/sessions", key=other)).status == 200
        # rejected requests do not extend the wait
        assert (await api.call("GET", "/sessions")).status == 429
        before = loop.time()
        await asyncio.sleep(retry)
        assert loop.time() - before >= retry
        assert (await api.call("GET", "/sessions")).status == 200
        assert emu.request_counts["GET /sessions"] == 9


async def test_rate_limit_window_is_the_sliding_window_of_the_limit() -> None:
    async with (
        Emulator(rate_limit_per_minute=2, rate_limit_window=3.0) as emu,
        aiohttp.ClientSession() as http,
    ):
        api = Api(emu, http)
        assert [(await api.call("GET", "/sessions")).status for _ in range(3)] == [200, 200, 429]
        await asyncio.sleep(3)  # the window, not a minute
        assert (await api.call("GET", "/sessions")).status == 200
    with pytest.raises(ValueError, match="rate_limit_window"):
        Emulator(rate_limit_per_minute=2, rate_limit_window=0)


# -- hostile-server faults (issue 12) ----------------------------------------------------


async def test_stall_headers_waits_before_answering(api: Api) -> None:
    api.emu.faults.add("stall_headers", count=1, delay=25.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await api.call("GET", "/sessions")).status == 200
    assert loop.time() - started >= 25.0


@pytest.mark.parametrize("kind", ["stall_body", "trickle"])
async def test_stall_body_and_trickle_send_the_whole_answer_slowly(api: Api, kind: Any) -> None:
    sid = await _session(api)
    expected = (await api.call("GET", f"/sessions/{sid}")).raw
    api.emu.faults.add(kind, count=1, delay=2.0, size=64)
    url = api.emu.base_url + f"/api/v1/interview/sessions/{sid}"
    loop = asyncio.get_running_loop()
    async with api.http.get(url, headers={"X-API-Key": api.emu.api_key}) as resp:
        headers_at = loop.time()
        pieces = [chunk async for chunk in resp.content.iter_any()]
        ended_at = loop.time()
    assert b"".join(pieces) == expected
    pauses = 1 if kind == "stall_body" else -(-len(expected) // 64) - 1
    assert ended_at - headers_at >= 2.0 * pauses - 0.01
    assert pauses >= 1


async def test_huge_body_is_valid_json_of_the_size_asked(api: Api) -> None:
    api.emu.faults.add("huge_body", count=1, size=3_000_000)
    reply = await api.call("GET", "/sessions")
    assert reply.status == 200 and len(reply.raw) == 3_000_000
    assert reply.json["data"] == []


async def test_endless_body_never_ends(api: Api) -> None:
    api.emu.faults.add("endless_body", count=1)
    url = api.emu.base_url + "/api/v1/interview/sessions"
    received = 0
    async with api.http.get(url, headers={"X-API-Key": api.emu.api_key}) as resp:
        assert resp.headers["Transfer-Encoding"] == "chunked"
        async for chunk in resp.content.iter_any():
            received += len(chunk)
            if received > 20_000_000:
                break
    assert received > 20_000_000


async def test_gzip_bomb_is_small_on_the_wire(api: Api) -> None:
    api.emu.faults.add("gzip_bomb", count=1, size=50_000_000)
    url = api.emu.base_url + "/api/v1/interview/sessions"
    async with api.http.get(url, headers={"X-API-Key": api.emu.api_key}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.content_length is not None and resp.content_length < 100_000
        inflated = sum([len(chunk) async for chunk in resp.content.iter_any()])
    assert inflated == 50_000_000


@pytest.mark.parametrize(
    ("kind", "accept", "compressed"),
    [
        ("gzip", "gzip, deflate", True),
        ("gzip", "identity", False),
        ("gzip_always", "identity", True),
    ],
)
async def test_gzip_compresses_with_its_compressed_length(
    api: Api, kind: Any, accept: str, compressed: bool
) -> None:
    sid = await _session(api)
    api.emu.complete_session(sid)
    api.emu.faults.add(kind, count=1, route="GET /sessions/{id}/recording")
    url = api.emu.base_url + f"/api/v1/interview/sessions/{sid}/recording"
    headers = {"X-API-Key": api.emu.api_key, "Accept-Encoding": accept}
    async with api.http.get(url, headers=headers, auto_decompress=False) as resp:
        raw = await resp.read()
        assert resp.content_length == len(raw)
        assert ("Content-Encoding" in resp.headers) == compressed
    assert (gzip.decompress(raw) if compressed else raw)[:4] == b"RIFF"
    assert len(gzip.decompress(raw) if compressed else raw) == api.emu.recording_bytes


@pytest.mark.parametrize("kind", sorted(MALFORMED_KINDS))
async def test_malformed_http_breaks_the_client_parser(api: Api, kind: Any) -> None:
    api.emu.faults.add(kind, count=1)
    with pytest.raises(aiohttp.ClientResponseError):
        await api.call("GET", "/sessions")
    assert (await api.call("GET", "/sessions")).status == 200
    assert api.emu.faults.injected[kind] == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_storage_redirect_serves_the_artifact_from_a_second_origin(status: int) -> None:
    async with (
        Emulator(storage=True) as emu,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
    ):
        api = Api(emu, http)
        sid = await _session(api)
        emu.complete_session(sid)
        emu.faults.add("storage_redirect", count=2, status=status)
        assert (await api.call("GET", f"/sessions/{sid}")).status == 200  # not an artifact
        for artifact in ("recording", "transcript"):
            reply = await api.call("GET", f"/sessions/{sid}/{artifact}")
            assert reply.status == status
            location = reply.headers["Location"]
            assert location.startswith(emu.storage_url + "/o/")
            async with http.get(location) as resp:
                body = await resp.read()
            if artifact == "recording":
                assert len(body) == emu.recording_bytes
            else:
                assert json.loads(body) == emu.transcript(sid)
        assert len(emu.storage_requests) == 2
        await asyncio.sleep(301)  # the URLs are short-lived
        async with http.get(location) as resp:
            assert resp.status == 403


async def test_storage_url_answers_json_naming_the_storage_url() -> None:
    async with Emulator(storage=True) as emu, aiohttp.ClientSession() as http:
        api = Api(emu, http)
        sid = await _session(api)
        emu.faults.add("storage_url", route="GET /sessions/{id}/transcript")
        reply = await api.call("GET", f"/sessions/{sid}/transcript")
        assert reply.status == 409  # not ready: the platform's own error, not a URL
        emu.complete_session(sid)
        pointer = (await api.call("GET", f"/sessions/{sid}/transcript")).json
        assert set(pointer) == {"url", "expires_at"}
        assert pointer["url"].startswith(emu.storage_url)
        async with http.get(pointer["url"]) as resp:
            assert await resp.json() == emu.transcript(sid)
