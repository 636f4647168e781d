"""zenhire-async: the asyncio SDK for the ZenHire Interview API."""

from ._bulk_records import (
    AttemptRecord,
    CreatedRecord,
    FailedRecord,
    JobRecord,
    JournalRecord,
    OrphanRecord,
    export_links_csv,
    read_journal,
)
from ._poll_book import WatchState
from ._poll_watch import SessionWatch
from ._version import __version__
from .client import DEFAULT_BASE_URL, ZenHireClient
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ArtifactNotReadyError,
    AuthenticationError,
    BadRequestError,
    BulkInviteError,
    DecodeError,
    InsufficientCreditsError,
    JournalInUseError,
    LinkExpiredError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ResponseTooLargeError,
    ServerError,
    TooManyRedirectsError,
    UnsafePathError,
    WaitTimeout,
    ZenHireError,
)
from .models import (
    TERMINAL_STATUSES,
    BulkFailure,
    BulkInviteReport,
    BulkProgress,
    Candidate,
    ConsentMode,
    ConsentModeName,
    Feedback,
    JSONObject,
    JSONValue,
    Page,
    Persona,
    PersonaDetail,
    SessionDetail,
    SessionInvite,
    SessionPersona,
    SessionSource,
    SessionStatus,
    SessionStatusName,
    SessionSummary,
    Transcript,
    TranscriptTurn,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "TERMINAL_STATUSES",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "ArtifactNotReadyError",
    "AttemptRecord",
    "AuthenticationError",
    "BadRequestError",
    "BulkFailure",
    "BulkInviteError",
    "BulkInviteReport",
    "BulkProgress",
    "Candidate",
    "ConsentMode",
    "ConsentModeName",
    "CreatedRecord",
    "DecodeError",
    "FailedRecord",
    "Feedback",
    "InsufficientCreditsError",
    "JSONObject",
    "JSONValue",
    "JobRecord",
    "JournalInUseError",
    "JournalRecord",
    "LinkExpiredError",
    "NotFoundError",
    "OrphanRecord",
    "Page",
    "PermissionDeniedError",
    "Persona",
    "PersonaDetail",
    "RateLimitError",
    "RedirectError",
    "ResponseTooLargeError",
    "ServerError",
    "SessionDetail",
    "SessionInvite",
    "SessionPersona",
    "SessionSource",
    "SessionStatus",
    "SessionStatusName",
    "SessionSummary",
    "SessionWatch",
    "TooManyRedirectsError",
    "Transcript",
    "TranscriptTurn",
    "UnsafePathError",
    "WaitTimeout",
    "WatchState",
    "ZenHireClient",
    "ZenHireError",
    "__version__",
    "export_links_csv",
    "read_journal",
]


def _publish() -> None:
    """Make every exported class and function report ``zenhire_async`` as its module.

    As httpx does: reprs, docs and pickles name the public import path, not a private module.
    A class's own string annotations are first evaluated where they were written, since
    msgspec and ``typing.get_type_hints`` look names up in the module ``__module__`` names.
    Annotations that name ``TYPE_CHECKING``-only imports stay strings: they did not resolve
    in their own module either.
    """
    import contextlib
    import inspect
    import types

    namespace = globals()
    for name in __all__:
        obj = namespace[name]
        if isinstance(obj, type) and inspect.get_annotations(obj):
            with contextlib.suppress(NameError):
                obj.__annotations__ = inspect.get_annotations(obj, eval_str=True)
        if isinstance(obj, type | types.FunctionType):
            obj.__module__ = __name__


_publish()
del _publish
