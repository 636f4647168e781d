"""Helpers for the emulator tests: a raw aiohttp caller (``Api``) and envelope checks.

The ``http`` and ``api`` fixtures built on them are in conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from zenhire_async.testing import Emulator

API = "/api/v1/interview"
_DEFAULT = object()


@dataclass
class Reply:
    """One HTTP answer, read whole."""

    status: int
    headers: CIMultiDictProxy[str]
    raw: bytes

    @property
    def json(self) -> Any:
        import json

        return json.loads(self.raw)

    @property
    def error(self) -> dict[str, Any]:
        body = self.json
        assert set(body) == {"error"}, body
        err: dict[str, Any] = body["error"]
        return err


class Api:
    """Raw calls to an emulator, with the default key unless told otherwise."""

    def __init__(self, emu: Emulator, http: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.http = http

    async def call(
        self,
        method: str,
        path: str,
        *,
        key: Any = _DEFAULT,
        json: Any = _DEFAULT,
        data: bytes | None = None,
        params: Any = None,
        root: bool = False,
    ) -> Reply:
        headers = {}
        api_key = self.emu.api_key if key is _DEFAULT else key
        if api_key is not None:
            headers["X-API-Key"] = api_key
        url = self.emu.base_url + ("" if root else API) + path
        kwargs: dict[str, Any] = {"headers": headers, "params": params}
        if json is not _DEFAULT:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        async with self.http.request(method, url, allow_redirects=False, **kwargs) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    async def persona(self, role: str = "Backend Engineer", lang: str = "en", **kw: Any) -> str:
        reply = await self.call("POST", "/personas", json={"role_name": role, "language": lang})
        assert reply.status == 201, reply.raw
        ident: str = reply.json["id"]
        return ident

    async def session(self, persona_id: str, **body: Any) -> dict[str, Any]:
        body.setdefault("consent_mode", "explicit")
        key = body.pop("key", _DEFAULT)
        reply = await self.call("POST", f"/personas/{persona_id}/sessions", json=body, key=key)
        assert reply.status == 201, reply.raw
        created: dict[str, Any] = reply.json
        return created


def assert_envelope(reply: Reply, status: int, code: str) -> dict[str, Any]:
    """The answer is the platform's error envelope with this status and code."""
    assert reply.status == status, (reply.status, reply.raw)
    err = reply.error
    assert err["code"] == code
    assert set(err) >= {"code", "message", "timestamp", "requestId", "details"}
    assert err["requestId"].startswith("req_")
    assert err["timestamp"].endswith("Z")
    assert reply.headers["X-Request-Id"] == err["requestId"]
    return err
