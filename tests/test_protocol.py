"""The sans-I/O core: request building, decoding, error mapping — no sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from zenhire_async import (
    APIError,
    ArtifactNotReadyError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SessionStatus,
)
from zenhire_async import _protocol as proto

SUMMARY = {
    "id": "s1",
    "client_id": "c1",
    "persona_id": "p1",
    "candidate_ref": None,
    "status": "completed",
    "consent_mode": "explicit",
    "source": "requests",
    "project_id": None,
    "tags": ["q3"],
    "metadata": {"req": 7, "ok": True, "name": "x", "score": 1.5},
    "started_at": "2026-05-29T10:00:00.000Z",
    "completed_at": "2026-05-29T10:10:00.000Z",
    "duration_sec": 600,
    "credit_charged": 10,
    "recording_s3_key": "k",
    "transcript_s3_key": "k2",
    "interview_svc_session_id": "svc",
    "created_at": "2026-05-29T09:59:00.123Z",
    "role_name": "Engineer",
    "language": "en",
}


def enc(obj: object) -> bytes:
    return msgspec.json.encode(obj)


def test_create_persona_omits_optional_fields_not_given() -> None:
    spec = proto.create_persona("Engineer", "en")
    assert spec.method == "POST"
    assert spec.path == "/api/v1/interview/personas"
    assert msgspec.json.decode(spec.body or b"") == {"role_name": "Engineer", "language": "en"}
    spec = proto.create_persona("E", "de", system_prompt="p", base_prompt_override=None)
    assert msgspec.json.decode(spec.body or b"") == {
        "role_name": "E",
        "language": "de",
        "system_prompt": "p",
        "base_prompt_override": None,
    }
    assert not spec.idempotent


def test_create_session_body_and_path_quoting() -> None:
    spec = proto.create_session(
        "p-1", consent_mode="integrator", candidate_ref="ats-1", tags=("a",), metadata={"k": 1}
    )
    assert spec.path == "/api/v1/interview/personas/p-1/sessions"
    assert msgspec.json.decode(spec.body or b"") == {
        "consent_mode": "integrator",
        "candidate_ref": "ats-1",
        "metadata": {"k": 1},
        "tags": ["a"],
    }
    with pytest.raises(ValueError, match="persona_id"):
        proto.create_session("../x/y", consent_mode="explicit")
    assert proto.get_session("a%b?").path.endswith("/sessions/a%25b%3F")


def test_session_filters_render_every_parameter() -> None:
    filters = proto.SessionFilters.build(
        status="active",
        persona_id="p",
        candidate_ref="r",
        project_id="pr",
        tags=["a", "b"],
        metadata={"n": 7, "f": 1.5, "b": False, "s": "x y"},
        created_after=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        created_before=datetime(2026, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2))),
    )
    spec = proto.list_sessions(filters, limit=100, offset=40)
    assert spec.params == (
        ("status", "active"),
        ("persona_id", "p"),
        ("candidate_ref", "r"),
        ("project_id", "pr"),
        ("tag", "a"),
        ("tag", "b"),
        ("metadata[n]", "7"),
        ("metadata[f]", "1.5"),
        ("metadata[b]", "false"),
        ("metadata[s]", "x y"),
        ("created_after", "2026-01-02T03:04:05.678Z"),
        ("created_before", "2026-01-02T03:00:00.000Z"),
        ("limit", "100"),
        ("offset", "40"),
    )
    cursor_spec = proto.list_sessions(proto.SessionFilters(), limit=5, cursor="abc")
    assert cursor_spec.params == (("limit", "5"), ("cursor", "abc"))


def test_naive_datetime_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        proto.SessionFilters.build(created_after=datetime(2026, 1, 1))


def test_session_detail_decodes_exact_json_names_and_nested_objects() -> None:
    body = dict(
        SUMMARY,
        role_name=None,
        persona={"id": "p1", "role_name": "Eng", "language": "en", "system_prompt": "sp"},
        feedback={
            "rating": 2,
            "comment": None,
            "submitted_at": "2026-05-29T10:11:00.000Z",
            "flagged": True,
        },
    )
    detail = proto.decode(proto.SESSION_DETAIL, enc(body), "session")
    assert detail.status == SessionStatus.COMPLETED
    assert detail.status == "completed"
    assert detail.is_terminal
    assert detail.created_at == datetime(2026, 5, 29, 9, 59, 0, 123000, tzinfo=UTC)
    assert detail.persona is not None and detail.persona.role_name == "Eng"
    assert detail.feedback is not None and detail.feedback.flagged is True
    assert detail.metadata == {"req": 7, "ok": True, "name": "x", "score": 1.5}
    assert detail.role_name is None


def test_forward_compatibility_unknown_fields_enums_and_missing_optionals() -> None:
    body = {
        "id": "s",
        "status": "paused_for_review",
        "consent_mode": "implied",
        "source": "mobile",
        "created_at": "2026-05-29T10:00:00.000Z",
        "brand_new_field": {"x": [1, 2]},
    }
    detail = proto.decode(proto.SESSION_DETAIL, enc(body), "session")
    assert detail.status == "paused_for_review"
    assert detail.consent_mode == "implied"
    assert detail.source == "mobile"
    assert detail.persona is None and detail.feedback is None and detail.tags is None
    assert not detail.is_terminal


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"id": 5, "status": "active", "created_at": "2026-05-29T10:00:00.000Z"}',
        b'{"status": "active", "created_at": "2026-05-29T10:00:00.000Z"}',
        b'{"id": "s", "status": "active", "created_at": "yesterday"}',
        b'{"id": "s", "status": "act',
        b"[]",
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_are_typed_decode_errors(body: bytes) -> None:
    with pytest.raises(DecodeError):
        proto.decode(proto.SESSION_DETAIL, body, "session")


ROWS = [dict(SUMMARY, id=f"s{i}") for i in range(3)]


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        (
            {"data": ROWS, "limit": 3, "offset": 0, "total": 7, "has_more": True},
            (3, 0, 7, True, None, False),
        ),
        ({"data": ROWS}, (None, None, None, None, None, False)),
        ({"data": ROWS, "has_more": False}, (None, None, None, False, None, False)),
        ({"data": ROWS, "next_cursor": "c2"}, (None, None, None, None, "c2", True)),
        ({"data": ROWS, "next_cursor": None}, (None, None, None, None, None, True)),
        (
            {"data": ROWS, "pagination": {"limit": 3, "offset": 3, "total": 9, "has_more": True}},
            (3, 3, 9, True, None, False),
        ),
    ],
)
def test_every_list_envelope_form(
    envelope: dict[str, object], expected: tuple[object, ...]
) -> None:
    result = proto.decode_page(proto.SESSION_PAGE, enc(envelope), "list")
    page = result.page
    assert [row.id for row in page.data] == ["s0", "s1", "s2"]
    got = (page.limit, page.offset, page.total, page.has_more, page.next_cursor, result.cursor_mode)
    assert got == expected


def test_invite_accepts_id_or_session_id_and_computes_expiry() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    link = "https://interview.zenhire.ai/#t=SECRETTOKEN123"
    for key in ("id", "session_id"):
        invite = proto.decode_invite(
            enc({key: "s9", "candidate_link": link, "expires_in": 3600}), now
        )
        assert invite.id == "s9"
        assert invite.candidate_link == link
        assert invite.expires_at == now + timedelta(hours=1)
        assert "SECRETTOKEN123" not in repr(invite)
        assert "SECRETTOKEN123" not in str(invite)
    invite = proto.decode_invite(enc({"id": "s", "candidate_link": link}), now)
    assert invite.expires_in == 604800
    with pytest.raises(DecodeError):
        proto.decode_invite(enc({"candidate_link": link}), now)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "VALIDATION_ERROR", BadRequestError),
        (400, "INVALID_INPUT", BadRequestError),
        (401, "INVALID_API_KEY", AuthenticationError),
        (402, "INSUFFICIENT_CREDITS", InsufficientCreditsError),
        (403, "MISSING_PERMISSION", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "ARTIFACT_NOT_READY", ArtifactNotReadyError),
        (425, "ARTIFACT_NOT_READY", ArtifactNotReadyError),
        (409, "CONFLICT", APIError),
        (429, "RATE_LIMIT_EXCEEDED", RateLimitError),
        (500, "INTERNAL_ERROR", ServerError),
        (503, "WARMING_UP", ServerError),
    ],
)
def test_error_envelope_mapping(status: int, code: str, cls: type[APIError]) -> None:
    body = enc(
        {
            "error": {
                "code": code,
                "message": "msg",
                "timestamp": "2026-05-29T10:00:00.000Z",
                "requestId": "req_1",
                "details": {"status": "active"},
                "retryAfterSeconds": 30,
            }
        }
    )
    err = proto.error_from_response(status, body, {})
    assert type(err) is cls
    assert (err.status, err.code, err.message, err.request_id) == (status, code, "msg", "req_1")
    assert err.retry_after == 30
    if isinstance(err, ArtifactNotReadyError):
        assert err.session_status == "active"


def test_retry_after_header_wins_and_http_dates_parse() -> None:
    err = proto.error_from_response(429, b"", {"Retry-After": "7"})
    assert isinstance(err, RateLimitError) and err.retry_after == 7
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert proto.parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now) == 10
    assert proto.parse_retry_after("soon") is None
    assert proto.parse_retry_after("-3") == 0


@pytest.mark.parametrize(
    "body", [b"<html><body>502 Bad Gateway</body></html>", b"", b'{"error": "flat"}']
)
def test_non_envelope_error_bodies_still_give_typed_errors(body: bytes) -> None:
    err = proto.error_from_response(502, body, {"X-Request-Id": "req_h"})
    assert isinstance(err, ServerError)
    assert err.status == 502 and err.code is None and err.request_id == "req_h"
    assert "502" in str(err)


def test_error_messages_are_redacted() -> None:
    body = enc(
        {"error": {"code": "X", "message": "bad key zh_api_abcdef123456 link /#t=tok_secret"}}
    )
    err = proto.error_from_response(400, body, {}, "zh_api_abcdef123456")
    assert "abcdef123456" not in str(err) and "tok_secret" not in str(err)


@pytest.mark.parametrize(
    ("raw", "turns"),
    [
        ([{"speaker": "ai", "text": "Hi"}, {"role": "candidate", "content": "Hello"}], 2),
        ({"turns": [{"speaker": "ai", "text": "Hi"}], "lang": "en"}, 1),
        ({"something": "else"}, 0),
        ("plain text", 0),
        ([1, None, {"speaker": "x"}], 0),
        (None, 0),
    ],
)
def test_transcript_turns_are_best_effort(raw: object, turns: int) -> None:
    transcript = proto.transcript_from_json(raw)  # type: ignore[arg-type]
    assert transcript.raw == raw
    assert len(transcript.turns) == turns


# -- answers we cannot trust blindly --------------------------------------------------------

_LINK = "https://interview.zenhire.ai/#t=SECRETTOKEN123"


@pytest.mark.parametrize(
    ("expires_in", "seconds"),
    [
        (604800, 604800),
        (604800.0, 604800),
        ("604800", 604800),
        (" 604800.0 ", 604800),
        ("6.048e5", 604800),
        (90.9, 90),
        (0, 0),
        (10**40, proto.MAX_LINK_LIFETIME_SECONDS),
        ("1e999", proto.MAX_LINK_LIFETIME_SECONDS),
        # unreadable: the documented 7 days, the link kept
        (-1, 604800),
        ("soon", 604800),
        ("NaN", 604800),
        (True, 604800),
        ([604800], 604800),
        (None, 604800),
    ],
)
def test_expires_in_is_read_when_unambiguous(expires_in: object, seconds: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    invite = proto.decode_invite(
        enc({"id": "s", "candidate_link": _LINK, "expires_in": expires_in}), now
    )
    assert (invite.candidate_link, invite.expires_in) == (_LINK, seconds)
    assert invite.expires_at == now + timedelta(seconds=seconds)


def test_an_expiry_past_the_calendar_is_clamped_not_an_overflow() -> None:
    late = datetime(9999, 12, 30, tzinfo=UTC)
    invite = proto.decode_invite(enc({"id": "s", "candidate_link": _LINK}), late)
    assert invite.expires_at == datetime.max.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        (_LINK, None),
        ("https://eu.example.com/a/b?x=1#t=abc", None),
        ("HTTPS://interview.zenhire.ai/#t=abc", None),
        ("", "missing"),
        (None, "missing"),
        (7, "missing"),
        ("javascript:alert(1)", "https"),
        ("http://interview.zenhire.ai/#t=abc", "https"),
        ("https:///#t=abc", "host"),
        ("https://interview.zenhire.ai/", "token"),
        ("https://interview.zenhire.ai/#t=", "token"),
        ("https://interview.zenhire.ai/?t=abc", "token"),
        ("https://interview.zenhire.ai/ #t=abc", "whitespace"),
        ("https://interview.zenhire.ai/\x00#t=abc", "control"),
        ("https://interview.zenhire.ai:99999/#t=abc", "URL"),
        ("https://[::1/#t=abc", "URL"),
    ],
)
def test_link_problem(link: object, problem: str | None) -> None:
    found = proto.link_problem(link)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
        assert "abc" not in found


def test_a_timestamp_without_z_is_utc_and_offsets_are_converted() -> None:
    body = {
        "id": "s",
        "status": "completed",
        "created_at": "2026-05-29T10:00:00.000",
        "started_at": "2026-05-29T12:00:00.000+02:00",
        "completed_at": "0001-01-01T00:30:00+01:00",
        "feedback": {"rating": 5, "submitted_at": "2026-05-29T10:00:00"},
    }
    detail = proto.decode(proto.SESSION_DETAIL, enc(body), "session")
    ten = datetime(2026, 5, 29, 10, tzinfo=UTC)
    assert detail.created_at == ten and detail.created_at.tzinfo is UTC
    assert detail.started_at == ten and detail.started_at.tzinfo is UTC
    assert detail.completed_at == datetime.min.replace(tzinfo=UTC)  # clamped, not an error
    assert detail.feedback is not None and detail.feedback.submitted_at == ten
    persona = proto.decode(
        proto.PERSONA_DETAIL,
        enc({"id": "p", "role_name": "r", "language": "en", "updated_at": "2026-05-29T10:00:00"}),
        "persona",
    )
    assert persona.updated_at == ten and persona.updated_at.tzinfo is UTC
