"""What our users would write instead: the same models in pydantic v2 and in dataclasses.

Each peer decodes the same bodies to the same values as ``zenhire_async`` (same fields,
timestamps parsed to aware datetimes, missing optional fields as ``None``, unknown fields
ignored); :func:`to_plain` and :func:`plain_from_untyped` bring every result to one plain
form so that ``tests/test_bench_equivalence.py`` can check that they all did the same work.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
import pydantic

from zenhire_async import _protocol as proto
from zenhire_async.models import SessionDetail, SessionSummary

# -- ours -------------------------------------------------------------------------------------


def ours_page(body: bytes) -> proto.PageResult[SessionSummary]:
    """The SDK's own list-page path (``sessions.list`` minus the HTTP)."""
    return proto.decode_page(proto.SESSION_PAGE, body, "session list")


def ours_detail(body: bytes) -> SessionDetail:
    """The SDK's own ``sessions.get`` decoding."""
    return proto.decode(proto.SESSION_DETAIL, body, "session")


# -- pydantic v2 ------------------------------------------------------------------------------


class _PModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")


class PSessionSummary(_PModel):
    """``SessionSummary`` as a pydantic v2 model."""

    id: str
    client_id: str | None = None
    persona_id: str | None = None
    candidate_ref: str | None = None
    status: str
    consent_mode: str | None = None
    source: str | None = None
    project_id: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, str | int | float | bool] | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_sec: int | None = None
    credit_charged: int | None = None
    recording_s3_key: str | None = None
    transcript_s3_key: str | None = None
    interview_svc_session_id: str | None = None
    created_at: datetime
    role_name: str | None = None
    language: str | None = None


class PSessionPersona(_PModel):
    """``SessionPersona`` as a pydantic v2 model."""

    id: str | None = None
    role_name: str | None = None
    language: str | None = None
    system_prompt: str | None = None
    base_prompt_override: str | None = None


class PFeedback(_PModel):
    """``Feedback`` as a pydantic v2 model."""

    rating: int
    comment: str | None = None
    submitted_at: datetime | None = None
    flagged: bool | None = None


class PSessionDetail(PSessionSummary):
    """``SessionDetail`` as a pydantic v2 model."""

    persona: PSessionPersona | None = None
    feedback: PFeedback | None = None


class PPage(_PModel):
    """A list page of ``SessionSummary`` as a pydantic v2 model."""

    data: list[PSessionSummary]
    limit: int | None = None
    offset: int | None = None
    total: int | None = None
    has_more: bool | None = None
    next_cursor: str | None = None


PYDANTIC_PAGE = pydantic.TypeAdapter(PPage)
PYDANTIC_DETAIL = pydantic.TypeAdapter(PSessionDetail)


def pydantic_page(body: bytes) -> PPage:
    """``TypeAdapter(PPage).validate_json``."""
    return PYDANTIC_PAGE.validate_json(body)


def pydantic_detail(body: bytes) -> PSessionDetail:
    """``TypeAdapter(PSessionDetail).validate_json``."""
    return PYDANTIC_DETAIL.validate_json(body)


# -- stdlib: json.loads + dataclasses ---------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DSessionSummary:
    """``SessionSummary`` as a stdlib dataclass."""

    id: str
    client_id: str | None
    persona_id: str | None
    candidate_ref: str | None
    status: str
    consent_mode: str | None
    source: str | None
    project_id: str | None
    tags: list[str] | None
    metadata: dict[str, str | int | float | bool] | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_sec: int | None
    credit_charged: int | None
    recording_s3_key: str | None
    transcript_s3_key: str | None
    interview_svc_session_id: str | None
    created_at: datetime
    role_name: str | None
    language: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DSessionPersona:
    """``SessionPersona`` as a stdlib dataclass."""

    id: str | None
    role_name: str | None
    language: str | None
    system_prompt: str | None
    base_prompt_override: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DFeedback:
    """``Feedback`` as a stdlib dataclass."""

    rating: int
    comment: str | None
    submitted_at: datetime | None
    flagged: bool | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DSessionDetail(DSessionSummary):
    """``SessionDetail`` as a stdlib dataclass."""

    persona: DSessionPersona | None
    feedback: DFeedback | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DPage:
    """A list page as a stdlib dataclass."""

    data: list[DSessionSummary]
    limit: int | None
    offset: int | None
    total: int | None
    has_more: bool | None
    next_cursor: str | None


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _summary_fields(d: Mapping[str, Any]) -> dict[str, Any]:
    get = d.get
    return {
        "id": d["id"],
        "client_id": get("client_id"),
        "persona_id": get("persona_id"),
        "candidate_ref": get("candidate_ref"),
        "status": d["status"],
        "consent_mode": get("consent_mode"),
        "source": get("source"),
        "project_id": get("project_id"),
        "tags": get("tags"),
        "metadata": get("metadata"),
        "started_at": _dt(get("started_at")),
        "completed_at": _dt(get("completed_at")),
        "duration_sec": get("duration_sec"),
        "credit_charged": get("credit_charged"),
        "recording_s3_key": get("recording_s3_key"),
        "transcript_s3_key": get("transcript_s3_key"),
        "interview_svc_session_id": get("interview_svc_session_id"),
        "created_at": datetime.fromisoformat(d["created_at"]),
        "role_name": get("role_name"),
        "language": get("language"),
    }


