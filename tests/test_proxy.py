"""proxy=, trust_env and default headers, through a real forwarding proxy process.

``forward_proxy.py`` runs as a subprocess on 127.0.0.1 and logs every request it relays,
so each test checks what the proxy itself received, not what the client meant to send.
The tests run on real time: the virtual clock cannot see another process.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from zenhire_async import APIConnectionError, ZenHireClient
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]

HERE = Path(__file__).parent


@dataclass
class ForwardProxy:
    """A running ``forward_proxy.py``: its URL and what it received."""

    url: str
    log: Path

    def requests(self) -> list[dict[str, object]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def targets(self) -> list[str]:
        return [f"{r['method']} {r['target']}" for r in self.requests()]


@pytest.fixture
def forward_proxy(tmp_path: Path) -> Iterator[ForwardProxy]:
    log = tmp_path / "proxy.jsonl"
    proc = subprocess.Popen(  # noqa: S603 - our interpreter running our test proxy
        [sys.executable, str(HERE / "forward_proxy.py"), str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield ForwardProxy(f"http://127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA variable of the machine leaks into these tests."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            monkeypatch.delenv(name)


def _client(emu: Emulator, **kwargs: object) -> ZenHireClient:
    return ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, **kwargs)  # type: ignore[arg-type]


async def test_explicit_proxy_receives_every_request(
    emu: Emulator, forward_proxy: ForwardProxy
) -> None:
    async with _client(emu, proxy=forward_proxy.url) as zh:
        persona = await zh.personas.create("Engineer", "en")
        await zh.personas.get(persona.id)
    assert forward_proxy.targets() == [
        f"POST {emu.base_url}/api/v1/interview/personas",
        f"GET {emu.base_url}/api/v1/interview/personas/{persona.id}",
    ]
    assert emu.request_counts["POST /personas"] == 1


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_environment_proxy_is_used_and_loopback_is_not_exempt(
    emu: Emulator, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, forward_proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,example.com")  # not 127.0.0.1
    async with _client(emu) as zh:
        await zh.personas.list()
    assert forward_proxy.targets() == [
        f"GET {emu.base_url}/api/v1/interview/personas?limit=20&offset=0"
    ]


@pytest.mark.parametrize(
    "no_proxy", ["127.0.0.1", "*", "example.com, 127.0.0.1", "127.0.0.1:{port}"]
)
async def test_no_proxy_sends_directly(
    emu: Emulator,
    forward_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
) -> None:
    port = emu.base_url.rsplit(":", 1)[1]
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    async with _client(emu) as zh:
        await zh.personas.list()
    assert len(forward_proxy.targets()) == 1  # proxied while NO_PROXY does not say otherwise
    monkeypatch.setenv("no_proxy", no_proxy.format(port=port))
    async with _client(emu) as zh:
        await zh.personas.list()
    assert len(forward_proxy.targets()) == 1
    assert emu.request_counts["GET /personas"] == 2


async def test_trust_env_false_ignores_the_environment(
    emu: Emulator, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    async with _client(emu, trust_env=True) as zh:
        await zh.personas.list()
    async with _client(emu, trust_env=False) as zh:
        await zh.personas.list()
    assert len(forward_proxy.targets()) == 1
    assert emu.request_counts["GET /personas"] == 2


async def test_explicit_proxy_wins_over_no_proxy(
    emu: Emulator, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
    async with _client(emu, proxy=forward_proxy.url) as zh:
        await zh.personas.list()
    assert len(forward_proxy.targets()) == 1


async def test_a_borrowed_session_keeps_its_own_settings(
    emu: Emulator, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's owner configured it (aiohttp's own trust_env is False by default)."""
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="borrowed session"):
            _client(emu, session=session, proxy=forward_proxy.url)
        async with _client(emu, session=session) as zh:
            await zh.personas.list()
        assert forward_proxy.targets() == []
        async with aiohttp.ClientSession(proxy=forward_proxy.url) as proxied:
            async with _client(emu, session=proxied) as zh:
                await zh.personas.list()
        assert len(forward_proxy.targets()) == 1


@pytest.mark.parametrize("bad", ["socks5://127.0.0.1:1080", "ftp://h", "http://", "http://h/p"])
def test_a_bad_proxy_url_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(ValueError, match="proxy") as info:
        ZenHireClient(api_key="zh_api_test_123456", proxy=bad.replace("//", "//u:s3cret@", 1))
    assert "s3cret" not in str(info.value)


