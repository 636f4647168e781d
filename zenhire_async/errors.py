"""The exception tree of zenhire-async.

Everything the SDK raises for a failed call derives from :class:`ZenHireError`::

    ZenHireError
    ├── APIError                 the server answered with an error (any 4xx/5xx)
    │   ├── BadRequestError          400 (and 422): the request broke a server-side rule
    │   ├── AuthenticationError      401: missing, invalid or expired key, inactive client
    │   ├── InsufficientCreditsError 402: the credit balance is below the minimum
    │   ├── PermissionDeniedError    403: no ``interview`` permission, or IP not allowed
    │   ├── NotFoundError            404: no such id for this client
    │   ├── ArtifactNotReadyError    code ARTIFACT_NOT_READY: recording/transcript not there yet
    │   ├── RateLimitError           429: over the per-key budget; ``retry_after`` seconds
    │   ├── ServerError              5xx: the platform failed; usually worth a retry
    │   └── RedirectError            a redirect (or a URL answer) the SDK does not follow
    │       └── TooManyRedirectsError    more than 5 redirects for one request
    ├── APIConnectionError       the request may not have reached the server (or its answer
    │   │                        was not valid HTTP)
    │   └── APITimeoutError          an attempt ran out of time
    ├── DecodeError              a 2xx body that does not match the contract
    │   └── ResponseTooLargeError    a body over ``max_response_bytes`` (once decompressed)
    ├── WaitTimeout              a wait's ``timeout`` passed; ``last`` is what was seen last
    ├── LinkExpiredError         the session is still ``initiated`` but its link can't be used
    ├── BulkInviteError          a bulk invite stopped on a fatal error; ``report`` is partial
    ├── JournalInUseError        another running job holds the journal (also a RuntimeError)
    └── UnsafePathError          a symlink or a journal where links would be written (also a
                                 ValueError); nothing was opened

Branch on the class or on :attr:`APIError.code`, never on the message. Arguments that break a
documented limit raise the builtin :class:`ValueError` before any request is sent.

No exception text ever holds the API key or a candidate link token: server messages are
redacted before they are stored. Nor does any exception reachable from one the SDK raises:
failures of aiohttp (whose ``request_info`` holds the request headers) are described in the
SDK's message and dropped from ``__cause__``/``__context__``. What a server sends is kept
bounded: an ``APIError`` keeps at most about 2,000 characters of message, and its
``details`` with strings, arrays and objects cut (see ``_redact.shorten_json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from ._redact import shorten, shorten_json

if TYPE_CHECKING:
    from .models import BulkInviteReport, JSONValue, SessionSummary

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "ArtifactNotReadyError",
    "AuthenticationError",
    "BadRequestError",
    "BulkInviteError",
    "DecodeError",
    "InsufficientCreditsError",
    "JournalInUseError",
    "LinkExpiredError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseTooLargeError",
    "ServerError",
    "TooManyRedirectsError",
    "UnsafePathError",
    "WaitTimeout",
    "ZenHireError",
]


class ZenHireError(Exception):
    """Base class of every error the SDK raises for a failed call."""


class APIError(ZenHireError):
    """The server answered with an error status.

    ``code`` is the contract's machine-readable code (``"NOT_FOUND"``, …), or ``None`` when the
    body was not the platform's error envelope (a proxy's HTML page, an empty body). Unknown
    codes are kept as they came. ``message`` and ``details`` are kept bounded (the module
    docstring says how): a server cannot make an exception hold megabytes.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        details: Mapping[str, JSONValue] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        message = shorten(message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = shorten(code, 200) if code is not None else None
        self.details: Mapping[str, JSONValue] = (
            cast("Mapping[str, JSONValue]", shorten_json(details)) if details else {}
        )
        self.request_id = shorten(request_id, 200) if request_id is not None else None
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [f"HTTP {self.status}"]
        if self.code:
            parts.append(self.code)
        text = " ".join(parts) + f": {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIError):
    """400: the server rejected the request's content (``details`` may list fields)."""


class AuthenticationError(APIError):
    """401: the API key is missing, invalid or expired, or the client is inactive."""


class InsufficientCreditsError(APIError):
    """402: the client's credit balance is below the minimum needed to start a session."""


class PermissionDeniedError(APIError):
    """403: the client lacks the ``interview`` permission, or the caller's IP is not allowed."""


class NotFoundError(APIError):
    """404: no such resource for this client (another client's ids look the same)."""


class ArtifactNotReadyError(APIError):
    """The recording or transcript does not exist yet (code ``ARTIFACT_NOT_READY``).

    ``session_status`` is the session's status the server reported, when it said.
    """

    @property
    def session_status(self) -> str | None:
        """The session's current status from ``details.status``, if the server gave it."""
        value = self.details.get("status")
        return value if isinstance(value, str) else None


class RateLimitError(APIError):
    """429: the per-key request budget is spent; ``retry_after`` says for how long."""


class ServerError(APIError):
    """5xx: the platform (or a proxy in front of it) failed."""


class RedirectError(APIError):
    """The server redirected where the SDK does not follow; ``status`` is the redirect's.

    Followed: a GET's redirects within the platform's origin (with the key), and for a
    recording or transcript only, a redirect or a JSON ``{"url": ...}`` answer to another
    origin over ``https`` (without the key or any header of the SDK but ``Accept`` and
    ``User-Agent``). Anything else raises this before the other origin hears anything.
    """


class TooManyRedirectsError(RedirectError):
    """More than 5 redirects for one request; ``status`` is the last redirect's."""


class APIConnectionError(ZenHireError):
    """The request could not be completed on the network; it may not have reached the server.

    ``request_sent`` is ``False`` only when the failure provably happened before any byte of
    the request left (connection refused, DNS failure): only then is a POST safe to resend.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """One attempt took longer than the client's ``timeout``."""


class DecodeError(ZenHireError):
    """A successful (2xx) response whose body does not match the contract.

    ``session_id`` is set when the body was a create answer naming the session it created
    but holding no usable candidate link: the session exists, its link is lost (it stays
    ``initiated``, is never started and never charged). The link text is never kept.
    """

    def __init__(self, message: str, *, session_id: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id


class ResponseTooLargeError(DecodeError):
    """A body longer than the client's ``max_response_bytes``, counted once decompressed.

    Raised as soon as the limit is passed: no more than ``limit`` bytes were held, and the
    connection is closed rather than drained. Recordings are streamed and have no limit.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class WaitTimeout(ZenHireError, TimeoutError):
    """A wait's ``timeout`` passed before the session(s) reached a terminal status.

    ``last`` is the last state seen of the session waited for (for a single wait);
    ``pending`` maps each unfinished session id to its last seen state (``None`` when the
    session was never seen).
    """

    def __init__(
        self,
        message: str,
        *,
        last: SessionSummary | None = None,
        pending: Mapping[str, SessionSummary | None] | None = None,
    ) -> None:
        super().__init__(message)
        self.last = last
        self.pending: Mapping[str, SessionSummary | None] = pending or {}


class LinkExpiredError(ZenHireError):
    """The session is still ``initiated`` after its candidate link stopped being usable.

    ``session`` is the last state seen. The session will never start on its own: mint a new
    link for the candidate if they should still be interviewed.
    """

    def __init__(self, message: str, *, session: SessionSummary) -> None:
        super().__init__(message)
        self.session = session


class BulkInviteError(ZenHireError):
    """A bulk invite stopped early on an error that no further row could get past.

    401, 403, 402 (``INSUFFICIENT_CREDITS``) or 404 (no such persona): no new row was started
    after it, rows in flight finished and are in the journal. ``report`` is the partial
    :class:`~zenhire_async.BulkInviteReport`; the fatal error is ``__cause__``. Fix the cause
    and run again with the same journal: rows with a link are skipped.
    """

    def __init__(self, message: str, *, report: BulkInviteReport) -> None:
        super().__init__(message)
        self.report = report


class UnsafePathError(ZenHireError, ValueError):
    """A path the SDK will not open for a file that holds candidate links.

    A symbolic link (at a journal or a link-file path), or an output that is, or resolves
    to, a bulk-invite journal (writing there would destroy the only copy of the links).
    Raised before anything is opened or written.
    """


class JournalInUseError(ZenHireError, RuntimeError):
    """Another running job holds the bulk-invite journal (an exclusive lock on the file).

    Two jobs appending to one journal could invite a candidate twice; wait for the other job
    to end, or give this one its own journal.
    """
