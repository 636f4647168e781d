"""Row keys of a bulk job and the table it keeps per row: lookups, flags, growth."""

from __future__ import annotations

import pytest

from zenhire_async._bulk_rowkeys import ROW_KEY_BYTES, RowKeyTable, row_key, row_marker


def test_row_key_is_stable_distinct_and_short_and_marker_is_hex() -> None:
    key = row_key("ats-42")
    assert key == row_key("ats-42") != row_key("ats-43")
    assert len(key) == ROW_KEY_BYTES
    assert row_marker(key) == key.hex() and len(row_marker(key)) == 2 * ROW_KEY_BYTES
    assert len(row_marker(row_key("x" * 256))) == 24  # a long ref: still a 24-character marker


def test_table_keeps_every_key_and_its_flags_through_growth() -> None:
    table = RowKeyTable()
    small = table.nbytes
    keys = [row_key(f"ref-{i}") for i in range(50_000)]
    for i, key in enumerate(keys):
        table.set(key, i % 7 + 1)
    assert len(table) == len(keys)
    assert all(table.get(key) == i % 7 + 1 for i, key in enumerate(keys))
    assert table.get(row_key("never-added")) == 0
    # Grew, and stays packed: at most 35 bytes a row at the worst load factor.
    assert small < table.nbytes <= 35 * len(keys)


def test_add_flags_keeps_every_new_key_and_its_flags_through_growth() -> None:
    table = RowKeyTable()
    keys = [row_key(f"ats-{i}") for i in range(20_000)]
    for i, key in enumerate(keys):
        assert table.add_flags(key, 1 + i % 2) == 0
    assert len(table) == 20_000
    assert all(table.get(key) == 1 + i % 2 for i, key in enumerate(keys))
    assert table.add_flags(keys[0], 2) == 1 and table.get(keys[0]) == 3
    assert table.nbytes < 20_000 * 40  # packed: far below a set of ints (~75 bytes a key)


def test_add_flags_returns_the_flags_before_and_ors_in_the_new_ones() -> None:
    table = RowKeyTable()
    key = row_key("x")
    assert table.add_flags(key, 0b01) == 0
    assert table.add_flags(key, 0b10) == 0b01
    assert table.get(key) == 0b11
    assert len(table) == 1


@pytest.mark.parametrize("bad", [b"", b"short", bytes(ROW_KEY_BYTES), bytes(ROW_KEY_BYTES + 1)])
def test_set_refuses_what_is_not_a_row_key(bad: bytes) -> None:
    with pytest.raises(ValueError, match="not a row key"):
        RowKeyTable().set(bad, 1)
