"""``_private_files.replacing``: the one writer of files holding links and personal data."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zenhire_async._private_files import replacing


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name not in keep)


def test_the_file_appears_whole_and_private(tmp_path: Path) -> None:
    target = tmp_path / "links.csv"
    target.write_bytes(b"old")
    target.chmod(0o644)
    with replacing(target) as (fh, path):
        assert path.parent == tmp_path and path != target
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        fh.write(b"new")
        assert target.read_bytes() == b"old"  # nothing is visible before the block ends
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _leftovers(tmp_path, {"links.csv"}) == []


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_error_leaves_the_target_as_it_was_and_no_temporary_file(
    tmp_path: Path, error: BaseException
) -> None:
    target = tmp_path / "links.csv"
    target.write_bytes(b"old")

    def fail_halfway() -> None:
        with replacing(target) as (fh, _):
            fh.write(b"half")
            raise error

    with pytest.raises(type(error)):
        fail_halfway()
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path, {"links.csv"}) == []


def test_a_symbolic_link_at_the_target_is_replaced_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target = tmp_path / "links.csv"
    target.symlink_to(victim)
    with replacing(target) as (fh, _):
        fh.write(b"secret links")
    assert victim.read_bytes() == b"precious"
    assert not target.is_symlink()
    assert target.read_bytes() == b"secret links"


def test_a_file_put_at_the_path_by_name_is_the_one_moved(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with replacing(target) as (_, path):
        other = tmp_path / "other"
        other.write_bytes(b"by name")
        os.replace(other, path)  # what a writer that renames its own file into place does
    assert target.read_bytes() == b"by name"
    assert _leftovers(tmp_path, {"out.csv"}) == []
