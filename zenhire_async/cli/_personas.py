"""``zenhire personas create|list|get``: interviewer personas."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import anyio

from .. import Persona, PersonaDetail, ZenHireClient
from ._format import cell, more_hint, timestamp
from ._options import id_arg, page_options
from ._output import Output, async_rows

__all__ = ["register"]

_COLUMNS = ("id", "role_name", "language", "status", "created_at")
_CSV_FIELDS = Persona.__struct_fields__


async def create(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """Create a persona; print its id (or the persona with ``--json``)."""
    system_prompt: str | None = args.system_prompt
    if args.system_prompt_file is not None:
        system_prompt = await anyio.Path(args.system_prompt_file).read_text(encoding="utf-8")
    persona = await zh.personas.create(args.role, args.language, system_prompt=system_prompt)
    if out.json_mode:
        out.json(persona)
    else:
        out.note(f"Created persona {persona.id} ({persona.role_name}, {persona.language})")
        out.line(persona.id)
    return 0


def _row(persona: Persona) -> list[str]:
    return [cell(getattr(persona, name)) for name in _COLUMNS]


async def list_(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """List personas, one page or ``--all``."""
    rows: AsyncIterator[Persona]
    hint = None
    if args.all:
        rows = zh.personas.iter()
    else:
        page = await zh.personas.list(limit=args.limit, offset=args.offset)
        rows = async_rows(page.data)
        hint = more_hint(page, args.offset)
    await out.rows(args.format, rows, columns=_COLUMNS, cells=_row, csv_fields=_CSV_FIELDS)
    if hint is not None and args.format == "table":
        out.note(hint)
    return 0


async def get(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """Show one persona with its system prompt."""
    persona: PersonaDetail = await zh.personas.get(args.id)
    if out.json_mode:
        out.json(persona)
        return 0
    out.record(
        [
            ("id", persona.id),
            ("role_name", persona.role_name),
            ("language", persona.language),
            ("status", persona.status),
            ("created_at", timestamp(persona.created_at)),
            ("updated_at", timestamp(persona.updated_at)),
            ("base_prompt_override", cell(persona.base_prompt_override)),
        ]
    )
    if persona.system_prompt:
        out.line("system_prompt:")
        out.line(persona.system_prompt)
    return 0


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], shared: argparse.ArgumentParser
) -> None:
    """Add ``personas`` and its actions to the command line."""
    group = commands.add_parser("personas", help="create, list and show interviewer personas")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("create", parents=[shared], help="create a persona; prints its id")
    p.add_argument("--role", required=True, help="the role name, e.g. 'Senior Backend Engineer'")
    p.add_argument("--language", required=True, help="interview language, e.g. en, de")
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument(
        "--system-prompt", help="use this system prompt instead of the generated one"
    )
    prompt.add_argument(
        "--system-prompt-file", metavar="PATH", help="read the system prompt from a file"
    )
    p.set_defaults(api_handler=create)

    p = actions.add_parser("list", parents=[shared], help="list personas")
    page_options(p, every="persona")
    p.set_defaults(api_handler=list_)

    p = actions.add_parser("get", parents=[shared], help="show one persona")
    p.add_argument("id", type=id_arg, help="persona id")
    p.set_defaults(api_handler=get)
