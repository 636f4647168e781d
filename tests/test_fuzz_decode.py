"""Fuzzing the decoders: whatever the server sends, the SDK returns a model or a typed error.

Every response type goes through the function the SDK itself uses for it (the resource
methods call exactly these): persona, persona detail, both list pages in all envelope forms
of the contract, the create-session answer, session detail, transcript, health/credits and
error bodies. Inputs are valid bodies (round-tripped: model → JSON → model), valid bodies
with unknown fields and enum values, and broken ones: a field removed or given a value of
another type, huge strings, deep nesting, truncated JSON, invalid UTF-8, random bytes.
The property: a model, or :class:`DecodeError` (2xx bodies) / :class:`APIError` (error
bodies) — never a ``KeyError``, ``OverflowError``, ``RecursionError``… from inside.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import msgspec
import pytest
import rich.pretty
from fuzz_support import fuzzed
from hypothesis import assume, given
from hypothesis import strategies as st

from zenhire_async import (
    APIError,
    ArtifactNotReadyError,
    CreatedRecord,
    DecodeError,
    Feedback,
    Page,
    Persona,
    PersonaDetail,
    RateLimitError,
    ServerError,
    SessionDetail,
    SessionInvite,
    SessionPersona,
    SessionSummary,
    ZenHireClient,
)
from zenhire_async import _protocol as proto
from zenhire_async._retry import RetryPolicy
from zenhire_async.testing import Emulator

RECEIVED_AT = datetime(2026, 5, 29, 10, 0, tzinfo=UTC)

# -- building blocks -------------------------------------------------------------------------

INT64 = st.integers(-(2**63), 2**63 - 1)
ids = st.one_of(st.uuids().map(str), st.text(min_size=1, max_size=40))
texts = st.text(max_size=60)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
)


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def enum_text(*known: str) -> st.SearchStrategy[str]:
    """A documented value, or one a newer server invented (kept as its string)."""
    return st.sampled_from(known) | st.text(min_size=1, max_size=30)


json_scalars = (
    st.none()
    | st.booleans()
    | INT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)


def _json(depth: int) -> st.SearchStrategy[Any]:
    """JSON values nested at most ``depth`` deep (not ``st.recursive``: on long runs its
    heuristic warns that such an ``extend`` "can't recurse", and warnings are errors)."""
    if depth == 0:
        return json_scalars
    inner = _json(depth - 1)
    return (
        json_scalars
        | st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    )


json_values = _json(3)
# What a broken server might put anywhere: big integers, non-finite floats, anything.
wild_values = json_values | st.integers() | st.floats() | st.just("x" * 200_000)
metadata = st.dictionaries(
    st.text(max_size=40),
    st.text(max_size=50) | INT64 | st.floats(allow_nan=False, allow_infinity=False) | st.booleans(),
    max_size=6,
)

persona_fields = {
    "id": ids,
    "client_id": opt(ids),
    "role_name": texts,
    "language": texts,
    "status": enum_text("active"),
    "created_at": opt(timestamps),
    "base_prompt_override": opt(texts),
}
personas = st.builds(Persona, **persona_fields)
persona_details = st.builds(
    PersonaDetail,
    **persona_fields,
    system_prompt=opt(st.text(max_size=300)),
    updated_at=opt(timestamps),
)
_SUMMARY_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": ids,
    "client_id": opt(ids),
    "persona_id": opt(ids),
    "candidate_ref": opt(texts),
    "status": enum_text("initiated", "active", "completed", "failed"),
    "consent_mode": opt(enum_text("explicit", "integrator")),
    "source": opt(enum_text("requests", "playground")),
    "project_id": opt(ids),
    "tags": opt(st.lists(st.text(min_size=1, max_size=40), max_size=5)),
    "metadata": opt(metadata),
    "started_at": opt(timestamps),
    "completed_at": opt(timestamps),
    "duration_sec": opt(INT64),
    "credit_charged": opt(INT64),
    "recording_s3_key": opt(texts),
    "transcript_s3_key": opt(texts),
    "interview_svc_session_id": opt(texts),
    "created_at": timestamps,
    "role_name": opt(texts),
    "language": opt(texts),
}
summaries = st.builds(SessionSummary, **_SUMMARY_FIELDS)
session_details = st.builds(
    SessionDetail,
    **_SUMMARY_FIELDS,
    persona=opt(
        st.builds(
            SessionPersona,
            id=opt(ids),
            role_name=opt(texts),
            language=opt(texts),
            system_prompt=opt(texts),
            base_prompt_override=opt(texts),
        )
    ),
    feedback=opt(
        st.builds(
            Feedback,
            rating=INT64,
            comment=opt(texts),
            submitted_at=opt(timestamps),
            flagged=opt(st.booleans()),
        )
    ),
)


def to_json(model: msgspec.Struct) -> Any:
    return msgspec.to_builtins(model)


# -- the SDK's decoders, as the resource methods use them --------------------------------------


def _transcript(body: bytes) -> object:
    return proto.transcript_from_json(proto.decode(proto.JSON_ANY, body, "transcript"))


DECODERS: dict[str, Callable[[bytes], object]] = {
    "persona": lambda b: proto.decode(proto.PERSONA, b, "persona"),
    "persona_detail": lambda b: proto.decode(proto.PERSONA_DETAIL, b, "persona"),
    "persona_page": lambda b: proto.decode_page(proto.PERSONA_PAGE, b, "persona list"),
    "session_page": lambda b: proto.decode_page(proto.SESSION_PAGE, b, "session list"),
    "session_detail": lambda b: proto.decode(proto.SESSION_DETAIL, b, "session"),
    "invite": lambda b: proto.decode_invite(b, RECEIVED_AT),
    "transcript": _transcript,
    "health": lambda b: proto.decode(proto.JSON_OBJECT, b, "health"),
}

# -- envelopes (CONTRACT §1) ----------------------------------------------------------------

FORMS = ("pinned", "data_only", "has_more", "cursor", "cursor_end", "nested")


def envelope(rows: list[Any], form: str, *, offset: int = 0, total: int = 0) -> dict[str, Any]:
    """A list page in one of the envelope forms the contract tolerates."""
    more = offset + len(rows) < total
    if form == "pinned":
        return {"data": rows, "limit": 20, "offset": offset, "total": total, "has_more": more}
    if form == "data_only":
        return {"data": rows}
    if form == "has_more":
        return {"data": rows, "has_more": more}
    if form == "cursor":
        return {"data": rows, "next_cursor": f"c{offset + len(rows)}"}
    if form == "cursor_end":
        return {"data": rows, "next_cursor": None}
    assert form == "nested"
    return {
        "data": rows,
        "pagination": {"limit": 20, "offset": offset, "total": total, "has_more": more},
    }


def expected_page(rows: list[Any], form: str, offset: int, total: int) -> Page[Any]:
    env = envelope(rows, form, offset=offset, total=total)
    env.update(env.pop("pagination", {}))
    env["data"] = rows
    return Page(**env)


# -- valid bodies: they decode, and round-trip --------------------------------------------


@given(model=personas)
def test_persona_round_trips(model: Persona) -> None:
    fuzzed("persona")
    assert DECODERS["persona"](msgspec.json.encode(model)) == model


@given(model=persona_details)
def test_persona_detail_round_trips(model: PersonaDetail) -> None:
    fuzzed("persona_detail")
    assert DECODERS["persona_detail"](msgspec.json.encode(model)) == model


@given(model=session_details)
def test_session_detail_round_trips(model: SessionDetail) -> None:
    fuzzed("session_detail")
    assert DECODERS["session_detail"](msgspec.json.encode(model)) == model


@given(
    rows=st.lists(summaries, max_size=4) | st.lists(personas, max_size=4),
    form=st.sampled_from(FORMS),
    offset=st.integers(0, 10**6),
    extra=st.integers(0, 50),
)
def test_pages_round_trip_in_every_envelope_form(
    rows: list[Any], form: str, offset: int, extra: int
) -> None:
    fuzzed("page")
    total = offset + len(rows) + extra
    body = msgspec.json.encode(
        envelope([to_json(r) for r in rows], form, offset=offset, total=total)
    )
    persona_rows = bool(rows) and isinstance(rows[0], Persona)
    decoder = DECODERS["persona_page" if persona_rows else "session_page"]
    result = decoder(body)
    assert isinstance(result, proto.PageResult)
    assert result.page == expected_page(rows, form, offset, total)
    assert result.cursor_mode == form.startswith("cursor")


@given(
    session_id=ids,
    id_field=st.sampled_from(["id", "session_id"]),
    token=st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=16),
    expires_in=opt(st.integers(0, 10 * 365 * 86_400)),
)
def test_invite_round_trips(
    session_id: str, id_field: str, token: str, expires_in: int | None
) -> None:
    fuzzed("invite")
    link = f"https://interview.zenhire.ai/#t={token}"
    body = {id_field: session_id, "candidate_link": link, "expires_in": expires_in}
    invite = DECODERS["invite"](msgspec.json.encode(body))
    lifetime = 604_800 if expires_in is None else expires_in
    assert invite == SessionInvite(
        id=session_id,
        candidate_link=link,
        expires_in=lifetime,
        expires_at=RECEIVED_AT + timedelta(seconds=lifetime),
    )
    assume(token not in session_id)
    for text in (repr(invite), str(invite), f"{invite}"):
        assert link not in text and token not in text


@given(raw=json_values)
def test_transcript_keeps_any_document_as_is(raw: Any) -> None:
    fuzzed("transcript")
    transcript = DECODERS["transcript"](msgspec.json.encode(raw))
    assert transcript.raw == raw  # type: ignore[attr-defined]


@given(doc=st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_health_document_round_trips(doc: dict[str, Any]) -> None:
    fuzzed("health")
    assert DECODERS["health"](msgspec.json.encode(doc)) == doc


@st.composite
def tolerant_session_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Valid for the contract's forward-compatibility rules: optional fields dropped, unknown
    fields added, unknown enum values (already in the strategy)."""
    body: dict[str, Any] = to_json(draw(session_details))
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=len(body))):
        if key not in ("id", "status", "created_at"):
            body.pop(key, None)
    for key, value in draw(st.dictionaries(st.text(max_size=12), json_values, max_size=4)).items():
        if key not in body:
            body[key] = value
    return body


