"""Each job-service test runs on both real stores: SQLite on a temporary file, and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from core.storage import RedisStore, SqliteStore, Store


class Backend:
    """Opens stores on one backend; two stores on it stand for two processes (or one
    process before and after a restart)."""

    def __init__(self, make: Callable[[], Store]) -> None:
        self._make = make
        self._opened: list[Store] = []

    async def open(self) -> Store:
        store = self._make()
        await store.open()
        self._opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self._opened:
            await store.close()


@pytest_asyncio.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "jobs.sqlite3"
        backend = Backend(lambda: SqliteStore(path))
    else:
        url: str = request.getfixturevalue("redis_url")
        backend = Backend(lambda: RedisStore(url, prefix="jobs:"))
    yield backend
    await backend.close_all()


@pytest_asyncio.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()
