"""State in an embedded SQLite database: cooldowns, a job record, small settings, server
settings and daily image counters.

One connection per process through aiosqlite (the blocking calls run on its own thread).
Claims use ``BEGIN IMMEDIATE`` so that two processes sharing the file cannot both claim
the same user.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from core import quota
from core.cooldown import CooldownState, Decision, after_finish, decide
from core.guild_settings import GuildSettings
from core.stats import OutcomeCount

log = logging.getLogger(__name__)

#: Each entry moves the schema one version up; ``PRAGMA user_version`` says where a file is.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE cooldowns (
        user_id INTEGER PRIMARY KEY,
        available_at REAL NOT NULL DEFAULT 0,
        running_job TEXT,
        running_since REAL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        guild_id INTEGER,
        channel_id INTEGER,
        prompt TEXT NOT NULL,
        params TEXT NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT,
        images INTEGER NOT NULL DEFAULT 0,
        cost_usd_ticks INTEGER,
        created_at REAL NOT NULL,
        finished_at REAL
    );
    CREATE INDEX jobs_by_guild_time ON jobs (guild_id, created_at);
    """,
    """
    CREATE TABLE guild_settings (
        guild_id INTEGER PRIMARY KEY,
        document TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE usage (
        day TEXT NOT NULL,
        scope TEXT NOT NULL,
        images INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, scope)
    ) WITHOUT ROWID;
    ALTER TABLE jobs ADD COLUMN locale TEXT;
    ALTER TABLE jobs ADD COLUMN message_ids TEXT;
    """,
)


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    user_id: int
    guild_id: int | None
    channel_id: int | None
    prompt: str
    params: dict[str, Any]
    state: str
    outcome: str | None
    images: int
    cost_usd_ticks: int | None
    created_at: float
    finished_at: float | None
    #: The requester's Discord locale, e.g. ``zh-CN``.
    locale: str | None = None
    #: The result messages, in the job's channel, in order.
    message_ids: tuple[int, ...] = ()


