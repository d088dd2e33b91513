"""State in Redis, shared by every bot process pointed at the same server.

The same interface and promises as the SQLite store (:class:`core.storage.interface.Store`).
Every check-and-change is one atomic step on the Redis server: a Lua script for the hot
paths (admissions, ending claims, refunds, finishing a job: the ``.lua`` files in
``lua/``), and an optimistic ``WATCH``/``MULTI`` transaction, retried, where the change is
Python code (server settings). Times come from the store's clock, passed to the scripts,
never from the Redis server's, so every process judges a cooldown by the same rules as
:mod:`core.cooldown` and the tests can move time.

Keys, under a prefix (``imagine:`` by default):

* ``cooldown:{user}``: hash ``available_at``, ``running_job``, ``running_since`` (and
  ``claim_renewed_at`` while its job lives); expires a day after it stops mattering;
* ``usage:{day}:{scope}``: an image counter (see :mod:`core.quota` for the scopes), a
  counter of seconds of video (the same scopes prefixed ``video:``), or a spend counter
  in ticks (scopes ``spend:bot`` and ``spend:guild:{guild}``, see :mod:`core.spend`);
  expires two days after its UTC day;
* ``settings:{guild}``: a server's settings as one JSON document;
* ``meta``: hash of small values;
* ``job:{id}``: hash of one job record (with its journal: interaction, reservation,
  owner and hold); ``unfinished``: sorted set of the ids of jobs not closed yet, by
  creation time;
* ``slots``: sorted set of the jobs holding an API slot, each scored by when its lease
  runs out;
* ``blocked:{guild}:{user}``: hash of a member's recent blocked prompts in a server
  (``times``) or the end of their pause (``paused_until``); expires once neither matters.
* ``job-times``: sorted set of every job id by creation time, for the retention pass,
  which removes closed jobs made more than ``JOB_RETENTION_DAYS`` ago and their ids; a
  closed job's hash also expires a day after that, should no pass run;
* ``job-totals:{guild}:{day}``: hash of a server's finished jobs made that UTC day, per
  outcome (fields ``jobs:``, ``images:``, ``cost:``, ``costed:`` + the outcome), for the
  usage figures; expires ``KEEP_TOTALS_DAYS`` after its day;
* ``layout`` in ``meta``: the version of this layout. Version 1 (no ``layout``) had no
  ``job-times`` nor totals, and summed the figures from ``guild-jobs:{guild}`` sets;
  :meth:`RedisStore.open` moves it up in place (filling both, dropping those sets).

The journal's scripts walk ``unfinished`` and name each job's key from the prefix, so the
store wants one Redis server (or a primary with replicas), not a Redis Cluster.

The URL may carry a password: it is never logged, nor put in an error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import redis.asyncio as redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, WatchError
from redis.typing import EncodableT

from core import journal, quota, stats
from core.cooldown import STALE_RUNNING_SECONDS, CooldownState
from core.guild_settings import GuildSettings
from core.moderation import AttemptLimit, BlockedAttempts
from core.spend import SpendAsk
from core.stats import OutcomeCount
from core.storage import records
from core.storage.base import BaseStore
from core.storage.interface import StoreUnavailable
from core.storage.records import FieldValue, JobRecord

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "imagine:"
#: How long a cooldown key is kept once neither its cooldown nor its job matters.
COOLDOWN_KEEP_SECONDS = 24 * 3600
#: How long a day's counters are kept after the day ends (a refund goes to its day).
COUNTER_KEEP_SECONDS = 2 * quota.SECONDS_PER_DAY
#: Attempts of an optimistic settings update before giving up (each loses only to a
#: change that landed, so running out means a storm of changes to one server).
SETTINGS_ATTEMPTS = 50
#: Seconds to wait for the connection and for each reply.
SOCKET_TIMEOUT_SECONDS = 10.0
#: How long a closed job's record is kept until a retention pass says otherwise.
DEFAULT_JOB_KEEP_SECONDS = (30 + 1) * quota.SECONDS_PER_DAY
#: The key layout this version writes (``layout`` in ``meta``; none: version 1).
LAYOUT_VERSION = 2
#: How long one process may take to move the layout up before another one tries.
MIGRATION_LOCK_SECONDS = 300
#: Job ids looked at per round trip by the retention pass and the layout migration.
PRUNE_BATCH = 1000

#: The scripts' folder, next to this module (plain files of the repository).
LUA_FOLDER = Path(__file__).with_name("lua")

#: Each script, as the files it is made of, in order: the rules shared by several scripts
#: (``claim_rules``, ``quota_rules``) come first, so that each rule is written once. The
#: scripts mirror core.cooldown.decide and after_finish and core.quota.decide: the store
#: turns what they read into decisions with those very functions, and
#: tests/core/test_redis_store.py holds each script to its function over random states.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "admit": ("claim_rules", "quota_rules", "admit"),
    "end_claim": ("end_claim",),
    "refund": ("refund",),
    "record_job": ("record_job",),
    "finish_job": ("finish_job",),
    "journal_state": ("journal_state",),
    "journal_params": ("journal_params",),
    "adopt_jobs": ("adopt_jobs",),
    "hold_jobs": ("hold_jobs",),
    "acquire_slot": ("acquire_slot",),
    "note_blocked": ("note_blocked",),
    "settle_spend": ("settle_spend",),
}


def script_text(name: str) -> str:
    """A script's Lua text, made of its files (see :data:`SCRIPTS`)."""
    return "\n".join(
        (LUA_FOLDER / f"{part}.lua").read_text(encoding="utf-8") for part in SCRIPTS[name]
    )


