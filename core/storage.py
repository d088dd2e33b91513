"""State in an embedded SQLite database: cooldowns, a job record, small settings, server
settings and daily image counters.

One connection per process through aiosqlite (the blocking calls run on its own thread).
Claims use ``BEGIN IMMEDIATE`` so that two processes sharing the file cannot both claim
the same user.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from core import journal, quota
from core.cooldown import CooldownState, Decision, after_finish, decide
from core.guild_settings import GuildSettings
from core.journal import InteractionRef
from core.stats import OutcomeCount

log = logging.getLogger(__name__)

_T = TypeVar("_T")

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
    # The job journal: what resuming a job needs. The token is kept only while the job is
    # unfinished; the owner is the process running the job, which holds it until
    # lease_until and renews that while it lives.
    """
    ALTER TABLE jobs ADD COLUMN interaction_id INTEGER;
    ALTER TABLE jobs ADD COLUMN application_id INTEGER;
    ALTER TABLE jobs ADD COLUMN interaction_token TEXT;
    ALTER TABLE jobs ADD COLUMN token_expires_at REAL;
    ALTER TABLE jobs ADD COLUMN reservation TEXT;
    ALTER TABLE jobs ADD COLUMN cooldown_seconds REAL NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN owner TEXT;
    ALTER TABLE jobs ADD COLUMN lease_until REAL;
    ALTER TABLE jobs ADD COLUMN updated_at REAL;
    CREATE INDEX jobs_unfinished ON jobs (created_at) WHERE state != 'done';
    """,
    # The slots of jobs calling the API, shared by every process on the file: a job holds
    # its slot until lease_until, renewed while its process lives.
    """
    CREATE TABLE slots (
        job_id TEXT PRIMARY KEY,
        lease_until REAL NOT NULL
    );
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
    #: The interaction the job answers, while the job is unfinished.
    interaction: InteractionRef | None = None
    #: The images the job reserved, given back (what was not delivered) when it closes.
    reservation: quota.Reservation | None = None
    #: The requester's cooldown once the job is delivered.
    cooldown_seconds: float = 0.0
    #: The process that runs the job, and until when it holds it.
    owner: str | None = None
    lease_until: float | None = None
    #: When the journal entry last changed.
    updated_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.state == journal.DONE


