"""The request path: retries, POST safety, pacing, redirects, headers and redaction."""

from __future__ import annotations

import json
import logging
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web
from fuzz_support import fuzzed
from hypothesis import given
from hypothesis import strategies as st

from zenhire_async import (
    APIConnectionError,
    APIError,
    DecodeError,
    RedirectError,
    ResponseTooLargeError,
    ServerError,
    TooManyRedirectsError,
    ZenHireClient,
    __version__,
)
from zenhire_async._http import DEFAULT_MAX_RESPONSE_BYTES
from zenhire_async.testing import Emulator, FaultKind

pytestmark = pytest.mark.anyio

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.mark.parametrize("kind", ["500", "502_html", "503", "429", "reset", "truncated", "empty"])
async def test_gets_survive_transient_faults(
    zh: ZenHireClient, emu: Emulator, kind: FaultKind
) -> None:
    persona = await zh.personas.create("Engineer", "en")
    emu.faults.add(kind, count=2, route="GET /personas/{id}")
    detail = await zh.personas.get(persona.id)
    assert detail.id == persona.id
    assert emu.faults.injected[kind] == 2
    assert emu.request_counts["GET /personas/{id}"] == 3


async def test_slow_answer_times_out_then_retries(emu: Emulator) -> None:
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, timeout=1.0) as zh:
        emu.faults.add("slow", count=1, delay=5.0)
        assert (await zh.personas.list()).data == []
    assert emu.request_counts["GET /personas"] == 2


@pytest.mark.parametrize("kind", ["500", "502_html", "reset", "lost_response"])
async def test_posts_are_not_retried_after_an_ambiguous_failure(
    zh: ZenHireClient, emu: Emulator, kind: FaultKind
) -> None:
    persona = await zh.personas.create("Engineer", "en")
    emu.faults.add(kind, count=1, route="POST /personas/{id}/sessions")
    with pytest.raises((ServerError, APIConnectionError)):
        await zh.sessions.create(persona.id, consent_mode="explicit")
    assert emu.request_counts["POST /personas/{id}/sessions"] == 1


@pytest.mark.parametrize("kind", ["429", "503"])
async def test_posts_are_retried_when_the_server_refused_them(
    zh: ZenHireClient, emu: Emulator, kind: FaultKind
) -> None:
    persona = await zh.personas.create("Engineer", "en")
    emu.faults.add(kind, count=1, route="POST /personas/{id}/sessions", retry_after=3)
    started = anyio.current_time()
    invite = await zh.sessions.create(persona.id, consent_mode="explicit")
    assert anyio.current_time() - started >= 3  # Retry-After honoured
    assert emu.request_counts["POST /personas/{id}/sessions"] == 2
    assert invite.id in emu.delivered_session_ids
    assert len(emu.sessions_of()) == 1


async def test_a_429_pauses_the_whole_client(zh: ZenHireClient, emu: Emulator) -> None:
    emu.faults.add("429", count=1, retry_after=10, route="GET /personas")
    finished: dict[str, float] = {}
    started = anyio.current_time()

    async def limited() -> None:
        await zh.personas.list()
        finished["limited"] = anyio.current_time() - started

    async def bystander() -> None:
        await anyio.sleep(0.5)  # starts after the 429 arrived
        await zh.health()
        finished["bystander"] = anyio.current_time() - started

    async with anyio.create_task_group() as tg:
        tg.start_soon(limited)
        tg.start_soon(bystander)
    assert finished["limited"] >= 10
    assert finished["bystander"] >= 10  # held by the same pause, though it never saw a 429


async def test_pacing_spreads_a_burst_at_the_configured_rate(emu: Emulator) -> None:
    async with ZenHireClient(
        api_key=emu.api_key, base_url=emu.base_url, rate_limit_per_minute=120
    ) as zh:
        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for _ in range(61):
                tg.start_soon(zh.health)
        elapsed = anyio.current_time() - started
    # burst 1, then 119/min: 60 more requests need about 30 s.
    assert 29 <= elapsed <= 35


