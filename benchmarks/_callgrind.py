"""Instructions per ``sessions.get`` under callgrind (optional: only where valgrind is).

Each contender runs in a child process under ``valgrind --tool=callgrind`` twice, sending
``SMALL`` and then ``LARGE`` sequential requests to ``_server.py`` (its own process, not
counted); the difference of the two instruction totals divided by ``LARGE - SMALL`` is the
instructions per request, without interpreter start-up and imports. Instruction counts do
not move with a noisy machine the way CPU time does.

Contenders: ours with the default pacer (``ZenHireClient`` defaults: 500 requests/minute,
so the run waits for tokens like any default client), ours with pacing off, and raw aiohttp
(one session, ``read()``, a msgspec decoder). Child: ``python -m benchmarks._callgrind
CONTENDER N BASE_URL``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SMALL, LARGE = 20, 120
CONTENDERS = ("ours, default pacer", "ours, pacing off", "raw aiohttp + msgspec")


def available() -> bool:
    """Whether valgrind is installed."""
    return shutil.which("valgrind") is not None


async def _child(contender: str, n: int, base_url: str) -> None:
    import aiohttp
    import msgspec

    from benchmarks._server import API_KEY
    from zenhire_async import ZenHireClient
    from zenhire_async.models import SessionDetail

    ids = [f"7f3d2c1b-aaaa-4bbb-8ccc-{i:012d}" for i in range(n)]
    if contender.startswith("ours"):
        options = {} if "default" in contender else {"rate_limit_per_minute": None}
        async with ZenHireClient(api_key=API_KEY, base_url=base_url, **options) as zh:  # type: ignore[arg-type]
            for session_id in ids:
                await zh.sessions.get(session_id)
        return
    url = base_url + "/api/v1/interview/sessions/"
    detail = msgspec.json.Decoder(SessionDetail)
    async with aiohttp.ClientSession(headers={"X-API-Key": API_KEY}) as http:
        for session_id in ids:
            async with http.get(url + session_id) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
                detail.decode(body)


def _instructions(contender: str, n: int, base_url: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "benchmarks._callgrind",
                contender,
                str(n),
                base_url,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        assert match is not None
        return int(match.group(1))


def per_request(base_url: str) -> dict[str, float]:
    """Instructions per request of each contender."""
    return {
        c: (_instructions(c, LARGE, base_url) - _instructions(c, SMALL, base_url)) / (LARGE - SMALL)
        for c in CONTENDERS
    }


if __name__ == "__main__":
    asyncio.run(_child(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
