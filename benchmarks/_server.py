"""An emulator-like API server for the network benchmarks, run in its own process.

It answers the two routes the benchmarks use with fixed bodies, as fast as aiohttp.web can,
so that the client process's CPU time is the client's alone:

* ``GET /api/v1/interview/sessions/{id}``: a realistic completed ``SessionDetail``;
* ``GET /api/v1/interview/sessions/{id}/recording``: ``--recording-bytes`` of ``audio/wav``,
  streamed with a ``Content-Length``.

A request without ``X-API-Key`` gets the API's 401 envelope. Run as
``python -m benchmarks._server [--recording-bytes N]``: it binds an ephemeral port on
127.0.0.1 and prints it on stdout. :func:`serve` does that from the harness.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator

from aiohttp import web

from benchmarks import _payloads

API_KEY = "zh_bench_0123456789abcdef"
SESSION_ID = "7f3d2c1b-aaaa-4bbb-8ccc-0123456789ab"
_CHUNK = b"\0" * (1024 * 1024)
_UNAUTHORIZED = (
    b'{"error":{"code":"UNAUTHORIZED","message":"missing or invalid API key",'
    b'"requestId":"req_bench"}}'
)


def make_app(recording_bytes: int) -> web.Application:
    """The app: fixed bodies, key checked, no access log."""
    detail = _payloads.session_detail()
    # The SDK checks that an answer names the session asked for: echo the asked id.
    detail_id = json.loads(detail)["id"].encode()

    def authorised(request: web.Request) -> bool:
        return request.headers.get("X-API-Key") == API_KEY

    async def get_session(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.Response(status=401, body=_UNAUTHORIZED, content_type="application/json")
        body = detail.replace(detail_id, request.match_info["id"].encode(), 1)
        return web.Response(
            body=body, content_type="application/json", headers={"X-Request-Id": "req_bench"}
        )

    async def get_recording(request: web.Request) -> web.StreamResponse:
        if not authorised(request):
            return web.Response(status=401, body=_UNAUTHORIZED, content_type="application/json")
        resp = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        resp.content_length = recording_bytes
        await resp.prepare(request)
        left = recording_bytes
        view = memoryview(_CHUNK)
        while left > 0:
            n = min(left, len(_CHUNK))
            await resp.write(view[:n])
            left -= n
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/api/v1/interview/sessions/{id}", get_session)
    app.router.add_get("/api/v1/interview/sessions/{id}/recording", get_recording)
    return app


async def _main(recording_bytes: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(make_app(recording_bytes), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    print(sock.getsockname()[1], flush=True)
    try:
        # Until the parent closes our stdin (or dies).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def serve(recording_bytes: int = 0) -> Iterator[str]:
    """Run the server in a child process; yield its base URL (``http://127.0.0.1:PORT``)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._server", "--recording-bytes", str(recording_bytes)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError("the benchmark server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the benchmarks' API server")
    parser.add_argument("--recording-bytes", type=int, default=0)
    asyncio.run(_main(parser.parse_args().recording_bytes))
