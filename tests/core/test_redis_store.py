"""The Redis store alone: its scripts against the pure rules, its keys, expiry and errors.

What every store promises is in ``test_store_conformance.py``; here the Lua scripts are
held to the functions they mirror (``core.cooldown.decide`` and ``after_finish``,
``core.quota.decide``) over random states, on a real ``redis-server``.
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
from core.redis_store import COUNTER_KEEP_SECONDS, RedisStore
from core.store import StoreUnavailable
from tests.redis_server import RedisServer

NOW = 1_740_000_000.0  # 2025-02-19 21:20 UTC


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


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


def test_the_claim_script_follows_the_cooldown_rules(
    runner: tuple[asyncio.Runner, RedisStore, Clock],
) -> None:
    loop, store, clock = runner

    @settings(max_examples=300, deadline=None)
    @given(state=states, now=times, exempt=st.booleans())
    def check(state: CooldownState, now: float, exempt: bool) -> None:
        clock.now = now
        loop.run(_seed_cooldown(store, 7, state))
        claim = store.claim_exempt if exempt else store.claim
        decision = loop.run(claim(7, "new"))
        seen = CooldownState(0.0, state.running_job, state.running_since) if exempt else state
        expected = decide(seen, now)
        assert decision == expected
        stored = loop.run(store.cooldown_state(7))
        if expected.allowed:
            assert stored == CooldownState(state.available_at, "new", now)
        else:
            assert stored == state

    check()


def test_the_release_script_follows_the_cooldown_rules(
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
        loop.run(store.release(7, job, delivered=delivered, cooldown_seconds=cooldown))
        expected = after_finish(state, job, delivered=delivered, cooldown_seconds=cooldown)
        assert loop.run(store.cooldown_state(7)) == expected

    check()


def test_the_reserve_script_follows_the_quota_arithmetic(
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
        decision = loop.run(
            store.reserve_images(
                guild_id=guild_id,
                user_id=7,
                images=images,
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
        assert (decision.verdict, decision.limit, decision.left) == (
            expected.verdict,
            expected.limit,
            expected.left,
        )
        added = images if expected.allowed else 0
        usage = loop.run(store.usage_today(guild_id, 7))
        assert usage.user_used == user_used + added
        guild_after = int(loop.run(store.redis.get(guild_key)))
        assert guild_after == guild_used + (added if in_server else 0)

    check()


# -- keys and expiry -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_counters_expire_a_couple_of_days_after_their_day(store: RedisStore) -> None:
    decision = await store.reserve_images(
        guild_id=1, user_id=7, images=1, user_limit=0, guild_limit=0
    )
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
    assert (await store.claim(7, "a")).allowed
    running_ttl = await store.redis.ttl("unit:cooldown:7")
    assert STALE_RUNNING_SECONDS < running_ttl <= STALE_RUNNING_SECONDS + 86400 + 1
    await store.release(7, "a", delivered=True, cooldown_seconds=3600)
    ttl = await store.redis.ttl("unit:cooldown:7")
    assert 3600 < ttl <= 3600 + 86400 + 1


@pytest.mark.asyncio
async def test_a_prefix_keeps_two_bots_apart(redis_url: str, store: RedisStore) -> None:
    other = RedisStore(redis_url, clock=Clock(), prefix="other-bot:")
    await other.open()
    try:
        assert (await store.claim(7, "a")).allowed
        assert (await other.claim(7, "b")).allowed
        await store.set_meta("k", "mine")
        assert await other.get_meta("k") is None
    finally:
        await other.close()


@pytest.mark.asyncio
async def test_scripts_are_loaded_again_after_the_server_forgot_them(store: RedisStore) -> None:
    assert (await store.claim(7, "a")).allowed
    await store.redis.script_flush()
    assert not (await store.claim(7, "b")).allowed
    await store.release(7, "a", delivered=False, cooldown_seconds=0)
    assert (await store.claim(7, "c")).allowed


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
