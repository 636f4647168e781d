"""Exit codes of the ``zenhire`` command and the one-line report of what went wrong.

Every failure a user can cause or meet (an API error, an unreachable server, bad input, a
file that cannot be written) becomes one line on stderr — code, message, request id — and
an exit code a script can branch on. Only a bug in the command itself shows a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import (
    APIConnectionError,
    APIError,
    ArtifactNotReadyError,
    AuthenticationError,
    DecodeError,
    PermissionDeniedError,
    RateLimitError,
    ZenHireError,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_ERROR",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "HANDLED_ERRORS",
    "CommandError",
    "Failure",
    "UsageError",
    "code_and_message",
    "describe",
]

EXIT_OK = 0
"""The command did what was asked."""
EXIT_ERROR = 1
"""The API answered with an error, sent a body that breaks the contract, or a file failed."""
EXIT_USAGE = 2
"""Bad arguments or input that breaks a documented limit (nothing was sent)."""
EXIT_INCOMPLETE = 3
"""The batch ran, but not everything succeeded: some sessions failed or expired (``watch``),
some rows got no link (``invite``) or some results could not be saved (``results``)."""
EXIT_AUTH = 4
"""The key was refused (401) or lacks a permission (403)."""
EXIT_CONNECTION = 5
"""The API could not be reached (or an attempt timed out), even after retries."""
EXIT_TIMEOUT = 6
"""``watch --timeout`` passed before every session ended (not an API failure)."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C."""


class UsageError(ValueError):
    """Input the command line rejects before sending anything."""


class CommandError(Exception):
    """A failure the command has already worded: carries its :class:`Failure`."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure

    @classmethod
    def of(cls, exit_code: int, code: str, message: str) -> CommandError:
        """``error: CODE: message`` with ``exit_code``."""
        return cls(Failure(exit_code, f"error: {code}: {message}", code, message))


HANDLED_ERRORS = (ZenHireError, ValueError, OSError, CommandError)
"""What :func:`describe` turns into a one-line report (anything else is a bug)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """How one error is reported: the exit code, the line for humans, the fields for ``--json``."""

    exit_code: int
    line: str
    code: str
    message: str
    status: int | None = None
    request_id: str | None = None

    def as_json(self) -> dict[str, str | int | None]:
        """The ``{"error": ...}`` body printed in ``--json`` mode."""
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "request_id": self.request_id,
            "exit_code": self.exit_code,
        }


def _api_hint(error: APIError) -> str:
    if isinstance(error, AuthenticationError):
        return "check --api-key / $ZENHIRE_API_KEY"
    if isinstance(error, ArtifactNotReadyError):
        status = error.session_status
        prefix = f"the session is {status}; " if status else ""
        return prefix + "results exist once it is completed"
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        return f"retry after {error.retry_after:g}s"
    return ""


def _api_failure(error: APIError) -> Failure:
    code = error.code or f"HTTP_{error.status}"
    where = [f"HTTP {error.status}"]
    if error.request_id:
        where.append(f"request id {error.request_id}")
    hint = _api_hint(error)
    line = f"error: {code}: {error.message} ({', '.join(where)})" + (f" — {hint}" if hint else "")
    exit_code = (
        EXIT_AUTH if isinstance(error, AuthenticationError | PermissionDeniedError) else EXIT_ERROR
    )
    return Failure(exit_code, line, code, error.message, error.status, error.request_id)


def describe(error: BaseException, *, base_url: str | None = None) -> Failure:
    """The report of ``error`` (one of :data:`HANDLED_ERRORS`)."""
    if isinstance(error, CommandError):
        return error.failure
    if isinstance(error, APIError):
        return _api_failure(error)
    if isinstance(error, APIConnectionError):
        target = f"cannot reach {base_url}: " if base_url else ""
        message = f"{target}{error}"
        return Failure(EXIT_CONNECTION, f"error: CONNECTION: {message}", "CONNECTION", message)
    if isinstance(error, DecodeError):
        message = f"unexpected response from the API: {error}"
        return Failure(EXIT_ERROR, f"error: DECODE: {message}", "DECODE", message)
    if isinstance(error, ZenHireError):
        name = type(error).__name__
        return Failure(EXIT_ERROR, f"error: {name}: {error}", name, str(error))
    if isinstance(error, OSError):
        message = f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
        return Failure(EXIT_ERROR, f"error: FILE: {message}", "FILE", message)
    return Failure(EXIT_USAGE, f"error: {error}", "USAGE", str(error))


_HTTP_MESSAGE = re.compile(
    r"HTTP (?P<status>\d{3})(?: (?P<code>[A-Z0-9_]+))?: (?P<message>.*?)"
    r"(?: \(request id (?P<request_id>[^)]+)\))?",
    re.DOTALL,
)


def code_and_message(code: str, message: str) -> str:
    """``CODE: message (HTTP 401, request id …)`` for an error recorded as code and text.

    A bulk-invite failure keeps the API error's ``str()`` (``HTTP 401 INVALID_API_KEY:
    message (request id …)``) beside its code; shown as is after the code, the code would
    appear twice. This gives it the shape of every other error line.
    """
    match = _HTTP_MESSAGE.fullmatch(message)
    if match is None or match["code"] not in (None, code):
        return f"{code}: {message}"
    where = [f"HTTP {match['status']}"]
    if match["request_id"]:
        where.append(f"request id {match['request_id']}")
    return f"{code}: {match['message']} ({', '.join(where)})"
