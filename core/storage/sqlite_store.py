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
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from core import journal, quota, stats
from core.cooldown import CooldownState, Decision, after_finish
from core.guild_settings import GuildSettings
from core.moderation import AttemptLimit, BlockedAttempts, note_attempt
from core.stats import OutcomeCount
from core.storage import liveness, records
from core.storage.base import BaseStore
from core.storage.liveness import OwnerLocks, owners_folder
from core.storage.records import FieldValue, JobRecord

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
    # Members' blocked prompts per server: the recent attempts (exact times, spaced) and
    # the end of a pause; a row is dropped once expires_at passes.
    """
    CREATE TABLE blocked_attempts (
        guild_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        times TEXT NOT NULL DEFAULT '',
        paused_until REAL NOT NULL DEFAULT 0,
        expires_at REAL NOT NULL,
        PRIMARY KEY (guild_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX blocked_attempts_expiry ON blocked_attempts (expires_at);
    """,
    # Daily totals per server and outcome, kept as jobs close, so that the usage figures
    # outlive the job records (removed after JOB_RETENTION_DAYS); filled from the records
    # there are. The day is the UTC day the job was made on, as quota.day_key writes it.
    """
    CREATE TABLE job_totals (
        day TEXT NOT NULL,
        guild_id INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        jobs INTEGER NOT NULL DEFAULT 0,
        images INTEGER NOT NULL DEFAULT 0,
        cost INTEGER NOT NULL DEFAULT 0,
        costed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, guild_id, outcome)
    ) WITHOUT ROWID;
    INSERT INTO job_totals (day, guild_id, outcome, jobs, images, cost, costed)
        SELECT date(created_at, 'unixepoch'), guild_id, outcome, COUNT(*),
            COALESCE(SUM(images), 0), COALESCE(SUM(cost_usd_ticks), 0), COUNT(cost_usd_ticks)
        FROM jobs WHERE guild_id IS NOT NULL AND outcome IS NOT NULL
        GROUP BY date(created_at, 'unixepoch'), guild_id, outcome;
    CREATE INDEX jobs_by_time ON jobs (created_at);
    """,
    # A claim is renewed while its job lives (waiting in line included): it counts as stale
    # only once neither its start nor its last renewal is recent.
    """
    ALTER TABLE cooldowns ADD COLUMN claim_renewed_at REAL;
    """,
)


#: Seconds a server's settings read from the file are used again before reading it anew.
#: Changes made through the same store apply at once; this bounds how long another
#: process sharing the file keeps using the settings it read before a change.
SETTINGS_CACHE_SECONDS = 2.0
#: Job records removed per transaction by the retention pass.
PRUNE_BATCH = 1000


