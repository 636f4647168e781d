"""Quickstart: one persona, one candidate, wait for the interview, read the results.

Run it against the emulator (no account needed), in two terminals:

    zenhire emulator --simulate          # prints the two export lines
    export ZENHIRE_BASE_URL=http://127.0.0.1:8080 ZENHIRE_API_KEY=zh_api_…
    python examples/quickstart.py

Against the real platform, export your own key and leave ``ZENHIRE_BASE_URL`` unset.
"""

from __future__ import annotations

import asyncio

from zenhire_async import LinkExpiredError, WaitTimeout, ZenHireClient


async def main() -> None:
    """Invite one candidate and report how the interview went."""
    async with ZenHireClient() as zh:  # $ZENHIRE_API_KEY, $ZENHIRE_BASE_URL
        persona = await zh.personas.create("Senior Backend Engineer", "en")
        invite = await zh.sessions.create(
            persona.id, consent_mode="explicit", candidate_ref="ats-123", tags=["quickstart"]
        )
        # The link is returned once: store it before anything else, then send it.
        print("Send this to the candidate:", invite.candidate_link)
        print("It stops working at", invite.expires_at.isoformat())

        try:
            session = await zh.sessions.await_completion(
                invite.id, timeout=3600, on_status=lambda s: print("status:", s.status)
            )
        except WaitTimeout as exc:
            print("still not finished after an hour; last seen:", exc.last and exc.last.status)
            return
        except LinkExpiredError:
            print("the candidate never opened the link; mint a new one if still wanted")
            return

        print(f"{session.status}: {session.duration_sec}s, {session.credit_charged} credits")
        if session.status == "completed":
            transcript = await zh.sessions.transcript(invite.id)
            for turn in transcript.turns:
                print(f"  {turn.speaker}: {turn.text}")
            nbytes = await zh.sessions.download_recording(invite.id, "interview.wav")
            print(f"Saved the recording to interview.wav ({nbytes} bytes)")


if __name__ == "__main__":
    asyncio.run(main())
