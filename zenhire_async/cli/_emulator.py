"""``zenhire emulator``: serve the stateful API emulator until interrupted."""

from __future__ import annotations

import anyio

from ..testing import Emulator, Simulation


async def serve(host: str, port: int, simulate: bool) -> int:
    """Serve the emulator and print how to point a client at it."""
    simulation = Simulation(open_delay=(5, 30), duration=(20, 120)) if simulate else None
    async with Emulator(host=host, port=port, simulation=simulation) as emu:
        print(f"ZenHire emulator listening on {emu.base_url}")
        print(f"  export ZENHIRE_BASE_URL={emu.base_url}")
        print(f"  export ZENHIRE_API_KEY={emu.api_key}")
        print("Candidates act by themselves." if simulate else "Sessions move only when driven.")
        print("Press Ctrl-C to stop.", flush=True)
        await anyio.sleep_forever()
    return 0
