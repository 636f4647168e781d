"""Global options of the ``zenhire`` command: credentials, endpoint, output mode, logging."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from .. import ZenHireClient
from .. import _validation as v
from .._bulk_fleet import check_shard
from .._http import check_base_url, is_plain_http_to_remote
from ..events import OnEvent
from ._errors import UsageError

__all__ = [
    "debug_logging",
    "global_options",
    "id_arg",
    "make_client",
    "page_options",
    "positive_int",
]

API_KEY_ENV = "ZENHIRE_API_KEY"
BASE_URL_ENV = "ZENHIRE_BASE_URL"


def global_options(*, for_subcommand: bool) -> argparse.ArgumentParser:
    """A parent parser with the global options.

    The top-level parser holds the defaults; each subcommand gets the same options with
    suppressed defaults, so ``zenhire --json sessions list`` and ``zenhire sessions list
    --json`` mean the same and neither position overrides the other with a default.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if for_subcommand else value

    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=default(None),
        help=f"API key (default ${API_KEY_ENV}; prefer the variable: arguments show in `ps`)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default(None),
        help=f"platform root (default ${BASE_URL_ENV}, else https://platform.zenhire.ai)",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=default(False),
        help="accept a plain http:// --base-url that is not loopback (the key travels in clear)",
    )
    group.add_argument(
        "--json", action="store_true", default=default(False), help="machine-readable output"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default(0),
        help="debug logs of every request on stderr (keys and link tokens redacted)",
    )
    return parser


def page_options(parser: argparse.ArgumentParser, *, every: str) -> None:
    """Add the list options ``--limit``, ``--offset``, ``--all`` and ``--format``.

    ``every`` completes the help of ``--all`` ("every ...").
    """
    parser.add_argument("--limit", type=int, default=20, help="rows per page, 1–100 (default 20)")
    parser.add_argument("--offset", type=int, default=0, help="rows to skip (default 0)")
    parser.add_argument("--all", action="store_true", help=f"every {every}, all pages")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def shard_arg(text: str) -> tuple[int, int]:
    """An argparse type: ``I/N``, this worker's shard ``I`` of ``N`` (``0 <= I < N``)."""
    index, slash, count = text.partition("/")
    try:
        if not slash:
            raise ValueError("not of the form I/N")
        shard = check_shard((int(index), int(count)))
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the shard as I/N, with 0 <= I < N (e.g. 0/3, 1/3, 2/3 for "
            f"three workers) ({error})"
        ) from None
    assert shard is not None
    return shard


def id_arg(text: str) -> str:
    """An argparse type: an id the SDK accepts (refused before anything is sent)."""
    try:
        return v.require_id("value", text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _insecure_http(base_url: str) -> bool:
    """Whether ``base_url`` is refused only for being plain http to a non-loopback host."""
    try:
        url = check_base_url(base_url, allow_insecure_http=True)
    except ValueError:
        return False
    return is_plain_http_to_remote(url)


def make_client(args: argparse.Namespace, *, on_event: OnEvent | None = None) -> ZenHireClient:
    """A client from ``--api-key``/``--base-url`` or the environment."""
    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    if not api_key:
        raise UsageError(f"no API key: pass --api-key or set {API_KEY_ENV}")
    base_url: str | None = args.base_url or None
    allow: bool = args.allow_insecure_http
    if base_url is None and os.environ.get(BASE_URL_ENV):
        source, text = f"${BASE_URL_ENV}", os.environ[BASE_URL_ENV]
    else:
        source, text = "--base-url", base_url or ""
    if text and not allow and _insecure_http(text):
        raise UsageError(
            f"{source} {text} is plain http to a host that is not this machine: the API key "
            "would cross the network unencrypted. Use https://, or add --allow-insecure-http "
            "to insist"
        )
    return ZenHireClient(
        api_key=api_key, base_url=base_url, allow_insecure_http=allow, on_event=on_event
    )


@contextmanager
def debug_logging(verbosity: int, stream: TextIO) -> Iterator[None]:
    """With ``-v``, send the SDK's (already redacted) DEBUG log lines to ``stream``."""
    if verbosity < 1:
        yield
        return
    logger = logging.getLogger("zenhire_async")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
