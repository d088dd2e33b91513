"""State in Redis, shared by every bot process pointed at the same server.

The same interface and promises as the SQLite store (:class:`core.store.Store`). Every
check-and-change is one atomic step on the Redis server: a Lua script for the hot paths
(claims, releases, image reservations and refunds, finishing a job), and an optimistic
``WATCH``/``MULTI`` transaction, retried, where the change is Python code (server
settings). Times come from the store's clock, passed to the scripts, never from the
Redis server's, so every process judges a cooldown by the same rules as
:mod:`core.cooldown` and the tests can move time.

Keys, under a prefix (``imagine:`` by default):

* ``cooldown:{user}``: hash ``available_at``, ``running_job``, ``running_since``; expires a
  day after it stops mattering;
* ``usage:{day}:{scope}``: an image counter (see :mod:`core.quota` for the scopes);
  expires two days after its UTC day;
* ``settings:{guild}``: a server's settings as one JSON document;
* ``meta``: hash of small values;
* ``job:{id}``: hash of one job record (with its journal: interaction, reservation,
  owner and hold); ``guild-jobs:{guild}``: sorted set of the server's job ids by creation
  time, for the usage figures; ``unfinished``: sorted set of the ids of jobs not closed
  yet, by creation time;
* ``slots``: sorted set of the jobs holding an API slot, each scored by when its lease
  runs out.

The journal's scripts walk ``unfinished`` and name each job's key from the prefix, so the
store wants one Redis server (or a primary with replicas), not a Redis Cluster.

The URL may carry a password: it is never logged, nor put in an error message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError, WatchError
from redis.typing import EncodableT

from core import journal, quota
from core.cooldown import STALE_RUNNING_SECONDS, CooldownState, Decision, decide
from core.guild_settings import GuildSettings
from core.journal import InteractionRef
from core.stats import OutcomeCount
from core.storage import JobRecord
from core.store import StoreUnavailable

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

# The scripts mirror core.cooldown.decide and after_finish and core.quota.decide: the
# store turns what they read into a Decision with those very functions, and
# tests/core/test_redis_store.py holds each script to its function over random states.

# Lua shared by the claim, reservation and admission scripts, so that each rule is written
# once: a script is this text followed by its own body.
_CLAIM_LUA = """
-- May a job claim this cooldown hash? Returns whether it is free, available_at as a
-- number, and the three fields as read (empty strings where missing).
local function read_claim(key, now, exempt, stale)
    local state = redis.call('HMGET', key, 'available_at', 'running_job', 'running_since')
    local available = tonumber(state[1]) or 0
    local since = tonumber(state[3])
    local running = state[2] and since and now - since < stale
    local waiting = not exempt and available > now
    return not (running or waiting), available, {state[1] or '', state[2] or '', state[3] or ''}
end
local function take_claim(key, job, now_text, now, available, stale, keep)
    redis.call('HSET', key, 'running_job', job, 'running_since', now_text)
    local matters = math.max(available - now, stale)
    redis.call('EXPIRE', key, math.ceil(matters + keep))
end
"""

_QUOTA_LUA = """
-- Do ``images`` fit the member's counter and the server's (if any)? Returns whether they
-- do and both counts as read.
local function read_quota(user_key, guild_key, images, user_limit, guild_limit)
    local function fits(used, limit)
        return limit <= 0 or images <= math.max(0, limit - used)
    end
    local user_used = tonumber(redis.call('GET', user_key) or '0')
    local guild_used = 0
    if guild_key then
        guild_used = tonumber(redis.call('GET', guild_key) or '0')
    end
    local allowed = fits(user_used, user_limit)
    if guild_key and not fits(guild_used, guild_limit) then
        allowed = false
    end
    return allowed, user_used, guild_used
end
local function take_quota(keys, first, images, keep)
    for i = first, #keys do
        redis.call('INCRBY', keys[i], images)
        redis.call('EXPIRE', keys[i], keep)
    end