#: Seconds a server's settings read from the file are used again before reading it anew.
#: Changes made through the same store apply at once; this bounds how long another
#: process sharing the file keeps using the settings it read before a change.
SETTINGS_CACHE_SECONDS = 2.0


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
        #: Servers' settings as last read or written here, each with when to read it again.
        self._settings: dict[int, tuple[float, GuildSettings]] = {}
        #: Counts this store's settings changes: a read that a change overtook is not kept.
        self._settings_changes = 0

    async def open(self) -> None:
        """Open (and create or migrate) the database file."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit, so BEGIN IMMEDIATE means what it says.
        self._db = await aiosqlite.connect(self.path, isolation_level=None, timeout=10)
        await self._db.execute("PRAGMA journal_mode=WAL")
        # Under WAL, NORMAL syncs at checkpoints rather than at every commit: a commit stays
        # atomic and survives the process dying or restarting (only a power cut can take
        # back the last few), and claims no longer wait on the disk one after another.
        await self._db.execute("PRAGMA synchronous=NORMAL")
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

    async def _in_thread(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` with the raw connection on the database's own thread.

        aiosqlite runs every call on that one thread, each call a round trip through the
        event loop; ``work`` joins the same queue, so all its statements cost one round
        trip. Under a burst of interactions every round trip waits for a turn of a busy
        loop: what runs before a deferral (settings, claim, quota) is done this way.
        """
        db = self.db
        # aiosqlite 0.22 has no public call for this; its private queue is what every
        # public method uses, and the tests of this module cover it.
        result: _T = await db._execute(work, db._conn)
        return result

    async def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """``work`` as one write transaction, like :meth:`_transaction`, in one round trip."""
        transaction = functools.partial(_immediate, work)
        if not self._lock.locked():
            # No transaction is open across round trips, and the database thread runs what
            # is queued one call at a time: this one cannot interleave with another, so it
            # need not queue for the lock behind the other one-trip writes of a burst.
            return await self._in_thread(transaction)
        async with self._lock:
            return await self._in_thread(transaction)

    # -- cooldowns ---------------------------------------------------------------------

    async def _read_cooldown(self, user_id: int) -> CooldownState:
        return await self._in_thread(functools.partial(_cooldown_of, user_id=user_id))

    async def claim(self, user_id: int, job_id: str) -> Decision:
        """Atomically check the user's cooldown and, if allowed, mark ``job_id`` running."""
        return await self._write(
            functools.partial(self._claim, user_id=user_id, job_id=job_id, exempt=False)
        )

    def _claim(
        self, db: sqlite3.Connection, *, user_id: int, job_id: str, exempt: bool
    ) -> Decision:
        decision, take = self._check_claim(db, user_id=user_id, job_id=job_id, exempt=exempt)
        if decision.allowed:
            take()
        return decision

    def _check_claim(
        self, db: sqlite3.Connection, *, user_id: int, job_id: str, exempt: bool
    ) -> tuple[Decision, Callable[[], None]]:
        """The claim's decision, and what takes it (to call only if it is allowed)."""
        now = self._clock()
        state = _cooldown_of(db, user_id=user_id)
        # An exempt member skips the cooldown, not the one-job-at-a-time rule.
        seen = CooldownState(0.0, state.running_job, state.running_since) if exempt else state
        claimed = CooldownState(state.available_at, running_job=job_id, running_since=now)
        return decide(seen, now), functools.partial(_store_cooldown, db, user_id, claimed)

    async def admit(
        self,
        *,
        user_id: int,
        job_id: str,
        exempt: bool,
        guild_id: int | None,
        images: int,
        user_limit: int,
        guild_limit: int,
    ) -> quota.Admission:
        """``claim`` (or ``claim_exempt``) and ``reserve_images`` in one transaction and
        one round trip: a refused claim reserves nothing, a refused reservation takes no
        claim."""

        def work(db: sqlite3.Connection) -> quota.Admission:
            decision, take = self._check_claim(db, user_id=user_id, job_id=job_id, exempt=exempt)
            if not decision.allowed:
                return quota.Admission(decision)
            reserved = self._reserve(
                db,
                guild_id=guild_id,
                user_id=user_id,
                images=images,
                user_limit=user_limit,
                guild_limit=guild_limit,
            )
            if reserved.allowed:
                take()
            return quota.Admission(decision, reserved)

        return await self._write(work)

    async def release(
        self, user_id: int, job_id: str, *, delivered: bool, cooldown_seconds: float
    ) -> None:
        """End ``job_id``'s claim; a delivered job starts the user's cooldown."""

        def work(db: sqlite3.Connection) -> None:
            state = _cooldown_of(db, user_id=user_id)
            new_state = after_finish(
                state, job_id, delivered=delivered, cooldown_seconds=cooldown_seconds
            )
            if new_state != state:
                _store_cooldown(db, user_id, new_state)

        await self._write(work)

    async def cooldown_state(self, user_id: int) -> CooldownState:
        return await self._read_cooldown(user_id)

    async def claim_exempt(self, user_id: int, job_id: str) -> Decision:
        """Like ``claim`` for a member exempt from the cooldown: only one job at a time
        holds. The stored cooldown is kept for when the exemption ends."""
        return await self._write(
            functools.partial(self._claim, user_id=user_id, job_id=job_id, exempt=True)
        )

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
        def work(db: sqlite3.Connection) -> None:
            db.execute(
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

        await self._write(work)

    async def finish_job(
        self,
        job_id: str,
        *,
        outcome: str,
        images: int = 0,
        cost_usd_ticks: int | None = None,
        message_ids: Sequence[int] = (),
    ) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
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

        await self._write(work)

    async def get_job(self, job_id: str) -> JobRecord | None:
        async with self.db.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?",  # noqa: S608 (constant columns)
            (job_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _job_from_row(row)

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

    # -- job journal -------------------------------------------------------------------
    #
    # Each method is one atomic step, so that another store (shared by several processes)
    # can offer the same ones with the same meaning.

    async def journal_job(
        self,
        job_id: str,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        prompt: str,
        params: dict[str, Any],
        locale: str | None,
        interaction: InteractionRef,
        reservation: quota.Reservation | None,
        cooldown_seconds: float,
        owner: str,
        state: str = journal.ACCEPTED,
        lease_seconds: float = journal.LEASE_SECONDS,
    ) -> None:
        """Write an accepted job to the journal, held by ``owner``, before its API call."""
        if state not in journal.UNFINISHED:
            raise ValueError(f"a job is journaled unfinished, not {state!r}")
        now = self._clock()

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO jobs (id, user_id, guild_id, channel_id, prompt, params, state,"
                " created_at, locale, interaction_id, application_id, interaction_token,"
                " token_expires_at, reservation, cooldown_seconds, owner, lease_until,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    user_id,
                    guild_id,
                    channel_id,
                    prompt,
                    json.dumps(params),
                    state,
                    now,
                    locale,
                    interaction.interaction_id,
                    interaction.application_id,
                    interaction.token,
                    interaction.expires_at,
                    _reservation_json(reservation),
                    cooldown_seconds,
                    owner,
                    now + lease_seconds,
                    now,
                ),
            )

        await self._write(work)

    async def journal_state(self, job_id: str, state: str) -> bool:
        """Move an unfinished job to ``state``; False if it is closed or unknown."""
        if state not in journal.UNFINISHED:
            raise ValueError(f"use close_job to finish a job, not state {state!r}")

        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE jobs SET state = ?, updated_at = ? WHERE id = ? AND state != 'done'",
                (state, self._clock(), job_id),
            )
            return cursor.rowcount == 1

        return await self._write(work)

    async def close_job(
        self,
        job_id: str,
        *,
        outcome: str,
        images: int = 0,
        cost_usd_ticks: int | None = None,
        message_ids: Sequence[int] = (),
    ) -> bool:
        """Close an unfinished job with its outcome and forget its token.

        True if this call closed it; False if it was already closed (by another process,
        say) or is unknown, so that a job is closed, refunded and told about only once.
        """
        now = self._clock()

        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE jobs SET state = 'done', outcome = ?, images = ?, cost_usd_ticks = ?,"
                " finished_at = ?, message_ids = ?, interaction_token = NULL, owner = NULL,"
                " lease_until = NULL, updated_at = ? WHERE id = ? AND state != 'done'",
                (
                    outcome,
                    images,
                    cost_usd_ticks,
                    now,
                    json.dumps(list(message_ids)) if message_ids else None,
                    now,
                    job_id,
                ),
            )
            return cursor.rowcount == 1

        return await self._write(work)

    async def unfinished_jobs(self) -> list[JobRecord]:
        """Every job not closed yet, oldest first, whoever holds it."""
        async with self.db.execute(
            # The column list is a constant: nothing from outside is formatted into SQL.
            f"SELECT {_JOB_COLUMNS} FROM jobs"  # noqa: S608
            " WHERE state != 'done' ORDER BY created_at, id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [_job_from_row(row) for row in rows]

    async def adopt_jobs(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> list[JobRecord]:
        """Take every unfinished job that no live process holds; return them, oldest first.

        A job is free when its owner handed it back (:meth:`release_jobs`) or let its hold
        run out (the process died). Two processes adopting at once never get the same job.
        """
        now = self._clock()
        async with self._transaction() as db:
            async with db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state != 'done'"  # noqa: S608
                " AND (owner IS NULL OR lease_until IS NULL OR lease_until < ?)"
                " ORDER BY created_at, id",
                (now,),
            ) as cursor:
                rows = await cursor.fetchall()
            adopted = [_job_from_row(row) for row in rows]
            await db.executemany(
                "UPDATE jobs SET owner = ?, lease_until = ?, updated_at = ? WHERE id = ?",
                [(owner, now + lease_seconds, now, job.id) for job in adopted],
            )
        return [
            dataclasses.replace(job, owner=owner, lease_until=now + lease_seconds)
            for job in adopted
        ]

    async def renew_leases(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> int:
        """Extend ``owner``'s hold on its unfinished jobs; how many it holds."""
        now = self._clock()
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE jobs SET lease_until = ? WHERE owner = ? AND state != 'done'",
                (now + lease_seconds, owner),
            )
            return cursor.rowcount

    async def release_jobs(self, owner: str) -> int:
        """Hand back ``owner``'s unfinished jobs (at shutdown), free for the next process."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE jobs SET owner = NULL, lease_until = NULL, updated_at = ?"
                " WHERE owner = ? AND state != 'done'",
                (self._clock(), owner),
            )
            return cursor.rowcount

    # -- API slots shared by every process ---------------------------------------------

    async def acquire_slot(self, job_id: str, *, cap: int, lease_seconds: float) -> bool:
        """Take one of ``cap`` slots for ``job_id`` if one is free, after dropping the
        slots whose lease ran out; a job already holding one keeps it (renewed)."""
        now = self._clock()
        async with self._transaction() as db:
            await db.execute("DELETE FROM slots WHERE lease_until < ?", (now,))
            cursor = await db.execute(
                "UPDATE slots SET lease_until = ? WHERE job_id = ?",
                (now + lease_seconds, job_id),
            )
            if cursor.rowcount == 1:
                return True
            async with db.execute("SELECT COUNT(*) FROM slots") as counted:
                row = await counted.fetchone()
            if row is not None and int(row[0]) >= cap:
                return False
            await db.execute(
                "INSERT INTO slots (job_id, lease_until) VALUES (?, ?)",
                (job_id, now + lease_seconds),
            )
            return True

    async def release_slot(self, job_id: str) -> None:
        """Free ``job_id``'s slot; nothing if it holds none."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM slots WHERE job_id = ?", (job_id,))

    async def renew_slots(self, job_ids: Sequence[str], *, lease_seconds: float) -> None:
        """Extend the lease of the slots these jobs hold."""
        if not job_ids:
            return
        until = self._clock() + lease_seconds
        async with self._transaction() as db:
            await db.executemany(
                "UPDATE slots SET lease_until = ? WHERE job_id = ?",
                [(until, job_id) for job_id in job_ids],
            )

    # -- server settings ---------------------------------------------------------------

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """A server's settings; the defaults for a server that never changed any.

        Kept for :data:`SETTINGS_CACHE_SECONDS` after each read, so a burst of interactions
        in one server reads the file once: every change made through this store applies at
        once; one made by another process sharing the file, within that time.
        """
        cached = self._settings.get(guild_id)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        changes = self._settings_changes
        rows = list(
            await self.db.execute_fetchall(
                "SELECT document FROM guild_settings WHERE guild_id = ?", (guild_id,)
            )
        )
        settings = GuildSettings.from_json(str(rows[0][0]) if rows else None)
        if changes == self._settings_changes:
            self._settings[guild_id] = (time.monotonic() + SETTINGS_CACHE_SECONDS, settings)
        return settings

    async def update_guild_settings(
        self, guild_id: int, change: Callable[[GuildSettings], GuildSettings]
    ) -> tuple[GuildSettings, GuildSettings]:
        """Apply ``change`` to a server's settings atomically; returns (before, after).

        ``change`` runs inside the transaction: two admins changing settings at once both
        see their change kept. An exception from ``change`` leaves the settings as they were.
        """
        self._settings_changes += 1
        self._settings.pop(guild_id, None)
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
        # Counted again once written: a read begun while the change ran is not kept either.
        self._settings_changes += 1
        self._settings.pop(guild_id, None)
        return before, after

    # -- daily image counters ----------------------------------------------------------

    async def _read_usage(self, day: str, scope: str) -> int:
        return await self._in_thread(functools.partial(_usage_of, day=day, scope=scope))

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

        return await self._write(
            functools.partial(
                self._reserve,
                guild_id=guild_id,
                user_id=user_id,
                images=images,
                user_limit=user_limit,
                guild_limit=guild_limit,
            )
        )

    def _reserve(
        self,
        db: sqlite3.Connection,
        *,
        guild_id: int | None,
        user_id: int,
        images: int,
        user_limit: int,
        guild_limit: int,
    ) -> quota.QuotaDecision:
        now = self._clock()
        day = quota.day_key(now)
        if self._pruned_day != day:
            db.execute(
                "DELETE FROM usage WHERE day < ?",
                (quota.day_key(now - quota.KEEP_DAYS * quota.SECONDS_PER_DAY),),
            )
            self._pruned_day = day
        user = quota.user_scope(guild_id, user_id)
        server = None if guild_id is None else quota.guild_scope(guild_id)
        decision = quota.decide(
            images,
            user_used=_usage_of(db, day=day, scope=user),
            user_limit=user_limit,
            guild_used=0 if server is None else _usage_of(db, day=day, scope=server),
            guild_limit=0 if server is None else guild_limit,
            resets_at=quota.next_reset(now),
        )
        if not decision.allowed:
            return decision
        _add_usage(db, day, user, images)
        if server is not None:
            _add_usage(db, day, server, images)
        reservation = quota.Reservation(day, user, server, images)
        return quota.QuotaDecision(
            decision.verdict, resets_at=decision.resets_at, reservation=reservation
        )

    async def refund_images(self, reservation: quota.Reservation, images: int) -> None:
        """Give back ``images`` of a reservation, to the day it was made on."""
        images = min(images, reservation.images)
        if images <= 0:
            return

        def work(db: sqlite3.Connection) -> None:
            _add_usage(db, reservation.day, reservation.user_scope, -images)
            if reservation.guild_scope is not None:
                _add_usage(db, reservation.day, reservation.guild_scope, -images)

        await self._write(work)

    async def usage_today(self, guild_id: int | None, user_id: int) -> quota.Usage:
        """Today's counters of a member where they are, and when they start again."""
        now = self._clock()
        day = quota.day_key(now)
        user = await self._read_usage(day, quota.user_scope(guild_id, user_id))
        server = 0 if guild_id is None else await self._read_usage(day, quota.guild_scope(guild_id))
        return quota.Usage(day, user, server, quota.next_reset(now))


# -- statements run on the database thread (see SqliteStore._in_thread) -----------------


def _immediate(work: Callable[[sqlite3.Connection], _T], db: sqlite3.Connection) -> _T:
    """``work`` between ``BEGIN IMMEDIATE`` and ``COMMIT``; ``ROLLBACK`` if it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def _cooldown_of(db: sqlite3.Connection, *, user_id: int) -> CooldownState:
    row = db.execute(
        "SELECT available_at, running_job, running_since FROM cooldowns WHERE user_id = ?",
        (user_id,),
    ).fetchone()
    if row is None:
        return CooldownState()
    return CooldownState(available_at=row[0], running_job=row[1], running_since=row[2])


def _store_cooldown(db: sqlite3.Connection, user_id: int, state: CooldownState) -> None:
    db.execute(
        "INSERT INTO cooldowns (user_id, available_at, running_job, running_since)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET"
        " available_at = excluded.available_at, running_job = excluded.running_job,"
        " running_since = excluded.running_since",
        (user_id, state.available_at, state.running_job, state.running_since),
    )


def _usage_of(db: sqlite3.Connection, *, day: str, scope: str) -> int:
    row = db.execute(
        "SELECT images FROM usage WHERE day = ? AND scope = ?", (day, scope)
    ).fetchone()
    return 0 if row is None else int(row[0])


def _add_usage(db: sqlite3.Connection, day: str, scope: str, images: int) -> None:
    db.execute(
        "INSERT INTO usage (day, scope, images) VALUES (?, ?, ?)"
        " ON CONFLICT(day, scope) DO UPDATE SET images = MAX(0, images + excluded.images)",
        (day, scope, images),
    )


# -- job rows -------------------------------------------------------------------------

_JOB_COLUMNS = (
    "id, user_id, guild_id, channel_id, prompt, params, state, outcome, images,"
    " cost_usd_ticks, created_at, finished_at, locale, message_ids, interaction_id,"
    " application_id, interaction_token, token_expires_at, reservation, cooldown_seconds,"
    " owner, lease_until, updated_at"
)


def _reservation_json(reservation: quota.Reservation | None) -> str | None:
    if reservation is None:
        return None
    return json.dumps(
        {
            "day": reservation.day,
            "user_scope": reservation.user_scope,
            "guild_scope": reservation.guild_scope,
            "images": reservation.images,
        }
    )


def _reservation_of(raw: object) -> quota.Reservation | None:
    if not raw:
        return None
    data = json.loads(str(raw))
    return quota.Reservation(
        day=str(data["day"]),
        user_scope=str(data["user_scope"]),
        guild_scope=None if data.get("guild_scope") is None else str(data["guild_scope"]),
        images=int(data["images"]),
    )


def _job_from_row(row: Sequence[Any]) -> JobRecord:
    interaction = None
    if row[14] is not None and row[15] is not None and row[16] and row[17] is not None:
        interaction = InteractionRef(
            interaction_id=int(row[14]),
            application_id=int(row[15]),
            token=str(row[16]),
            expires_at=float(row[17]),
        )
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
        interaction=interaction,
        reservation=_reservation_of(row[18]),
        cooldown_seconds=float(row[19] or 0.0),
        owner=row[20],
        lease_until=row[21],
        updated_at=row[22],
    )
