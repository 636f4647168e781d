"""``zenhire sessions list|get``: find sessions and look at one."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TypedDict

from .. import SessionDetail, SessionStatus, SessionStatusName, SessionSummary, ZenHireClient
from ._errors import UsageError
from ._format import cell, duration, more_hint, parse_timestamp, timestamp
from ._options import id_arg, page_options
from ._output import Output, async_rows

__all__ = ["register"]

_COLUMNS = ("id", "candidate_ref", "status", "role_name", "created_at", "duration", "credits")
_CSV_FIELDS = SessionSummary.__struct_fields__
_STATUSES = tuple(status.value for status in SessionStatus)


def _cells(s: SessionSummary) -> list[str]:
    return [
        s.id,
        cell(s.candidate_ref),
        s.status,
        cell(s.role_name),
        timestamp(s.created_at),
        duration(s.duration_sec),
        cell(s.credit_charged),
    ]


class _Filters(TypedDict):
    status: SessionStatusName | None
    persona_id: str | None
    candidate_ref: str | None
    project_id: str | None
    tags: list[str] | None
    metadata: dict[str, str] | None
    created_after: datetime | None
    created_before: datetime | None


def _metadata_filter(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--metadata takes KEY=VALUE, got {pair!r}")
        metadata[key] = value
    return metadata


def _window(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    """``--created-after`` and ``--created-before``; refused when no time lies between them."""
    after = parse_timestamp(args.created_after) if args.created_after else None
    before = parse_timestamp(args.created_before) if args.created_before else None
    if after is not None and before is not None and after > before:
        raise UsageError(
            f"--created-after {args.created_after} is later than --created-before "
            f"{args.created_before}: no session can match both"
        )
    return after, before


async def list_(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """List sessions matching every filter given, newest first."""
    created_after, created_before = _window(args)
    filters: _Filters = {
        "status": args.status,
        "persona_id": args.persona,
        "candidate_ref": args.candidate_ref,
        "project_id": args.project,
        "tags": args.tag,
        "metadata": _metadata_filter(args.metadata),
        "created_after": created_after,
        "created_before": created_before,
    }
    rows: AsyncIterator[SessionSummary]
    hint = None
    if args.all:
        rows = zh.sessions.iter(**filters, page_size=100)
    else:
        page = await zh.sessions.list(**filters, limit=args.limit, offset=args.offset)
        rows = async_rows(page.data)
        hint = more_hint(page, args.offset)
    await out.rows(args.format, rows, columns=_COLUMNS, cells=_cells, csv_fields=_CSV_FIELDS)
    if hint is not None and args.format == "table":
        out.note(hint)
    return 0


def _detail_fields(s: SessionDetail) -> list[tuple[str, str]]:
    persona = s.persona
    feedback = s.feedback
    rows = [
        ("id", s.id),
        ("status", s.status),
        ("candidate_ref", cell(s.candidate_ref)),
        ("persona", f"{persona.role_name} ({persona.language}) {persona.id}" if persona else "-"),
        ("consent_mode", cell(s.consent_mode)),
        ("source", cell(s.source)),
        ("project_id", cell(s.project_id)),
        ("tags", cell(s.tags)),
        ("metadata", cell(s.metadata)),
        ("created_at", timestamp(s.created_at)),
        ("started_at", timestamp(s.started_at)),
        ("completed_at", timestamp(s.completed_at)),
        ("duration", duration(s.duration_sec)),
        ("credit_charged", cell(s.credit_charged)),
    ]
    if feedback is not None:
        flag = " (flagged)" if feedback.flagged else ""
        comment = f" — {feedback.comment}" if feedback.comment else ""
        rows.append(("feedback", f"{feedback.rating}/5{flag}{comment}"))
    return rows


async def get(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """Show one session with its persona and feedback."""
    session = await zh.sessions.get(args.id)
    if out.json_mode:
        out.json(session)
    else:
        out.record(_detail_fields(session))
    return 0


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    """Add ``sessions`` and its actions to the command line."""
    group = commands.add_parser("sessions", help="list sessions and show one")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("list", parents=[shared], help="list sessions, newest first")
    filters = p.add_argument_group("filters (a row must match all)")
    filters.add_argument("--status", choices=_STATUSES, help=", ".join(_STATUSES))
    filters.add_argument("--persona", type=id_arg, metavar="ID", help="persona id")
    filters.add_argument("--candidate-ref", metavar="REF", help="your candidate reference")
    filters.add_argument("--project", type=id_arg, metavar="ID", help="project id")
    filters.add_argument("--tag", action="append", help="carries this tag (repeatable)")
    filters.add_argument(
        "--metadata", action="append", metavar="KEY=VALUE", help="metadata match (repeatable)"
    )
    filters.add_argument(
        "--created-after", metavar="WHEN", help="ISO 8601 date or time; UTC without an offset"
    )
    filters.add_argument("--created-before", metavar="WHEN", help="ISO 8601 date or time")
    page_options(p, every="matching session")
    p.set_defaults(api_handler=list_)

    p = actions.add_parser("get", parents=[shared], help="show one session")
    p.add_argument("id", type=id_arg, help="session id")
    p.set_defaults(api_handler=get)
