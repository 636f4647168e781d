"""``client.personas``: create, fetch and list interviewer personas."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from .. import _protocol as proto
from .._events_dispatch import observed
from .._http import Transport
from ..models import Page, Persona, PersonaDetail
from ..pagination import iterate_pages

__all__ = ["Personas"]


class Personas:
    """Interviewer personas: a role name and an interview language, reused across sessions."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    @observed("personas.create")
    async def create(
        self,
        role_name: str,
        language: str,
        *,
        system_prompt: str | None = None,
        base_prompt_override: str | msgspec.UnsetType | None = msgspec.UNSET,
    ) -> Persona:
        """Create a persona (``role_name`` ≤ 200 chars, ``language`` ≤ 64, e.g. ``"en"``).

        ``system_prompt`` is stored verbatim instead of the generated one. Not retried after
        an ambiguous failure: a lost answer may still have created the persona.
        """
        spec = proto.create_persona(
            role_name,
            language,
            system_prompt=system_prompt,
            base_prompt_override=base_prompt_override,
        )
        response = await self._transport.send(spec)
        return proto.decode(proto.PERSONA, response.body, "persona")

    @observed("personas.get")
    async def get(self, persona_id: str) -> PersonaDetail:
        """Fetch one persona with its system prompt."""
        response = await self._transport.send(proto.get_persona(persona_id))
        return proto.decode(proto.PERSONA_DETAIL, response.body, "persona")

    @observed("personas.list")
    async def _page(self, limit: int, offset: int, cursor: str | None) -> proto.PageResult[Persona]:
        spec = proto.list_personas(limit=limit, offset=offset, cursor=cursor)
        response = await self._transport.send(spec)
        return proto.decode_page(proto.PERSONA_PAGE, response.body, "persona list")

    async def list(
        self, *, limit: int = 20, offset: int = 0, cursor: str | None = None
    ) -> Page[Persona]:
        """One page of personas (``limit`` 1–100)."""
        return (await self._page(limit, offset, cursor)).page

    def iter(self, *, page_size: int = 100) -> AsyncIterator[Persona]:
        """Every persona, page after page, each once."""
        proto.list_personas(limit=page_size)  # validate now, not at the first iteration

        async def fetch(offset: int, cursor: str | None) -> proto.PageResult[Persona]:
            return await self._page(page_size, offset, cursor)

        return iterate_pages(fetch, page_size=page_size)
