"""The endpoint handlers: one small function per documented route.

Authentication, permission, rate limiting and faults happen before these run (see
``_app``); a handler finds the caller's tenant under ``request[TENANT]`` and reports
errors by raising :class:`~._gate.ApiError` or :class:`~._validation.ValidationFailed`.

Order of checks on ``POST /personas/{id}/sessions`` (documented choice): 401 key, 403
permission, 402 credits (the contract's "pre-checks"), 404 persona, 400 body.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ._context import CREATED, CTX, STALE, TENANT, TRUNCATE, WHOLE, Context
from ._gate import ApiError
from ._query import PageResult, list_personas, list_sessions
from ._state import LINK_TTL_SECONDS, PersonaRecord, SessionRecord
from ._validation import (
    parse_page_query,
    parse_session_query,
    validate_persona_body,
    validate_session_body,
)
from ._wav import iter_wav, stream_wav

__all__ = ["ROUTES"]


def _ctx(request: web.Request) -> Context:
    return request.app[CTX]


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "INVALID_INPUT", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_INPUT", "The request body must be a JSON object.")
    return body


def _not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{kind} not found.", {"id": ident})


def _envelope(ctx: Context, page: PageResult) -> dict[str, Any]:
    meta = {
        "limit": page.limit,
        "offset": page.offset,
        "total": page.total,
        "has_more": page.has_more,
    }
    mode = ctx.envelope
    if mode == "pinned":
        return {"data": page.rows, **meta}
    if mode == "data_only":
        return {"data": page.rows}
    if mode == "has_more":
        return {"data": page.rows, "has_more": page.has_more}
    if mode == "cursor":
        return {"data": page.rows, "next_cursor": page.next_cursor}
    return {"data": page.rows, "pagination": meta}


def _persona(request: web.Request) -> PersonaRecord:
    ident = request.match_info["id"]
    rec = _ctx(request).store.personas.get(ident)
    if rec is None or rec.client_id != request[TENANT].client_id:
        raise _not_found("Persona", ident)
    return rec


def _session(request: web.Request) -> SessionRecord:
    ident = request.match_info["id"]
    ctx = _ctx(request)
    rec = ctx.store.sessions.get(ident)
    if rec is None and ctx.case_insensitive_ids:
        rec = ctx.store.sessions.get(ident.lower())
    if rec is None or rec.tenant is not request[TENANT]:
        raise _not_found("Session", ident)
    return rec


async def health(request: web.Request) -> web.Response:
    """``GET /api/v1/health`` (no key needed)."""
    return web.json_response({"status": "ok"})


async def credits(request: web.Request) -> web.Response:
    """``GET /api/v1/credits``: the caller's balance."""
    return web.json_response({"balance": request[TENANT].credits, "currency": "credits"})


async def create_persona(request: web.Request) -> web.Response:
    """``POST /personas``."""
    ctx = _ctx(request)
    fields = validate_persona_body(await _json_body(request))
    rec = ctx.store.create_persona(request[TENANT], fields, ctx.now_ms())
    return web.json_response(rec.created(), status=201)


async def get_personas(request: web.Request) -> web.Response:
    """``GET /personas``."""
    ctx = _ctx(request)
    query = parse_page_query(list(request.query.items()))
    page = list_personas(ctx.store, request[TENANT], query)
    return web.json_response(_envelope(ctx, page))


async def get_persona(request: web.Request) -> web.Response:
    """``GET /personas/{id}``."""
    return web.json_response(_persona(request).detail())


async def create_session(request: web.Request) -> web.Response:
    """``POST /personas/{id}/sessions``: mint a candidate link."""
    ctx = _ctx(request)
    tenant = request[TENANT]
    if tenant.credits < ctx.min_credits:
        raise ApiError(
            402,
            "INSUFFICIENT_CREDITS",
            "Your credit balance is too low to start a session.",
            {"balance": tenant.credits, "required": ctx.min_credits},
        )
    persona = _persona(request)
    fields = validate_session_body(await _json_body(request))
    rec = ctx.create_session(tenant, persona, fields)
    request[CREATED] = rec.id
    body = {"id": rec.id, "candidate_link": rec.link, "expires_in": LINK_TTL_SECONDS}
    return web.json_response(body, status=201)


async def get_sessions(request: web.Request) -> web.Response:
    """``GET /sessions`` with filters, newest first."""
    ctx = _ctx(request)
    flt, page = parse_session_query(list(request.query.items()))
    stale = request.get(STALE, False)
    result = list_sessions(ctx.store, request[TENANT], flt, page, stale=stale)
    return web.json_response(_envelope(ctx, result))


async def get_session(request: web.Request) -> web.Response:
    """``GET /sessions/{id}``: SessionDetail."""
    rec = _session(request)
    stale = request.get(STALE, False)
    return web.json_response(_ctx(request).store.detail(rec, stale=stale))


def _artifact_ready(rec: SessionRecord) -> None:
    if rec.status != "completed":
        raise ApiError(
            409,
            "ARTIFACT_NOT_READY",
            "The session has no results yet.",
            {"status": rec.status},
        )


async def get_recording(request: web.Request) -> web.StreamResponse:
    """``GET /sessions/{id}/recording``: the WAV, streamed."""
    rec = _session(request)
    _artifact_ready(rec)
    total = _ctx(request).recording_bytes
    if request.get(WHOLE, False):  # a fault rewrites the answer: give it one piece
        return web.Response(body=b"".join(iter_wav(total)), content_type="audio/wav")
    cut = total // 2 if request.get(TRUNCATE, False) else None
    return await stream_wav(request, total, stop_after=cut)


async def get_transcript(request: web.Request) -> web.Response:
    """``GET /sessions/{id}/transcript``: an array of turns."""
    rec = _session(request)
    _artifact_ready(rec)
    return web.json_response(rec.transcript)


_API = "/api/v1/interview"
ROUTES = [
    web.get("/api/v1/health", health),
    web.get("/api/v1/credits", credits),
    web.post(f"{_API}/personas", create_persona),
    web.get(f"{_API}/personas", get_personas),
    web.get(f"{_API}/personas/{{id}}", get_persona),
    web.post(f"{_API}/personas/{{id}}/sessions", create_session),
    web.get(f"{_API}/sessions", get_sessions),
    web.get(f"{_API}/sessions/{{id}}", get_session),
    web.get(f"{_API}/sessions/{{id}}/recording", get_recording),
    web.get(f"{_API}/sessions/{{id}}/transcript", get_transcript),
]
"""Every route the emulator serves."""
