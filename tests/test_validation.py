"""Every documented limit is checked before a request, with a ValueError naming it."""

from __future__ import annotations

import sys

import pytest

from zenhire_async import _protocol as proto


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"role_name": "x" * 201, "language": "en"}, "role_name"),
        ({"role_name": "", "language": "en"}, "role_name"),
        ({"role_name": "ok", "language": "x" * 65}, "language"),
        ({"role_name": "ok", "language": " "}, "language"),
        ({"role_name": "ok", "language": "en", "system_prompt": "x" * 20_001}, "system_prompt"),
    ],
)
def test_persona_limits(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        proto.create_persona(**kwargs)


def test_persona_limits_at_the_boundary_pass() -> None:
    proto.create_persona("x" * 200, "y" * 64, system_prompt="z" * 20_000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"consent_mode": "implied"}, "consent_mode"),
        ({"consent_mode": "explicit", "candidate_ref": "r" * 257}, "candidate_ref"),
        ({"consent_mode": "explicit", "tags": [f"t{i}" for i in range(21)]}, "limit is 20"),
        ({"consent_mode": "explicit", "tags": ["a", "a"]}, "distinct"),
        ({"consent_mode": "explicit", "tags": [""]}, "tag"),
        ({"consent_mode": "explicit", "tags": ["x" * 41]}, "tag"),
        ({"consent_mode": "explicit", "metadata": {f"k{i}": 1 for i in range(51)}}, "keys"),
        ({"consent_mode": "explicit", "metadata": {"k" * 41: 1}}, "metadata key"),
        ({"consent_mode": "explicit", "metadata": {"k": "v" * 501}}, "metadata"),
        ({"consent_mode": "explicit", "metadata": {"k": [1]}}, "string, number or bool"),
        ({"consent_mode": "explicit", "metadata": {"k": None}}, "string, number or bool"),
        ({"consent_mode": "explicit", "metadata": {"k": float("nan")}}, "finite"),
        (
            {"consent_mode": "explicit", "metadata": {f"k{i:02d}": "v" * 400 for i in range(25)}},
            "8192",
        ),
    ],
)
def test_session_limits(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        proto.create_session("p", **kwargs)  # type: ignore[arg-type]


def test_session_limits_at_the_boundary_pass() -> None:
    proto.create_session(
        "p",
        consent_mode="integrator",
        candidate_ref="r" * 256,
        tags=[f"{i:02d}" + "x" * 38 for i in range(20)],
        metadata={f"{i:02d}" + "k" * 38: True for i in range(50)},
    )


def test_a_single_string_is_not_a_tag_list() -> None:
    with pytest.raises(TypeError, match="tags"):
        proto.create_session("p", consent_mode="explicit", tags="q3")


@pytest.mark.parametrize("limit", [0, 101, -1, True, 2.5])
def test_page_limit_range(limit: object) -> None:
    with pytest.raises(ValueError, match="limit"):
        proto.list_personas(limit=limit)  # type: ignore[arg-type]


def test_negative_offset() -> None:
    with pytest.raises(ValueError, match="offset"):
        proto.list_personas(limit=10, offset=-1)


def test_the_space_or_control_rule_is_the_per_character_one_on_every_code_point() -> None:
    # has_space_or_control runs in C by relying on "every whitespace character but ' ' is
    # unprintable": true of this interpreter's Unicode tables, or this test fails on it.
    from zenhire_async._validation import has_space_or_control

    differ = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if has_space_or_control(ch := chr(code)) != (ch.isspace() or not ch.isprintable())
    ]
    assert differ == []
    assert has_space_or_control("abc\u3000def") and has_space_or_control("a b")
    assert not has_space_or_control("7f3d2c1b-aaaa-4bbb-8ccc-0123456789ab")
