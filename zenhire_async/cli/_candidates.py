"""The candidates CSV of ``zenhire invite``: its delimiter, its records, their line numbers.

A spreadsheet export may separate its columns with ``,``, ``;`` (common where ``,`` is the
decimal mark), a tab or ``|``: unless ``--delimiter`` says which, it is sniffed on the
header line (``csv.Sniffer`` restricted to those four; ``,`` when the header has one
column). Records are read with ``csv.reader`` so that each one knows the *physical* lines
it spans: a blank line or a quoted field with a line break in it does not shift the line
numbers the command reports. Blank lines are skipped, as ``csv.DictReader`` does.

Everything here is blocking file work: callers run it in the loop's executor.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ._errors import UsageError

__all__ = [
    "DELIMITERS",
    "METADATA_PREFIX",
    "REF_COLUMN",
    "TAGS_COLUMN",
    "CandidatesCsv",
    "Record",
    "candidate_row",
    "delimiter_arg",
    "delimiter_name",
    "iter_records",
    "open_csv",
    "read_layout",
    "record_lines",
    "records",
]

REF_COLUMN = "candidate_ref"
TAGS_COLUMN = "tags"
METADATA_PREFIX = "metadata."
DELIMITERS = ",;\t|"
"""The delimiters sniffed on the header line (and accepted by ``--delimiter``)."""
_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
_ENCODING = "utf-8-sig"  # a BOM from a spreadsheet tool is not part of the first column


def delimiter_name(delimiter: str) -> str:
    """How a delimiter is named in messages: ``';'``, ``tab``."""
    return _NAMES.get(delimiter, repr(delimiter))


def delimiter_arg(text: str) -> str:
    """An argparse type: one of ``, ; | tab`` (``\\t`` and ``tab`` both mean a tab)."""
    value = "\t" if text in ("tab", "\\t") else text
    if len(value) != 1 or value not in DELIMITERS:
        raise argparse.ArgumentTypeError(f"one of , ; | tab, not {text!r}")
    return value


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: its cells and the physical lines it spans (1-based, inclusive)."""

    first_line: int
    last_line: int
    cells: list[str]

    @property
    def lines(self) -> str:
        """``line 8``, or ``lines 8-10`` for a record with a quoted line break."""
        if self.last_line > self.first_line:
            return f"lines {self.first_line}-{self.last_line}"
        return f"line {self.first_line}"


@dataclass(frozen=True, slots=True)
class CandidatesCsv:
    """A checked header: the delimiter (and whether it was sniffed), the columns, the rows."""

    path: Path
    delimiter: str
    sniffed: bool
    header: list[str]
    rows: int

    @property
    def ignored(self) -> list[str]:
        """Columns the invite does not use."""
        known = {REF_COLUMN, TAGS_COLUMN}
        return [n for n in self.header if n not in known and not n.startswith(METADATA_PREFIX)]

    def ref_of(self, record: Record) -> str:
        """The record's ``candidate_ref`` as the invite reads it (stripped)."""
        index = self.header.index(REF_COLUMN)
        return record.cells[index].strip() if index < len(record.cells) else ""

    def as_mapping(self, record: Record) -> dict[str | None, str | None]:
        """The record as ``csv.DictReader`` gives it (extra cells under ``None``)."""
        row: dict[str | None, str | None] = dict.fromkeys(self.header)
        row.update(zip(self.header, record.cells, strict=False))
        if len(record.cells) > len(self.header):
            row[None] = ";".join(record.cells[len(self.header) :])
        return row


def candidate_row(row: dict[str | None, str | None]) -> dict[str, object]:
    """One CSV record (as ``csv.DictReader`` gives it) as a bulk-invite row.

    ``tags`` is split on ``;``; each ``metadata.<key>`` column becomes a metadata string
    (empty cells are left out); other columns are ignored. Cells past the header make the
    row invalid (reported by the bulk invite, like any other invalid row).
    """
    item: dict[str, object] = {REF_COLUMN: (row.get(REF_COLUMN) or "").strip()}
    tags = [tag.strip() for tag in (row.get(TAGS_COLUMN) or "").split(";") if tag.strip()]
    if tags:
        item["tags"] = tags
    metadata = {
        name[len(METADATA_PREFIX) :]: value
        for name, value in row.items()
        if name is not None and name.startswith(METADATA_PREFIX) and value
    }
    if metadata:
        item["metadata"] = metadata
    if row.get(None):
        item["cells past the header"] = row[None]
    return item


def records(fh: TextIO, delimiter: str, *, lines_before: int) -> Iterator[Record]:
    """Every non-blank record after the current position (``lines_before`` lines in)."""
    reader = csv.reader(fh, delimiter=delimiter)
    before = reader.line_num
    for cells in reader:
        if cells:
            yield Record(lines_before + before + 1, lines_before + reader.line_num, cells)
        before = reader.line_num


def _sniff(header_line: str) -> str | None:
    try:
        return csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column: nothing to tell the delimiter by
        return None


def open_csv(path: Path) -> TextIO:
    """The CSV opened as the ``csv`` module wants it."""
    return path.open(newline="", encoding=_ENCODING)


def _unreadable(path: Path, error: Exception, line: int | None) -> UsageError:
    where = f" (line {line})" if line else ""
    return UsageError(f"{path} is not a readable CSV{where}: {error}")


def read_layout(path: Path, delimiter: str | None) -> CandidatesCsv:
    """Check the header (sniffing the delimiter unless given) and count the records.

    Streamed: the file is read once, never held. ``UsageError`` names what is wrong, and
    which delimiter it was read with.
    """
    line = None
    try:
        with open_csv(path) as fh:
            first = fh.readline()
            sniffed = delimiter is None
            used = delimiter or _sniff(first) or ","
            header = next(csv.reader([first], delimiter=used), None)
            if sniffed and header and REF_COLUMN not in header:
                # The sniffer weighs characters, not names: a delimiter that yields the
                # required column wins over it.
                for other in DELIMITERS:
                    cells = next(csv.reader([first], delimiter=other), None)
                    if cells and REF_COLUMN in cells:
                        used, header = other, cells
                        break
            if not header:
                raise UsageError(f"{path} is empty: it needs a header with a {REF_COLUMN} column")
            if REF_COLUMN not in header:
                how = "sniffed on this line" if sniffed else "as given"
                raise UsageError(
                    f"{path} has no {REF_COLUMN} column (columns, {delimiter_name(used)}-"
                    f"separated {how}: {', '.join(header) or 'none'}); expected "
                    f"{REF_COLUMN}, optionally {TAGS_COLUMN} and {METADATA_PREFIX}<key> "
                    "(--delimiter says which delimiter the file uses)"
                )
            rows = 0
            for record in records(fh, used, lines_before=1):
                line = record.last_line + 1
                rows += 1
    except (csv.Error, UnicodeDecodeError) as error:
        raise _unreadable(path, error, line) from None
    return CandidatesCsv(path, used, sniffed, header, rows)


def iter_records(layout: CandidatesCsv, fh: TextIO) -> Iterator[Record]:
    """The data records of an opened CSV (the header line is skipped)."""
    fh.readline()
    return records(fh, layout.delimiter, lines_before=1)


def record_lines(layout: CandidatesCsv, indices: set[int]) -> dict[int, Record]:
    """The records at these 0-based positions (as the bulk invite counted them)."""
    found: dict[int, Record] = {}
    if not indices:
        return found
    last = max(indices)
    with open_csv(layout.path) as fh:
        for index, record in enumerate(iter_records(layout, fh)):
            if index in indices:
                found[index] = record
            if index >= last:
                break
    return found