#: Read once, when the module is imported: a missing file stops the bot at start.
_SCRIPT_TEXTS = {name: script_text(name) for name in SCRIPTS}


class _Scripts:
    """The scripts, registered with one client (sent by hash, loaded again if missing)."""

    def __init__(self, client: redis.Redis) -> None:
        def register(name: str) -> AsyncScript:
            return client.register_script(_SCRIPT_TEXTS[name])

        self.admit = register("admit")
        self.end_claim = register("end_claim")
        self.refund = register("refund")
        self.record_job = register("record_job")
        self.finish_job = register("finish_job")
        self.journal_state = register("journal_state")
        self.journal_params = register("journal_params")
        self.adopt_jobs = register("adopt_jobs")
        self.hold_jobs = register("hold_jobs")
        self.acquire_slot = register("acquire_slot")
        self.note_blocked = register("note_blocked")
        self.settle_spend = register("settle_spend")


def _time(value: float) -> str:
    """A time as the scripts receive it: exact, so it reads back as the same float."""
    return repr(float(value))


def _text(value: bytes | str | None) -> str | None:
    """A reply as text (the client decodes replies; the types allow bytes too)."""
    return value.decode() if isinstance(value, bytes) else value


def _field(value: FieldValue) -> EncodableT:
    """A job's field as the hash keeps it: times exact, nothing for None."""
    if value is None:
        return ""
    return _time(value) if isinstance(value, float) else value


def _cooldown(
    available: bytes | str | None,
    running_job: bytes | str | None,
    running_since: bytes | str | None,
) -> CooldownState:
    """A cooldown hash's fields as a state (missing ones as the defaults)."""
    return CooldownState(
        available_at=records.float_or_none(_text(available)) or 0.0,
        running_job=records.text_or_none(_text(running_job)),
        running_since=records.float_or_none(_text(running_since)),
    )


def _job_of(job_id: str, raw: Mapping[Any, Any]) -> JobRecord:
    """A job record from its hash (fields left out are None, or their defaults)."""
    fields = {str(_text(name)): _text(value) for name, value in raw.items()}
    return records.job_from_fields({**fields, "id": job_id})


def _taken_job(taken: Sequence[Any]) -> JobRecord:
    """A job as the adopting script returns it: its id, then its hash's fields and values."""
    job_id, *flat = taken
    return _job_of(str(job_id), dict(zip(flat[::2], flat[1::2], strict=True)))


