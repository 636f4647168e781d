"""Configuration and lifecycle: keys, base URLs, lazy sessions, close, loops."""

from __future__ import annotations

import aiohttp
import anyio
import pytest

from zenhire_async import ZenHireClient
from zenhire_async.testing import Emulator


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZENHIRE_API_KEY", raising=False)
    with pytest.raises(ValueError, match="ZENHIRE_API_KEY"):
        ZenHireClient()
    with pytest.raises(ValueError, match="no API key"):
        ZenHireClient(api_key="  ")


def test_key_and_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENHIRE_API_KEY", "zh_api_from_env_1234567")
    monkeypatch.setenv("ZENHIRE_BASE_URL", "http://127.0.0.1:9/")
    client = ZenHireClient()
    assert client.base_url == "http://127.0.0.1:9"
    assert "from_env" not in repr(client)
    monkeypatch.delenv("ZENHIRE_BASE_URL")
    assert ZenHireClient().base_url == "https://platform.zenhire.ai"


@pytest.mark.parametrize(
    "url", ["ftp://x", "platform.zenhire.ai", "https://u:p@host", "https://h/?q=1"]
)
def test_bad_base_urls(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        ZenHireClient(api_key="zh_api_k1234567", base_url=url)


def test_plain_http_to_a_remote_host_needs_consent() -> None:
    with pytest.raises(ValueError, match="unencrypted"):
        ZenHireClient(api_key="zh_api_k1234567", base_url="http://api.example.com")
    ZenHireClient(
        api_key="zh_api_k1234567", base_url="http://api.example.com", allow_insecure_http=True
    )
    ZenHireClient(api_key="zh_api_k1234567", base_url="http://localhost:8080")
    ZenHireClient(api_key="zh_api_k1234567", base_url="http://[::1]:8080")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"rate_limit_per_minute": 0}, "rate_limit"),
        ({"max_connections": 0}, "max_connections"),
    ],
)
def test_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ZenHireClient(api_key="zh_api_k1234567", **kwargs)  # type: ignore[arg-type]


def test_construction_needs_no_event_loop() -> None:
    client = ZenHireClient(api_key="zh_api_k1234567")
    assert not client.closed  # nothing to close: no session was created


@pytest.mark.anyio
async def test_use_after_close_is_a_clear_error(emu: Emulator) -> None:
    client = ZenHireClient(api_key=emu.api_key, base_url=emu.base_url)
    async with client:
        await client.health()
    assert client.closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.personas.list()
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass
    await client.aclose()  # idempotent


@pytest.mark.anyio
async def test_borrowed_session_is_not_closed(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with ZenHireClient(
            api_key=emu.api_key, base_url=emu.base_url, session=session
        ) as client:
            await client.personas.create("Engineer", "en")
        assert not session.closed
        async with session.get(f"{emu.base_url}/api/v1/health") as resp:
            assert resp.status == 200


def test_a_client_belongs_to_one_event_loop() -> None:
    async def main() -> None:
        async with Emulator() as emu, aiohttp.ClientSession() as session:
            client = ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, session=session)
            await client.health()
            holder.append(client)

    holder: list[ZenHireClient] = []
    anyio.run(main)

    async def second() -> None:
        with pytest.raises(RuntimeError, match="another event loop"):
            await holder[0].health()

    anyio.run(second)


@pytest.mark.anyio
async def test_health_needs_no_key_and_credits_are_raw_json(zh: ZenHireClient) -> None:
    health = await zh.health()
    assert health.get("status") == "ok"
    credits = await zh.credits()
    assert isinstance(credits, dict) and credits