async def test_pacing_avoids_429s_against_a_server_with_the_same_limit() -> None:
    async with (
        Emulator(rate_limit_per_minute=60) as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, rate_limit_per_minute=60) as zh,
    ):
        async with anyio.create_task_group() as tg:
            for _ in range(150):
                tg.start_soon(zh.personas.list)
        assert emu.faults.injected["429"] == 0
        assert emu.request_counts["GET /personas"] == 150


async def test_each_followed_redirect_is_paced_too() -> None:
    # Found by the chaos suite: the second request of a followed same-origin redirect took
    # no token, so redirects pushed a client paced at the server's limit over it, and a
    # call could meet 429 after 429 until its retries ran out.
    async with (
        Emulator(rate_limit_per_minute=60) as emu,
        ZenHireClient(
            api_key=emu.api_key, base_url=emu.base_url, rate_limit_per_minute=60, max_retries=0
        ) as zh,
    ):
        emu.faults.add("redirect", rate=0.3)
        for _ in range(150):  # one after the other: the same draws every run
            await zh.personas.list()  # max_retries=0: a single 429 would raise
        redirects = emu.faults.injected["redirect"]
        assert redirects > 30
        assert emu.request_counts["GET /personas"] == 150 + redirects


async def test_waiting_for_a_pooled_connection_is_not_part_of_the_timeout(emu: Emulator) -> None:
    # Found by the load test: calls queued behind the connection pool ran down their
    # per-attempt timeout while waiting, so a burst of calls to a healthy server timed
    # out (and their retries added to the queue). On the virtual clock: each answer takes
    # 0.1 s, a tenth of the timeout; the burst through 5 connections takes 2 s.
    emu.faults.add("slow", delay=0.1)
    async with ZenHireClient(
        api_key=emu.api_key,
        base_url=emu.base_url,
        timeout=1.0,
        max_retries=0,
        max_connections=5,
        rate_limit_per_minute=None,
    ) as zh:
        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for _ in range(100):
                tg.start_soon(zh.personas.list)
        assert anyio.current_time() - started >= 1.9
    assert emu.request_counts["GET /personas"] == 100
    assert emu.peak_connections == 5


@pytest.mark.parametrize("borrowed", [False, True], ids=["own session", "borrowed session"])
async def test_user_agent_and_key_header(emu: Emulator, borrowed: bool) -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"status": "ok"})

    async with (
        _server({"/api/v1/health": handler, "/api/v1/credits": handler}) as url,
        aiohttp.ClientSession() as session,
        ZenHireClient(
            api_key="zh_api_secret_abc123", base_url=url, session=session if borrowed else None
        ) as zh,
    ):
        await zh.health()
        await zh.credits()
    for headers in seen:
        assert headers["User-Agent"].startswith(f"zenhire-async/{__version__}")
        assert headers["Accept"] == "application/json"
    assert "X-API-Key" not in seen[0]  # health needs no key
    assert seen[1]["X-API-Key"] == "zh_api_secret_abc123"


@asynccontextmanager
async def _server(routes: Mapping[str, Handler]) -> AsyncIterator[str]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_key_is_never_sent_across_origins_on_redirect() -> None:
    leaked: list[str | None] = []

    async def elsewhere(request: web.Request) -> web.Response:
        leaked.append(request.headers.get("X-API-Key"))
        return web.json_response({"data": []})

    async with _server({"/{tail:.*}": elsewhere}) as other:

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(f"{other}/api/v1/interview/personas")

        async with _server({"/api/v1/interview/personas": redirect}) as url:
            async with ZenHireClient(api_key="zh_api_secret_abc123", base_url=url) as zh:
                with pytest.raises(APIError, match="another origin") as info:
                    await zh.personas.list()
    assert info.value.status == 307
    assert leaked == []  # not even followed without the key


