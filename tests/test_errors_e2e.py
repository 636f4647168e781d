"""Every error class, produced by a real server answer (the emulator), not by a mock."""

from __future__ import annotations

import pytest

from zenhire_async import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    InsufficientCreditsError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ZenHireClient,
)
from zenhire_async.testing import Emulator, FaultKind

pytestmark = pytest.mark.anyio


async def test_invalid_key(emu: Emulator) -> None:
    async with ZenHireClient(api_key="zh_api_not_a_real_key", base_url=emu.base_url) as zh:
        with pytest.raises(AuthenticationError) as info:
            await zh.personas.list()
    assert info.value.status == 401 and info.value.code == "INVALID_API_KEY"
    assert "not_a_real_key" not in str(info.value) + repr(info.value)


async def test_missing_permission(emu: Emulator) -> None:
    tenant = emu.add_tenant(permissions=frozenset())
    async with ZenHireClient(api_key=tenant.api_key, base_url=emu.base_url) as zh:
        with pytest.raises(PermissionDeniedError) as info:
            await zh.personas.create("Engineer", "en")
    assert info.value.status == 403 and info.value.code == "MISSING_PERMISSION"


async def test_insufficient_credits(emu: Emulator) -> None:
    tenant = emu.add_tenant(credits=0)
    async with ZenHireClient(api_key=tenant.api_key, base_url=emu.base_url) as zh:
        persona = await zh.personas.create("Engineer", "en")
        with pytest.raises(InsufficientCreditsError) as info:
            await zh.sessions.create(persona.id, consent_mode="explicit")
    assert info.value.status == 402 and info.value.code == "INSUFFICIENT_CREDITS"
    assert emu.request_counts["POST /personas/{id}/sessions"] == 1  # never retried


async def test_rate_limit_after_retries_carries_retry_after(emu: Emulator) -> None:
    emu.faults.add("429", retry_after=2.0)
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, max_retries=2) as zh:
        with pytest.raises(RateLimitError) as info:
            await zh.personas.list()
    assert info.value.retry_after == 2.0 and info.value.code == "RATE_LIMIT_EXCEEDED"
    assert emu.request_counts["GET /personas"] == 3


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("502_html", 502), ("empty", 500)])
async def test_server_errors_are_typed_whatever_the_body(
    emu: Emulator, kind: FaultKind, status: int
) -> None:
    emu.faults.add(kind)
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, max_retries=0) as zh:
        with pytest.raises(ServerError) as info:
            await zh.personas.list()
    assert info.value.status >= 500
    if kind == "502_html":
        assert info.value.status == 502 and info.value.code is None


async def test_connection_refused_is_a_connection_error() -> None:
    async with Emulator() as emu:
        base_url, key = emu.base_url, emu.api_key
    async with ZenHireClient(api_key=key, base_url=base_url, max_retries=1) as zh:
        with pytest.raises(APIConnectionError) as info:
            await zh.personas.create("Engineer", "en")
    assert info.value.request_sent is False


async def test_api_error_str_names_status_code_and_request_id(emu: Emulator) -> None:
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
        with pytest.raises(APIError) as info:
            await zh.sessions.get("missing")
    text = str(info.value)
    assert "404" in text and "NOT_FOUND" in text and str(info.value.request_id) in text
