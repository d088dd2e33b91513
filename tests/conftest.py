"""Fixtures shared by every test folder: a real Redis server for the Redis store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import SKIP_REASON, RedisServer, find_binary, start_redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One ``redis-server`` for the whole run, on a free 127.0.0.1 port; skips without it."""
    binary = find_binary()
    if binary is None:
        pytest.skip(SKIP_REASON)
    server = start_redis(binary, tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's URL, emptied for this test."""
    redis_server.flush()
    return redis_server.url
