"""The aiohttp application: one middleware in front of the handlers.

Order of work for every request:

1. count it in ``request_counts`` under its route template (``"GET /sessions/{id}"``);
2. advance the candidate simulator to "now";
3. the per-key rate limit (requests carrying an ``X-API-Key``), 429 when over;
4. one fault draw; faults that replace the answer (``500``, ``502_html``, ``503``, ``429``,
   ``reset``, ``empty``, ``redirect``, the malformed-HTTP kinds, ``huge_body``,
   ``endless_body``, ``gzip_bomb``) answer here, ``slow`` and ``stall_headers`` sleep then
   go on;
5. authentication (401) and the ``interview`` permission (403), except for health;
6. the handler, its errors rendered in the envelope;
7. faults that spoil a computed answer (``truncated``, ``lost_response``, ``stall_body``,
   ``trickle``, ``gzip``, ``gzip_always``) or move a ready artifact to the storage origin
   (``storage_redirect``, ``storage_url``); a created session is recorded as delivered once
   its 201 answer was fully written; ``other_id`` rewrites a session answer to
   name another session.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._bodies import endless, gzip_bomb, gzipped, huge, malformed, spread, wants_gzip
from ._context import CREATED, CTX, STALE, TENANT, TRUNCATE, WHOLE, Context
from ._faults import MALFORMED_KINDS, FaultRule
from ._gate import ApiError, error_response, new_request_id
from ._handlers import ROUTES
from ._patch import patch_response
from ._storage import storage_answer
from ._validation import ValidationFailed

__all__ = ["build_app", "route_template"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PREFIXES = ("/api/v1/interview", "/api/v1")
_REWRITES = frozenset(
    {"stall_body", "trickle", "gzip", "gzip_always", "storage_redirect", "storage_url"}
)
_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def route_template(request: web.Request) -> str:
    """``"METHOD /template"`` of a request, e.g. ``"GET /sessions/{id}"``."""
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path
    for prefix in _PREFIXES:
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
            break
    return f"{request.method} {path}"


def _fault_answer(ctx: Context, request: web.Request, rule: FaultRule) -> web.StreamResponse:
    kind = rule.kind
    now_ms = ctx.now_ms()
    if kind == "500":
        err = ApiError(500, "INTERNAL_ERROR", "An unexpected error occurred.")
        return error_response(err, now_ms)
    if kind == "503":
        err = ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            "The service is warming up. Please retry shortly.",
            retry_after=rule.retry_after,
        )
        return error_response(err, now_ms)
    if kind == "429":
        err = ApiError(
            429,
            "RATE_LIMIT_EXCEEDED",
            "Too many requests. Please slow down.",
            retry_after=rule.retry_after,
        )
        return error_response(err, now_ms)
    if kind == "502_html":
        return web.Response(status=502, text=_BAD_GATEWAY_HTML, content_type="text/html")
    if kind == "empty":
        return web.Response(status=500, body=b"")
    assert kind == "redirect"
    target = (rule.location or ctx.base_url).rstrip("/") + request.path_qs
    return web.Response(status=307, headers={"Location": target})


async def _truncated(request: web.Request, resp: web.Response) -> web.StreamResponse:
    """Send ``resp`` with its full Content-Length but only half its body, then close."""
    body = resp.body
    data = body if isinstance(body, bytes) else b""
    cut = web.StreamResponse(status=resp.status, headers=resp.headers)
    cut.content_length = len(data)
    await cut.prepare(request)
    await cut.write(data[: len(data) // 2])
    assert request.transport is not None
    request.transport.close()
    return cut


def _lost(ctx: Context, request: web.Request) -> None:
    """The answer to ``request`` never reached the client: a session it created is an orphan."""
    ident = request.get(CREATED)
    if ident is not None:
        ctx.undelivered.add(ident)


async def _deliver(ctx: Context, request: web.Request, resp: web.StreamResponse) -> None:
    """Write a create-session answer now, so that its delivery can be recorded."""
    ident = request.get(CREATED)
    if ident is None:
        return
    try:
        await resp.prepare(request)
        await resp.write_eof()
    except ConnectionError:
        ctx.undelivered.add(ident)
    else:
        ctx.delivered.add(ident)


def _authenticate(ctx: Context, request: web.Request, route: str) -> None:
    if route == "GET /health":
        return
    key = request.headers.get("X-API-Key")
    if not key:
        raise ApiError(401, "MISSING_API_KEY", "The X-API-Key header is missing.")
    info = ctx.keys.get(key)
    if info is None:
        raise ApiError(401, "INVALID_API_KEY", "The API key is not valid.")
    if info.expired:
        raise ApiError(401, "API_KEY_EXPIRED", "The API key has expired.")
    if not info.tenant.active:
        raise ApiError(401, "CLIENT_INACTIVE", "The client of this API key is inactive.")
    if request.path.startswith("/api/v1/interview/") and (
        "interview" not in info.tenant.permissions
    ):
        raise ApiError(
            403,
            "MISSING_PERMISSION",
            "Your account doesn't have the 'interview' permission enabled.",
        )
    request[TENANT] = info.tenant


async def _guarded(ctx: Context, request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err, ctx.now_ms())
    except ValidationFailed as exc:
        invalid = ApiError(400, "VALIDATION_ERROR", str(exc), {"fields": exc.fields})
        return error_response(invalid, ctx.now_ms())
    except web.HTTPMethodNotAllowed as exc:
        refused = ApiError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here.")
        resp = error_response(refused, ctx.now_ms())
        resp.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        return resp
    except web.HTTPNotFound:
        return error_response(ApiError(404, "NOT_FOUND", "No such route."), ctx.now_ms())
    except ConnectionError:
        # The client went away (it gave up during a ``slow`` fault): nobody is left to
        # answer, and aiohttp drops this answer quietly. Not an error of the emulator.
        return web.Response(status=499)


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = request.app[CTX]
    route = route_template(request)
    ctx.request_counts[route] += 1
    ctx.simulator.advance(ctx.now())
    key = request.headers.get("X-API-Key")
    if ctx.limiter is not None and key:
        wait = ctx.limiter.hit(key, ctx.now())
        if wait is not None:
            seconds = max(1, -int(-wait // 1))
            err = ApiError(
                429,
                "RATE_LIMIT_EXCEEDED",
                f"Rate limit of {ctx.limiter.per_minute} requests per minute exceeded.",
                {"limit": ctx.limiter.per_minute},
                retry_after=seconds,
            )
            return error_response(err, ctx.now_ms())
    rule = ctx.faults.draw(request.method, route)
    kind = rule.kind if rule is not None else None
    if rule is not None and kind in {"500", "502_html", "503", "429", "empty", "redirect"}:
        return _fault_answer(ctx, request, rule)
    if kind == "reset":
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)
    if kind in MALFORMED_KINDS:
        return malformed(request, kind)
    if rule is not None and kind == "huge_body":
        return await huge(request, rule)
    if kind == "endless_body":
        return await endless(request)
    if rule is not None and kind == "gzip_bomb":
        return await gzip_bomb(request, rule)
    if rule is not None and kind in ("slow", "stall_headers"):
        await asyncio.sleep(rule.delay)
        ctx.simulator.advance(ctx.now())
    if kind in _REWRITES:
        request[WHOLE] = True
    if kind == "stale_read":
        request[STALE] = True
    if kind == "truncated":
        request[TRUNCATE] = True
    try:
        _authenticate(ctx, request, route)
    except ApiError as err:
        return error_response(err, ctx.now_ms())
    resp = await _guarded(ctx, request, handler)
    if rule is not None and kind == "patched_answer":
        resp, link_changed = patch_response(resp, rule.patch)
        if link_changed and request.get(CREATED) is not None:
            ctx.undelivered.add(request.pop(CREATED))  # the link never reached the client
    if kind == "lost_response":
        _lost(ctx, request)
        assert request.transport is not None
        request.transport.abort()
        return resp
    if kind == "truncated" and not resp.prepared and isinstance(resp, web.Response):
        _lost(ctx, request)
        return await _truncated(request, resp)
    if rule is not None and kind in _REWRITES and isinstance(resp, web.Response):
        resp = await _rewrite(ctx, request, resp, rule)
    if kind == "other_id" and isinstance(resp, web.Response) and resp.status == 200:
        _echo_other_id(ctx, request, resp)
    await _deliver(ctx, request, resp)
    return resp


async def _rewrite(
    ctx: Context, request: web.Request, resp: web.Response, rule: FaultRule
) -> web.StreamResponse:
    """Apply a fault that rewrites a computed (not yet sent) answer."""
    kind = rule.kind
    if kind in ("storage_redirect", "storage_url"):
        return storage_answer(ctx.storage, request, rule) if resp.status == 200 else resp
    if kind == "gzip_always" or (kind == "gzip" and wants_gzip(request)):
        return gzipped(resp)
    if kind in ("stall_body", "trickle"):
        try:
            return await spread(request, resp, rule)
        except ConnectionError:  # the client gave up meanwhile
            _lost(ctx, request)
            return web.Response(status=499)
    return resp


def _echo_other_id(ctx: Context, request: web.Request, resp: web.Response) -> None:
    """Rewrite a session answer to name another session of the tenant (a mixed-up cache)."""
    body = json.loads(resp.body if isinstance(resp.body, bytes) else b"{}")
    asked = str(body.get("id", "")).lower()
    tenant = request.get(TENANT)
    other = next(
        (i for i, rec in ctx.store.sessions.items() if rec.tenant is tenant and i != asked),
        ctx.store.new_id(),
    )
    resp.body = json.dumps({**body, "id": other}).encode()


async def _add_request_id(request: web.Request, resp: web.StreamResponse) -> None:
    if "X-Request-Id" not in resp.headers:
        resp.headers["X-Request-Id"] = new_request_id()


def build_app(ctx: Context) -> web.Application:
    """The emulator's ``web.Application`` serving ``ctx``."""
    app = web.Application(middlewares=[_middleware])
    app[CTX] = ctx
    app.router.add_routes(ROUTES)
    app.on_response_prepare.append(_add_request_id)
    return app
