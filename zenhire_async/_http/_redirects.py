"""Which redirects the request path follows, and where to: a sans-I/O policy.

A GET's redirect within the platform's origin is followed with the key. A recording or
transcript (:data:`ARTIFACT_ROUTES`) may also be served from a storage origin, by a
redirect or by a JSON answer ``{"url": ...}`` (optionally with ``expires_at``/
``expires_in``): that origin must be ``https`` with a host, and once a hop left the
platform, no later hop goes back to it with the key. Everything else raises
:class:`RedirectError`, whose message never names the URL (a storage URL is a short-lived
credential). :data:`MAX_REDIRECTS` hops at most.
"""

from __future__ import annotations

import msgspec
from yarl import URL

from .._protocol import RequestSpec
from ..errors import RedirectError

__all__ = [
    "ARTIFACT_ROUTES",
    "MAX_POINTER_BODY",
    "MAX_REDIRECTS",
    "REDIRECT_STATUSES",
    "check_storage",
    "redirect_target",
    "storage_pointer",
]

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ARTIFACT_ROUTES = frozenset({"GET /sessions/{id}/recording", "GET /sessions/{id}/transcript"})
"""The routes whose results may come from a storage origin."""
MAX_POINTER_BODY = 64 * 1024
_POINTER_KEYS = frozenset({"url", "expires_at", "expires_in", "expires"})


def redirect_target(
    spec: RequestSpec, base: URL, current: URL, status: int, location: str | None, offsite: bool
) -> tuple[URL, bool]:
    """Where a redirect may be followed, and whether it leaves the platform's origin.

    Raises :class:`RedirectError` (naming no URL: a storage URL is a credential) when
    it must not be followed.
    """
    if not location:
        raise RedirectError(
            f"the server redirected {spec.route} (HTTP {status}) without a Location",
            status=status,
        )
    try:
        target = current.join(URL(location))
    except ValueError:
        target = URL()
    same_origin = not offsite and target.origin() == base.origin()
    if same_origin and spec.method == "GET":
        return target, False
    if same_origin:
        raise RedirectError(
            f"the server redirected {spec.route} (HTTP {status}); only a GET is "
            "followed, a POST is never resent",
            status=status,
        )
    if spec.route not in ARTIFACT_ROUTES:
        raise RedirectError(
            f"the server redirected {spec.route} to another origin (HTTP {status}); "
            "redirects to another origin are not followed so that the API key stays "
            "with the platform",
            status=status,
        )
    check_storage(spec, target, status)
    return target, True


def check_storage(spec: RequestSpec, target: URL, status: int) -> None:
    """Refuse a storage URL that is not absolute ``https`` with a host."""
    if not target.is_absolute() or target.scheme != "https" or not target.host:
        raise RedirectError(
            f"the server sent {spec.route} to another origin that is not https "
            f"(HTTP {status}); results are only fetched from storage over https",
            status=status,
        )


def storage_pointer(spec: RequestSpec, body: bytes, status: int) -> URL | None:
    """The storage URL of a JSON ``{"url": ...}`` answer of an artifact route, if it is one."""
    if len(body) > MAX_POINTER_BODY or not body.lstrip().startswith(b"{"):
        return None
    try:
        doc = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("url"), str):
        return None
    if not set(doc) <= _POINTER_KEYS:
        return None
    try:
        target = URL(doc["url"])
    except ValueError:
        target = URL()
    check_storage(spec, target, status)
    return target
