"""The decode benchmark compares equal work: every peer decodes the bodies to our values.

Not a timing test: it guards ``benchmarks/bench_decode.py`` against silently timing a peer
that skips fields, leaves timestamps as strings or decodes something else.
"""

from __future__ import annotations

import uuid
from datetime import UTC

import pytest

pytest.importorskip("pydantic")
pytest.importorskip("orjson")

import orjson

from benchmarks import _payloads, _peers, bench_decode

BODIES = {
    "page of 100": ("page", _payloads.session_page(100)),
    "page of 1,000": ("page", _payloads.session_page(1000)),
    "detail": ("detail", _payloads.session_detail()),
}


@pytest.mark.parametrize("case", list(BODIES))
def test_every_peer_decodes_the_same_values(case: str) -> None:
    kind, body = BODIES[case]
    bench_decode.check_equivalence(kind, body)


def test_payloads_are_realistic() -> None:
    rows = orjson.loads(_payloads.session_page(100))["data"]
    assert len(rows) == 100
    assert all(uuid.UUID(row["id"]).version == 4 for row in rows)
    assert all(row["created_at"].endswith("Z") for row in rows)
    for field in ("started_at", "tags", "metadata", "project_id", "credit_charged"):
        values = [row[field] for row in rows]
        assert None in values, field
        assert any(v is not None for v in values), field
    assert {type(v) for row in rows if row["metadata"] for v in row["metadata"].values()} == {
        str,
        int,
        float,
        bool,
    }


def test_our_plain_form_has_aware_datetimes() -> None:
    plain = _peers.ours_plain("detail", _payloads.session_detail())
    assert plain["created_at"].tzinfo is not None
    assert plain["created_at"].utcoffset() == UTC.utcoffset(None)
    assert plain["feedback"]["rating"] == 4


def test_the_check_catches_a_peer_that_decodes_differently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kind, body = BODIES["page of 100"]
    honest = _peers.pydantic_page

    def lossy(raw: bytes) -> object:
        page = honest(raw)
        return page.model_copy(
            update={"data": [r.model_copy(update={"tags": None}) for r in page.data]}
        )

    monkeypatch.setattr(_peers, "pydantic_page", lossy)
    with pytest.raises(AssertionError, match="pydantic"):
        bench_decode.check_equivalence(kind, body)
