"""A real forwarding HTTP proxy for the proxy tests, run as its own process.

``python tests/forward_proxy.py LOG`` listens on 127.0.0.1 (a free port, printed on
stdout as the first line) and serves, for any number of connections at once:

* absolute-form requests (``GET http://host:port/path HTTP/1.1``): forwarded to the
  origin with ``Connection: close`` and the ``Proxy-*`` headers removed; the answer is
  relayed as it comes;
* ``CONNECT host:port``: a tunnel (``200 Connection established``), bytes relayed both ways.

Each request is appended to LOG as one JSON line: ``method``, ``target`` and the
``headers`` as received (a list of ``[name, value]``, duplicates kept), before it is
forwarded. Only the standard library: it runs from what ``make install`` installs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization"}


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


class Proxy:
    def __init__(self, log_path: str) -> None:
        self._log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - the process's life

    def _record(self, method: str, target: str, headers: list[tuple[str, str]]) -> None:
        entry = {"method": method, "target": target, "headers": headers}
        self._log.write(json.dumps(entry) + "\n")
        self._log.flush()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            parsed = await _read_head(reader)
            if parsed is None:
                return
            request_line, headers = parsed
            method, target, version = request_line.split(" ", 2)
            self._record(method, target, headers)
            if method == "CONNECT":
                await self._tunnel(target, reader, writer)
            else:
                await self._forward(method, target, version, headers, reader, writer)
        except Exception as exc:
            print(f"proxy: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _tunnel(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, _, port = target.rpartition(":")
        up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_relay(reader, up_writer), _relay(up_reader, writer))

    async def _forward(
        self,
        method: str,
        target: str,
        version: str,
        headers: list[tuple[str, str]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
        body = await reader.readexactly(length) if length else b""
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        head = f"{method} {path} {version}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in kept) + "Connection: close\r\n\r\n"
        up_writer.write(head.encode("latin-1") + body)
        await up_writer.drain()
        await _relay(up_reader, writer)
        up_writer.close()


async def main(log_path: str) -> None:
    proxy = Proxy(log_path)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1]))