async def test_proxy_credentials_are_sent_to_the_proxy_only(
    emu: Emulator, forward_proxy: ForwardProxy
) -> None:
    with_auth = forward_proxy.url.replace("//", "//user:pa55@", 1)
    async with _client(emu, proxy=with_auth) as zh:
        await zh.personas.list()
        assert "pa55" not in repr(zh)
    (request,) = forward_proxy.requests()
    sent = {str(k).lower(): v for k, v in request["headers"]}  # type: ignore[attr-defined]
    assert sent["proxy-authorization"] == "Basic dXNlcjpwYTU1"  # user:pa55


async def test_default_headers_merge_case_insensitively(
    emu: Emulator, forward_proxy: ForwardProxy
) -> None:
    async with _client(
        emu, proxy=forward_proxy.url, headers={"X-Source": "ats", "user-agent": "my-ats/2"}
    ) as zh:
        await zh.personas.list()
        fast = zh.with_options(headers={"x-source": "nightly", "X-Job": "7"})
        await fast.personas.list()
    first, second = (
        [(str(k).lower(), v) for k, v in r["headers"]]  # type: ignore[attr-defined]
        for r in forward_proxy.requests()
    )
    assert [v for k, v in first if k == "user-agent"] == ["my-ats/2"]
    assert [v for k, v in first if k == "x-source"] == ["ats"]
    assert [v for k, v in second if k == "x-source"] == ["nightly"]
    assert [v for k, v in second if k == "x-job"] == ["7"]
    assert [v for k, v in second if k == "user-agent"] == ["my-ats/2"]
    assert [v for k, v in second if k == "x-api-key"] == [emu.api_key]


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command line."""
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover - Debian and the CI image have it
        pytest.skip("the openssl command line is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - the system's openssl with fixed arguments
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
async def tls_emulator(emu: Emulator, tls_files: tuple[Path, Path]) -> AsyncIterator[str]:
    """``emu`` served over TLS as well: its https base URL."""
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runner = emu._server.runner  # the emulator's own app, on one more (TLS) socket
    assert runner is not None
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await site.stop()


@pytest.fixture
async def quiet_refused_handshakes() -> AsyncIterator[None]:
    """The emulator's side of a TLS handshake our client refused is expected, not an error."""
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()

    def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not isinstance(context.get("exception"), ConnectionResetError | ssl.SSLError):
            (handler or asyncio.AbstractEventLoop.default_exception_handler)(loop, context)

    loop.set_exception_handler(quiet)
    try:
        yield
    finally:
        loop.set_exception_handler(handler)


async def test_https_proxy_tunnels_and_ssl_cert_file_is_trusted(
    emu: Emulator,
    quiet_refused_handshakes: None,
    tls_emulator: str,
    tls_files: tuple[Path, Path],
    forward_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", forward_proxy.url)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the https one must be chosen
    async with ZenHireClient(api_key=emu.api_key, base_url=tls_emulator, max_retries=0) as zh:
        with pytest.raises(APIConnectionError):
            await zh.health()  # our self-signed certificate is not trusted yet
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))
    async with ZenHireClient(api_key=emu.api_key, base_url=tls_emulator) as zh:
        assert (await zh.health())["status"] == "ok"
        await zh.personas.list()
    port = tls_emulator.rsplit(":", 1)[1]
    targets = forward_proxy.targets()
    assert set(targets) == {f"CONNECT 127.0.0.1:{port}"}
    assert len(targets) >= 2  # one per connection: the second client's may be kept alive
    assert emu.request_counts["GET /personas"] == 1


async def test_proxy_credentials_ride_in_connect_for_https_and_stay_out_of_errors(
    emu: Emulator,
    tls_emulator: str,
    tls_files: tuple[Path, Path],
    forward_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))
    with_auth = forward_proxy.url.replace("//", "//user:pa55@", 1)
    async with ZenHireClient(api_key=emu.api_key, base_url=tls_emulator, proxy=with_auth) as zh:
        await zh.personas.list()
    (connect,) = forward_proxy.requests()
    names = {str(k).lower() for k, _ in connect["headers"]}  # type: ignore[attr-defined]
    assert connect["method"] == "CONNECT" and "proxy-authorization" in names

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with ZenHireClient(
            api_key=emu.api_key,
            base_url=tls_emulator,
            proxy=f"http://user:pa55@127.0.0.1:{port}",
            max_retries=0,
        ) as zh:
            with pytest.raises(APIConnectionError) as info:
                await zh.personas.list()
    finally:
        server.close()
        await server.wait_closed()
    text = "".join(traceback.format_exception(info.value))
    assert "407" in text and "pa55" not in text


@pytest.fixture
def dead_proxy_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there


async def test_the_plugin_client_fixture_ignores_proxy_variables(
    dead_proxy_in_env: None, zenhire_client: ZenHireClient
) -> None:
    """A user's CI behind a proxy still reaches the loopback emulator."""
    assert (await zenhire_client.personas.list()).data == []
