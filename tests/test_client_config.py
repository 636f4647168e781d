"""Constructor options: default headers, the base URL, and ``ZENHIRE_LOG``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from zenhire_async import NotFoundError, ZenHireClient
from zenhire_async._log_env import _StderrHandler
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio

KEY = "zh_api_test_123456"


@pytest.mark.parametrize(
    "name",
    ["X-API-Key", "x-api-key", "X-Api-KEY", "Host", "host", "Content-Length", "CONTENT-length"],
)
def test_headers_the_client_sets_itself_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="set by the client itself"):
        ZenHireClient(api_key=KEY, headers={name: "x"})
    zh = ZenHireClient(api_key=KEY)
    with pytest.raises(ValueError, match="set by the client itself"):
        zh.with_options(headers={name: "x"})


@pytest.mark.parametrize(
    ("headers", "error", "match"),
    [
        ({"X-Ok": "a\r\nX-API-Key: zh_api_injected"}, ValueError, "line break"),
        ({"X-Ok": "a\nb"}, ValueError, "line break"),
        ({"Bad Name": "x"}, ValueError, "not a valid header name"),
        ({"": "x"}, ValueError, "not a valid header name"),
        ({"X-Num": 7}, TypeError, "must be a string"),
    ],
)
def test_header_injection_and_bad_values_are_refused(
    headers: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ZenHireClient(api_key=KEY, headers=headers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "suffix", ["/api/v1/interview", "/api/v1/interview/", "/api/v1", "/api/v1/"]
)
async def test_a_base_url_naming_the_api_is_taken_as_the_platform_root(
    emu: Emulator, suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "zenhire_async")
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url + suffix) as zh:
        assert zh.base_url == emu.base_url
        assert (await zh.personas.list()).data == []
        assert (await zh.health())["status"] == "ok"
    assert emu.request_counts["GET /personas"] == 1
    notes = [r.getMessage() for r in caplog.records if "platform root" in r.getMessage()]
    assert len(notes) == 1 and emu.base_url in notes[0]


async def test_the_log_names_the_full_path_sent(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway prefix in base_url shows in the log as the server received it."""
    caplog.set_level(logging.DEBUG, "zenhire_async")
    async with ZenHireClient(
        api_key=emu.api_key, base_url=emu.base_url + "/gw", max_retries=0
    ) as zh:
        with pytest.raises(NotFoundError):
            await zh.personas.list()
    assert any(
        r.getMessage().startswith("GET /gw/api/v1/interview/personas -> 404")
        for r in caplog.records
    ), caplog.text


@pytest.fixture
def zenhire_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Undo what ZENHIRE_LOG does to the package logger."""
    logger = logging.getLogger("zenhire_async")
    level = logger.level
    yield monkeypatch
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize("level", ["info", "debug", "DEBUG"])
async def test_zenhire_log_writes_redacted_lines_to_stderr(
    emu: Emulator,
    zenhire_log: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    level: str,
) -> None:
    zenhire_log.setenv("ZENHIRE_LOG", level)
    persona = emu.create_persona("Engineer", "en")
    emu.faults.add("500", count=2, route="GET /personas/{id}")
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
        await zh.personas.get(persona)
        await zh.personas.list()
        ZenHireClient(api_key=emu.api_key)  # a second client adds no second handler
    lines = [line for line in capsys.readouterr().err.splitlines() if " zenhire_async " in line]
    calls = [line for line in lines if " INFO " in line]
    attempts = [line for line in lines if " DEBUG " in line and " -> " in line]
    path = f"/api/v1/interview/personas/{persona}"
    assert len(calls) == 2, lines
    assert f"GET {path} -> ok" in calls[0] and "(3 attempts)" in calls[0]
    if level == "info":
        assert attempts == []
    else:
        assert [line.split(" -> ")[1][:3] for line in attempts] == ["500", "500", "200", "200"]
    assert emu.api_key not in "\n".join(lines)


def test_an_unknown_zenhire_log_value_warns(zenhire_log: pytest.MonkeyPatch) -> None:
    zenhire_log.setenv("ZENHIRE_LOG", "verbose")
    with pytest.warns(RuntimeWarning, match="ZENHIRE_LOG"):
        ZenHireClient(api_key=KEY)
    assert not any(
        isinstance(h, _StderrHandler) for h in logging.getLogger("zenhire_async").handlers
    )
