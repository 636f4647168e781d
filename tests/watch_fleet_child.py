"""A process of the fleet for ``test_redis_watch``: awaits the given sessions through a
``RedisCoordinator`` and prints one line per event of note, flushed, for the parent:
``leading`` when it gains the watcher's leadership, ``done <id> <status>`` per completion.

    python watch_fleet_child.py BASE_URL API_KEY REDIS_URL SESSION_ID...
"""

from __future__ import annotations

import sys

import anyio

from zenhire_async import ZenHireClient, events
from zenhire_async.redis import RedisCoordinator


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(base_url: str, api_key: str, redis_url: str, ids: list[str]) -> None:
    def hook(event: events.Event) -> None:
        if isinstance(event, events.LeaderChanged):
            _say("leading" if event.leading else "not leading")

    async with (
        RedisCoordinator(redis_url) as coordinator,
        ZenHireClient(
            api_key=api_key,
            base_url=base_url,
            allow_insecure_http=True,
            rate_limit_per_minute=600,
            coordinator=coordinator,
            on_event=hook,
        ) as zh,
    ):

        async def one(session_id: str) -> None:
            detail = await zh.sessions.await_completion(session_id)
            _say(f"done {detail.id} {detail.status}")

        async with anyio.create_task_group() as tg:
            for session_id in ids:
                tg.start_soon(one, session_id)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
