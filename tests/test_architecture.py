"""The layering ARCHITECTURE.md promises, checked from the source so that it cannot drift.

* No import cycle in the package, ``TYPE_CHECKING`` imports included.
* aiohttp is imported at run time by the request path (``_http``) only, among the core
  modules; ``testing`` and ``cli`` may use it, and annotations may name it.
* The pure policy modules import nothing above them: no resource, waiting or bulk module.
* No module of the package is much longer than 400 lines.
* redis-py is imported by ``zenhire_async.redis`` only: the package imports without it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import zenhire_async

PACKAGE = Path(zenhire_async.__file__).parent
NAME = "zenhire_async"


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = [NAME, *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str, *, runtime_only: bool = False) -> Iterator[str]:
    """The modules ``name`` imports: package modules by full name, others by their top name."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    skip: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    here = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name if alias.name in MODULES else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{alias.name}" for alias in node.names]
            inside = [sub for sub in subs if sub in MODULES]
            if inside:
                yield from inside
            if node.module is not None or not inside:
                yield target if target in MODULES else target.split(".")[0]


def _graph() -> dict[str, set[str]]:
    return {
        name: {target for target in _imports(name) if target in MODULES and target != name}
        for name in MODULES
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_sees_a_cycle_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_type_checking_imports_included() -> None:
    assert _cycles(_graph()) == []


def _core(name: str) -> bool:
    return not name.startswith((f"{NAME}.testing", f"{NAME}.cli"))


def test_aiohttp_is_imported_at_run_time_only_by_the_request_path() -> None:
    users = {
        name
        for name in MODULES
        if _core(name) and "aiohttp" in set(_imports(name, runtime_only=True))
    }
    assert users and all(name.startswith(f"{NAME}._http") for name in users), sorted(users)


POLICIES = [
    "_retry",
    "_rate_limit",
    "_coordination",
    "_redis_budget",
    "_redis_claims",
    "_redis_watch_lua",
    "_poll_policy",
    "_poll_book",
    "_poll_budget",
    "_bulk_rules",
    "_bulk_rowkeys",
    "_bulk_records",
    "_bulk_fleet",
    "_validation",
    "_redact",
    "_ids",
    "_datetimes",
    "_protocol",
    "_protocol.requests",
    "_protocol.responses",
    "_protocol.errors",
    "models",
    "errors",
]
ABOVE = (
    "resources",
    "client",
    "_http",
    "_poll_service",
    "_poll_watch",
    "_poll_sweep",
    "_poll_fleet",
    "_redis_watch",
    "_bulk_job",
    "_bulk_row",
    "_bulk_journal",
    "_events_dispatch",
    "testing",
    "cli",
)


@pytest.mark.parametrize("policy", POLICIES)
def test_policy_modules_import_nothing_above_them(policy: str) -> None:
    name = f"{NAME}.{policy}"
    assert name in MODULES, f"{name} is gone: update ARCHITECTURE.md and this list"
    above = [
        target
        for target in _imports(name)
        if any(target == f"{NAME}.{a}" or target.startswith(f"{NAME}.{a}.") for a in ABOVE)
    ]
    assert above == []


def test_no_module_is_much_longer_than_400_lines() -> None:
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 420
    }
    assert long == {}


def test_redis_py_is_imported_by_the_redis_module_only() -> None:
    users = {name for name in MODULES if "redis" in set(_imports(name))}
    assert users == {f"{NAME}.redis"}


def test_the_package_imports_and_makes_clients_without_redis_py() -> None:
    script = (
        "import sys; sys.modules['redis'] = None\n"  # as if redis-py were not installed
        "import zenhire_async, zenhire_async.testing, zenhire_async.cli\n"
        "zenhire_async.ZenHireClient(api_key='zh_test_key')\n"
        "try:\n"
        "    import zenhire_async.redis\n"
        "except ImportError:\n"
        "    print('no redis')\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no redis"
