"""The Redis store alone: its scripts against the pure rules, its keys, expiry and errors.

What every store promises is in ``test_store_conformance.py``; here the Lua scripts are
held to the functions they mirror (``core.cooldown.decide`` and ``after_finish``,
``core.quota.decide``) over random states, on a real ``redis-server``: the claim and the
quota rules through the admission script that runs them, the end of a claim through its
own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from core import quota
from core.cooldown import STALE_RUNNING_SECONDS, CooldownState, after_finish, decide
from core.journal import InteractionRef
from core.moderation import AttemptLimit, note_attempt
from core.storage import StoreUnavailable, redis_store
from core.storage.redis_store import COUNTER_KEEP_SECONDS, RedisStore
from tests.clock import NOW, Clock
from tests.core.store_calls import admit
from tests.redis_server import RedisServer


@pytest.fixture
def runner(redis_server: RedisServer) -> Iterator[tuple[asyncio.Runner, RedisStore, Clock]]:
    """A store on an emptied Redis, driven from synchronous (property) tests."""
    redis_server.flush()
    clock = Clock()
    store = RedisStore(redis_server.url, clock=clock, prefix="prop:")
    with asyncio.Runner() as loop:
        loop.run(store.open())
        yield loop, store, clock
        loop.run(store.close())


@pytest_asyncio.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_url, clock=Clock(), prefix="unit:")
    await store.open()
    yield store
    await store.close()


async def _seed_cooldown(store: RedisStore, user_id: int, state: CooldownState) -> None:
    key = f"{store.prefix}cooldown:{user_id}"
    await store.redis.delete(key)
    fields: dict[str, str] = {"available_at": repr(state.available_at)}
    if state.running_job is not None:
        fields["running_job"] = state.running_job
    if state.running_since is not None:
        fields["running_since"] = repr(state.running_since)
    await store.redis.hset(key, mapping=fields)


times = st.floats(min_value=NOW - 3 * STALE_RUNNING_SECONDS, max_value=NOW + 7 * 86400)
states = st.builds(
    CooldownState,
    available_at=st.one_of(st.just(0.0), times),
    running_job=st.sampled_from([None, "a", "b"]),
    running_since=st.one_of(st.none(), times),
)


def test_the_admission_script_follows_the_cooldown_rules(
    runner: tuple[asyncio.Runner, RedisStore, Clock],
) -> None:
    loop, store, clock = runner

    @settings(max_examples=300, deadline=None)
    @given(state=states, now=times, exempt=st.booleans())
    def check(state: CooldownState, now: float, exempt: bool) -> None:
        clock.now = now
        loop.run(_seed_cooldown(store, 7, state))
        admission = loop.run(admit(store, 7, "new", exempt=exempt))  # no quota stands in the way
        seen = CooldownState(0.0, state.running_job, state.running_since) if exempt else state
        expected = decide(seen, now)
        assert admission.claim == expected
        assert admission.allowed is expected.allowed
        assert (admission.quota is None) is not expected.allowed
        stored = loop.run(store.cooldown_state(7))
        if expected.allowed:
            assert stored == CooldownState(state.available_at, "new", now)
        else:
            assert stored == state

    check()


def test_the_end_claim_script_follows_the_cooldown_rules(
    runner: tuple[asyncio.Runner, RedisStore, Clock],
) -> None:
    loop, store, _ = runner

    @settings(max_examples=300, deadline=None)
    @given(
        state=states,
        job=st.sampled_from(["a", "b"]),
        delivered=st.booleans(),
        cooldown=st.one_of(st.just(0.0), st.floats(min_value=0, max_value=7 * 86400)),
    )
    def check(state: CooldownState, job: str, delivered: bool, cooldown: float) -> None:
        loop.run(_seed_cooldown(store, 7, state))
        loop.run(store.end_claim(7, job, delivered=delivered, cooldown_seconds=cooldown))
        expected = after_finish(state, job, delivered=delivered, cooldown_seconds=cooldown)
        assert loop.run(store.cooldown_state(7)) == expected

    check()


def test_the_admission_script_follows_the_quota_arithmetic(
    runner: tuple[asyncio.Runner, RedisStore, Clock],
) -> None:
    loop, store, clock = runner
    counts = st.integers(min_value=0, max_value=30)

    @settings(max_examples=300, deadline=None)
    @given(
        images=st.integers(min_value=1, max_value=10),
        user_used=counts,
        guild_used=counts,
        user_limit=counts,
        guild_limit=counts,
        in_server=st.booleans(),
    )
    def check(
        images: int,
        user_used: int,
        guild_used: int,
        user_limit: int,
        guild_limit: int,
        in_server: bool,
    ) -> None:
        guild_id = 1 if in_server else None
        day = quota.day_key(clock.now)
        user_key = f"{store.prefix}usage:{day}:{quota.user_scope(guild_id, 7)}"
        guild_key = f"{store.prefix}usage:{day}:{quota.guild_scope(1)}"
        loop.run(store.redis.mset({user_key: user_used, guild_key: guild_used}))
        loop.run(store.redis.delete(f"{store.prefix}cooldown:7"))  # the claim is free
        admission = loop.run(
            admit(
                store,
                7,
                "new",
                guild_id=guild_id,
                units=images,
                user_limit=user_limit,
                guild_limit=guild_limit,
            )
        )
        expected = quota.decide(
            images,
            user_used=user_used,
            user_limit=user_limit,
            guild_used=guild_used if in_server else 0,
            guild_limit=guild_limit if in_server else 0,
            resets_at=quota.next_reset(clock.now),
        )
        assert admission.claim.allowed
        decision = admission.quota
        assert decision is not None
        assert (decision.verdict, decision.limit, decision.left, decision.resets_at) == (
            expected.verdict,
            expected.limit,
            expected.left,
            expected.resets_at,
        )
        assert (decision.reservation is not None) is expected.allowed
        added = images if expected.allowed else 0
        usage = loop.run(store.usage_today(guild_id, 7))
        assert usage.user_used == user_used + added
        guild_after = int(loop.run(store.redis.get(guild_key)))
        assert guild_after == guild_used + (added if in_server else 0)
        # All or nothing: the claim is taken only with the reservation.
        running = loop.run(store.cooldown_state(7)).running_job
        assert running == ("new" if expected.allowed else None)

    check()


# -- keys and expiry -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_counters_expire_a_couple_of_days_after_their_day(store: RedisStore) -> None:
    decision = (await admit(store, 7, "a")).quota
    assert decision is not None
    assert decision.reservation is not None
    day_left = quota.next_reset(NOW) - NOW
    for scope in (decision.reservation.user_scope, decision.reservation.guild_scope):
        ttl = await store.redis.ttl(f"unit:usage:{decision.reservation.day}:{scope}")
        assert day_left + COUNTER_KEEP_SECONDS - 5 <= ttl <= day_left + COUNTER_KEEP_SECONDS + 1


@pytest.mark.asyncio
async def test_a_refund_to_a_day_already_gone_creates_nothing(store: RedisStore) -> None:
    old = quota.Reservation("2020-01-01", "user:1:7", "guild:1", 3)
    await store.refund_images(old, 3)
    assert await store.redis.keys("unit:usage:*") == []


@pytest.mark.asyncio
async def test_cooldown_keys_expire_once_they_no_longer_matter(store: RedisStore) -> None:
    assert (await admit(store, 7, "a")).allowed
    running_ttl = await store.redis.ttl("unit:cooldown:7")
    assert STALE_RUNNING_SECONDS < running_ttl <= STALE_RUNNING_SECONDS + 86400 + 1
    await store.end_claim(7, "a", delivered=True, cooldown_seconds=3600)
    ttl = await store.redis.ttl("unit:cooldown:7")
    assert 3600 < ttl <= 3600 + 86400 + 1


@pytest.mark.asyncio
async def test_a_job_hash_as_written_before_reads_back(store: RedisStore) -> None:
    # A finished job and an unfinished journaled one, field for field as they are kept.
    await store.redis.hset(
        "unit:job:done",
        mapping={
            "user_id": "7",
            "channel_id": "2",
            "prompt": "p",
            "params": '{"n": 1}',
            "state": "done",
            "created_at": "1740000000.0",
            "outcome": "api_unavailable",
            "images": "0",
            "cost_usd_ticks": "",
            "finished_at": "1740000004.5",
            "message_ids": "",
        },
    )
    await store.redis.hset(
        "unit:job:open",
        mapping={
            "user_id": "7",
            "guild_id": "1",
            "channel_id": "2",
            "prompt": "p",
            "params": "{}",
            "state": "running",
            "locale": "de",
            "created_at": "1740000000.0",
            "interaction_id": "11",
            "application_id": "12",
            "interaction_token": "t",
            "token_expires_at": "1740000900.0",
            "reservation": '{"day": "2025-02-19", "user_scope": "user:1:7",'
            ' "guild_scope": "guild:1", "images": 2}',
            "cooldown_seconds": "30.0",
            "owner": "proc-a",
            "lease_until": "1740000090.0",
            "updated_at": "1740000000.0",
        },
    )
    done = await store.get_job("done")
    assert done is not None
    assert (done.guild_id, done.locale, done.cost_usd_ticks, done.message_ids) == (
        None,
        None,
        None,
        (),
    )
    assert (done.outcome, done.finished_at, done.interaction) == (
        "api_unavailable",
        NOW + 4.5,
        None,
    )
    job = await store.get_job("open")
    assert job is not None
    assert job.interaction == InteractionRef(11, 12, "t", NOW + 900)
    assert job.reservation == quota.Reservation("2025-02-19", "user:1:7", "guild:1", 2)
    assert (job.cooldown_seconds, job.owner, job.lease_until) == (30.0, "proc-a", NOW + 90)


@pytest.mark.asyncio
async def test_a_prefix_keeps_two_bots_apart(redis_url: str, store: RedisStore) -> None:
    other = RedisStore(redis_url, clock=Clock(), prefix="other-bot:")
    await other.open()
    try:
        assert (await admit(store, 7, "a")).allowed
        assert (await admit(other, 7, "b")).allowed
        await store.set_meta("k", "mine")
        assert await other.get_meta("k") is None
    finally:
        await other.close()


@pytest.mark.asyncio
async def test_scripts_are_loaded_again_after_the_server_forgot_them(store: RedisStore) -> None:
    assert (await admit(store, 7, "a")).allowed
    await store.redis.script_flush()
    assert not (await admit(store, 7, "b")).allowed
    await store.end_claim(7, "a", delivered=False, cooldown_seconds=0)
    assert (await admit(store, 7, "c")).allowed


# -- the scripts' files -------------------------------------------------------------------


def test_every_lua_file_is_part_of_a_script_and_the_rules_are_shared() -> None:
    files = {path.stem for path in redis_store.LUA_FOLDER.glob("*.lua")}
    used = {part for parts in redis_store.SCRIPTS.values() for part in parts}
    assert files == used
    admit = redis_store.script_text("admit")
    assert admit.index("local function read_claim") < admit.index("local function read_quota")
    assert "local function" not in redis_store.script_text("end_claim")


# -- the URL is a secret ---------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.asyncio
async def test_an_unreachable_server_is_named_without_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{_closed_port()}/0"
    store = RedisStore(url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreUnavailable) as raised:
        await store.open()
    message = str(raised.value)
    assert "REDIS_URL" in message
    assert "s3cret" not in message
    assert "127.0.0.1" not in message
    assert "s3cret" not in caplog.text
    assert "s3cret" not in repr(store)
    assert raised.value.__cause__ is None


@pytest.mark.asyncio
async def test_a_malformed_url_is_named_without_its_text() -> None:
    store = RedisStore("redis://:s3cret-pass@127.0.0.1:not-a-port/0")
    with pytest.raises(StoreUnavailable) as raised:
        await store.open()
    assert "REDIS_URL" in str(raised.value)
    assert "s3cret" not in str(raised.value)


@pytest.mark.asyncio
async def test_blocked_prompt_keys_expire_once_they_no_longer_matter(store: RedisStore) -> None:
    limit = AttemptLimit(limit=2, window_seconds=600, pause_seconds=1800)
    await store.note_blocked(1, 7, limit=limit)
    assert 595 <= await store.redis.ttl("unit:blocked:1:7") <= 601
    await store.note_blocked(1, 7, limit=limit)  # paused: kept as long as the pause
    assert 1795 <= await store.redis.ttl("unit:blocked:1:7") <= 1801
    assert await store.redis.hget("unit:blocked:1:7", "times") is None


def test_the_blocked_prompt_script_follows_note_attempt(
    runner: tuple[asyncio.Runner, RedisStore, Clock],
) -> None:
    loop, store, clock = runner
    limits = st.builds(
        AttemptLimit,
        limit=st.integers(min_value=1, max_value=4),
        window_seconds=st.floats(min_value=1, max_value=1000),
        pause_seconds=st.floats(min_value=1, max_value=1000),
    )

    @settings(max_examples=150, deadline=None)
    @given(limit=limits, steps=st.lists(st.floats(min_value=0, max_value=1500), max_size=12))
    def check(limit: AttemptLimit, steps: list[float]) -> None:
        loop.run(store.redis.delete("prop:blocked:1:7"))
        clock.now = NOW
        kept: list[float] = []
        paused_until = 0.0
        for step in steps:
            clock.now += step
            kept, expected = note_attempt(kept, clock.now, paused_until, limit)
            paused_until = expected.paused_until
            noted = loop.run(store.note_blocked(1, 7, limit=limit))
            assert noted == expected
            admission = loop.run(admit(store, 7, f"job{clock.now}", units=0))
            assert admission.paused_until == (paused_until if paused_until > clock.now else 0.0)
            if admission.allowed:
                loop.run(store.end_claim(7, f"job{clock.now}", delivered=False, cooldown_seconds=0))

    check()