@given(body=tolerant_session_bodies())
def test_forward_compatible_session_bodies_always_decode(body: dict[str, Any]) -> None:
    fuzzed("session_detail")
    detail = DECODERS["session_detail"](msgspec.json.encode(body))
    assert isinstance(detail, SessionDetail)
    assert (detail.id, detail.status) == (body["id"], body["status"])


# -- broken bodies: a typed error, never another exception ----------------------------------


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with one node removed, retyped, bloated or nested deeply."""
    if isinstance(value, dict) and value and depth < 3 and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        op = draw(st.sampled_from(["drop", "retype", "descend", "extra"]))
        out = dict(value)
        if op == "drop":
            del out[key]
        elif op == "retype":
            out[key] = draw(wild_values)
        elif op == "descend":
            out[key] = draw(mutated(value[key], depth + 1))
        else:
            out[draw(st.text(max_size=10))] = draw(wild_values)
        return out
    if isinstance(value, list) and value and depth < 3 and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        out_list = list(value)
        out_list[index] = draw(mutated(value[index], depth + 1))
        return out_list
    return draw(wild_values)


DEEP = object()  # placeholder replaced by deeply nested JSON text after encoding


@st.composite
def broken_bodies(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> bytes:
    """A body that may or may not still match the contract: mostly it does not."""
    base = draw(valid)
    kind = draw(
        st.sampled_from(
            ["mutated", "truncated", "bad_utf8", "deep", "huge", "bytes", "not_json", "flip"]
        )
    )
    if kind == "mutated":
        return json.dumps(draw(mutated(base))).encode()  # may hold NaN/Infinity: not JSON
    text = json.dumps(base).encode()
    if kind == "truncated":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "bad_utf8":
        at = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80"]))
        return text[:at] + junk + text[at:]
    if kind == "deep":
        depth = draw(st.sampled_from([100, 1_000, 10_000, 100_000]))
        nested = draw(st.sampled_from([_deep(depth), '{"a":' * depth + "1" + "}" * depth]))
        if isinstance(base, dict) and base:
            key = draw(st.sampled_from(sorted(base)))
            return (
                json.dumps({**base, key: None})
                .replace(f"{json.dumps(key)}: null", f"{json.dumps(key)}: {nested}")
                .encode()
            )
        return nested.encode()
    if kind == "huge":
        size = draw(st.sampled_from([100_000, 1_000_000, 5_000_000]))
        if isinstance(base, dict) and base:
            return json.dumps({**base, draw(st.sampled_from(sorted(base))): "z" * size}).encode()
        return json.dumps("z" * size).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "not_json":
        return draw(
            st.sampled_from(
                [b"", b" ", b"null", b"<html>502 Bad Gateway</html>", b"NaN", b"{'a': 1}"]
            )
            | st.text(max_size=50).map(str.encode)
        )
    assert kind == "flip"
    data = bytearray(text)
    for _ in range(draw(st.integers(1, 5))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _page_bodies(rows: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        lambda r, form: envelope([to_json(x) for x in r], form, total=len(r) + 1),
        st.lists(rows, max_size=3),
        st.sampled_from(FORMS),
    )


VALID_JSON: dict[str, st.SearchStrategy[Any]] = {
    "persona": personas.map(to_json),
    "persona_detail": persona_details.map(to_json),
    "persona_page": _page_bodies(personas),
    "session_page": _page_bodies(summaries),
    "session_detail": session_details.map(to_json),
    "invite": st.fixed_dictionaries(
        {"id": ids, "candidate_link": texts, "expires_in": opt(st.integers(0, 10**6))}
    ),
    "transcript": json_values,
    "health": st.dictionaries(st.text(max_size=10), json_values, max_size=4),
}


@pytest.mark.parametrize("target", sorted(DECODERS))
@given(data=st.data())
def test_broken_bodies_give_a_model_or_a_decode_error(target: str, data: st.DataObject) -> None:
    body = data.draw(broken_bodies(VALID_JSON[target]), label="body")
    fuzzed(target)
    message = None
    try:
        DECODERS[target](body)
    except DecodeError as error:
        message = str(error)
    if message is not None:
        assert message  # a message a human can read
        assert len(message) < 2_000  # and not the whole body echoed back


@pytest.mark.parametrize("expires_in", [-1, 2**31, 10**12, 2**63 - 1, 2**64 - 1, 10**30], ids=str)
def test_absurd_link_lifetimes_keep_the_link(expires_in: int) -> None:
    """A lifetime beyond what a datetime holds is capped, not an ``OverflowError``: the
    answer carries the only copy of the link, so it must not be lost over a bad number.

    Found by the fuzzer: ``timedelta(seconds=10**12)`` and ``received_at + lifetime`` overflow.
    """
    fuzzed("invite")
    link = "https://interview.zenhire.ai/#t=tok"
    body = msgspec.json.encode({"id": "s", "candidate_link": link, "expires_in": expires_in})
    invite = DECODERS["invite"](body)
    assert isinstance(invite, SessionInvite)
    assert invite.candidate_link == link
    assert RECEIVED_AT <= invite.expires_at <= RECEIVED_AT + timedelta(days=3660)
    assert invite.expires_in == min(max(expires_in, 0) or 604_800, proto.MAX_LINK_LIFETIME_SECONDS)


@pytest.mark.parametrize("target", sorted(DECODERS))
def test_deep_nesting_is_a_decode_error(target: str) -> None:
    """Found by the fuzzer: msgspec raises ``RecursionError`` past its nesting limit."""
    fuzzed(target)
    with pytest.raises(DecodeError):
        DECODERS[target](_deep(200_000).encode())


# -- error bodies -------------------------------------------------------------------------

retry_after_headers = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**30).map(str),
    st.floats().map(str),
    st.sampled_from(
        [
            *("", "soon", "inf", "-inf", "nan", "1e999", "1e300", "Infinity", "-0", "0x10"),
            *("Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"),
        ]
    ),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    st.text(max_size=40),
)
error_envelopes = st.fixed_dictionaries(
    {},
    optional={
        "code": opt(
            st.sampled_from(["NOT_FOUND", "ARTIFACT_NOT_READY", "RATE_LIMIT_EXCEEDED"]) | texts
        ),
        "message": opt(texts),
        "timestamp": texts,
        "requestId": opt(texts),
        "details": opt(st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
        "retryAfterSeconds": opt(st.integers(-(10**6), 10**6) | st.floats()),
    },
).map(lambda err: {"error": err})


@given(
    status=st.integers(400, 599) | st.integers(100, 999),
    body=broken_bodies(error_envelopes) | error_envelopes.map(lambda e: json.dumps(e).encode()),
    retry_after=retry_after_headers,
    request_id=opt(st.text(max_size=40)),
)
def test_error_bodies_always_map_to_a_typed_error_with_their_status(
    status: int, body: bytes, retry_after: str | None, request_id: str | None
) -> None:
    fuzzed("error")
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if request_id is not None:
        headers["X-Request-Id"] = request_id
    error = proto.error_from_response(status, body, headers)
    assert isinstance(error, APIError)
    assert error.status == status
    assert error.code is None or isinstance(error.code, str)
    if error.retry_after is not None:
        # A wait the client may act on: never negative, never NaN or forever.
        assert error.retry_after >= 0 and math.isfinite(error.retry_after)
    if error.code == "ARTIFACT_NOT_READY":
        assert isinstance(error, ArtifactNotReadyError)
    elif status == 429:
        assert isinstance(error, RateLimitError)
    elif status >= 500:
        assert isinstance(error, ServerError)
    assert str(error) and repr(error)


@given(
    status=st.integers(400, 599),
    before=texts,
    after=texts,
    key_tail=st.text("abcdef0123456789", min_size=16, max_size=32),
    token=st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=43),
)
def test_secrets_echoed_in_error_messages_are_redacted(
    status: int, before: str, after: str, key_tail: str, token: str
) -> None:
    fuzzed("error")
    key = f"zh_api_{key_tail}"
    link = f"https://interview.zenhire.ai/#t={token}"
    assume(token not in before + after + f"https://interview.zenhire.ai/ HTTP {status} X")
    message = f"{before}{key} {link}{after}"
    body = json.dumps({"error": {"code": "X", "message": message}}).encode()
    error = proto.error_from_response(status, body, {}, key)
    for text in (str(error), repr(error), error.message, *map(str, error.args)):
        assert key not in text
        assert token not in text


@pytest.mark.anyio
@pytest.mark.parametrize("retry_after", [1e300, 86_400.0])
async def test_an_absurd_retry_after_does_not_freeze_the_client(retry_after: float) -> None:
    """A 429 asking for a wait of hours is raised (not retried), and the pause it puts on the
    client's pacer is capped: the next call goes through within minutes, not never.

    Found by the error fuzzer: ``Retry-After: inf`` became ``retry_after=inf``, and any huge
    value paused every request of the client for that long.
    """
    async with (
        Emulator() as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        emu.faults.add("429", count=1, retry_after=retry_after)
        with pytest.raises(RateLimitError) as info:
            await zh.personas.list()
        assert info.value.retry_after is not None and info.value.retry_after >= retry_after
        with anyio.fail_after(RetryPolicy().max_retry_after + 1):
            assert (await zh.personas.list()).data == []


_URLSAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


@given(
    host=st.from_regex(r"[a-z]{3,10}\.[a-z]{2,5}", fullmatch=True),
    secret=st.text(_URLSAFE, min_size=16, max_size=64),
    shape=st.sampled_from(
        ["/#t={s}", "/?t={s}", "/x?a=1&t={s}", "/?token={s}", "/i/{s}", "/#{s}", "/{s}?x=1"]
    ),
    userinfo=st.booleans(),
)
def test_an_invite_never_shows_its_link_whatever_its_shape(
    host: str, secret: str, shape: str, userinfo: bool
) -> None:
    """The contract pins ``…/#t=<token>``; should the platform send another shape, the
    repr still hides what follows the host (and credentials before it)."""
    fuzzed("invite")
    link = f"https://{'u:' + secret + '@' if userinfo else ''}{host}{shape.format(s=secret)}"
    invite = SessionInvite(id="s1", candidate_link=link, expires_in=60, expires_at=RECEIVED_AT)
    record = CreatedRecord(
        candidate_ref="r", session_id="s1", candidate_link=link, expires_at=RECEIVED_AT
    )
    for obj in (invite, record):
        for text in (repr(obj), str(obj), rich.pretty.pretty_repr(obj)):
            assert secret not in text and link not in text
            assert host in text  # still says where the link leads


# -- create answers a server writes oddly ------------------------------------------------------

_TOKEN = "FUZZTOKENabc123"
_LINK = f"https://interview.zenhire.ai/#t={_TOKEN}"
_links = st.one_of(
    st.just(_LINK),
    st.sampled_from(
        [
            "",
            "javascript:alert(1)",
            f"http://interview.zenhire.ai/#t={_TOKEN}",
            f"https:///#t={_TOKEN}",
            f"https://interview.zenhire.ai/?t={_TOKEN}",
            f"https://interview.zenhire.ai:99999/#t={_TOKEN}",
            f"https://[::1/#t={_TOKEN}",
            f"https://interview.zenhire.ai/\n#t={_TOKEN}",
            f"https://other.example/x#t={_TOKEN}",
        ]
    ),
    st.text(max_size=40).map(lambda t: f"https://{t}#t={_TOKEN}"),
    wild_values,
)
_lifetimes = st.one_of(
    st.integers(),
    st.floats(),
    st.integers(0, 10**7).map(str),
    st.floats(0, 1e7).map(repr),
    st.text(max_size=12),
    wild_values,
)


@given(
    session_id=st.one_of(ids, wild_values),
    id_field=st.sampled_from(["id", "session_id"]),
    link=_links,
    expires_in=_lifetimes,
    drop=st.sets(st.sampled_from(["id", "candidate_link", "expires_in"])),
)
def test_any_create_answer_gives_an_invite_or_a_decode_error_never_showing_the_link(
    session_id: Any, id_field: str, link: Any, expires_in: Any, drop: set[str]
) -> None:
    """Whatever shape a create answer takes: a :class:`SessionInvite` with a usable link and
    a lifetime within bounds, or a :class:`DecodeError` that names the session when the
    answer did and never carries the link (not in its text, not in its chain)."""
    fuzzed("invite")
    body: dict[str, Any] = {id_field: session_id, "candidate_link": link, "expires_in": expires_in}
    for name in drop:
        body.pop(id_field if name == "id" else name)
    try:
        raw = msgspec.json.encode(body)
    except (OverflowError, msgspec.EncodeError):
        assume(False)
    failure: DecodeError | None = None
    try:
        invite = DECODERS["invite"](raw)
    except DecodeError as error:
        failure = error
    if failure is not None:
        assert _TOKEN not in str(failure) + repr(failure)
        assert failure.__cause__ is None or _TOKEN not in repr(failure.__cause__)
        if failure.session_id is not None:
            assert failure.session_id == session_id
        return
    assert isinstance(invite, SessionInvite)
    assert proto.link_problem(invite.candidate_link) is None
    assert 0 <= invite.expires_in <= proto.MAX_LINK_LIFETIME_SECONDS
    assert invite.expires_at == RECEIVED_AT + timedelta(seconds=invite.expires_in)
    assert _TOKEN not in repr(invite)


# -- timestamps a server writes oddly ------------------------------------------------------------

_offsets = st.one_of(
    st.just(""),
    st.just("Z"),
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
        lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
    ),
)


@given(
    when=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    offset=_offsets,
    known=st.none() | st.datetimes(timezones=st.just(UTC)),
)
def test_any_timestamp_decodes_to_utc_and_its_link_expiry_never_overflows(
    when: datetime, offset: str, known: datetime | None
) -> None:
    """A naive (no ``Z``), offset or edge-of-calendar ``created_at`` gives an aware UTC
    datetime, and the link-expiry arithmetic of a wait on it gives a datetime."""
    from zenhire_async._poll_book import Tracked

    fuzzed("session_detail")
    stamp = when.isoformat(timespec="milliseconds") + offset
    body = {"id": "s", "status": "initiated", "created_at": stamp, "started_at": stamp}
    for decode in (DECODERS["session_detail"], DECODERS["session_page"]):
        raw = msgspec.json.encode(
            body if decode is DECODERS["session_detail"] else {"data": [body]}
        )
        result = decode(raw)
        session = result if isinstance(result, SessionDetail) else result.page.data[0]  # type: ignore[attr-defined]
        assert isinstance(session, SessionSummary)
        assert session.created_at.tzinfo is UTC and session.started_at is not None
        assert session.started_at.tzinfo is UTC
        if offset in ("", "Z"):
            assert session.created_at.replace(tzinfo=None) == when.replace(
                microsecond=when.microsecond // 1000 * 1000
            )
        tracked = Tracked("s", created_at=session.created_at, created_exact=True, expires_at=known)
        expiry = tracked.link_expiry()
        assert expiry is not None and expiry.tzinfo is not None
        assert proto.format_timestamp(session.created_at, "created_after")