end
"""

#: KEYS[1] cooldown hash; ARGV: now, job id, exempt (1/0), stale seconds, keep seconds.
#: Returns {claimed (1/0), available_at, running_job, running_since} as read.
_CLAIM = (
    _CLAIM_LUA
    + """
local now = tonumber(ARGV[1])
local stale = tonumber(ARGV[4])
local free, available, read = read_claim(KEYS[1], now, ARGV[3] == '1', stale)
local claimed = 0
if free then
    take_claim(KEYS[1], ARGV[2], ARGV[1], now, available, stale, tonumber(ARGV[5]))
    claimed = 1
end
return {claimed, read[1], read[2], read[3]}
"""
)

#: KEYS[1] cooldown hash; ARGV: job id, delivered (1/0), cooldown seconds, now, keep seconds.
_RELEASE = """
local state = redis.call('HMGET', KEYS[1], 'available_at', 'running_job', 'running_since')
if state[2] ~= ARGV[1] then
    return 0
end
local available = tonumber(state[1]) or 0
if ARGV[2] == '1' and state[3] then
    available = math.max(available, tonumber(state[3]) + tonumber(ARGV[3]))
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'available_at', string.format('%.17g', available))
local matters = math.max(available - tonumber(ARGV[4]), 0)
redis.call('EXPIRE', KEYS[1], math.ceil(matters + tonumber(ARGV[5])))
return 1
"""

#: KEYS: the member's counter [, the server's counter]; ARGV: images, member limit, server
#: limit, seconds to keep. Returns {reserved (1/0), member used, server used} as read.
_RESERVE = (
    _QUOTA_LUA
    + """
local images = tonumber(ARGV[1])
local allowed, user_used, guild_used =
    read_quota(KEYS[1], KEYS[2], images, tonumber(ARGV[2]), tonumber(ARGV[3]))
if not allowed then
    return {0, user_used, guild_used}
end
take_quota(KEYS, 1, images, ARGV[4])
return {1, user_used, guild_used}
"""
)

#: The claim and the reservation together (``_CLAIM`` then ``_RESERVE``), all or nothing.
#: KEYS: cooldown hash, the member's counter [, the server's counter]; ARGV: now, job id,
#: exempt (1/0), stale seconds, keep seconds, images, member limit, server limit, seconds to
#: keep the counters. Returns {claimed (1/0), available_at, running_job, running_since} as
#: read, then {reserved (1/0), member used, server used} as read (zeros if not claimed).
_ADMIT = (
    _CLAIM_LUA
    + _QUOTA_LUA
    + """
local now = tonumber(ARGV[1])
local stale = tonumber(ARGV[4])
local free, available, read = read_claim(KEYS[1], now, ARGV[3] == '1', stale)
if not free then
    return {0, read[1], read[2], read[3], 0, 0, 0}
end
local images = tonumber(ARGV[6])
local allowed, user_used, guild_used =
    read_quota(KEYS[2], KEYS[3], images, tonumber(ARGV[7]), tonumber(ARGV[8]))
if not allowed then
    return {1, read[1], read[2], read[3], 0, user_used, guild_used}
end
take_claim(KEYS[1], ARGV[2], ARGV[1], now, available, stale, tonumber(ARGV[5]))
take_quota(KEYS, 2, images, ARGV[9])
return {1, read[1], read[2], read[3], 1, user_used, guild_used}
"""
)

#: KEYS: counters; ARGV[1]: images to give back. A counter never goes below zero, and one
#: already gone (its day long past) stays gone.
_REFUND = """
for _, key in ipairs(KEYS) do
    local used = tonumber(redis.call('GET', key))
    if used then
        redis.call('SET', key, math.max(0, used - tonumber(ARGV[1])), 'KEEPTTL')
    end
end
return 0
"""

#: KEYS[1] job hash, KEYS[2] unfinished set [, KEYS[3] the server's job set]; ARGV: job id,
#: created at, then field, value, ... A job id is written once.
_RECORD_JOB = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('job ' .. ARGV[1] .. ' is already recorded')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if KEYS[3] then
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
end
return 1
"""

