"""pytest fixtures for code that talks to ZenHire (registered via the ``pytest11`` entry
point, so installing ``zenhire-async`` makes them available).

* ``zenhire_emulator`` — a started default :class:`~zenhire_async.testing.Emulator`.
* ``zenhire_client`` — a ``ZenHireClient`` bound to that emulator, opened and closed.

Both are async fixtures for the anyio pytest plugin: use them from tests marked
``@pytest.mark.anyio`` (with an ``anyio_backend`` fixture selecting ``"asyncio"``; return
``("asyncio", {"loop_factory": virtual_time_loop_factory})`` for virtual time).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from .emulator import Emulator

if TYPE_CHECKING:
    from zenhire_async.client import ZenHireClient

__all__ = ["zenhire_client", "zenhire_emulator"]


@pytest.fixture
async def zenhire_emulator() -> AsyncIterator[Emulator]:
    """A started emulator with its default tenant (``emu.api_key``, ``emu.base_url``)."""
    async with Emulator() as emu:
        yield emu


@pytest.fixture
async def zenhire_client(zenhire_emulator: Emulator) -> AsyncIterator[ZenHireClient]:
    """A ``ZenHireClient`` pointed at ``zenhire_emulator`` with its default key."""
    from zenhire_async.client import ZenHireClient

    # trust_env=False: the emulator is on loopback, which a CI machine's HTTP_PROXY would
    # otherwise capture (NO_PROXY rarely lists 127.0.0.1).
    async with ZenHireClient(
        api_key=zenhire_emulator.api_key, base_url=zenhire_emulator.base_url, trust_env=False
    ) as client:
        yield client
