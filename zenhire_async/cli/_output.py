"""Where and how the ``zenhire`` command prints.

Results go to stdout, everything else (notes, progress, errors) to stderr, so that
``zenhire ... > file`` captures only data. A stream that is a terminal gets ``rich`` tables
and progress bars (when the ``cli`` extra is installed); a pipe or file gets plain aligned
text with no colours and no bars, and ``--json`` gets JSON only. ``rich`` is imported only
when a terminal is there to draw on, so the core install never needs it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Literal, TextIO, TypeVar

import msgspec

from ._errors import Failure
from ._format import write_csv, write_json_array

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = [
    "CountProgress",
    "DownloadBars",
    "ListFormat",
    "Output",
    "ProgressSink",
    "async_rows",
    "is_terminal",
]

RowT = TypeVar("RowT", bound=msgspec.Struct)

ListFormat = Literal["table", "json", "csv"]
"""How a list is printed: a table for people, a JSON array or CSV for programs."""

ProgressSink = Callable[[int, int | None], None]
"""Receives ``(bytes so far, total or None)`` as a download goes."""

DownloadBars = Callable[[str], AbstractContextManager[ProgressSink]]
"""Gives a download's progress sink, for the time of the download, by description."""

PLAIN_INTERVAL = 10.0
"""Seconds between two plain progress lines when stderr is not a terminal."""


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal that can show colours and bars."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty()) and os.environ.get("TERM") != "dumb"


async def async_rows(items: Iterable[RowT]) -> AsyncIterator[RowT]:
    """An already fetched list as the async iterator :meth:`Output.rows` takes."""
    for item in items:
        yield item


def _ignore_progress(done: int, total: int | None) -> None:
    """Progress sink for outputs that show no bar."""


