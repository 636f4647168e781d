"""An ATS backend on aiohttp.web: invite a candidate in a handler, collect the result later.

* One ``ZenHireClient`` for the whole app, opened at start-up and closed at shutdown
  (``cleanup_ctx``), shared by every handler and background task: one connection pool and
  one rate-limit budget.
* ``POST /candidates/{ref}/interview`` mints the candidate's link, stores it, answers at
  once (201), and leaves a background task awaiting the interview. No handler ever waits for
  an interview.
* The background tasks belong to the app: shutdown cancels and awaits every one of them
  before the client closes, so nothing outlives the app and no connection leaks.
* ``GET /candidates/{ref}/interview`` shows what is known so far.

The store here is a dict; a real service keeps it in its database and, at start-up, resumes
waiting for every session it had not seen finish (``await_completion`` just needs the id).

Run it: ``zenhire emulator --simulate`` in another terminal, export the two variables it
prints, then ``python examples/web_service.py`` and
``curl -X POST localhost:8000/candidates/ats-1/interview``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine
from dataclasses import asdict, dataclass, field

from aiohttp import web

from zenhire_async import LinkExpiredError, SessionSummary, ZenHireClient, ZenHireError

# One interview can take days (a link is valid for 7): give up after that, not before.
WAIT_TIMEOUT = 8 * 24 * 3600


@dataclass
class Interview:
    """What the ATS knows of one candidate's interview."""

    session_id: str
    candidate_link: str
    status: str = "initiated"
    duration_sec: int | None = None
    transcript_turns: int | None = None
    error: str | None = None


@dataclass
class Services:
    """Everything the handlers share for the app's lifetime."""

    client: ZenHireClient
    persona_id: str
    interviews: dict[str, Interview] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[object, object, None]) -> None:
        """Run ``coro`` in the background, owned by the app (cancelled at shutdown)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


SERVICES = web.AppKey("services", Services)


async def zenhire_context(app: web.Application) -> AsyncIterator[None]:
    """Open the shared client (and the persona) at start-up; at shutdown stop every
    background task first, then close the client."""
    async with ZenHireClient() as client:
        persona_id = os.environ.get("ZENHIRE_PERSONA_ID")
        if not persona_id:
            persona_id = (await client.personas.create("Backend Engineer", "en")).id
        services = Services(client, persona_id)
        app[SERVICES] = services
        yield
        for task in list(services.tasks):
            task.cancel()
        await asyncio.gather(*services.tasks, return_exceptions=True)


async def collect_result(services: Services, ref: str) -> None:
    """Background task: wait for the interview to end and store its outcome."""
    interview = services.interviews[ref]
    zh = services.client

    def on_status(session: SessionSummary) -> None:
        interview.status = session.status

    try:
        session = await zh.sessions.await_completion(
            interview.session_id, timeout=WAIT_TIMEOUT, on_status=on_status
        )
        interview.status = session.status
        interview.duration_sec = session.duration_sec
        if session.status == "completed":
            transcript = await zh.sessions.transcript(session.id)
            interview.transcript_turns = len(transcript.turns)
    except LinkExpiredError:
        interview.status = "expired"
    except ZenHireError as exc:  # WaitTimeout, or an API failure that outlasted the retries
        interview.error = f"{type(exc).__name__}: {exc}"


async def start_interview(request: web.Request) -> web.Response:
    """``POST /candidates/{ref}/interview``: mint the link, answer, wait in the background."""
    services = request.app[SERVICES]
    ref = request.match_info["ref"]
    if ref in services.interviews:
        return web.json_response({"error": "already invited"}, status=409)
    try:
        invite = await services.client.sessions.create(
            services.persona_id, consent_mode="explicit", candidate_ref=ref
        )
    except ValueError as exc:  # the ref breaks a documented limit: the caller's mistake
        return web.json_response({"error": str(exc)}, status=400)
    # Store the link before anything else: it is returned only this once.
    services.interviews[ref] = Interview(invite.id, invite.candidate_link)
    services.spawn(collect_result(services, ref))
    body = {"session_id": invite.id, "candidate_link": invite.candidate_link}
    return web.json_response(body, status=201)


async def show_interview(request: web.Request) -> web.Response:
    """``GET /candidates/{ref}/interview``: the stored state."""
    interview = request.app[SERVICES].interviews.get(request.match_info["ref"])
    if interview is None:
        return web.json_response({"error": "not invited"}, status=404)
    return web.json_response(asdict(interview))


def create_app() -> web.Application:
    """The application: routes plus the client's lifetime."""
    app = web.Application()
    app.cleanup_ctx.append(zenhire_context)
    app.router.add_post("/candidates/{ref}/interview", start_interview)
    app.router.add_get("/candidates/{ref}/interview", show_interview)
    return app


def main() -> None:
    """Serve on http://127.0.0.1:8000."""
    web.run_app(create_app(), host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main()