async def test_same_origin_redirects_are_followed_with_the_key() -> None:
    keys: list[str | None] = []

    async def target(request: web.Request) -> web.Response:
        keys.append(request.headers.get("X-API-Key"))
        return web.json_response({"data": [], "has_more": False})

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/api/v1/interview/personas-v2")

    routes = {"/api/v1/interview/personas": redirect, "/api/v1/interview/personas-v2": target}
    async with _server(routes) as url:
        async with ZenHireClient(api_key="zh_api_secret_abc123", base_url=url) as zh:
            assert (await zh.personas.list()).data == []
    assert keys == ["zh_api_secret_abc123"]


async def test_aiohttp_itself_would_leak_the_key(emu: Emulator) -> None:
    """Why we follow redirects by hand: aiohttp forwards custom headers across origins."""
    import aiohttp

    leaked: list[str | None] = []

    async def elsewhere(request: web.Request) -> web.Response:
        leaked.append(request.headers.get("X-API-Key"))
        return web.Response(text="ok")

    async with _server({"/{tail:.*}": elsewhere}) as other:

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{other}/x")

        async with _server({"/r": redirect}) as url, aiohttp.ClientSession() as s:
            async with s.get(f"{url}/r", headers={"X-API-Key": "zh_api_leak"}) as resp:
                await resp.read()
    assert leaked == ["zh_api_leak"]


