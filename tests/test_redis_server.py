"""The suite's own ``redis-server`` (tests/redis_support.py): there, loopback, no persistence."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from redis_support import RedisServer, start_redis

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]


async def test_the_session_server_answers_on_loopback_without_persistence(
    redis_server: RedisServer,
) -> None:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert await client.ping()
        assert await client.config_get("save") == {"save": ""}
        assert await client.config_get("appendonly") == {"appendonly": "no"}
        assert await client.config_get("bind") == {"bind": "127.0.0.1"}
    finally:
        await client.aclose()


def _running(server: RedisServer) -> bool:
    return server.process is not None and server.process.poll() is None


def test_a_private_server_stops_and_restarts_on_its_port() -> None:
    with start_redis() as server:
        assert _running(server)
        server.stop()
        assert not _running(server)
        server.restart()
        assert _running(server)
    assert not _running(server)