def stdlib_page(body: bytes) -> DPage:
    """``json.loads`` then hand-written dataclass construction."""
    d = json.loads(body)
    return DPage(
        data=[DSessionSummary(**_summary_fields(row)) for row in d["data"]],
        limit=d.get("limit"),
        offset=d.get("offset"),
        total=d.get("total"),
        has_more=d.get("has_more"),
        next_cursor=d.get("next_cursor"),
    )


def stdlib_detail(body: bytes) -> DSessionDetail:
    """``json.loads`` then hand-written dataclass construction."""
    d = json.loads(body)
    persona = d.get("persona")
    feedback = d.get("feedback")
    return DSessionDetail(
        **_summary_fields(d),
        persona=DSessionPersona(
            id=persona.get("id"),
            role_name=persona.get("role_name"),
            language=persona.get("language"),
            system_prompt=persona.get("system_prompt"),
            base_prompt_override=persona.get("base_prompt_override"),
        )
        if persona is not None
        else None,
        feedback=DFeedback(
            rating=feedback["rating"],
            comment=feedback.get("comment"),
            submitted_at=_dt(feedback.get("submitted_at")),
            flagged=feedback.get("flagged"),
        )
        if feedback is not None
        else None,
    )


# -- one plain form for all of them -----------------------------------------------------------


def to_plain(obj: object) -> Any:
    """A msgspec Struct, pydantic model or dataclass tree as plain dicts and lists."""
    if isinstance(obj, msgspec.Struct):
        return {name: to_plain(getattr(obj, name)) for name in obj.__struct_fields__}
    if isinstance(obj, pydantic.BaseModel):
        return {name: to_plain(getattr(obj, name)) for name in type(obj).model_fields}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [to_plain(item) for item in obj]
    if isinstance(obj, dict):
        return {key: to_plain(value) for key, value in obj.items()}
    return obj


_TIMESTAMPS = frozenset({"started_at", "completed_at", "created_at", "submitted_at"})


def _plain_object(d: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, nested in fields.items():
        value = d.get(name)
        if value is not None and name in _TIMESTAMPS:
            value = datetime.fromisoformat(value)
        elif value is not None and nested is not None:
            value = _plain_object(value, nested)
        out[name] = value
    return out


def _field_tree(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        nested = [
            arg
            for arg in getattr(info.annotation, "__args__", ())
            if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel)
        ]
        tree[name] = _field_tree(nested[0]) if nested else None
    return tree


_ROW_FIELDS = _field_tree(PSessionSummary)
_DETAIL_FIELDS = _field_tree(PSessionDetail)


def plain_from_untyped(kind: str, d: Mapping[str, Any]) -> Any:
    """Untyped ``orjson.loads`` output in the plain form of :func:`to_plain` (for checking)."""
    if kind == "detail":
        return _plain_object(d, _DETAIL_FIELDS)
    return {
        "data": [_plain_object(row, _ROW_FIELDS) for row in d["data"]],
        **{key: d.get(key) for key in ("limit", "offset", "total", "has_more", "next_cursor")},
    }


def ours_plain(kind: str, body: bytes) -> Any:
    """Our decoding of ``body`` in plain form (a page's :class:`Page`, not the wrapper)."""
    return to_plain(ours_detail(body) if kind == "detail" else ours_page(body).page)