class SqliteStore(BaseStore):
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
        #: Journal records found unreadable (logged once each, never adopted).
        self._unreadable: set[str] = set()
        #: This process's lock as the journal's owner, and the means to see others' (none
        #: for a database in memory, which no other process can share).
        self._owners = (
            OwnerLocks(owners_folder(self.path))
            if liveness.AVAILABLE and str(self.path) != ":memory:"
            else None
        )

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
        await self._forget_ended_owners()

    async def close(self) -> None:
        """Close the database; safe to call more than once."""
        if self._db is not None and self._owners is not None:
            await self._release_owners()
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

    def _check_claim(
        self, db: sqlite3.Connection, *, user_id: int, job_id: str, exempt: bool
    ) -> tuple[Decision, Callable[[], None]]:
        """The claim's decision, and what takes it (to call only if it is allowed)."""
        now = self._clock()
        state = _cooldown_of(db, user_id=user_id)
        claimed = CooldownState(state.available_at, running_job=job_id, running_since=now)
        decision = records.claim_decision(
            state, now, exempt=exempt, renewed_at=_claim_renewed_at(db, user_id)
        )
        return decision, functools.partial(_store_cooldown, db, user_id, claimed)

    async def admit(self, request: records.AdmitRequest) -> quota.Admission:
        """The claim and the reservation in one transaction and one round trip: a refused
        claim reserves nothing, a refused reservation takes no claim; a paused member is
        refused first."""
        guild_id, user_id = request.guild_id, request.user_id

        def work(db: sqlite3.Connection) -> quota.Admission:
            if guild_id is not None:
                paused_until = _paused_until(db, guild_id, user_id)
                if paused_until > self._clock():
                    return records.paused_admission(paused_until)
            decision, take = self._check_claim(
                db, user_id=user_id, job_id=request.job_id, exempt=request.exempt
            )
            if not decision.allowed:
                return quota.Admission(decision)
            reserved = self._reserve(db, request)
            if reserved.allowed:
                take()
            return quota.Admission(decision, reserved)

        return await self._write(work)

    async def end_claim(
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
        return await self._in_thread(functools.partial(_cooldown_of, user_id=user_id))

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

    # -- job records (the rest is shared: core.storage.base) ---------------------------

    async def _insert_job(self, fields: Mapping[str, FieldValue]) -> None:
        # The names come from core.storage.records, never from outside: only the values
        # are parameters.
        names = ", ".join(fields)
        marks = ", ".join("?" * len(fields))
        statement = f"INSERT INTO jobs ({names}) VALUES ({marks})"  # noqa: S608

        def work(db: sqlite3.Connection) -> None:
            db.execute(statement, tuple(fields.values()))
            if fields.get("state") == journal.DONE:
                _count_recorded(db, fields)

        await self._write(work)

    async def _finish(
        self, job_id: str, done: Mapping[str, FieldValue], *, closing: bool, now: float
    ) -> bool:
        changes = ", ".join(f"{name} = ?" for name in done)
        values = list(done.values())
        if closing:
            changes += ", interaction_token = NULL, owner = NULL, lease_until = NULL"
            changes += ", updated_at = ?"
            values.append(now)
        only_unfinished = " AND state != 'done'" if closing else ""
        statement = f"UPDATE jobs SET state = 'done', {changes} WHERE id = ?{only_unfinished}"  # noqa: S608

        def work(db: sqlite3.Connection) -> bool:
            before = _closing_row(db, job_id)
            changed = db.execute(statement, (*values, job_id)).rowcount == 1
            if changed and before is not None:
                _count_closed(db, before, done)
            return changed

        return await self._write(work)

    async def get_job(self, job_id: str) -> JobRecord | None:
        async with self.db.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?",  # noqa: S608 (constant columns)
            (job_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _job_from_row(row)

    async def job_stats(self, guild_id: int, since: float) -> list[OutcomeCount]:
        """Finished jobs of a server made since the UTC day of ``since``, summed per
        outcome (from the daily totals, which outlive the records)."""
        async with self.db.execute(
            "SELECT outcome, SUM(jobs), SUM(images), SUM(cost), SUM(costed) FROM job_totals"
            " WHERE guild_id = ? AND day >= ? GROUP BY outcome",
            (guild_id, quota.day_key(since)),
        ) as cursor:
            rows = await cursor.fetchall()
        return records.outcome_counts(
            {
                str(row[0]): dict(zip(records.TOTAL_PARTS, map(int, row[1:]), strict=True))
                for row in rows
            }
        )

    async def prune_jobs(self, before: float) -> int:
        """Remove the finished job records made before ``before`` (never an unfinished
        one), and the daily totals past :data:`core.stats.KEEP_TOTALS_DAYS`; how many
        records went. In batches, so claims never wait long behind it."""
        removed = 0
        while True:

            def work(db: sqlite3.Connection) -> int:
                return db.execute(
                    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs"
                    " WHERE created_at < ? AND state = 'done' LIMIT ?)",
                    (before, PRUNE_BATCH),
                ).rowcount

            count = await self._write(work)
            removed += count
            if count < PRUNE_BATCH:
                break
        cutoff = stats.totals_cutoff(self._clock())
        await self._write(lambda db: db.execute("DELETE FROM job_totals WHERE day < ?", (cutoff,)))
        return removed

    # -- job journal -------------------------------------------------------------------
    #
    # Each method is one atomic step, so that another store (shared by several processes)
    # can offer the same ones with the same meaning.

    async def _move(self, job_id: str, state: str, now: float) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE jobs SET state = ?, updated_at = ? WHERE id = ? AND state != 'done'",
                (state, now, job_id),
            )
            return cursor.rowcount == 1

        return await self._write(work)

    async def _note_params(self, job_id: str, params: Mapping[str, Any], now: float) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT params FROM jobs WHERE id = ? AND state != 'done'", (job_id,)
            ).fetchone()
            if row is None:
                return False
            merged = {**json.loads(row[0]), **params}
            db.execute(
                "UPDATE jobs SET params = ?, updated_at = ? WHERE id = ?",
                (json.dumps(merged), now, job_id),
            )
            return True

        return await self._write(work)

    async def adopt_jobs(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> list[JobRecord]:
        """Take every unfinished job that no live process holds; return them, oldest first.

        A job is free when its owner handed it back (:meth:`hand_back_jobs`) or let its
        hold run out (the process died). Two processes adopting at once never get the same
        job.
        """
        now = self._clock()
        self._hold_owner(owner)
        async with self._transaction() as db:
            dead = await self._dead_owners(db, now)
            marks = ", ".join("?" * len(dead))
            async with db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state != 'done'"  # noqa: S608
                " AND (owner IS NULL OR lease_until IS NULL OR lease_until < ?"
                f" OR owner IN ({marks})) AND owner IS NOT ?"  # its own jobs run in it
                " ORDER BY created_at, id",
                (now, *dead, owner),
            ) as cursor:
                rows = await cursor.fetchall()
            adopted = records.readable_jobs(rows, _job_from_row, self._unreadable)
            await db.executemany(
                "UPDATE jobs SET owner = ?, lease_until = ?, updated_at = ? WHERE id = ?",
                [(owner, now + lease_seconds, now, job.id) for job in adopted],
            )
        if self._owners is not None:
            for gone in dead:
                self._owners.reap(gone)
        return [
            dataclasses.replace(job, owner=owner, lease_until=now + lease_seconds, updated_at=now)
            for job in adopted
        ]

    async def renew_leases(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> int:
        """Extend ``owner``'s hold on its unfinished jobs; how many it holds."""
        now = self._clock()
        self._hold_owner(owner)
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE jobs SET lease_until = ? WHERE owner = ? AND state != 'done'",
                (now + lease_seconds, owner),
            )
            held = cursor.rowcount
            # The claims of the jobs held live as long as the jobs (waiting ones too).
            await db.execute(
                "UPDATE cooldowns SET claim_renewed_at = ? WHERE (user_id, running_job) IN"
                " (SELECT user_id, id FROM jobs WHERE owner = ? AND state != 'done')",
                (now, owner),
            )
            return held

    async def hand_back_jobs(self, owner: str) -> int:
        """Hand back ``owner``'s unfinished jobs (at shutdown), free for the next process."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE jobs SET owner = NULL, lease_until = NULL, updated_at = ?"
                " WHERE owner = ? AND state != 'done'",
                (self._clock(), owner),
            )
            return cursor.rowcount

    # -- owners' liveness (see core.storage.liveness) ----------------------------------

    def _hold_owner(self, owner: str) -> None:
        """Hold ``owner``'s lock: this process is that owner, alive."""
        if self._owners is not None:
            self._owners.hold(owner)

    def _alive(self, owner: str) -> None:
        self._hold_owner(owner)

    async def _dead_owners(self, db: aiosqlite.Connection, now: float) -> list[str]:
        """The owners still holding unfinished jobs whose process is known to be dead."""
        if self._owners is None:
            return []
        async with db.execute(
            "SELECT DISTINCT owner FROM jobs WHERE state != 'done' AND owner IS NOT NULL"
            " AND lease_until >= ?",
            (now,),
        ) as cursor:
            owners = [str(row[0]) for row in await cursor.fetchall()]
        return [owner for owner in owners if self._owners.is_dead(owner)]

    async def _forget_ended_owners(self) -> None:
        """Remove the lock files of ended processes that left no job behind."""
        if self._owners is None:
            return
        for owner in self._owners.dead_files():
            if not await self._holds_jobs(owner):
                self._owners.reap(owner)

    async def _release_owners(self) -> None:
        """Let go of this process's locks; keep a file only while jobs are left under it,
        so that the next process sees at once that their owner is gone."""
        assert self._owners is not None
        keep = [owner for owner in self._owners.held if await self._holds_jobs(owner)]
        self._owners.release(keep=keep)

    async def _holds_jobs(self, owner: str) -> bool:
        async with self.db.execute(
            "SELECT 1 FROM jobs WHERE owner = ? AND state != 'done' LIMIT 1", (owner,)
        ) as cursor:
            return await cursor.fetchone() is not None

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

    async def free_slot(self, job_id: str) -> None:
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
            if records.settings_changed(before, after):
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

    # -- daily image counters (the rest is shared: core.storage.base) -------------------

    def _reserve(
        self, db: sqlite3.Connection, request: records.AdmitRequest
    ) -> quota.QuotaDecision:
        """Count the request's units against today's member and server counters if both
        allow it, inside the caller's transaction, so parallel requests never overshoot a
        limit."""
        now = self._clock()
        today = records.today(now, request.guild_id, request.user_id, request.meter)
        if self._pruned_day != today.day:
            db.execute(
                "DELETE FROM usage WHERE day < ?",
                (quota.day_key(now - quota.KEEP_DAYS * quota.SECONDS_PER_DAY),),
            )
            self._pruned_day = today.day
        used = [_usage_of(db, day=today.day, scope=scope) for scope in today.scopes]
        decision = today.decide(
            request.units, used, user_limit=request.user_limit, guild_limit=request.guild_limit
        )
        spend = request.spend
        if spend is not None and decision.allowed:
            spend_scopes = records.spend_scopes(today.guild_scope)
            spent = [_usage_of(db, day=today.day, scope=scope) for scope in spend_scopes]
            decision = records.decide_spend(decision, spend, spent)
            if decision.allowed:
                for scope in spend_scopes:
                    _add_usage(db, today.day, scope, spend.ticks)
        if decision.allowed:
            for scope in today.scopes:
                _add_usage(db, today.day, scope, request.units)
        return decision

    async def _give_back(self, day: str, scopes: Sequence[str], images: int) -> None:
        def work(db: sqlite3.Connection) -> None:
            for scope in scopes:
                _add_usage(db, day, scope, -images)

        await self._write(work)

    async def _settle(self, day: str, scopes: Sequence[str], ticks: int) -> None:
        # The spend counters are rows of the usage table, in ticks, under their own scopes.
        await self._give_back(day, scopes, -ticks)

    async def member_day(self, guild_id: int | None, user_id: int) -> quota.MemberDay:
        """A member's day where they are, read in one round trip."""

        def work(db: sqlite3.Connection) -> quota.MemberDay:
            counters = records.member_counters(self._clock(), guild_id, user_id)
            counts = [_usage_of(db, day=counters.day, scope=scope) for scope in counters.scopes]
            paused_until = 0.0 if guild_id is None else _paused_until(db, guild_id, user_id)
            return counters.read(counts, _cooldown_of(db, user_id=user_id), paused_until)

        return await self._in_thread(work)

    async def _counters(self, day: str, scopes: Sequence[str]) -> list[int]:
        def work(db: sqlite3.Connection) -> list[int]:
            return [_usage_of(db, day=day, scope=scope) for scope in scopes]

        return await self._in_thread(work)

    # -- blocked prompts -----------------------------------------------------------------

    async def note_blocked(
        self, guild_id: int, user_id: int, *, limit: AttemptLimit
    ) -> BlockedAttempts:
        """Count a member's blocked prompt in a server, in one transaction; rows of every
        member that stopped mattering are dropped on the way."""

        def work(db: sqlite3.Connection) -> BlockedAttempts:
            now = self._clock()
            db.execute("DELETE FROM blocked_attempts WHERE expires_at < ?", (now,))
            row = db.execute(
                "SELECT times, paused_until FROM blocked_attempts"
                " WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            ).fetchone()
            earlier = records.attempt_times(row[0]) if row else []
            times, noted = note_attempt(earlier, now, float(row[1]) if row else 0.0, limit)
            if noted.attempts:
                db.execute(
                    "INSERT INTO blocked_attempts"
                    " (guild_id, user_id, times, paused_until, expires_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(guild_id, user_id) DO UPDATE SET times = excluded.times,"
                    " paused_until = excluded.paused_until, expires_at = excluded.expires_at",
                    (
                        guild_id,
                        user_id,
                        records.attempt_times_text(times),
                        noted.paused_until,
                        records.attempts_until(times, noted.paused_until, limit.window_seconds),
                    ),
                )
            return noted

        return await self._write(work)


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


def _claim_renewed_at(db: sqlite3.Connection, user_id: int) -> float | None:
    row = db.execute(
        "SELECT claim_renewed_at FROM cooldowns WHERE user_id = ?", (user_id,)
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def _store_cooldown(db: sqlite3.Connection, user_id: int, state: CooldownState) -> None:
    db.execute(
        "INSERT INTO cooldowns (user_id, available_at, running_job, running_since)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET"
        " available_at = excluded.available_at, running_job = excluded.running_job,"
        " running_since = excluded.running_since",
        (user_id, state.available_at, state.running_job, state.running_since),
    )


def _paused_until(db: sqlite3.Connection, guild_id: int, user_id: int) -> float:
    row = db.execute(
        "SELECT paused_until FROM blocked_attempts WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ).fetchone()
    return 0.0 if row is None else float(row[0])


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

_JOB_COLUMNS = ", ".join(records.JOB_FIELDS)


def _job_from_row(row: Sequence[Any]) -> JobRecord:
    return records.job_from_fields(dict(zip(records.JOB_FIELDS, row, strict=True)))


# -- daily totals (see MIGRATIONS and core.storage.records) -----------------------------


def _closing_row(db: sqlite3.Connection, job_id: str) -> tuple[Any, ...] | None:
    """What a job's daily total needs, read before the job is closed."""
    row: tuple[Any, ...] | None = db.execute(
        "SELECT guild_id, created_at, state, outcome, images, cost_usd_ticks FROM jobs"
        " WHERE id = ?",
        (job_id,),
    ).fetchone()
    return row


def _count_closed(
    db: sqlite3.Connection, before: Sequence[Any], done: Mapping[str, FieldValue]
) -> None:
    """Count a job just closed in its server's total of the day it was made (taking back
    what it counted before if it had been closed already)."""
    guild_id, created_at, state, outcome, images, cost = before
    if guild_id is None:
        return  # direct messages have no figures
    day = quota.day_key(float(created_at))
    if state == "done" and outcome is not None:
        _add_total(db, day, guild_id, str(outcome), records.total_of(images, cost, -1))
    total = records.total_of(done["images"], done["cost_usd_ticks"])
    _add_total(db, day, guild_id, str(done["outcome"]), total)


def _count_recorded(db: sqlite3.Connection, fields: Mapping[str, FieldValue]) -> None:
    """Count a job written as finished already (turned away) in its server's daily total."""
    guild_id = fields.get("guild_id")
    if guild_id is None:
        return  # direct messages have no figures
    day = quota.day_key(float(str(fields["created_at"])))
    total = records.total_of(fields.get("images"), fields.get("cost_usd_ticks"))
    _add_total(db, day, int(str(guild_id)), str(fields["outcome"]), total)


def _add_total(
    db: sqlite3.Connection, day: str, guild_id: int, outcome: str, total: Mapping[str, int]
) -> None:
    db.execute(
        "INSERT INTO job_totals (day, guild_id, outcome, jobs, images, cost, costed)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(day, guild_id, outcome) DO UPDATE SET"
        " jobs = jobs + excluded.jobs, images = images + excluded.images,"
        " cost = cost + excluded.cost, costed = costed + excluded.costed",
        (day, guild_id, outcome, *(total[part] for part in records.TOTAL_PARTS)),
    )
