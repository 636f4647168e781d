"""Secrets never leak: the API key and candidate links stay out of logs, reprs and errors.

One full run against the emulator at DEBUG logging (every logger, aiohttp's and asyncio's
included): a persona, single invites, a bulk invite with its journal (through lost answers
and server errors), await_completion and watch, transcripts and recordings, and the errors
of the contract (401 with a wrong key, 404, 400, 409, 5xx retried and 5xx given up on,
a timed-out wait, a refused connection). Everything returned or raised is kept, and then:
no log record (message, arguments, exception text), no ``repr``/``str``/rich repr of any
kept object, and no exception's traceback text, ``args`` or ``__notes__`` — for the whole
cause/context chain — contains the key, a wrong key that was tried, any candidate link the
emulator minted, or the token part of one.

Elsewhere, and referenced from SECURITY.md rather than repeated here:
``test_transport.py::test_key_is_never_sent_across_origins_on_redirect`` (a hand-made
redirect), ``test_client_lifecycle.py::test_plain_http_to_a_remote_host_needs_consent``,
``test_bulk.py::test_every_row_gets_one_journaled_link`` (journal mode 0600),
``test_recording.py::test_download_is_a_valid_wav_with_mode_0600``.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import rich.pretty
from aiohttp import web

from zenhire_async import (
    APIConnectionError,
    APIError,
    ArtifactNotReadyError,
    AuthenticationError,
    BadRequestError,
    CreatedRecord,
    NotFoundError,
    ServerError,
    WaitTimeout,
    ZenHireClient,
    ZenHireError,
    export_links_csv,
    read_journal,
)
from zenhire_async.testing import Emulator
from zenhire_async.testing._faults import MALFORMED_KINDS

pytestmark = pytest.mark.anyio


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo += [exc.__cause__, exc.__context__]
        if isinstance(exc, BaseExceptionGroup):
            todo += list(exc.exceptions)


def texts_of(obj: object) -> Iterator[tuple[str, str]]:
    """Every human-facing rendering of ``obj``: (what, text)."""
    yield "repr", repr(obj)
    yield "str", str(obj)
    yield "rich", rich.pretty.pretty_repr(obj)
    if isinstance(obj, BaseException):
        yield "traceback", "".join(traceback.format_exception(obj))
        for exc in _chain(obj):
            yield f"{type(exc).__name__} repr", repr(exc)
            yield f"{type(exc).__name__} args", repr(exc.args)
            yield f"{type(exc).__name__} notes", repr(getattr(exc, "__notes__", []))


def record_texts(record: logging.LogRecord) -> Iterator[str]:
    yield record.getMessage()
    yield repr(record.args)
    if record.exc_info and record.exc_info[1] is not None:
        yield "".join(traceback.format_exception(record.exc_info[1]))
    if record.stack_info:
        yield record.stack_info


class Secrets:
    """The secrets of a run: keys used, and every link (and token) the emulator minted."""

    def __init__(self, emu: Emulator, *keys: str) -> None:
        self.emu = emu
        self.keys = list(keys)

    def all(self) -> list[str]:
        links = list(self.emu.links.values())
        tokens = [link.split("#t=", 1)[1] for link in links]
        assert all(len(token) >= 32 for token in tokens)
        return self.keys + links + tokens

    def check(self, text: str, where: str) -> None:
        for secret in self.all():
            assert secret not in text, f"a secret leaked in {where}: {text[:300]!r}"


@asynccontextmanager
async def recorder() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A second local server that records the headers of every request it gets."""
    seen: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"data": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