class RedisStore(BaseStore):
    """The bot's state in Redis, shareable by several processes."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._url = url
        self._clock = clock
        self.prefix = prefix
        self._redis: redis.Redis | None = None
        self._scripts: _Scripts | None = None
        # Changes to server settings from this process queue here, so that the optimistic
        # transaction retries only when another process changed the same server.
        self._settings_lock = asyncio.Lock()
        #: How long a closed job's hash is kept: the retention the last pass was run with.
        self.job_keep_seconds: float = DEFAULT_JOB_KEEP_SECONDS
        #: Journal records found unreadable (logged once each).
        self._unreadable: set[str] = set()

    def __repr__(self) -> str:
        # Never the URL: it may carry a password.
        return f"RedisStore(prefix={self.prefix!r})"

    async def open(self) -> None:
        """Connect and check that the server answers."""
        try:
            client = redis.Redis.from_url(
                self._url,
                decode_responses=True,
                socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
                socket_timeout=SOCKET_TIMEOUT_SECONDS,
            )
        except ValueError:
            raise StoreUnavailable("REDIS_URL is not a Redis URL redis-py can read") from None
        try:
            await client.ping()
        except RedisError as error:
            await client.aclose()
            # The error's own text may name the host; the type is enough to act on.
            raise StoreUnavailable(
                f"could not reach Redis at REDIS_URL ({type(error).__name__})"
            ) from None
        self._redis = client
        self._scripts = _Scripts(client)
        log.info("state kept in Redis under the prefix %r", self.prefix)
        await self._migrate()

    async def close(self) -> None:
        """Close the connections; safe to call more than once."""
        client, self._redis, self._scripts = self._redis, None, None
        if client is not None:
            await client.aclose()

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            raise RuntimeError("the store is not open")
        return self._redis

    @property
    def scripts(self) -> _Scripts:
        if self._scripts is None:
            raise RuntimeError("the store is not open")
        return self._scripts

    def _key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    # -- cooldowns ---------------------------------------------------------------------

    async def admit(self, request: records.AdmitRequest) -> quota.Admission:
        """The claim and the reservation in one script: a refused claim reserves nothing,
        a refused reservation takes no claim, and no other process sees one without the
        other; a paused member is refused first."""
        now = self._clock()
        guild_id, user_id = request.guild_id, request.user_id
        today = records.today(now, guild_id, user_id, request.meter)
        counters = [self._counter(today.day, scope) for scope in today.scopes]
        spend_counters, spend_args = self._spend_args(today, request.spend)
        reply = await self.scripts.admit(
            keys=[self._key("cooldown", user_id), *counters, *spend_counters],
            args=[
                _time(now),
                request.job_id,
                int(request.exempt),
                _time(STALE_RUNNING_SECONDS),
                COOLDOWN_KEEP_SECONDS,
                request.units,
                request.user_limit,
                request.guild_limit if today.guild_scope is not None else 0,
                math.ceil(today.resets_at - now + COUNTER_KEEP_SECONDS),
                "" if guild_id is None else self._key("blocked", guild_id, user_id),
                *spend_args,
            ],
        )
        if len(reply) > 7 and reply[7] != "":
            return records.paused_admission(float(reply[7]))
        _, available, running_job, running_since, _, user_used, guild_used = reply[:7]
        state = _cooldown(available, running_job, running_since)
        decision = records.claim_decision(state, now, exempt=request.exempt)
        if not decision.allowed:
            return quota.Admission(decision)
        used = [int(user_used), int(guild_used)]
        decided = today.decide(
            request.units,
            used,
            user_limit=request.user_limit,
            guild_limit=request.guild_limit,
        )
        if request.spend is not None and len(reply) > 7:
            decided = records.decide_spend(decided, request.spend, [int(reply[8]), int(reply[9])])
        return quota.Admission(decision, decided)

    async def end_claim(
        self, user_id: int, job_id: str, *, delivered: bool, cooldown_seconds: float
    ) -> None:
        """End ``job_id``'s claim; a delivered job starts the user's cooldown."""
        await self.scripts.end_claim(
            keys=[self._key("cooldown", user_id)],
            args=[
                job_id,
                int(delivered),
                _time(cooldown_seconds),
                _time(self._clock()),
                COOLDOWN_KEEP_SECONDS,
            ],
        )

    async def cooldown_state(self, user_id: int) -> CooldownState:
        available, running_job, running_since = await self.redis.hmget(
            self._key("cooldown", user_id), ["available_at", "running_job", "running_since"]
        )
        return _cooldown(available, running_job, running_since)

    def _spend_args(
        self, today: records.Today, spend: SpendAsk | None
    ) -> tuple[list[str], list[EncodableT]]:
        """The spend counters' keys and the script's arguments for them (none without
        spend: the script then reserves images only)."""
        if spend is None:
            return [], []
        keys = [
            self._counter(today.day, scope) for scope in records.spend_scopes(today.guild_scope)
        ]
        guild_limit = spend.guild_limit if today.guild_scope is not None else 0
        return keys, [len(today.scopes), str(spend.ticks), spend.bot_limit, guild_limit]

    # -- small settings ----------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        value = await self.redis.hget(self._key("meta"), key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        await self.redis.hset(self._key("meta"), key, value)

    # -- job records (the rest is shared: core.storage.base) ---------------------------

    async def _insert_job(self, fields: Mapping[str, FieldValue]) -> None:
        """Write a new job hash and index it, in one script; a job id is written once.
        Fields that are None are left out (they read back as None)."""
        job_id = str(fields["id"])
        created_at = _field(fields["created_at"])
        keys = [self._key("job", job_id), self._key("unfinished"), self._key("job-times")]
        keep_totals = 0
        guild_id = fields.get("guild_id")
        if fields.get("state") == journal.DONE and guild_id is not None:
            totals_key, keep_totals = self._totals_key(str(guild_id), float(str(created_at)))
            keys.append(totals_key)
        pairs: list[EncodableT] = []
        for name, value in fields.items():
            if value is not None and name != "id":
                pairs += [name, _field(value)]
        args = [job_id, created_at, keep_totals, math.ceil(self.job_keep_seconds), *pairs]
        await self.scripts.record_job(keys=keys, args=args)

    async def _finish(
        self, job_id: str, done: Mapping[str, FieldValue], *, closing: bool, now: float
    ) -> bool:
        keys = [self._key("job", job_id), self._key("unfinished")]
        totals = await self._totals_of(job_id)
        if totals is not None:
            keys.append(totals[0])
        closed = await self.scripts.finish_job(
            keys=keys,
            args=[
                job_id,
                _field(done["outcome"]),
                _field(done["images"]),
                _field(done["cost_usd_ticks"]),
                _field(done["finished_at"]),
                _field(done["message_ids"]),
                int(closing),
                int(closing),
                math.ceil(self.job_keep_seconds),
                0 if totals is None else totals[1],
            ],
        )
        return bool(closed)

    async def get_job(self, job_id: str) -> JobRecord | None:
        raw = await self.redis.hgetall(self._key("job", job_id))
        return _job_of(job_id, raw) if raw else None

    async def job_stats(self, guild_id: int, since: float) -> list[OutcomeCount]:
        """Finished jobs of a server made since the UTC day of ``since``, summed per
        outcome (from the daily totals, which outlive the records)."""
        now = self._clock()
        # Totals older than their keeping are gone: no need to ask for them.
        since = max(since, quota.day_start(now) - stats.KEEP_TOTALS_DAYS * quota.SECONDS_PER_DAY)
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in stats.days_since(since, now):
                pipe.hgetall(self._key("job-totals", guild_id, day))
            days: list[dict[str, str]] = await pipe.execute()
        sums: dict[str, dict[str, int]] = {}
        for totals in days:
            for field, value in totals.items():
                part, _, outcome = field.partition(":")
                records.add_totals(sums, outcome, {part: value})
        return records.outcome_counts(sums)

    # -- job journal -------------------------------------------------------------------

    async def _move(self, job_id: str, state: str, now: float) -> bool:
        moved = await self.scripts.journal_state(
            keys=[self._key("job", job_id)], args=[state, _time(now)]
        )
        return bool(moved)

    async def _note_params(self, job_id: str, params: Mapping[str, Any], now: float) -> bool:
        # Merged here, written only if nobody changed them meanwhile (the script compares).
        key = self._key("job", job_id)
        for _attempt in range(5):
            old = _text(await self.redis.hget(key, "params"))
            if old is None:
                return False
            merged = json.dumps({**json.loads(old), **params})
            noted = await self.scripts.journal_params(keys=[key], args=[old, merged, _time(now)])
            if int(noted) >= 0:
                return bool(noted)
        return False

    async def adopt_jobs(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> list[JobRecord]:
        """Take every unfinished job that no live process holds; return them, oldest first.

        A job is free when its owner handed it back (:meth:`hand_back_jobs`) or let its
        hold run out (the process died). One script looks and takes, so two processes
        adopting at once never get the same job.
        """
        now = self._clock()
        taken = await self.scripts.adopt_jobs(
            keys=[self._key("unfinished")],
            args=[self._key("job", ""), owner, _time(now), _time(now + lease_seconds)],
        )
        jobs = records.readable_jobs(taken, _taken_job, self._unreadable)
        return sorted(jobs, key=records.oldest_first)

    async def renew_leases(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> int:
        """Extend ``owner``'s hold on its unfinished jobs; how many it holds."""
        now = self._clock()
        return await self._hold_jobs(owner, _time(now + lease_seconds), now)

    async def hand_back_jobs(self, owner: str) -> int:
        """Hand back ``owner``'s unfinished jobs (at shutdown), free for the next process."""
        return await self._hold_jobs(owner, "", self._clock())

    async def _hold_jobs(self, owner: str, until: str, now: float) -> int:
        """Renew ``owner``'s hold until ``until``, or hand it back ('')."""
        count = await self.scripts.hold_jobs(
            keys=[self._key("unfinished")],
            args=[self._key("job", ""), owner, until, _time(now), self._key("cooldown", "")],
        )
        return int(count)

    # -- API slots shared by every process ---------------------------------------------

    async def acquire_slot(self, job_id: str, *, cap: int, lease_seconds: float) -> bool:
        """Take one of ``cap`` slots for ``job_id`` if one is free, after dropping the
        slots whose lease ran out; a job already holding one keeps it (renewed). One
        script, so processes taking slots at once never hold more than ``cap``."""
        now = self._clock()
        taken = await self.scripts.acquire_slot(
            keys=[self._key("slots")],
            args=[job_id, cap, _time(now), _time(now + lease_seconds)],
        )
        return bool(taken)

    async def free_slot(self, job_id: str) -> None:
        """Free ``job_id``'s slot; nothing if it holds none."""
        await self.redis.zrem(self._key("slots"), job_id)

    async def renew_slots(self, job_ids: Sequence[str], *, lease_seconds: float) -> None:
        """Extend the lease of the slots these jobs hold (``XX``: a dropped one stays out)."""
        if not job_ids:
            return
        until = self._clock() + lease_seconds
        await self.redis.zadd(self._key("slots"), dict.fromkeys(job_ids, until), xx=True)

    # -- server settings ---------------------------------------------------------------

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """A server's settings; the defaults for a server that never changed any."""
        document = await self.redis.get(self._key("settings", guild_id))
        return GuildSettings.from_json(_text(document))

    async def update_guild_settings(
        self, guild_id: int, change: Callable[[GuildSettings], GuildSettings]
    ) -> tuple[GuildSettings, GuildSettings]:
        """Apply ``change`` to a server's settings atomically; returns (before, after).

        Optimistic: the document is watched while ``change`` runs, and the write is
        dropped and the change run again on the new document if another process wrote it
        in between. An exception from ``change`` leaves the settings as they were.
        """
        key = self._key("settings", guild_id)
        async with self._settings_lock:
            for _ in range(SETTINGS_ATTEMPTS):
                async with self.redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(key)
                    before = GuildSettings.from_json(_text(await pipe.get(key)))
                    after = change(before)
                    if not records.settings_changed(before, after):
                        return before, after
                    pipe.multi()
                    pipe.set(key, after.to_json())
                    try:
                        await pipe.execute()
                    except WatchError:
                        continue
                    return before, after
        raise RuntimeError(f"server {guild_id}'s settings kept changing; not saved")

    # -- daily image counters (the rest is shared: core.storage.base) -------------------

    def _counter(self, day: str, scope: str) -> str:
        return self._key("usage", day, scope)

    async def _give_back(self, day: str, scopes: Sequence[str], images: int) -> None:
        await self.scripts.refund(
            keys=[self._counter(day, scope) for scope in scopes], args=[images]
        )

    async def member_day(self, guild_id: int | None, user_id: int) -> quota.MemberDay:
        """A member's day where they are, read in one pipeline (one round trip)."""
        counters = records.member_counters(self._clock(), guild_id, user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(
                self._key("cooldown", user_id), ["available_at", "running_job", "running_since"]
            )
            pipe.mget([self._counter(counters.day, scope) for scope in counters.scopes])
            if guild_id is not None:
                pipe.hget(self._key("blocked", guild_id, user_id), "paused_until")
            replies = await pipe.execute()
        cooldown = _cooldown(*replies[0])
        counts = [int(value or 0) for value in replies[1]]
        paused = records.float_or_none(_text(replies[2])) if guild_id is not None else None
        return counters.read(counts, cooldown, paused or 0.0)

    async def _counters(self, day: str, scopes: Sequence[str]) -> list[int]:
        values = await self.redis.mget([self._counter(day, scope) for scope in scopes])
        return [int(value or 0) for value in values]

    async def _settle(self, day: str, scopes: Sequence[str], ticks: int) -> None:
        # A counter made here is kept as long as the ones admit makes for its day.
        ends = quota.day_start_of(day) + quota.SECONDS_PER_DAY
        keep = max(0, math.ceil(ends - self._clock() + COUNTER_KEEP_SECONDS))
        await self.scripts.settle_spend(
            keys=[self._counter(day, scope) for scope in scopes], args=[str(ticks), keep]
        )

    # -- blocked prompts -----------------------------------------------------------------

    async def note_blocked(
        self, guild_id: int, user_id: int, *, limit: AttemptLimit
    ) -> BlockedAttempts:
        """Count a member's blocked prompt in a server, in one script."""
        now = self._clock()
        attempts, paused_until, paused_now = await self.scripts.note_blocked(
            keys=[self._key("blocked", guild_id, user_id)],
            args=[
                _time(now),
                limit.limit,
                _time(limit.window_seconds),
                _time(now + limit.pause_seconds),
                math.ceil(limit.pause_seconds) + 1,
                math.ceil(limit.window_seconds) + 1,
            ],
        )
        until = records.float_or_none(_text(paused_until)) or 0.0
        return BlockedAttempts(int(attempts), until, paused_now=bool(paused_now))

    # -- retention and daily totals ----------------------------------------------------

    async def _totals_of(self, job_id: str) -> tuple[str, int] | None:
        """The daily-totals key a job counts in, and how long it is kept; None for a job in a
        direct message (or an unknown one). A job's server and creation time never change,
        so reading them before the closing script is safe."""
        guild_id, created_at = await self.redis.hmget(
            self._key("job", job_id), ["guild_id", "created_at"]
        )
        created = records.float_or_none(_text(created_at))
        if not guild_id or created is None:
            return None
        return self._totals_key(str(guild_id), created)

    def _totals_key(self, guild_id: str, created_at: float) -> tuple[str, int]:
        """The daily-totals key of a server's jobs made at ``created_at``, and the seconds
        it is kept from now (by the store's clock, as every expiry here)."""
        day = quota.day_key(created_at)
        ends = quota.day_start(created_at) + (stats.KEEP_TOTALS_DAYS + 1) * quota.SECONDS_PER_DAY
        return self._key("job-totals", guild_id, day), max(math.ceil(ends - self._clock()), 1)

    async def prune_jobs(self, before: float) -> int:
        """Remove the finished job records made before ``before`` (never an unfinished
        one), with their ids in ``job-times``; from now on a closed job's hash expires a
        day later than that (the passes remove it first). The totals expire by themselves."""
        self.job_keep_seconds = max(self._clock() - before, 0.0) + quota.SECONDS_PER_DAY
        times = self._key("job-times")
        removed, skipped = 0, 0
        while True:
            found = await self.redis.zrangebyscore(
                times, "-inf", f"({before!r}", start=skipped, num=PRUNE_BATCH
            )
            job_ids = [str(job_id) for job_id in found]
            if not job_ids:
                return removed
            async with self.redis.pipeline(transaction=False) as pipe:
                for job_id in job_ids:
                    pipe.hget(self._key("job", job_id), "state")
                states: list[str | None] = await pipe.execute()
            async with self.redis.pipeline(transaction=False) as pipe:
                for job_id, state in zip(job_ids, states, strict=True):
                    if state is not None and state != journal.DONE:
                        skipped += 1  # unfinished: kept, and stays in the index
                        continue
                    # Closed (or its hash expired already): the record and its id go.
                    pipe.delete(self._key("job", job_id))
                    pipe.zrem(times, job_id)
                    removed += 0 if state is None else 1
                await pipe.execute()

    async def _migrate(self) -> None:
        """Move an older key layout up to :data:`LAYOUT_VERSION`, once, in place: index
        every job in ``job-times``, give closed ones their expiry, fill the daily totals
        from the records there are and drop the ``guild-jobs`` sets they replace. One
        process does it (the others wait for it)."""
        meta = self._key("meta")
        if int(await self.redis.hget(meta, "layout") or 1) >= LAYOUT_VERSION:
            return
        lock = self._key("migrating")
        while not await self.redis.set(lock, "1", nx=True, ex=MIGRATION_LOCK_SECONDS):
            await asyncio.sleep(0.2)
            if int(await self.redis.hget(meta, "layout") or 1) >= LAYOUT_VERSION:
                return
        try:
            if int(await self.redis.hget(meta, "layout") or 1) < LAYOUT_VERSION:
                await self._fill_layout(meta)
        finally:
            await self.redis.delete(lock)

    async def _fill_layout(self, meta: str) -> None:
        """The migration's work (see :meth:`_migrate`): read every job, then write the
        index, the expiries, the totals and the new version in one transaction."""
        created: dict[str, float] = {}
        expiries: dict[str, int] = {}
        totals: dict[tuple[str, float], dict[str, dict[str, int]]] = {}
        pattern = _glob_escape(self._key("job", "")) + "*"
        async for keys in _batches(self.redis.scan_iter(match=pattern, count=PRUNE_BATCH)):
            fields = ["created_at", "state", "guild_id", "outcome", "images", "cost_usd_ticks"]
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hmget(key, fields)
                rows: list[list[str | None]] = await pipe.execute()
            for key, (at, state, guild_id, outcome, images, cost) in zip(keys, rows, strict=True):
                when = records.float_or_none(at)
                if when is None:
                    continue
                job_id = key[len(self._key("job", "")) :]
                created[job_id] = when
                if state != journal.DONE:
                    continue
                expiries[key] = math.ceil(when + self.job_keep_seconds - self._clock())
                if guild_id and outcome:
                    day = totals.setdefault((guild_id, when), {})
                    records.add_totals(day, outcome, records.total_of(images, cost))
        by_key: dict[str, dict[str, int]] = {}
        expires: dict[str, int] = {}
        for (guild_id, when), sums in totals.items():
            key, expires[key] = self._totals_key(guild_id, when)
            into = by_key.setdefault(key, {})
            for outcome, parts in sums.items():
                for part, value in parts.items():
                    field = f"{part}:{outcome}"
                    into[field] = into.get(field, 0) + value
        dropped = [
            key
            async for key in self.redis.scan_iter(
                match=_glob_escape(self._key("guild-jobs", "")) + "*", count=PRUNE_BATCH
            )
        ]
        async with self.redis.pipeline(transaction=True) as pipe:
            for chunk in _chunks(dropped, PRUNE_BATCH):
                pipe.delete(*chunk)
            for chunk in _chunks(list(created.items()), PRUNE_BATCH):
                pipe.zadd(self._key("job-times"), dict(chunk))
            for key, seconds in expiries.items():
                pipe.expire(key, max(seconds, 1))
            for key, mapping in by_key.items():
                pipe.delete(key)
                pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
                pipe.expire(key, expires[key])
            pipe.hset(meta, "layout", LAYOUT_VERSION)
            await pipe.execute()
        log.info(
            "Redis layout moved to version %d: %d job(s) indexed, %d day total(s) filled",
            LAYOUT_VERSION,
            len(created),
            len(by_key),
        )


def _glob_escape(text: str) -> str:
    """``text`` matched literally by a ``SCAN MATCH`` pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def _batches(keys: AsyncIterator[str], size: int = PRUNE_BATCH) -> AsyncIterator[list[str]]:
    """The keys a scan yields, a batch at a time."""
    batch: list[str] = []
    async for key in keys:
        batch.append(key)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
