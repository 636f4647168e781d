"""Shared fixtures: the anyio backend (asyncio only) and emulator-backed clients."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run every ``@pytest.mark.anyio`` test on asyncio (the SDK is built on aiohttp)."""
    return "asyncio"
