"""The sans-I/O core: request specs in, decoded models or typed errors out.

Nothing here touches the network or the clock. Resource methods call a builder
(:mod:`.requests`) to get a :class:`RequestSpec`, hand it to the transport (``_http``), and
give the bytes that come back to a decoder (:mod:`.responses`); an error answer is mapped
onto the exception tree by :mod:`.errors`. Decoders are built once, at import, and decode
straight from bytes. Callers use the package as one namespace (``from . import _protocol
as proto``); the three modules below it import nothing from each other.
"""

from .errors import error_from_response, parse_retry_after
from .requests import (
    API_PREFIX,
    RequestSpec,
    SessionFilters,
    create_persona,
    create_session,
    credits,
    format_timestamp,
    get_persona,
    get_session,
    health,
    list_personas,
    list_sessions,
    session_artifact,
)
from .responses import (
    JSON_ANY,
    JSON_OBJECT,
    MAX_LINK_LIFETIME_SECONDS,
    PERSONA,
    PERSONA_DETAIL,
    PERSONA_PAGE,
    SESSION_DETAIL,
    SESSION_PAGE,
    PageResult,
    decode,
    decode_invite,
    decode_page,
    link_problem,
    transcript_from_json,
)

__all__ = [
    "API_PREFIX",
    "JSON_ANY",
    "JSON_OBJECT",
    "MAX_LINK_LIFETIME_SECONDS",
    "PERSONA",
    "PERSONA_DETAIL",
    "PERSONA_PAGE",
    "SESSION_DETAIL",
    "SESSION_PAGE",
    "PageResult",
    "RequestSpec",
    "SessionFilters",
    "create_persona",
    "create_session",
    "credits",
    "decode",
    "decode_invite",
    "decode_page",
    "error_from_response",
    "format_timestamp",
    "get_persona",
    "get_session",
    "health",
    "link_problem",
    "list_personas",
    "list_sessions",
    "parse_retry_after",
    "session_artifact",
    "transcript_from_json",
]
