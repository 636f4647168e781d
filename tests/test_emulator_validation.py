"""Every documented limit answers 400 with field details; auth, permission and credits."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_support import Api, assert_envelope

from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


def _fields(reply: Any) -> set[str]:
    err = assert_envelope(reply, 400, "VALIDATION_ERROR")
    return {f["field"] for f in err["details"]["fields"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "en"}, "role_name"),
        ({"role_name": "", "language": "en"}, "role_name"),
        ({"role_name": "x" * 201, "language": "en"}, "role_name"),
        ({"role_name": 5, "language": "en"}, "role_name"),
        ({"role_name": "Dev"}, "language"),
        ({"role_name": "Dev", "language": "e" * 65}, "language"),
        ({"role_name": "Dev", "language": "en", "system_prompt": "p" * 20_001}, "system_prompt"),
        ({"role_name": "Dev", "language": "en", "base_prompt_override": 3}, "base_prompt_override"),
    ],
)
async def test_persona_limits(api: Api, body: dict[str, Any], field: str) -> None:
    assert field in _fields(await api.call("POST", "/personas", json=body))


async def test_persona_limits_at_the_edge_are_fine(api: Api) -> None:
    body = {
        "role_name": "x" * 200,
        "language": "e" * 64,
        "system_prompt": "p" * 20_000,
        "base_prompt_override": None,
    }
    assert (await api.call("POST", "/personas", json=body)).status == 201


async def test_all_violations_reported_at_once(api: Api) -> None:
    reply = await api.call("POST", "/personas", json={})
    assert _fields(reply) == {"role_name", "language"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "consent_mode"),
        ({"consent_mode": "implicit"}, "consent_mode"),
        ({"candidate_ref": "r" * 257}, "candidate_ref"),
        ({"candidate_ref": 12}, "candidate_ref"),
        ({"metadata": [1]}, "metadata"),
        ({"metadata": {f"k{i}": i for i in range(51)}}, "metadata"),
        ({"metadata": {"k" * 41: 1}}, "metadata." + "k" * 41),
        ({"metadata": {"": 1}}, "metadata."),
        ({"metadata": {"a": None}}, "metadata.a"),
        ({"metadata": {"a": {"nested": 1}}}, "metadata.a"),
        ({"metadata": {"a": [1]}}, "metadata.a"),
        ({"metadata": {"a": "v" * 501}}, "metadata.a"),
        ({"metadata": {f"k{i}": "v" * 400 for i in range(25)}}, "metadata"),
        ({"tags": "q3"}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": [""]}, "tags[0]"),
        ({"tags": ["ok", "t" * 41]}, "tags[1]"),
        ({"tags": [7]}, "tags[0]"),
    ],
)
async def test_session_limits(api: Api, body: dict[str, Any], field: str) -> None:
    pid = await api.persona()
    if field != "consent_mode":
        body = {"consent_mode": "explicit", **body}
    reply = await api.call("POST", f"/personas/{pid}/sessions", json=body)
    assert field in _fields(reply)


async def test_session_limits_at_the_edge_are_fine(api: Api) -> None:
    pid = await api.persona()
    body = {
        "consent_mode": "integrator",
        "candidate_ref": "r" * 256,
        "metadata": {**{f"k{i:02}": i for i in range(49)}, "s" * 40: "v" * 500},
        "tags": [f"{i:02}" + "t" * 38 for i in range(20)] + ["00" + "t" * 38],
    }
    created = await api.session(pid, **body)
    row = (await api.call("GET", f"/sessions/{created['id']}")).json
    assert len(row["tags"]) == 20  # duplicates are stored once
    assert row["metadata"]["s" * 40] == "v" * 500
    assert row["consent_mode"] == "integrator"


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"'])
async def test_bad_json_body(api: Api, raw: bytes) -> None:
    for path in ("/personas", f"/personas/{await api.persona()}/sessions"):
        reply = await api.call("POST", path, data=raw)
        assert_envelope(reply, 400, "INVALID_INPUT")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"status": "done"}, "status"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2026-13-45"}, "created_before"),
        ({"cursor": "!!!"}, "cursor"),
    ],
)
async def test_query_limits(api: Api, params: dict[str, str], field: str) -> None:
    assert field in _fields(await api.call("GET", "/sessions", params=params))


async def test_persona_list_limits(api: Api) -> None:
    assert "limit" in _fields(await api.call("GET", "/personas", params={"limit": "101"}))


async def test_auth_errors(api: Api, emu: Emulator) -> None:
    assert_envelope(await api.call("GET", "/sessions", key=None), 401, "MISSING_API_KEY")
    assert_envelope(await api.call("GET", "/sessions", key="zh_api_nope"), 401, "INVALID_API_KEY")
    expired = emu.add_key(expired=True)
    assert_envelope(await api.call("GET", "/sessions", key=expired), 401, "API_KEY_EXPIRED")
    legacy = emu.add_key(prefix="zh_")
    assert (await api.call("GET", "/sessions", key=legacy)).status == 200
    inactive = emu.add_tenant(active=False)
    assert_envelope(
        await api.call("GET", "/sessions", key=inactive.api_key), 401, "CLIENT_INACTIVE"
    )
    assert_envelope(
        await api.call("GET", "/api/v1/credits", key=None, root=True), 401, "MISSING_API_KEY"
    )


async def test_missing_permission_on_every_interview_endpoint(api: Api, emu: Emulator) -> None:
    pid = await api.persona()
    sid = (await api.session(pid))["id"]
    key = emu.add_tenant(permissions=frozenset()).api_key
    for method, path in [
        ("POST", "/personas"),
        ("GET", "/personas"),
        ("GET", f"/personas/{pid}"),
        ("POST", f"/personas/{pid}/sessions"),
        ("GET", "/sessions"),
        ("GET", f"/sessions/{sid}"),
        ("GET", f"/sessions/{sid}/recording"),
        ("GET", f"/sessions/{sid}/transcript"),
    ]:
        reply = await api.call(method, path, key=key, json={})
        assert_envelope(reply, 403, "MISSING_PERMISSION")
    assert (await api.call("GET", "/api/v1/credits", key=key, root=True)).status == 200


async def test_insufficient_credits(api: Api, emu: Emulator) -> None:
    poor = emu.add_tenant(credits=0)
    pid = await api.persona()
    # the persona is the default tenant's: the credit pre-check runs before the lookup
    reply = await api.call(
        "POST", f"/personas/{pid}/sessions", key=poor.api_key, json={"consent_mode": "explicit"}
    )
    assert_envelope(reply, 402, "INSUFFICIENT_CREDITS")
    emu.set_credits(0)
    reply = await api.call("POST", f"/personas/{pid}/sessions", json={"consent_mode": "explicit"})
    assert_envelope(reply, 402, "INSUFFICIENT_CREDITS")
    assert (
        await api.call("POST", "/personas", json={"role_name": "a", "language": "b"})
    ).status == 201


async def test_cross_tenant_ids_are_not_found(api: Api, emu: Emulator) -> None:
    pid = await api.persona()
    sid = (await api.session(pid))["id"]
    emu.complete_session(sid)
    other = emu.add_tenant().api_key
    for path in (
        f"/personas/{pid}",
        f"/sessions/{sid}",
        f"/sessions/{sid}/recording",
        f"/sessions/{sid}/transcript",
    ):
        assert_envelope(await api.call("GET", path, key=other), 404, "NOT_FOUND")
    reply = await api.call(
        "POST", f"/personas/{pid}/sessions", key=other, json={"consent_mode": "explicit"}
    )
    assert_envelope(reply, 404, "NOT_FOUND")
    assert (await api.call("GET", "/sessions", key=other)).json["data"] == []
    assert (await api.call("GET", "/personas", key=other)).json["data"] == []


async def test_unknown_ids_and_routes(api: Api) -> None:
    assert_envelope(await api.call("GET", "/sessions/0000"), 404, "NOT_FOUND")
    assert_envelope(await api.call("GET", "/personas/0000"), 404, "NOT_FOUND")
    assert_envelope(await api.call("GET", "/nowhere"), 404, "NOT_FOUND")
    reply = await api.call("POST", "/personas/0000/sessions", json={"consent_mode": "explicit"})
    assert_envelope(reply, 404, "NOT_FOUND")
    assert_envelope(await api.call("DELETE", "/sessions"), 405, "METHOD_NOT_ALLOWED")