class CountProgress:
    """A live count (``done`` of ``total``, and a line of detail) while a batch runs.

    On a terminal it is a rich progress bar on stderr, which also shows a bar per running
    download (:meth:`download`); in a pipe it prints a plain line at most every
    :data:`PLAIN_INTERVAL` seconds; with ``--json`` it prints nothing.
    """

    def __init__(
        self,
        description: str,
        progress: Progress | None,
        plain: TextIO | None,
        interval: float = PLAIN_INTERVAL,
    ) -> None:
        self._description = description
        self._progress = progress
        self._plain = plain
        self._interval = interval
        self._last_line: float | None = None
        self._task: TaskID | None = None
        if progress is not None:
            self._task = progress.add_task(description, total=None, count="", detail="")

    def update(self, done: int, total: int | None, detail: str) -> None:
        """Show ``done`` of ``total`` (``None``: unknown) with ``detail`` after the bar."""
        count = f"{done}/{total}" if total is not None else str(done)
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, completed=done, total=total, count=count, detail=detail
            )
            return
        if self._plain is None:
            return
        now = time.monotonic()
        if self._last_line is not None and now - self._last_line < self._interval:
            return
        self._last_line = now
        self._plain.write(f"{self._description}: {count}  {detail}\n")
        self._plain.flush()

    def note(self, text: str) -> None:
        """A message above the bar on a terminal, a plain line in a pipe, none with ``--json``."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        elif self._plain is not None:
            self._plain.write(text + "\n")
            self._plain.flush()

    @contextmanager
    def download(self, description: str) -> Iterator[ProgressSink]:
        """A byte-count bar under the count for one download (a no-op sink in a pipe)."""
        progress = self._progress
        if progress is None:
            yield _ignore_progress
            return
        task = progress.add_task(description, total=None, count="", detail="")

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total, count=_megabytes(done, total))

        try:
            yield update
        finally:
            progress.remove_task(task)


def _megabytes(done: int, total: int | None) -> str:
    of = f"/{total / 1e6:.1f}" if total is not None else ""
    return f"{done / 1e6:.1f}{of} MB"


def _plain_rows(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [columns, *rows]) for i in range(len(columns))]
    return [
        "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
        for row in [columns, *rows]
    ]


class Output:
    """The command's printer: JSON or human text, rich on a terminal, plain elsewhere."""

    def __init__(
        self, *, json_mode: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.json_mode = json_mode
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr

    def _console(self, stream: TextIO) -> Console | None:
        """A rich console for ``stream`` when it is a terminal and rich is installed."""
        if not is_terminal(stream):
            return None
        try:
            from rich.console import Console
        except ImportError:
            return None
        return Console(file=stream, highlight=False, soft_wrap=False)

    # -- data (stdout) ------------------------------------------------------------------

    def json(self, value: object) -> None:
        """Print ``value`` (models, lists, dicts) as indented JSON."""
        self.stdout.write(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())
        self.stdout.write("\n")

    def line(self, text: str) -> None:
        """Print one line of data."""
        self.stdout.write(text + "\n")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Print rows under a header: a rich table on a terminal, aligned text elsewhere."""
        console = self._console(self.stdout)
        if console is None:
            for text in _plain_rows(columns, rows):
                self.stdout.write(text + "\n")
            return
        from rich import box
        from rich.table import Table

        table = Table(
            box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, collapse_padding=True
        )
        # The first column is the id people copy: never shortened; the others may be.
        id_width = max((len(row[0]) for row in rows), default=0)
        table.add_column(columns[0], no_wrap=True, min_width=max(id_width, len(columns[0])))
        for name in columns[1:]:
            table.add_column(name, no_wrap=True, overflow="ellipsis")
        for row in rows:
            table.add_row(*row)
        console.print(table)

    async def rows(
        self,
        fmt: ListFormat,
        rows: AsyncIterator[RowT],
        *,
        columns: Sequence[str],
        cells: Callable[[RowT], list[str]],
        csv_fields: Sequence[str],
    ) -> int:
        """Print a list (streamed for JSON and CSV); ``--json`` forces JSON. Returns the count."""
        if self.json_mode or fmt == "json":
            return await write_json_array(self.stdout, rows)
        if fmt == "csv":
            return await write_csv(self.stdout, csv_fields, rows)
        table = [cells(row) async for row in rows]
        self.table(columns, table)
        return len(table)

    def record(self, fields: Sequence[tuple[str, str]]) -> None:
        """Print one object as ``name  value`` lines."""
        width = max((len(name) for name, _ in fields), default=0)
        for name, value in fields:
            self.stdout.write(f"{name.ljust(width)}  {value}\n")

    # -- around the data (stderr) -------------------------------------------------------

    def note(self, text: str) -> None:
        """A message for the human at the terminal (not printed in ``--json`` mode)."""
        if not self.json_mode:
            self.stderr.write(text + "\n")

    def failure(self, failure: Failure) -> None:
        """Report an error: one line, or ``{"error": ...}`` in ``--json`` mode."""
        if self.json_mode:
            body = msgspec.json.encode({"error": failure.as_json()}).decode()
            self.stderr.write(body + "\n")
        else:
            self.stderr.write(failure.line + "\n")
        self.stderr.flush()

    @contextmanager
    def download_progress(self, description: str) -> Iterator[ProgressSink]:
        """A byte-count progress bar on a terminal's stderr; a no-op sink anywhere else."""
        console = None if self.json_mode else self._console(self.stderr)
        if console is None:
            yield _ignore_progress
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(description, total=None)

            def update(done: int, total: int | None) -> None:
                progress.update(task, completed=done, total=total)

            yield update

    @contextmanager
    def count_progress(self, description: str) -> Iterator[CountProgress]:
        """A :class:`CountProgress` on stderr: a bar on a terminal, plain lines elsewhere."""
        if self.json_mode:
            yield CountProgress(description, None, None)
            return
        console = self._console(self.stderr)
        if console is None:
            yield CountProgress(description, None, self.stderr)
            return
        from rich.progress import BarColumn, Progress, TextColumn

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TextColumn("{task.fields[detail]}"),
        )
        with Progress(*columns, console=console) as progress:
            yield CountProgress(description, progress, None)
