"""The public surface, pinned (as httpx's test_exported_members does).

A name added to or dropped from an ``__all__`` fails here until it is added to or dropped
from the lists below, on purpose, with a line in the changelog. Every exported class and
function reports the public module, so reprs, docs and pickles never name a private one.
"""

from __future__ import annotations

import pickle
import pkgutil
import re
import types
import typing
from importlib import import_module

import msgspec
import pytest

import zenhire_async
from zenhire_async import errors, events, otel, testing
from zenhire_async import redis as redis_module

EXPORTED = [
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
    "DEFAULT_BASE_URL",
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
    "TERMINAL_STATUSES",
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

EVENTS = [
    "BulkOutcome",
    "BulkRowFinished",
    "CallEnded",
    "CallStarted",
    "Event",
    "EventHook",
    "LeaderChanged",
    "OnEvent",
    "PacingWaited",
    "RateLimited",
    "RequestFailed",
    "RequestSent",
    "ResponseReceived",
    "RetryScheduled",
    "StatusChanged",
]

TESTING = [
    "DEFAULT_PATCH",
    "DROP",
    "Emulator",
    "Envelope",
    "FAULT_KINDS",
    "FaultKind",
    "FaultRule",
    "Faults",
    "Patch",
    "Simulation",
    "Tenant",
    "ValidationFailed",
    "VirtualTimeEventLoop",
    "virtual_time_loop_factory",
]

OTEL = ["OpenTelemetry"]

REDIS = ["PROBE_EVERY", "REDIS_TIMEOUT", "RedisCoordinator"]

PUBLIC_MODULES = [
    (zenhire_async, EXPORTED),
    (events, EVENTS),
    (testing, TESTING),
    (otel, OTEL),
    (redis_module, REDIS),
]


def _module_id(value: object) -> str:
    return value.__name__ if isinstance(value, types.ModuleType) else "names"


def _exported(module: types.ModuleType) -> list[tuple[str, object]]:
    return [(name, getattr(module, name)) for name in module.__all__]


def _classes_and_functions(module: types.ModuleType) -> list[tuple[str, type | types.FunctionType]]:
    return [
        (name, obj) for name, obj in _exported(module) if isinstance(obj, type | types.FunctionType)
    ]


@pytest.mark.parametrize(("module", "expected"), PUBLIC_MODULES, ids=_module_id)
def test_all_is_pinned_and_sorted(module: types.ModuleType, expected: list[str]) -> None:
    assert sorted(module.__all__) == sorted(expected)
    assert len(set(module.__all__)) == len(module.__all__)
    assert expected == sorted(expected)


@pytest.mark.parametrize(("module", "expected"), PUBLIC_MODULES, ids=_module_id)
def test_every_exported_name_resolves(module: types.ModuleType, expected: list[str]) -> None:
    for name in expected:
        assert hasattr(module, name), name


@pytest.mark.parametrize(("module", "expected"), PUBLIC_MODULES, ids=_module_id)
def test_every_public_definition_is_exported(module: types.ModuleType, expected: list[str]) -> None:
    """A public name a module defines (not one it imports) is in its ``__all__``."""
    for name, obj in vars(module).items():
        if name.startswith("_") or isinstance(obj, types.ModuleType):
            continue
        defined_in = getattr(obj, "__module__", None)
        if defined_in == module.__name__ and isinstance(obj, type | types.FunctionType):
            assert name in module.__all__, name


def test_the_package_namespace_holds_only_exports_and_submodules() -> None:
    for name in dir(zenhire_async):
        if name.startswith("_") or not name.isidentifier():  # pytest's rewriting helpers
            continue
        obj = getattr(zenhire_async, name)
        if isinstance(obj, types.ModuleType):
            assert obj.__name__ == f"zenhire_async.{name}", name
        else:
            assert name in zenhire_async.__all__, name


def test_exported_classes_and_functions_report_the_public_module() -> None:
    for name, obj in _classes_and_functions(zenhire_async):
        assert obj.__module__ == "zenhire_async", name
    assert zenhire_async.WatchState.__module__ == "zenhire_async"
    assert repr(zenhire_async.ZenHireClient) == "<class 'zenhire_async.ZenHireClient'>"


@pytest.mark.parametrize("module", [zenhire_async, events, otel, redis_module], ids=_module_id)
def test_no_exported_object_names_a_private_module(module: types.ModuleType) -> None:
    for name, obj in _exported(module):
        defined_in = getattr(obj, "__module__", None)
        if isinstance(defined_in, str):
            private = [part for part in defined_in.split(".") if part.startswith("_")]
            assert not private, (name, defined_in)


def test_exported_annotations_still_resolve() -> None:
    """msgspec and typing look annotation names up in ``__module__``: they must still work."""
    for name, obj in _classes_and_functions(zenhire_async):
        if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
            assert isinstance(typing.get_type_hints(obj), dict), name
    state = zenhire_async.WatchState.for_links({"ses_1": None})
    decoded = msgspec.json.decode(msgspec.json.encode(state), type=zenhire_async.WatchState)
    assert decoded == state
    page = msgspec.json.decode(
        b'{"data": [{"candidate_ref": "a"}], "has_more": false}',
        type=zenhire_async.Page[zenhire_async.Candidate],
    )
    assert page.data == [zenhire_async.Candidate(candidate_ref="a")]


def test_pickling_still_works_where_it_did() -> None:
    """Exceptions built from a message alone, Structs, enums and functions round-trip."""
    by_message = [
        zenhire_async.ZenHireError,
        zenhire_async.APIConnectionError,
        zenhire_async.APITimeoutError,
        zenhire_async.DecodeError,
        zenhire_async.JournalInUseError,
        zenhire_async.UnsafePathError,
        zenhire_async.WaitTimeout,
    ]
    for cls in by_message:
        again = pickle.loads(pickle.dumps(cls("it failed")))  # noqa: S301 - our own bytes
        assert type(again) is cls
        assert str(again) == "it failed"
    values: list[object] = [
        zenhire_async.WatchState.for_links({"ses_1": None}),
        zenhire_async.Candidate(candidate_ref="a", tags=["q3"], metadata={"req": 7}),
        zenhire_async.Page(data=[1, 2], has_more=True),
        zenhire_async.SessionStatus.COMPLETED,
        zenhire_async.read_journal,
        zenhire_async.ZenHireClient,
    ]
    for value in values:
        assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes


_BRANCH = re.compile(r"(?P<indent>[│ ]*)[├└]── (?P<name>\w+)")


def _docstring_tree() -> dict[str, str | None]:
    """Each class of the tree in the errors.py docstring, mapped to its parent there."""
    doc = errors.__doc__ or ""
    lines = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    root = lines[0].strip()
    parents: dict[str, str | None] = {root: None}
    stack = [root]
    for line in lines[1:]:
        branch = _BRANCH.match(line.removeprefix("    "))
        if branch is None:
            continue  # the description above goes on
        depth = len(branch["indent"]) // 4 + 1
        del stack[depth:]
        parents[branch["name"]] = stack[-1]
        stack.append(branch["name"])
    return parents


def _subclasses(cls: type[errors.ZenHireError]) -> list[type[errors.ZenHireError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _subclasses(sub)
    return found


def test_the_error_tree_docstring_is_the_class_hierarchy() -> None:
    for info in pkgutil.walk_packages(zenhire_async.__path__, "zenhire_async."):
        if not info.name.endswith("__main__"):
            import_module(info.name)
    actual: dict[str, str | None] = {}
    for cls in _subclasses(zenhire_async.ZenHireError):
        bases = [b for b in cls.__bases__ if issubclass(b, zenhire_async.ZenHireError)]
        actual[cls.__name__] = bases[0].__name__ if bases else None
        assert getattr(zenhire_async, cls.__name__) is cls  # all importable from the package
    tree = _docstring_tree()
    assert tree == actual
    assert "JournalInUseError" in tree
    assert sorted(errors.__all__) == sorted(tree)