class SqliteStore:
    """The bot's state in one SQLite file."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        # One connection serves every coroutine: transactions on it must not interleave.
        self._lock = asyncio.Lock()
        #: The last day old usage counters were removed on (once a day is enough).
        self._pruned_day: str | None = None

    async def open(self) -> None:
        """Open (and create or migrate) the database file."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit, so BEGIN IMMEDIATE means what it says.
        self._db = await aiosqlite.connect(self.path, isolation_level=None, timeout=10)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA busy_timeout=10000")
        await self._migrate()

    async def close(self) -> None:
        """Close the database; safe to call more than once."""
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    async def _migrate(self) -> None:
        # Inside one write transaction, so two processes starting together migrate once.
        async with self._transaction() as db:
            async with db.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
                log.info("database %s migrated to schema version %d", self.path, number)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction, exclusive within this process and across processes."""
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    # -- cooldowns ---------------------------------------------------------------------

    async def _read_cooldown(self, user_id: int) -> CooldownState:
        async with self.db.execute(
            "SELECT available_at, running_job, running_since FROM cooldowns WHERE user_id = ?",
            (user_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return CooldownState()
        return CooldownState(available_at=row[0], running_job=row[1], running_since=row[2])

    async def _write_cooldown(self, user_id: int, state: CooldownState) -> None:
        await self.db.execute(
            "INSERT INTO cooldowns (user_id, available_at, running_job, running_since)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET"
            " available_at = excluded.available_at, running_job = excluded.running_job,"
            " running_since = excluded.running_since",
            (user_id, state.available_at, state.running_job, state.running_since),
        )

    async def claim(self, user_id: int, job_id: str) -> Decision:
        """Atomically check the user's cooldown and, if allowed, mark ``job_id`` running."""
        async with self._transaction():
            now = self._clock()
            state = await self._read_cooldown(user_id)
            decision = decide(state, now)
            if decision.allowed:
                await self._write_cooldown(
                    user_id,
                    CooldownState(state.available_at, running_job=job_id, running_since=now),
                )
        return decision

    async def release(
        self, user_id: int, job_id: str, *, delivered: bool, cooldown_seconds: float
    ) -> None:
        """End ``job_id``'s claim; a delivered job starts the user's cooldown."""
        async with self._transaction():
            state = await self._read_cooldown(user_id)
            new_state = after_finish(
                state, job_id, delivered=delivered, cooldown_seconds=cooldown_seconds
            )
            if new_state != state:
                await self._write_cooldown(user_id, new_state)

    async def cooldown_state(self, user_id: int) -> CooldownState:
        return await self._read_cooldown(user_id)

    async def claim_exempt(self, user_id: int, job_id: str) -> Decision:
        """Like ``claim`` for a member exempt from the cooldown: only one job at a time
        holds. The stored cooldown is kept for when the exemption ends."""
        async with self._transaction():
            now = self._clock()
            state = await self._read_cooldown(user_id)
            decision = decide(CooldownState(0.0, state.running_job, state.running_since), now)
            if decision.allowed:
                await self._write_cooldown(
                    user_id,
                    CooldownState(state.available_at, running_job=job_id, running_since=now),
                )
        return decision

    # -- small settings ----------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        async with self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- job record --------------------------------------------------------------------

    async def record_job(
        self,
        job_id: str,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        prompt: str,
        params: dict[str, Any],
        locale: str | None = None,
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO jobs (id, user_id, guild_id, channel_id, prompt, params, state,"
                " created_at, locale) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (
                    job_id,
                    user_id,
                    guild_id,
                    channel_id,
                    prompt,
                    json.dumps(params),
                    self._clock(),
                    locale,
                ),
            )

    async def finish_job(
        self,
        job_id: str,
        *,
        outcome: str,
        images: int = 0,
        cost_usd_ticks: int | None = None,
        message_ids: Sequence[int] = (),
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE jobs SET state = 'done', outcome = ?, images = ?, cost_usd_ticks = ?,"
                " finished_at = ?, message_ids = ? WHERE id = ?",
                (
                    outcome,
                    images,
                    cost_usd_ticks,
                    self._clock(),
                    json.dumps(list(message_ids)) if message_ids else None,
                    job_id,
                ),
            )

    async def get_job(self, job_id: str) -> JobRecord | None:
        async with self.db.execute(
            "SELECT id, user_id, guild_id, channel_id, prompt, params, state, outcome, images,"
            " cost_usd_ticks, created_at, finished_at, locale, message_ids FROM jobs WHERE id = ?",
            (job_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return JobRecord(
            id=row[0],
            user_id=row[1],
            guild_id=row[2],
            channel_id=row[3],
            prompt=row[4],
            params=json.loads(row[5]),
            state=row[6],
            outcome=row[7],
            images=row[8],
            cost_usd_ticks=row[9],
            created_at=row[10],
            finished_at=row[11],
            locale=row[12],
            message_ids=tuple(int(i) for i in json.loads(row[13])) if row[13] else (),
        )

    async def job_stats(self, guild_id: int, since: float) -> list[OutcomeCount]:
        """Finished jobs of a server since ``since``, summed per outcome."""
        async with self.db.execute(
            "SELECT outcome, COUNT(*), SUM(images), SUM(cost_usd_ticks) FROM jobs"
            " WHERE guild_id = ? AND created_at >= ? AND outcome IS NOT NULL GROUP BY outcome",
            (guild_id, since),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            OutcomeCount(
                outcome=str(row[0]),
                jobs=int(row[1]),
                images=int(row[2] or 0),
                cost_usd_ticks=None if row[3] is None else int(row[3]),
            )
            for row in rows
        ]

    # -- server settings ---------------------------------------------------------------

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """A server's settings; the defaults for a server that never changed any."""
        async with self.db.execute(
            "SELECT document FROM guild_settings WHERE guild_id = ?", (guild_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return GuildSettings.from_json(None if row is None else str(row[0]))

    async def update_guild_settings(
        self, guild_id: int, change: Callable[[GuildSettings], GuildSettings]
    ) -> tuple[GuildSettings, GuildSettings]:
        """Apply ``change`` to a server's settings atomically; returns (before, after).

        ``change`` runs inside the transaction: two admins changing settings at once both
        see their change kept. An exception from ``change`` leaves the settings as they were.
        """
        async with self._transaction() as db:
            async with db.execute(
                "SELECT document FROM guild_settings WHERE guild_id = ?", (guild_id,)
            ) as cursor:
                row = await cursor.fetchone()
            before = GuildSettings.from_json(None if row is None else str(row[0]))
            after = change(before)
            if after != before or after.extra != before.extra:
                await db.execute(
                    "INSERT INTO guild_settings (guild_id, document, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(guild_id) DO UPDATE SET document = excluded.document,"
                    " updated_at = excluded.updated_at",
                    (guild_id, after.to_json(), self._clock()),
                )
        return before, after

    # -- daily image counters ----------------------------------------------------------

    async def _read_usage(self, day: str, scope: str) -> int:
        async with self.db.execute(
            "SELECT images FROM usage WHERE day = ? AND scope = ?", (day, scope)
        ) as cursor:
            row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    async def _add_usage(self, day: str, scope: str, images: int) -> None:
        await self.db.execute(
            "INSERT INTO usage (day, scope, images) VALUES (?, ?, ?)"
            " ON CONFLICT(day, scope) DO UPDATE SET images = MAX(0, images + excluded.images)",
            (day, scope, images),
        )

    async def reserve_images(
        self,
        *,
        guild_id: int | None,
        user_id: int,
        images: int,
        user_limit: int,
        guild_limit: int,
    ) -> quota.QuotaDecision:
        """Count ``images`` against today's member and server counters if both allow it.

        Checked and counted in one transaction, so parallel requests never overshoot a
        limit. A limit of 0 is no limit (the images are still counted). In a direct message
        (``guild_id`` None) only the member's counter applies.
        """
        async with self._transaction():
            now = self._clock()
            day = quota.day_key(now)
            if self._pruned_day != day:
                await self.db.execute(
                    "DELETE FROM usage WHERE day < ?",
                    (quota.day_key(now - quota.KEEP_DAYS * quota.SECONDS_PER_DAY),),
                )
                self._pruned_day = day
            user = quota.user_scope(guild_id, user_id)
            server = None if guild_id is None else quota.guild_scope(guild_id)
            decision = quota.decide(
                images,
                user_used=await self._read_usage(day, user),
                user_limit=user_limit,
                guild_used=0 if server is None else await self._read_usage(day, server),
                guild_limit=0 if server is None else guild_limit,
                resets_at=quota.next_reset(now),
            )
            if not decision.allowed:
                return decision
            await self._add_usage(day, user, images)
            if server is not None:
                await self._add_usage(day, server, images)
        reservation = quota.Reservation(day, user, server, images)
        return quota.QuotaDecision(
            decision.verdict, resets_at=decision.resets_at, reservation=reservation
        )

    async def refund_images(self, reservation: quota.Reservation, images: int) -> None:
        """Give back ``images`` of a reservation, to the day it was made on."""
        images = min(images, reservation.images)
        if images <= 0:
            return
        async with self._transaction():
            await self._add_usage(reservation.day, reservation.user_scope, -images)
            if reservation.guild_scope is not None:
                await self._add_usage(reservation.day, reservation.guild_scope, -images)

    async def usage_today(self, guild_id: int | None, user_id: int) -> quota.Usage:
        """Today's counters of a member where they are, and when they start again."""
        now = self._clock()
        day = quota.day_key(now)
        user = await self._read_usage(day, quota.user_scope(guild_id, user_id))
        server = 0 if guild_id is None else await self._read_usage(day, quota.guild_scope(guild_id))
        return quota.Usage(day, user, server, quota.next_reset(now))