#: KEYS[1] job hash, KEYS[2] unfinished set; ARGV: job id, outcome, images, cost ('' for
#: none), now, message ids ('' for none), only if unfinished (1/0), as the journal's close
#: (1/0: also forget the token and the hold, and note the change).
_FINISH_JOB = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state or (ARGV[7] == '1' and state == 'done') then
    return 0
end
redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', ARGV[2], 'images', ARGV[3],
    'cost_usd_ticks', ARGV[4], 'finished_at', ARGV[5], 'message_ids', ARGV[6])
if ARGV[8] == '1' then
    redis.call('HDEL', KEYS[1], 'interaction_token', 'owner', 'lease_until')
    redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

#: KEYS[1] job hash; ARGV: state, now. Moves an unfinished job only.
_JOURNAL_STATE = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'done' then
    return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_at', ARGV[2])
return 1
"""

#: KEYS[1] unfinished set; ARGV: key prefix of job hashes, owner, now, hold until.
#: Takes every unfinished job whose owner let go or whose hold ran out; returns each taken
#: job as {id, field, value, ...}, oldest first.
_ADOPT_JOBS = """
local taken = {}
local now = tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local key = ARGV[1] .. id
    local job = redis.call('HMGET', key, 'state', 'owner', 'lease_until')
    local lease = tonumber(job[3])
    if job[1] and job[1] ~= 'done' and (not job[2] or job[2] == '' or not lease or lease < now) then
        redis.call('HSET', key, 'owner', ARGV[2], 'lease_until', ARGV[4], 'updated_at', ARGV[3])
        local record = redis.call('HGETALL', key)
        table.insert(record, 1, id)
        table.insert(taken, record)
    end
end
return taken
"""

#: KEYS[1] unfinished set; ARGV: key prefix of job hashes, owner, hold until ('' to let go),
#: now. Renews (or hands back) the owner's hold on its unfinished jobs; returns how many.
_HOLD_JOBS = """
local count = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local key = ARGV[1] .. id
    local job = redis.call('HMGET', key, 'state', 'owner')
    if job[1] and job[1] ~= 'done' and job[2] == ARGV[2] then
        if ARGV[3] == '' then
            redis.call('HDEL', key, 'owner', 'lease_until')
            redis.call('HSET', key, 'updated_at', ARGV[4])
        else
            redis.call('HSET', key, 'lease_until', ARGV[3])
        end
        count = count + 1
    end
end
return count
"""


#: KEYS[1] slots set; ARGV: job id, cap, now, lease until. Drops the slots whose lease ran
#: out, then renews the job's slot or takes a free one; returns 1 if the job holds a slot.
_ACQUIRE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
    redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
    return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
return 1
"""


class _Scripts:
    """The scripts, registered with one client (sent by hash, loaded again if missing)."""

    def __init__(self, client: redis.Redis) -> None:
        self.claim = client.register_script(_CLAIM)
        self.release = client.register_script(_RELEASE)
        self.reserve = client.register_script(_RESERVE)
        self.admit = client.register_script(_ADMIT)
        self.refund = client.register_script(_REFUND)
        self.record_job = client.register_script(_RECORD_JOB)
        self.finish_job = client.register_script(_FINISH_JOB)
        self.journal_state = client.register_script(_JOURNAL_STATE)
        self.adopt_jobs = client.register_script(_ADOPT_JOBS)
        self.hold_jobs = client.register_script(_HOLD_JOBS)
        self.acquire_slot = client.register_script(_ACQUIRE_SLOT)


_INTERACTION_FIELDS = ("interaction_id", "application_id", "interaction_token", "token_expires_at")


def _time(value: float) -> str:
    """A time as the scripts receive it: exact, so it reads back as the same float."""
    return repr(float(value))


