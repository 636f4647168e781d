"""The ``patched_answer`` fault: rewrite the fields of a JSON answer the handler computed.

Servers written by others answer with the documented fields in odd shapes: ``expires_in`` as
``604800.0`` or ``"604800"``, the id under ``session_id``, a timestamp without its ``Z``, a
link that is not one. A rule's ``patch`` says how: a mapping of field to the new value
(``DROP`` removes the field) or a function taking the decoded object and returning the one
to send. A list page is patched row by row (each object of its ``data``).

A create answer whose ``candidate_link`` the patch changed or removed did not hand the link
out: the session is recorded as undelivered (simulated candidates never open it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

from aiohttp import web

__all__ = ["DEFAULT_PATCH", "DROP", "Patch", "apply_patch", "patch_response"]


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Final = _Drop()
"""A patch value that removes the field from the answer."""

Patch: TypeAlias = Mapping[str, object] | Callable[[dict[str, Any]], dict[str, Any]]
"""How a ``patched_answer`` rule rewrites one JSON object."""

_TIMESTAMPS = ("created_at", "started_at", "completed_at", "updated_at", "submitted_at")


def _odd_but_readable(obj: dict[str, Any]) -> dict[str, Any]:
    """What ``DEFAULT_PATCH`` does: the same facts, written as other servers write them."""
    out = dict(obj)
    if "candidate_link" in out and "id" in out:
        out["session_id"] = out.pop("id")  # the older docs' name
    if isinstance(out.get("expires_in"), int):
        out["expires_in"] = str(out["expires_in"])  # a numeric string
    for name in _TIMESTAMPS:
        value = out.get(name)
        if isinstance(value, str) and value.endswith("Z"):
            out[name] = value[:-1]  # naive: UTC by the contract
    return out


DEFAULT_PATCH: Final[Patch] = _odd_but_readable
"""The default patch: id as ``session_id``, ``expires_in`` as a string, naive timestamps."""


def apply_patch(obj: dict[str, Any], patch: Patch) -> dict[str, Any]:
    """``obj`` rewritten by ``patch``."""
    if callable(patch):
        return patch(dict(obj))
    out = dict(obj)
    for name, value in patch.items():
        if value is DROP:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def patch_response(
    resp: web.StreamResponse, patch: Patch | None
) -> tuple[web.StreamResponse, bool]:
    """``resp`` with its JSON patched, and whether a ``candidate_link`` in it was changed.

    Answers that are not a 2xx JSON object (errors, streams, arrays) are left as they are.
    """
    if not isinstance(resp, web.Response) or not 200 <= resp.status < 300:
        return resp, False
    if resp.content_type != "application/json" or not isinstance(resp.body, bytes):
        return resp, False
    doc = json.loads(resp.body)
    if not isinstance(doc, dict):
        return resp, False
    rule = DEFAULT_PATCH if patch is None else patch
    link_changed = False
    if isinstance(doc.get("data"), list):
        doc["data"] = [apply_patch(r, rule) if isinstance(r, dict) else r for r in doc["data"]]
    else:
        link = doc.get("candidate_link")
        doc = apply_patch(doc, rule)
        link_changed = link is not None and doc.get("candidate_link") != link
    patched = web.Response(
        status=resp.status, body=json.dumps(doc).encode(), content_type="application/json"
    )
    return patched, link_changed