async def test_no_secret_in_any_log_repr_or_error_of_a_full_run(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records propagate
    for name in ("aiohttp", "asyncio", "zenhire_async"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.DEBUG
    wrong_key = "zh_api_" + "0123456789abcdef" * 2
    secrets = Secrets(emu, emu.api_key, wrong_key)
    kept: list[object] = []
    raised: list[BaseException] = []

    async def expect(kind: type[BaseException], call: Any) -> None:
        with pytest.raises(kind) as info:
            await call
        raised.append(info.value)

    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
        kept += [zh, zh.sessions, zh.personas, zh._transport]
        persona = await zh.personas.create("Engineer", "en")
        invites = [
            await zh.sessions.create(persona.id, consent_mode="explicit", candidate_ref=f"c-{i}")
            for i in range(3)
        ]
        kept += [persona, *invites]

        # A bulk invite through lost answers and failures: orphans, retries, reconciles.
        journal = tmp_path / "invites.jsonl"
        emu.faults.add("lost_response", count=2, route="POST /personas/{id}/sessions")
        emu.faults.add("500", count=2, route="POST /personas/{id}/sessions")
        report = await zh.sessions.bulk_invite(
            persona.id,
            [{"candidate_ref": f"bulk-{i}"} for i in range(8)] + [{"candidate_ref": ""}],
            consent_mode="explicit",
            journal=journal,
            concurrency=3,
        )
        emu.faults.clear()
        assert report.created == 8 and len(report.orphans) >= 1 and len(report.failed) == 1
        records = list(read_journal(journal))
        kept += [report, *report.failed, *records]
        links_csv = tmp_path / "links.csv"
        assert export_links_csv(journal, links_csv) == 8
        for path in (journal, links_csv):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

        # Waiting: one completes while awaited, the others through a watch.
        first, *others = invites
        emu.start_session(first.id)
        emu.complete_session(first.id, duration_sec=120, rating=5)
        kept.append(await zh.sessions.await_completion(first.id, on_status=kept.append))
        for invite in others:
            emu.start_session(invite.id)
        emu.fail_session(others[0].id)
        emu.complete_session(others[1].id)
        kept += [row async for row in zh.sessions.watch([i.id for i in others])]

        # Results, with retried 5xx on the way.
        emu.faults.add("500", count=1, route="GET /sessions/{id}/transcript")
        emu.faults.add("503", count=1, route="GET /sessions/{id}/recording", retry_after=1)
        kept.append(await zh.sessions.transcript(first.id))
        nbytes = await zh.sessions.download_recording(first.id, tmp_path / "first.wav")
        assert nbytes == emu.recording_bytes
        kept += [await zh.sessions.get(first.id), await zh.sessions.list(limit=5)]
        kept += [row async for row in zh.sessions.iter(page_size=3)]
        kept += [await zh.health(), await zh.credits()]
        assert emu.faults.injected["500"] >= 3 and emu.faults.injected["503"] == 1

        # The errors of the contract.
        await expect(NotFoundError, zh.sessions.get("no-such-session"))
        await expect(BadRequestError, zh.sessions.list(cursor="not-a-cursor"))
        pending = await zh.sessions.create(persona.id, consent_mode="integrator")
        kept.append(pending)
        await expect(ArtifactNotReadyError, zh.sessions.transcript(pending.id))
        await expect(WaitTimeout, zh.sessions.await_completion(pending.id, timeout=30))
        emu.faults.add("500", route="GET /sessions/{id}")
        await expect(ServerError, zh.sessions.get(pending.id))
        emu.faults.clear()
        emu.faults.add("reset", route="GET /sessions/{id}")
        await expect(APIConnectionError, zh.sessions.get(pending.id))
        emu.faults.clear()

    async with ZenHireClient(api_key=wrong_key, base_url=emu.base_url) as bad:
        kept.append(bad)
        await expect(AuthenticationError, bad.personas.list())
        await expect(AuthenticationError, bad.sessions.create(persona.id, consent_mode="explicit"))
    async with ZenHireClient(api_key=emu.api_key, base_url="http://127.0.0.1:9") as nowhere:
        await expect(APIConnectionError, nowhere.health())

    assert len(emu.links) >= 12  # the secrets checked below are real ones
    kept += raised
    for obj in kept:
        for what, text in texts_of(obj):
            secrets.check(text, f"{what} of a {type(obj).__name__}")
    assert len(caplog.records) > 50
    loggers = {record.name for record in caplog.records}
    assert "zenhire_async" in loggers
    for record in caplog.records:
        for text in record_texts(record):
            secrets.check(text, f"a log record of {record.name}")
    # The journal and the links file hold the links on purpose: hence mode 0600 (above).
    csv_text = links_csv.read_text()
    assert all(r.candidate_link in csv_text for r in records if isinstance(r, CreatedRecord))


@pytest.mark.parametrize(
    ("method", "route"), [("GET", "GET /sessions/{id}"), ("POST", "POST /personas/{id}/sessions")]
)
async def test_an_emulated_cross_origin_redirect_never_carries_the_key(
    emu: Emulator, method: str, route: str
) -> None:
    persona_id = emu.create_persona()
    session_id = emu.create_session(persona_id)
    async with (
        recorder() as (elsewhere, seen),
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        emu.faults.add("redirect", route=route, location=elsewhere)
        call = (
            zh.sessions.get(session_id)
            if method == "GET"
            else zh.sessions.create(persona_id, consent_mode="explicit")
        )
        with pytest.raises(APIError, match="another origin") as info:
            await call
        assert info.value.status == 307
        assert emu.faults.injected["redirect"] == 1  # refused, not retried elsewhere
        # Through a redirect to itself (same origin) the key goes along, and the call works.
        emu.faults.clear()
        emu.faults.add("redirect", count=1, route="GET /sessions/{id}")
        assert (await zh.sessions.get(session_id)).id == session_id
    assert seen == []  # the other origin never heard from the client at all
    assert emu.api_key not in str(info.value) + repr(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1",
        "http://api.zenhire.example",
        "http://127.0.0.1.nip.io",
        "http://localhost.evil.example",
        "http://127.1",
        "http://[::ffff:10.0.0.1]",
        "http://[::ffff:a00:1]",
        "http://[::ffff:0:127.0.0.1]",
    ],
)
def test_plain_http_to_a_host_that_only_looks_local_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unencrypted"):
        ZenHireClient(api_key="zh_api_k1234567", base_url=url)
    assert ZenHireClient(api_key="zh_api_k1234567", base_url=url, allow_insecure_http=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://[::1]",
        "http://[::ffff:127.0.0.1]",
        "http://[::ffff:7f00:2]",
    ],
)
def test_plain_http_to_loopback_is_allowed_on_every_python(url: str) -> None:
    # An IPv4-mapped address is judged by its IPv4 form: ::ffff:127.0.0.1 is 127.0.0.1.
    # (Python 3.13's ipaddress says so by itself, 3.11 and 3.12 did not: one rule for all.)
    assert ZenHireClient(api_key="zh_api_k1234567", base_url=url)


def test_security_md_cites_only_tests_that_exist() -> None:
    """Every ``file::test`` SECURITY.md gives as proof names a test of that file."""
    root = Path(__file__).resolve().parent
    text = (root.parent / "SECURITY.md").read_text(encoding="utf-8")
    cited = re.findall(r"`((?:test_\w+\.py)?)(?:::(test_\w+))?`", text)
    current: str | None = None
    checked = 0
    for filename, test in cited:
        if filename:
            current = filename
            assert (root / filename).is_file(), filename
        if test:
            assert current is not None, test
            source = (root / current).read_text(encoding="utf-8")
            assert re.search(rf"^(async )?def {test}\(", source, re.M), f"{current}::{test}"
            checked += 1
    assert checked >= 40


def _reachable(error: BaseException) -> Iterator[tuple[str, str]]:
    """Every text reachable from ``error``: each chained exception's repr, str, args and
    attributes (one level into their ``vars``), and the traceback of the whole chain
    formatted with every frame's locals."""
    for exc in _chain(error):
        name = type(exc).__name__
        yield f"{name} repr", repr(exc)
        yield f"{name} str", str(exc)
        yield f"{name} args", repr(exc.args)
        for attr, value in vars(exc).items():
            yield f"{name}.{attr}", repr(value)
            for inner, item in getattr(value, "__dict__", {}).items():
                yield f"{name}.{attr}.{inner}", repr(item)
    formatted = traceback.TracebackException.from_exception(error, capture_locals=True)
    yield "traceback with locals", "".join(formatted.format())


@pytest.mark.parametrize("kind", ["reset", "truncated", "stall_headers", *sorted(MALFORMED_KINDS)])
async def test_no_exception_reachable_from_an_sdk_error_holds_a_secret(
    emu: Emulator, tmp_path: Path, kind: Any
) -> None:
    # Found against a hostile server: on a malformed answer (bad status line, bad
    # Content-Length, bad chunk size, too many or over-long headers, an SSH banner) the
    # SDK's error was raised from aiohttp's ClientResponseError, whose repr and
    # request_info.headers hold the X-API-Key.
    persona_id = emu.create_persona()
    session_id = emu.create_session(persona_id)
    emu.start_session(session_id)
    emu.complete_session(session_id)
    secrets = Secrets(emu, emu.api_key)
    raised: list[BaseException] = []
    emu.faults.add(kind, delay=60.0)
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, timeout=5) as zh:
        calls = [
            zh.sessions.get(session_id),
            zh.sessions.transcript(session_id),
            zh.sessions.create(persona_id, consent_mode="explicit"),
            zh.sessions.download_recording(session_id, tmp_path / "r.wav"),
        ]
        for call in calls:
            with pytest.raises(APIConnectionError) as info:
                await call
            raised.append(info.value)
        if kind in MALFORMED_KINDS:
            assert "malformed HTTP answer" in str(raised[0])
    assert emu.faults.injected[kind] >= 4
    for error in raised:
        for what, text in _reachable(error):
            secrets.check(text, f"{what} of a {type(error).__name__} ({kind})")
        assert all(isinstance(e, ZenHireError) for e in _chain(error))