async def test_debug_logs_carry_no_secrets(
    zh: ZenHireClient, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    persona = await zh.personas.create("Engineer", "en")
    invite = await zh.sessions.create(persona.id, consent_mode="explicit")
    emu.faults.add("500", count=1)
    await zh.sessions.get(invite.id)
    token = invite.candidate_link.split("#t=", 1)[1]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /api/v1/interview/personas" in text and "request_id=req_" in text
    assert "retrying" in text
    assert emu.api_key not in text and token not in text


# -- bounds against a hostile server (issue 12) -------------------------------------------


@contextmanager
def _held_bytes() -> Iterator[list[int]]:
    """The peak of Python memory allocated while the block runs (tracemalloc), in bytes."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("kind", "size"),
    [("huge_body", 100_000_000), ("gzip_bomb", 300 * 1024 * 1024), ("endless_body", None)],
)
async def test_a_body_over_the_cap_is_a_typed_error_holding_no_more_than_the_cap(
    zh: ZenHireClient, emu: Emulator, kind: Any, size: int | None
) -> None:
    # Found against a hostile server: a 200 MB page raised peak RSS by ~400 MB, a gzip
    # bomb (0.3 MB on the wire) by 613 MB, an endless chunked body by 2.4 GB in one call.
    emu.faults.add(kind, count=1, size=size, route="GET /sessions")
    with _held_bytes() as peak, pytest.raises(ResponseTooLargeError) as info:
        await zh.sessions.list()
    assert isinstance(info.value, DecodeError)
    assert info.value.limit == DEFAULT_MAX_RESPONSE_BYTES == 8 * 1024 * 1024
    assert peak[0] < 3 * DEFAULT_MAX_RESPONSE_BYTES  # the cap, a copy, a chunk: not 100 MB+
    assert emu.request_counts["GET /sessions"] == 1  # not retried: it would do it again
    assert (await zh.sessions.list()).data == []  # the client carries on


async def test_the_cap_is_configurable_and_checked(emu: Emulator) -> None:
    emu.faults.add("huge_body", size=200_000, route="GET /sessions")
    kwargs: dict[str, Any] = {"api_key": emu.api_key, "base_url": emu.base_url}
    async with ZenHireClient(**kwargs, max_response_bytes=100_000) as small:
        with pytest.raises(ResponseTooLargeError, match="max_response_bytes=100,000"):
            await small.sessions.list()
    async with ZenHireClient(**kwargs, max_response_bytes=300_000) as large:
        assert (await large.sessions.list()).data == []
    for bad in (0, -1, 1.5, True, "8M"):
        with pytest.raises(ValueError, match="max_response_bytes"):
            ZenHireClient(**kwargs, max_response_bytes=bad)  # type: ignore[arg-type]


async def test_gzip_answers_count_their_inflated_size(emu: Emulator) -> None:
    emu.faults.add("gzip_bomb", size=2_000_000, route="GET /sessions")
    kwargs: dict[str, Any] = {"api_key": emu.api_key, "base_url": emu.base_url}
    async with ZenHireClient(**kwargs, max_response_bytes=1_000_000) as zh:
        with pytest.raises(ResponseTooLargeError):  # 2 kB on the wire, 2 MB inflated
            await zh.sessions.list()
    emu.faults.clear()
    emu.faults.add("gzip", route="GET /sessions")
    async with ZenHireClient(**kwargs) as zh:
        assert (await zh.sessions.list()).data == []
    assert emu.faults.injected["gzip"] == 1


def _envelope(message: str, details: object) -> bytes:
    error = {"code": "INTERNAL_ERROR", "message": message, "requestId": "req_1", "details": details}
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize("megabytes", [0.5, 50])
async def test_a_huge_error_message_is_kept_short(megabytes: float) -> None:
    # Found against a hostile server: a 500 with a 50 MB message gave a ServerError whose
    # str() was 52 million characters long.
    body = _envelope("x" * int(megabytes * 1_000_000), {"rows": [{"v": "y" * 2_000}] * 200})

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=500, body=body, content_type="application/json")

    async with (
        _server({"/api/v1/interview/personas": handler}) as url,
        ZenHireClient(api_key="zh_api_secret_abc123", base_url=url, max_retries=0) as zh,
    ):
        with pytest.raises(ServerError) as info:
            await zh.personas.list()
    error = info.value
    assert error.status == 500
    assert len(str(error)) < 3_000 and len(repr(error)) < 3_000
    assert len(json.dumps(error.details)) < 100_000
    if megabytes < 1:  # read and decoded, then cut
        assert error.code == "INTERNAL_ERROR" and error.request_id == "req_1"
        assert "more characters" in error.message
        rows = error.details["rows"]
        assert isinstance(rows, list) and len(rows) == 51 and "more items" in str(rows[-1])
    else:  # over the error-body cap: not read at all
        assert "body over 1,048,576 bytes" in error.message


async def test_too_many_redirects_is_a_typed_error_with_the_real_status(
    zh: ZenHireClient, emu: Emulator
) -> None:
    # It used to be an APIError with a made-up HTTP status 310.
    persona = emu.create_persona()
    emu.faults.add("redirect", route="GET /personas/{id}")
    with pytest.raises(TooManyRedirectsError) as info:
        await zh.personas.get(persona)
    assert isinstance(info.value, RedirectError) and isinstance(info.value, APIError)
    assert info.value.status == 307
    assert emu.request_counts["GET /personas/{id}"] == 6  # the request and 5 redirects


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3) | st.just("x" * 700),
    lambda inner: (
        st.lists(inner, max_size=60) | st.dictionaries(st.text(max_size=3), inner, max_size=60)
    ),
    max_leaves=120,
)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@pytest.mark.slow
@given(message=st.text(max_size=5_000), details=st.dictionaries(st.text(max_size=5), _json))
def test_an_api_error_keeps_whatever_the_server_said_bounded(
    message: str, details: dict[str, Any]
) -> None:
    fuzzed("APIError bounds")
    error = APIError(message, status=500, details=details, code="C" * 1_000)
    assert len(str(error)) < 2_500 and len(error.code or "") < 250
    assert error.message == message or error.message.startswith(message[:2_000])

    def check(value: object) -> None:
        if isinstance(value, str):
            assert len(value) < 540
        elif isinstance(value, dict):
            assert len(value) <= 51
            for key, item in value.items():
                check(key)
                check(item)
        elif isinstance(value, list):
            assert len(value) <= 51
            for item in value:
                check(item)

    check(error.details)
    assert _depth(error.details) <= 9