def _text(value: bytes | str | None) -> str | None:
    """A reply as text (the client decodes replies; the types allow bytes too)."""
    return value.decode() if isinstance(value, bytes) else value


def _float_or_none(value: bytes | str | None) -> float | None:
    text = _text(value)
    return None if text is None or text == "" else float(text)


def _int_or_none(value: bytes | str | None) -> int | None:
    text = _text(value)
    return None if text is None or text == "" else int(text)


def _reservation_json(reservation: quota.Reservation) -> str:
    return json.dumps(dataclasses.asdict(reservation))


def _reservation_of(raw: str | None) -> quota.Reservation | None:
    if not raw:
        return None
    data = json.loads(raw)
    return quota.Reservation(
        day=str(data["day"]),
        user_scope=str(data["user_scope"]),
        guild_scope=None if data.get("guild_scope") is None else str(data["guild_scope"]),
        images=int(data["images"]),
    )


def _job_of(job_id: str, raw: Mapping[Any, Any]) -> JobRecord:
    """A job record from its hash (fields left out are None, or their defaults)."""
    record = {str(_text(name)): str(_text(value)) for name, value in raw.items()}
    interaction = None
    if all(record.get(name) for name in _INTERACTION_FIELDS):
        interaction = InteractionRef(
            interaction_id=int(record["interaction_id"]),
            application_id=int(record["application_id"]),
            token=record["interaction_token"],
            expires_at=float(record["token_expires_at"]),
        )
    message_ids = record.get("message_ids")
    return JobRecord(
        id=job_id,
        user_id=int(record["user_id"]),
        guild_id=_int_or_none(record.get("guild_id")),
        channel_id=_int_or_none(record.get("channel_id")),
        prompt=record["prompt"],
        params=json.loads(record["params"]),
        state=record["state"],
        outcome=record.get("outcome") or None,
        images=int(record.get("images") or 0),
        cost_usd_ticks=_int_or_none(record.get("cost_usd_ticks")),
        created_at=float(record["created_at"]),
        finished_at=_float_or_none(record.get("finished_at")),
        locale=record.get("locale") or None,
        message_ids=tuple(int(i) for i in json.loads(message_ids)) if message_ids else (),
        interaction=interaction,
        reservation=_reservation_of(record.get("reservation")),
        cooldown_seconds=_float_or_none(record.get("cooldown_seconds")) or 0.0,
        owner=record.get("owner") or None,
        lease_until=_float_or_none(record.get("lease_until")),
        updated_at=_float_or_none(record.get("updated_at")),
    )


def _claim_decision(
    now: float,
    exempt: bool,
    available: bytes | str | None,
    running_job: bytes | str | None,
    running_since: bytes | str | None,
) -> Decision:
    """The claim's decision from the cooldown a script read."""
    state = CooldownState(
        available_at=0.0 if exempt else _float_or_none(available) or 0.0,
        running_job=_text(running_job) or None,
        running_since=_float_or_none(running_since),
    )
    return decide(state, now)


def _quota_decision(
    images: int,
    *,
    day: str,
    user: str,
    server: str | None,
    user_used: int,
    user_limit: int,
    guild_used: int,
    guild_limit: int,
    resets_at: float,
) -> quota.QuotaDecision:
    """The reservation's decision from the counters a script read."""
    decision = quota.decide(
        images,
        user_used=user_used,
        user_limit=user_limit,
        guild_used=guild_used,
        guild_limit=guild_limit,
        resets_at=resets_at,
    )
    if not decision.allowed:
        return decision
    reservation = quota.Reservation(day, user, server, images)
    return quota.QuotaDecision(decision.verdict, resets_at=resets_at, reservation=reservation)


def _oldest_first(job: JobRecord) -> tuple[float, str]:
    return (job.created_at, job.id)


