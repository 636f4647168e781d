"""List envelopes, cursor walking, filters and newest-first order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest
from emulator_support import Api

from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def _ids(api: Api, **params: Any) -> list[str]:
    reply = await api.call("GET", "/sessions", params={"limit": "100", **params})
    assert reply.status == 200, reply.raw
    return [row["id"] for row in reply.json["data"]]


async def test_newest_first_with_same_millisecond_ties(emu: Emulator, api: Api) -> None:
    pid = emu.create_persona()
    ids = [emu.create_session(pid) for _ in range(60)]  # many share a millisecond
    rows = (await api.call("GET", "/sessions", params={"limit": "100"})).json["data"]
    keys = [(row["created_at"], row["id"]) for row in rows]
    assert keys == sorted(keys, reverse=True)
    assert sorted(r["id"] for r in rows) == sorted(ids)


async def test_pinned_envelope_and_offset_paging(emu: Emulator, api: Api) -> None:
    pid = emu.create_persona()
    for _ in range(45):
        emu.create_session(pid)
    page = (await api.call("GET", "/sessions")).json
    assert set(page) == {"data", "limit", "offset", "total", "has_more"}
    assert (page["limit"], page["offset"], page["total"], page["has_more"]) == (20, 0, 45, True)
    assert len(page["data"]) == 20
    seen: list[str] = []
    offset = 0
    while True:
        page = (await api.call("GET", "/sessions", params={"offset": str(offset)})).json
        seen += [row["id"] for row in page["data"]]
        offset += len(page["data"])
        if not page["has_more"]:
            break
    assert len(seen) == len(set(seen)) == 45
    assert seen == await _ids(api)


@pytest.mark.parametrize(
    ("mode", "keys"),
    [
        ("data_only", {"data"}),
        ("has_more", {"data", "has_more"}),
        ("cursor", {"data", "next_cursor"}),
        ("nested", {"data", "pagination"}),
    ],
)
async def test_envelope_modes(mode: Any, keys: set[str]) -> None:
    async with Emulator(envelope=mode) as emu, aiohttp.ClientSession() as http:
        api = Api(emu, http)
        pid = emu.create_persona()
        for _ in range(3):
            emu.create_session(pid)
        for path in ("/sessions", "/personas"):
            body = (await api.call("GET", path, params={"limit": "2"})).json
            assert set(body) == keys
        body = (await api.call("GET", "/sessions", params={"limit": "2"})).json
        if mode == "nested":
            assert body["pagination"] == {"limit": 2, "offset": 0, "total": 3, "has_more": True}
        if mode == "has_more":
            assert body["has_more"] is True


@pytest.fixture
async def cursor_api() -> AsyncIterator[Api]:
    async with Emulator(envelope="cursor") as emu, aiohttp.ClientSession() as http:
        yield Api(emu, http)


async def test_cursor_walk_is_stable_while_the_list_grows(cursor_api: Api) -> None:
    emu = cursor_api.emu
    pid = emu.create_persona()
    original = {emu.create_session(pid) for _ in range(25)}
    seen: list[str] = []
    params: dict[str, str] = {"limit": "7"}
    while True:
        body = (await cursor_api.call("GET", "/sessions", params=params)).json
        seen += [row["id"] for row in body["data"]]
        # Newer rows appear at the head while we walk. A millisecond later: on the frozen
        # virtual clock a row of the same millisecond sorts by its random id, as on a server.
        await anyio.sleep(0.002)
        emu.create_session(pid)
        if body["next_cursor"] is None:
            break
        assert isinstance(body["next_cursor"], str)
        params = {"limit": "7", "cursor": body["next_cursor"]}
    assert len(seen) == len(set(seen))
    assert set(seen) == original


async def test_cursor_walk_of_personas(cursor_api: Api) -> None:
    emu = cursor_api.emu
    made = {emu.create_persona(f"R{i}") for i in range(5)}
    seen: list[str] = []
    params = {"limit": "2"}
    while True:
        body = (await cursor_api.call("GET", "/personas", params=params)).json
        seen += [row["id"] for row in body["data"]]
        if body["next_cursor"] is None:
            break
        params = {"limit": "2", "cursor": body["next_cursor"]}
    assert set(seen) == made
    assert len(seen) == 5


async def test_offset_pages_shift_when_the_list_grows(emu: Emulator, api: Api) -> None:
    """Documented hazard the SDK must survive: offset pages overlap after an insert."""
    pid = emu.create_persona()
    for _ in range(4):
        emu.create_session(pid)
    first = await _ids(api, limit="2")
    await asyncio.sleep(0.005)  # a later millisecond: the new row sorts first
    emu.create_session(pid)
    second = await _ids(api, limit="2", offset="2")
    assert first[-1] == second[0]


async def test_filters(emu: Emulator, api: Api) -> None:
    p1 = emu.create_persona("A")
    p2 = emu.create_persona("B")
    a = emu.create_session(p1, candidate_ref="ref-a", tags=["q3", "eu"], metadata={"req": 7})
    meta_b: dict[str, str | int | float | bool] = {
        "req": "7",
        "vip": True,
        "score": 1.5,
        "whole": 2.0,
    }
    b = emu.create_session(p1, tags=["q3"], metadata=meta_b)
    c = emu.create_session(p2, metadata={"req": 8, "vip": False})
    emu.start_session(b)
    assert await _ids(api, status="active") == [b]
    assert set(await _ids(api, status="initiated")) == {a, c}
    assert await _ids(api, status="completed") == []
    assert set(await _ids(api, persona_id=p1)) == {a, b}
    assert await _ids(api, candidate_ref="ref-a") == [a]
    assert len(await _ids(api, project_id=emu.tenant.project_id)) == 3
    assert await _ids(api, project_id="other") == []
    assert set(await _ids(api, tag="q3")) == {a, b}
    assert await _ids(api, tag="eu") == [a]
    both = await api.call("GET", "/sessions", params=[("tag", "q3"), ("tag", "eu")])
    assert [r["id"] for r in both.json["data"]] == [a]
    assert set(await _ids(api, **{"metadata[req]": "7"})) == {a, b}
    assert await _ids(api, **{"metadata[vip]": "true"}) == [b]
    assert await _ids(api, **{"metadata[vip]": "false"}) == [c]
    assert await _ids(api, **{"metadata[score]": "1.5"}) == [b]
    assert await _ids(api, **{"metadata[whole]": "2"}) == [b]
    assert await _ids(api, **{"metadata[missing]": "2"}) == []
    multi = await api.call(
        "GET", "/sessions", params=[("metadata[req]", "7"), ("metadata[vip]", "true")]
    )
    assert [r["id"] for r in multi.json["data"]] == [b]
    assert await _ids(api, status="active", tag="eu") == []
    page = (await api.call("GET", "/sessions", params={"tag": "q3"})).json
    assert page["total"] == 2


async def test_created_after_and_before(emu: Emulator, api: Api) -> None:
    pid = emu.create_persona()
    old = emu.create_session(pid)
    await asyncio.sleep(0.01)
    middle_at = emu.session(emu.create_session(pid))["created_at"]
    await asyncio.sleep(0.01)
    new = emu.create_session(pid)
    after = await _ids(api, created_after=middle_at)  # inclusive
    assert len(after) == 2
    assert new in after
    before = await _ids(api, created_before=middle_at)  # exclusive
    assert before == [old]
    offset_form = middle_at.replace("Z", "+00:00")
    assert len(await _ids(api, created_after=offset_form)) == 2


async def test_persona_listing_paging(emu: Emulator, api: Api) -> None:
    made = [emu.create_persona(f"R{i}") for i in range(5)]
    body = (await api.call("GET", "/personas", params={"limit": "2", "offset": "4"})).json
    assert [row["id"] for row in body["data"]] == [made[0]]
    assert body["has_more"] is False
    assert body["total"] == 5


async def test_indexed_filters_agree_with_brute_force(emu: Emulator, api: Api) -> None:
    import json
    import random

    rng = random.Random(5)
    personas = [emu.create_persona(f"P{i}") for i in range(3)]
    for i in range(300):
        tags = rng.sample(["a", "b", "c", "d"], rng.randint(0, 3)) or None
        meta: dict[str, str | int | float | bool] | None = (
            {"n": rng.randint(0, 3), "flag": rng.random() < 0.5} if i % 3 else None
        )
        sid = emu.create_session(
            rng.choice(personas), candidate_ref=f"r{i % 7}", tags=tags, metadata=meta
        )
        roll = rng.random()
        if roll < 0.3:
            emu.start_session(sid)
        elif roll < 0.5:
            emu.complete_session(sid)
        if i % 25 == 0:
            await asyncio.sleep(1)
    rows = emu.sessions_of()
    stamps = sorted({r["created_at"] for r in rows})

    def text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value)

    for _ in range(150):
        params: list[tuple[str, str]] = []
        if rng.random() < 0.4:
            params.append(("status", rng.choice(["initiated", "active", "completed"])))
        if rng.random() < 0.3:
            params.append(("persona_id", rng.choice(personas)))
        if rng.random() < 0.3:
            params.append(("candidate_ref", f"r{rng.randint(0, 7)}"))
        params += [("tag", t) for t in rng.sample(["a", "b", "c", "d"], rng.randint(0, 2))]
        if rng.random() < 0.4:
            params.append(("metadata[n]", str(rng.randint(0, 3))))
        if rng.random() < 0.3:
            params.append(("metadata[flag]", rng.choice(["true", "false"])))
        if rng.random() < 0.3:
            params.append(("created_after", rng.choice(stamps)))
        if rng.random() < 0.3:
            params.append(("created_before", rng.choice(stamps)))

        def keep(row: dict[str, Any], params: list[tuple[str, str]] = params) -> bool:
            for name, value in params:
                if name == "tag" and value not in (row["tags"] or []):
                    return False
                if name.startswith("metadata["):
                    meta = row["metadata"] or {}
                    key = name[9:-1]
                    if key not in meta or text(meta[key]) != value:
                        return False
                if name == "created_after" and row["created_at"] < value:
                    return False
                if name == "created_before" and row["created_at"] >= value:
                    return False
                if name in ("status", "persona_id", "candidate_ref") and row[name] != value:
                    return False
            return True

        expected = [r["id"] for r in rows if keep(r)]
        body = (await api.call("GET", "/sessions", params=[*params, ("limit", "100")])).json
        assert body["total"] == len(expected), params
        assert [r["id"] for r in body["data"]] == expected[:100], params
