"""Everything the bot keeps, behind one interface, in SQLite or in Redis.

* :mod:`core.storage.interface`: the :class:`Store` interface, grouped by role;
* :mod:`core.storage.records`: :class:`JobRecord`, how a job is written and read, and the
  small rules both backends apply alike;
* :mod:`core.storage.base`: the methods both backends share, on top of their atomic steps;
* :mod:`core.storage.sqlite_store` and :mod:`core.storage.redis_store`: the backends (the
  Redis scripts are the ``.lua`` files in ``lua/``);
* :mod:`core.storage.liveness`: the lock files by which processes sharing one SQLite file
  know at once that another one died.
"""

from __future__ import annotations

from pathlib import Path

from core.storage.interface import Store, StoreUnavailable
from core.storage.records import AdmitRequest, JobRecord
from core.storage.redis_store import RedisStore
from core.storage.sqlite_store import SqliteStore

__all__ = [
    "AdmitRequest",
    "JobRecord",
    "RedisStore",
    "SqliteStore",
    "Store",
    "StoreUnavailable",
    "make_store",
]


def make_store(database_path: Path, redis_url: str | None) -> Store:
    """The backend the settings choose: Redis when a URL is given, else the SQLite file.

    Not opened yet: the caller awaits ``open()``.
    """
    if redis_url:
        return RedisStore(redis_url)
    return SqliteStore(database_path)