class RedisStore:
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

    async def claim(self, user_id: int, job_id: str) -> Decision:
        """Atomically check the user's cooldown and, if allowed, mark ``job_id`` running."""
        return await self._claim_as(user_id, job_id, exempt=False)

    async def claim_exempt(self, user_id: int, job_id: str) -> Decision:
        """Like ``claim`` for a member exempt from the cooldown: only one job at a time
        holds. The stored cooldown is kept for when the exemption ends."""
        return await self._claim_as(user_id, job_id, exempt=True)

    async def _claim_as(self, user_id: int, job_id: str, *, exempt: bool) -> Decision:
        now = self._clock()
        _, available, running_job, running_since = await self.scripts.claim(
            keys=[self._key("cooldown", user_id)],
            args=[
                _time(now),
                job_id,
                int(exempt),
                _time(STALE_RUNNING_SECONDS),
                COOLDOWN_KEEP_SECONDS,
            ],
        )
        return _claim_decision(now, exempt, available, running_job, running_since)

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
        """``claim`` (or ``claim_exempt``) and ``reserve_images`` in one script: a refused
        claim reserves nothing, a refused reservation takes no claim, and no other process
        sees one without the other."""
        now = self._clock()
        day, user, server, resets_at, keep = self._quota_scopes(now, guild_id, user_id)
        if server is None:
            guild_limit = 0
        keys = [self._key("cooldown", user_id), self._counter(day, user)]
        if server is not None:
            keys.append(self._counter(day, server))
        (
            _,
            available,
            running_job,
            running_since,
            _,
            user_used,
            guild_used,
        ) = await self.scripts.admit(
            keys=keys,
            args=[
                _time(now),
                job_id,
                int(exempt),
                _time(STALE_RUNNING_SECONDS),
                COOLDOWN_KEEP_SECONDS,
                images,
                user_limit,
                guild_limit,
                keep,
            ],
        )
        decision = _claim_decision(now, exempt, available, running_job, running_since)
        if not decision.allowed:
            return quota.Admission(decision)
        return quota.Admission(
            decision,
            _quota_decision(
                images,
                day=day,
                user=user,
                server=server,
                user_used=int(user_used),
                user_limit=user_limit,
                guild_used=int(guild_used),
                guild_limit=guild_limit,
                resets_at=resets_at,
            ),
        )

    async def release(
        self, user_id: int, job_id: str, *, delivered: bool, cooldown_seconds: float
    ) -> None:
        """End ``job_id``'s claim; a delivered job starts the user's cooldown."""
        await self.scripts.release(
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
        return CooldownState(
            available_at=_float_or_none(available) or 0.0,
            running_job=_text(running_job) or None,
            running_since=_float_or_none(running_since),
        )

    # -- small settings ----------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        value = await self.redis.hget(self._key("meta"), key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        await self.redis.hset(self._key("meta"), key, value)

    # -- job record --------------------------------------------------------------------

    async def _insert_job(
        self, job_id: str, created_at: float, guild_id: int | None, **fields: EncodableT | None
    ) -> None:
        """Write a new job hash and index it, in one script; a job id is written once.
        Fields that are None are left out (they read back as None)."""
        keys = [self._key("job", job_id), self._key("unfinished")]
        if guild_id is not None:
            keys.append(self._key("guild-jobs", guild_id))
        fields.update(created_at=_time(created_at), guild_id=guild_id)
        pairs: list[EncodableT] = []
        for name, value in fields.items():
            if value is not None:
                pairs += [name, value]
        await self.scripts.record_job(keys=keys, args=[job_id, _time(created_at), *pairs])

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
        await self._insert_job(
            job_id,
            self._clock(),
            guild_id,
            user_id=user_id,
            channel_id=channel_id,
            prompt=prompt,
            params=json.dumps(params),
            state="running",
            locale=locale,
        )

    async def _finish(
        self,
        job_id: str,
        *,
        outcome: str,
        images: int,
        cost_usd_ticks: int | None,
        message_ids: Sequence[int],
        closing: bool,
    ) -> bool:
        closed = await self.scripts.finish_job(
            keys=[self._key("job", job_id), self._key("unfinished")],
            args=[
                job_id,
                outcome,
                images,
                "" if cost_usd_ticks is None else cost_usd_ticks,
                _time(self._clock()),
                json.dumps(list(message_ids)) if message_ids else "",
                int(closing),
                int(closing),
            ],
        )
        return bool(closed)

    async def finish_job(
        self,
        job_id: str,
        *,
        outcome: str,
        images: int = 0,
        cost_usd_ticks: int | None = None,
        message_ids: Sequence[int] = (),
    ) -> None:
        await self._finish(
            job_id,
            outcome=outcome,
            images=images,
            cost_usd_ticks=cost_usd_ticks,
            message_ids=message_ids,
            closing=False,
        )

    async def get_job(self, job_id: str) -> JobRecord | None:
        raw = await self.redis.hgetall(self._key("job", job_id))
        return _job_of(job_id, raw) if raw else None

    async def job_stats(self, guild_id: int, since: float) -> list[OutcomeCount]:
        """Finished jobs of a server since ``since``, summed per outcome."""
        job_ids = await self.redis.zrangebyscore(self._key("guild-jobs", guild_id), since, "+inf")
        if not job_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(self._key("job", job_id), ["outcome", "images", "cost_usd_ticks"])
            rows: list[list[str | None]] = await pipe.execute()
        sums: dict[str, list[Any]] = {}
        for outcome, images, cost in rows:
            if not outcome:
                continue  # still running, or the record is gone
            jobs, total, ticks = sums.setdefault(outcome, [0, 0, None])
            extra = _int_or_none(cost)
            sums[outcome] = [
                jobs + 1,
                total + int(images or 0),
                ticks if extra is None else (ticks or 0) + extra,
            ]
        return [
            OutcomeCount(outcome=outcome, jobs=jobs, images=images, cost_usd_ticks=ticks)
            for outcome, (jobs, images, ticks) in sums.items()
        ]

    # -- job journal -------------------------------------------------------------------

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
        await self._insert_job(
            job_id,
            now,
            guild_id,
            user_id=user_id,
            channel_id=channel_id,
            prompt=prompt,
            params=json.dumps(params),
            state=state,
            locale=locale,
            interaction_id=interaction.interaction_id,
            application_id=interaction.application_id,
            interaction_token=interaction.token,
            token_expires_at=_time(interaction.expires_at),
            reservation=None if reservation is None else _reservation_json(reservation),
            cooldown_seconds=_time(cooldown_seconds),
            owner=owner,
            lease_until=_time(now + lease_seconds),
            updated_at=_time(now),
        )

    async def journal_state(self, job_id: str, state: str) -> bool:
        """Move an unfinished job to ``state``; False if it is closed or unknown."""
        if state not in journal.UNFINISHED:
            raise ValueError(f"use close_job to finish a job, not state {state!r}")
        moved = await self.scripts.journal_state(
            keys=[self._key("job", job_id)], args=[state, _time(self._clock())]
        )
        return bool(moved)

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
        return await self._finish(
            job_id,
            outcome=outcome,
            images=images,
            cost_usd_ticks=cost_usd_ticks,
            message_ids=message_ids,
            closing=True,
        )

    async def unfinished_jobs(self) -> list[JobRecord]:
        """Every job not closed yet, oldest first, whoever holds it."""
        job_ids = await self.redis.zrange(self._key("unfinished"), 0, -1)
        if not job_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(self._key("job", job_id))
            records = await pipe.execute()
        jobs = [
            _job_of(str(job_id), raw) for job_id, raw in zip(job_ids, records, strict=True) if raw
        ]
        return sorted((job for job in jobs if not job.finished), key=_oldest_first)

    async def adopt_jobs(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> list[JobRecord]:
        """Take every unfinished job that no live process holds; return them, oldest first.

        A job is free when its owner handed it back (:meth:`release_jobs`) or let its hold
        run out (the process died). One script looks and takes, so two processes adopting
        at once never get the same job.
        """
        now = self._clock()
        taken = await self.scripts.adopt_jobs(
            keys=[self._key("unfinished")],
            args=[self._key("job", ""), owner, _time(now), _time(now + lease_seconds)],
        )
        jobs = []
        for job_id, *flat in taken:
            jobs.append(_job_of(str(job_id), dict(zip(flat[::2], flat[1::2], strict=True))))
        return sorted(jobs, key=_oldest_first)

    async def renew_leases(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> int:
        """Extend ``owner``'s hold on its unfinished jobs; how many it holds."""
        now = self._clock()
        count = await self.scripts.hold_jobs(
            keys=[self._key("unfinished")],
            args=[self._key("job", ""), owner, _time(now + lease_seconds), _time(now)],
        )
        return int(count)

    async def release_jobs(self, owner: str) -> int:
        """Hand back ``owner``'s unfinished jobs (at shutdown), free for the next process."""
        count = await self.scripts.hold_jobs(
            keys=[self._key("unfinished")],
            args=[self._key("job", ""), owner, "", _time(self._clock())],
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

    async def release_slot(self, job_id: str) -> None:
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
                    if after == before and after.extra == before.extra:
                        return before, after
                    pipe.multi()
                    pipe.set(key, after.to_json())
                    try:
                        await pipe.execute()
                    except WatchError:
                        continue
                    return before, after
        raise RuntimeError(f"server {guild_id}'s settings kept changing; not saved")

    # -- daily image counters ----------------------------------------------------------

    def _counter(self, day: str, scope: str) -> str:
        return self._key("usage", day, scope)

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

        Checked and counted in one script, so parallel requests from any number of
        processes never overshoot a limit. A limit of 0 is no limit (the images are still
        counted). In a direct message (``guild_id`` None) only the member's counter applies.
        """
        now = self._clock()
        day, user, server, resets_at, keep = self._quota_scopes(now, guild_id, user_id)
        if server is None:
            guild_limit = 0
        keys = [self._counter(day, user)]
        if server is not None:
            keys.append(self._counter(day, server))
        _, user_used, guild_used = await self.scripts.reserve(
            keys=keys, args=[images, user_limit, guild_limit, keep]
        )
        return _quota_decision(
            images,
            day=day,
            user=user,
            server=server,
            user_used=int(user_used),
            user_limit=user_limit,
            guild_used=int(guild_used),
            guild_limit=guild_limit,
            resets_at=resets_at,
        )

    @staticmethod
    def _quota_scopes(
        now: float, guild_id: int | None, user_id: int
    ) -> tuple[str, str, str | None, float, int]:
        """Today, the member's and the server's scopes, the next reset, and how long the
        counters are kept."""
        resets_at = quota.next_reset(now)
        return (
            quota.day_key(now),
            quota.user_scope(guild_id, user_id),
            None if guild_id is None else quota.guild_scope(guild_id),
            resets_at,
            math.ceil(resets_at - now + COUNTER_KEEP_SECONDS),
        )

    async def refund_images(self, reservation: quota.Reservation, images: int) -> None:
        """Give back ``images`` of a reservation, to the day it was made on."""
        images = min(images, reservation.images)
        if images <= 0:
            return
        keys = [self._counter(reservation.day, reservation.user_scope)]
        if reservation.guild_scope is not None:
            keys.append(self._counter(reservation.day, reservation.guild_scope))
        await self.scripts.refund(keys=keys, args=[images])

    async def usage_today(self, guild_id: int | None, user_id: int) -> quota.Usage:
        """Today's counters of a member where they are, and when they start again."""
        now = self._clock()
        day = quota.day_key(now)
        keys = [self._counter(day, quota.user_scope(guild_id, user_id))]
        if guild_id is not None:
            keys.append(self._counter(day, quota.guild_scope(guild_id)))
        values = await self.redis.mget(keys)
        user = int(values[0] or 0)
        server = int(values[1] or 0) if guild_id is not None else 0
        return quota.Usage(day, user, server, quota.next_reset(now))
