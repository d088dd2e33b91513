"""What every store promises, run against each backend: SQLite and a real Redis.

Each test gets a fresh backend (a new SQLite file, or an emptied Redis) and a clock it can
move. ``backend.open()`` opens another store on the same backend: two of them stand for two
bot processes sharing one file or one Redis. Tests of one backend alone (migrations, file
creation, Redis keys and expiry) live in ``test_storage.py`` and ``test_redis_store.py``.
"""

from __future__ import annotations

import asyncio
import datetime
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core import journal, quota
from core.cooldown import STALE_RUNNING_SECONDS, CooldownState, Verdict
from core.guild_settings import GuildSettings
from core.journal import InteractionRef
from core.moderation import AttemptLimit
from core.quota import QuotaVerdict
from core.spend import SpendAsk
from core.stats import fold
from core.storage import RedisStore, SqliteStore, Store
from tests.clock import Clock
from tests.core.store_calls import admit, claim, reserve

pytestmark = pytest.mark.asyncio

#: A UTC midnight; the clock starts an hour before it.
MIDNIGHT = datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC).timestamp()
BACKENDS = ["sqlite", "redis"]


class Backend:
    """Opens stores on one backend (one file, or one Redis) and closes them at the end."""

    def __init__(self, name: str, make: Callable[[Clock], Store], clock: Clock) -> None:
        self.name = name
        self._make = make
        self.clock = clock
        self._opened: list[Store] = []

    async def open(self) -> Store:
        store = self._make(self.clock)
        await store.open()
        self._opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self._opened:
            await store.close()


@pytest_asyncio.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    clock = Clock(MIDNIGHT - 3600)
    make: Callable[[Clock], Store]
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"

        def make(clock: Clock) -> Store:
            return SqliteStore(path, clock=clock)

    else:
        url: str = request.getfixturevalue("redis_url")

        def make(clock: Clock) -> Store:
            return RedisStore(url, clock=clock, prefix="conformance:")

    backend = Backend(request.param, make, clock)
    yield backend
    await backend.close_all()


@pytest_asyncio.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


@pytest.fixture
def clock(backend: Backend) -> Clock:
    return backend.clock


# -- cooldowns and one job at a time ---------------------------------------------------


async def test_parallel_claims_let_exactly_one_through(store: Store) -> None:
    decisions = await asyncio.gather(*(claim(store, 7, f"job{i}") for i in range(20)))
    verdicts = [d.verdict for d in decisions]
    assert verdicts.count(Verdict.ALLOWED) == 1
    assert verdicts.count(Verdict.ALREADY_RUNNING) == 19


async def test_a_claim_is_per_user(store: Store) -> None:
    decisions = await asyncio.gather(*(claim(store, 100 + i, "job") for i in range(10)))
    assert all(d.allowed for d in decisions)


async def test_a_delivered_job_starts_the_cooldown_from_its_start(
    store: Store, clock: Clock
) -> None:
    assert (await claim(store, 7, "a")).allowed
    clock.now += 5  # the job takes five seconds
    await store.end_claim(7, "a", delivered=True, cooldown_seconds=60)
    clock.now += 5
    decision = await claim(store, 7, "b")
    assert decision.verdict is Verdict.ON_COOLDOWN
    assert decision.retry_after == pytest.approx(50)
    state = await store.cooldown_state(7)
    assert state.available_at == pytest.approx(MIDNIGHT - 3600 + 60)
    assert state.running_job is None
    clock.now += 50
    assert (await claim(store, 7, "c")).allowed


async def test_a_failed_job_costs_nothing(store: Store) -> None:
    assert (await claim(store, 7, "a")).allowed
    await store.end_claim(7, "a", delivered=False, cooldown_seconds=60)
    assert (await claim(store, 7, "b")).allowed
    assert (await store.cooldown_state(7)).available_at == 0.0


async def test_a_running_job_shows_in_the_state(store: Store, clock: Clock) -> None:
    assert await store.cooldown_state(7) == CooldownState()
    assert (await claim(store, 7, "a")).allowed
    state = await store.cooldown_state(7)
    assert (state.running_job, state.running_since) == ("a", clock.now)


async def test_a_stale_claim_expires_and_ending_it_changes_nothing(
    store: Store, clock: Clock
) -> None:
    start = clock.now
    assert (await claim(store, 7, "lost")).allowed
    clock.now = start + STALE_RUNNING_SECONDS - 1
    assert (await claim(store, 7, "b")).verdict is Verdict.ALREADY_RUNNING
    clock.now = start + STALE_RUNNING_SECONDS + 1
    assert (await claim(store, 7, "c")).allowed
    # The lost job ends at last: the new claim stays, and no cooldown comes of it.
    await store.end_claim(7, "lost", delivered=True, cooldown_seconds=600)
    state = await store.cooldown_state(7)
    assert (state.running_job, state.available_at) == ("c", 0.0)
    assert (await claim(store, 7, "d")).verdict is Verdict.ALREADY_RUNNING


async def test_an_exempt_member_skips_the_cooldown_but_not_the_running_job(
    store: Store, clock: Clock
) -> None:
    assert (await claim(store, 7, "a")).allowed
    await store.end_claim(7, "a", delivered=True, cooldown_seconds=600)
    assert (await claim(store, 7, "b")).verdict is Verdict.ON_COOLDOWN
    assert (await claim(store, 7, "c", exempt=True)).allowed
    assert (await claim(store, 7, "d", exempt=True)).verdict is Verdict.ALREADY_RUNNING
    assert (await claim(store, 7, "e")).verdict is Verdict.ALREADY_RUNNING
    await store.end_claim(7, "c", delivered=True, cooldown_seconds=0)
    # The stored cooldown is kept for when the exemption ends.
    decision = await claim(store, 7, "f")
    assert decision.verdict is Verdict.ON_COOLDOWN
    assert decision.retry_after == pytest.approx(600)


async def test_parallel_exempt_claims_let_exactly_one_through(store: Store) -> None:
    decisions = await asyncio.gather(
        *(
            claim(store, 7, f"job{i}", exempt=bool(i % 2))
            for i in range(20)  # exempt and not, mixed
        )
    )
    assert sum(d.allowed for d in decisions) == 1


# -- daily image counters --------------------------------------------------------------


async def test_fifty_parallel_reservations_never_overshoot_the_server_budget(
    store: Store,
) -> None:
    decisions = await asyncio.gather(
        *(
            reserve(store, guild_id=1, user_id=100 + i, images=3, user_limit=0, guild_limit=100)
            for i in range(50)
        )
    )
    assert sum(d.allowed for d in decisions) == 33
    refused = [d for d in decisions if not d.allowed]
    assert all(d.verdict is QuotaVerdict.GUILD and (d.limit, d.left) == (100, 1) for d in refused)
    assert (await store.usage_today(1, 100)).guild_used == 99


async def test_fifty_parallel_reservations_never_overshoot_a_member_quota(
    store: Store,
) -> None:
    decisions = await asyncio.gather(
        *(
            reserve(store, guild_id=1, user_id=7, images=1, user_limit=20, guild_limit=0)
            for _ in range(50)
        )
    )
    assert sum(d.allowed for d in decisions) == 20
    usage = await store.usage_today(1, 7)
    assert (usage.user_used, usage.guild_used) == (20, 20)


async def test_a_refused_reservation_counts_nothing(store: Store) -> None:
    assert (
        await reserve(store, guild_id=1, user_id=7, images=2, user_limit=5, guild_limit=3)
    ).allowed
    refused = await reserve(store, guild_id=1, user_id=8, images=2, user_limit=5, guild_limit=3)
    assert (refused.verdict, refused.left, refused.reservation) == (QuotaVerdict.GUILD, 1, None)
    usage = await store.usage_today(1, 8)
    assert (usage.user_used, usage.guild_used) == (0, 2)


# -- admitting a job: the claim and the reservation in one step ------------------------


async def test_an_admission_claims_and_reserves(store: Store, clock: Clock) -> None:
    admission = await admit(store, 7, "a", units=2, user_limit=5, guild_limit=10)
    assert admission.allowed
    assert admission.claim.allowed
    assert admission.quota is not None
    assert admission.quota.reservation is not None
    assert admission.quota.reservation.images == 2
    state = await store.cooldown_state(7)
    assert (state.running_job, state.running_since) == ("a", clock.now)
    usage = await store.usage_today(1, 7)
    assert (usage.user_used, usage.guild_used) == (2, 2)
    # The same ending as a separate claim and reservation.
    await store.refund_images(admission.quota.reservation, 2)
    await store.end_claim(7, "a", delivered=False, cooldown_seconds=60)
    assert (await admit(store, 7, "b")).allowed


async def test_fifty_parallel_admissions_never_overshoot(store: Store) -> None:
    admissions = await asyncio.gather(
        *(admit(store, 100 + i, f"job{i}", units=3, guild_limit=100) for i in range(50))
    )
    admitted = [a for a in admissions if a.allowed]
    assert len(admitted) == 33
    refused = [a for a in admissions if not a.allowed]
    assert all(a.claim.allowed and a.quota is not None for a in refused)
    assert all(a.quota.verdict is QuotaVerdict.GUILD and a.quota.left == 1 for a in refused)
    assert (await store.usage_today(1, 100)).guild_used == 99
    # Only the admitted hold a claim: the others may start again at once.
    states = [await store.cooldown_state(100 + i) for i in range(50)]
    assert sum(state.running_job is not None for state in states) == 33
    again = await asyncio.gather(*(admit(store, 100 + i, f"again{i}", units=0) for i in range(50)))
    assert sum(a.claim.verdict is Verdict.ALREADY_RUNNING for a in again) == 33


async def test_parallel_admissions_of_one_member_let_exactly_one_through(store: Store) -> None:
    admissions = await asyncio.gather(
        *(admit(store, 7, f"job{i}", exempt=bool(i % 2), user_limit=50) for i in range(20))
    )
    assert sum(a.allowed for a in admissions) == 1
    assert sum(a.claim.verdict is Verdict.ALREADY_RUNNING for a in admissions) == 19
    assert all(a.quota is None for a in admissions if not a.claim.allowed)
    assert (await store.usage_today(1, 7)).user_used == 1


async def test_a_refused_claim_reserves_nothing(store: Store) -> None:
    assert (await claim(store, 7, "a")).allowed
    await store.end_claim(7, "a", delivered=True, cooldown_seconds=600)
    admission = await admit(store, 7, "b", units=4)
    assert admission.claim.verdict is Verdict.ON_COOLDOWN
    assert admission.claim.retry_after == pytest.approx(600)
    assert admission.quota is None
    assert not admission.allowed
    usage = await store.usage_today(1, 7)
    assert (usage.user_used, usage.guild_used) == (0, 0)
    assert (await store.cooldown_state(7)).running_job is None


async def test_a_refused_reservation_takes_no_claim(store: Store) -> None:
    assert (await admit(store, 7, "a", units=4, user_limit=5)).allowed
    await store.end_claim(7, "a", delivered=False, cooldown_seconds=60)
    admission = await admit(store, 7, "b", units=2, user_limit=5)
    assert admission.claim.allowed
    assert not admission.allowed
    assert admission.quota is not None
    assert (admission.quota.verdict, admission.quota.left) == (QuotaVerdict.USER, 1)
    assert admission.quota.reservation is None
    assert (await store.cooldown_state(7)).running_job is None
    assert (await store.usage_today(1, 7)).user_used == 4
    # Nothing to undo: the next request that fits goes through.
    assert (await admit(store, 7, "c", units=1, user_limit=5)).allowed


async def test_an_exempt_admission_skips_the_cooldown_but_not_the_running_job(
    store: Store,
) -> None:
    assert (await claim(store, 7, "a")).allowed
    await store.end_claim(7, "a", delivered=True, cooldown_seconds=600)
    assert (await admit(store, 7, "b")).claim.verdict is Verdict.ON_COOLDOWN
    assert (await admit(store, 7, "c", exempt=True)).allowed
    assert (await admit(store, 7, "d", exempt=True)).claim.verdict is Verdict.ALREADY_RUNNING
    await store.end_claim(7, "c", delivered=True, cooldown_seconds=0)
    # The stored cooldown is kept for when the exemption ends.
    decision = (await admit(store, 7, "e")).claim
    assert decision.verdict is Verdict.ON_COOLDOWN
    assert decision.retry_after == pytest.approx(600)


async def test_an_admission_in_a_direct_message_has_no_server_budget(store: Store) -> None:
    admission = await admit(store, 7, "a", units=3, guild_id=None, user_limit=3, guild_limit=1)
    assert admission.allowed
    assert admission.quota is not None
    assert admission.quota.reservation is not None
    assert admission.quota.reservation.guild_scope is None
    assert (await store.usage_today(None, 7)).user_used == 3


async def test_member_quota_and_refund(store: Store) -> None:
    first = await reserve(store, guild_id=1, user_id=7, images=4, user_limit=5, guild_limit=0)
    assert first.allowed
    assert first.reservation is not None
    refused = await reserve(store, guild_id=1, user_id=7, images=2, user_limit=5, guild_limit=0)
    assert (refused.verdict, refused.limit, refused.left) == (QuotaVerdict.USER, 5, 1)
    await store.refund_images(first.reservation, 4)
    usage = await store.usage_today(1, 7)
    assert (usage.user_used, usage.guild_used) == (0, 0)
    # A refund never gives back more than was reserved.
    again = await reserve(store, guild_id=1, user_id=7, images=5, user_limit=5, guild_limit=0)
    assert again.reservation is not None
    await store.refund_images(again.reservation, 50)
    assert (await store.usage_today(1, 7)).user_used == 0


async def test_a_partial_refund_gives_back_both_counters(store: Store) -> None:
    decision = await reserve(store, guild_id=1, user_id=7, images=4, user_limit=10, guild_limit=10)
    assert decision.reservation is not None
    await store.refund_images(decision.reservation, 3)
    usage = await store.usage_today(1, 7)
    assert (usage.user_used, usage.guild_used) == (1, 1)


async def test_a_lowered_limit_refuses_with_nothing_left(store: Store) -> None:
    assert (
        await reserve(store, guild_id=1, user_id=7, images=5, user_limit=0, guild_limit=0)
    ).allowed
    decision = await reserve(store, guild_id=1, user_id=7, images=1, user_limit=3, guild_limit=0)
    assert (decision.verdict, decision.left) == (QuotaVerdict.USER, 0)


async def test_a_member_quota_is_per_server_and_direct_messages_have_no_budget(
    store: Store,
) -> None:
    assert (
        await reserve(store, guild_id=1, user_id=7, images=2, user_limit=2, guild_limit=0)
    ).allowed
    assert (
        await reserve(store, guild_id=2, user_id=7, images=2, user_limit=2, guild_limit=0)
    ).allowed
    dm = await reserve(store, guild_id=None, user_id=7, images=2, user_limit=2, guild_limit=1)
    assert dm.allowed
    assert dm.reservation is not None
    assert dm.reservation.guild_scope is None
    usage = await store.usage_today(None, 7)
    assert (usage.user_used, usage.guild_used) == (2, 0)


async def test_counters_restart_at_utc_midnight_and_refunds_go_to_their_day(
    store: Store, clock: Clock
) -> None:
    clock.now = MIDNIGHT - 10
    late = await reserve(store, guild_id=1, user_id=7, images=3, user_limit=3, guild_limit=3)
    assert late.allowed
    assert late.reservation is not None
    assert late.resets_at == MIDNIGHT
    refused = await reserve(store, guild_id=1, user_id=7, images=1, user_limit=3, guild_limit=3)
    assert (refused.allowed, refused.resets_at) == (False, MIDNIGHT)

    clock.now = MIDNIGHT + 5  # the job ends after midnight and fails
    early = await reserve(store, guild_id=1, user_id=7, images=3, user_limit=3, guild_limit=3)
    assert early.allowed
    await store.refund_images(late.reservation, 3)
    today = await store.usage_today(1, 7)
    assert (today.user_used, today.guild_used) == (3, 3)  # the new day is untouched
    assert today.resets_at == MIDNIGHT + 86400

    clock.now = MIDNIGHT - 10
    yesterday = await store.usage_today(1, 7)
    assert (yesterday.user_used, yesterday.guild_used) == (0, 0)


async def test_usage_of_a_new_member(store: Store, clock: Clock) -> None:
    usage = await store.usage_today(1, 7)
    assert (usage.day, usage.user_used, usage.guild_used) == ("2025-02-28", 0, 0)
    assert usage.resets_at == MIDNIGHT


# -- server settings -------------------------------------------------------------------


async def test_settings_default_and_round_trip(store: Store) -> None:
    assert await store.get_guild_settings(1) == GuildSettings()
    full = GuildSettings(
        enabled=False,
        channels=(11, 12),
        blocked_terms=("bad", "very bad"),
        nsfw_only=True,
        spoilers=True,
        cooldown_seconds=12.5,
        max_n=4,
        models=("m",),
        resolutions=("2k",),
        exempt_roles=(5,),
        modlog_channel=13,
        reroll_open=True,
        user_quota=0,
        guild_budget=9,
        extra={"future": [1, 2]},
    )
    before, after = await store.update_guild_settings(1, lambda _: full)
    assert (before, after) == (GuildSettings(), full)
    stored = await store.get_guild_settings(1)
    assert stored == full
    assert stored.extra == {"future": [1, 2]}
    assert await store.get_guild_settings(2) == GuildSettings()


async def test_an_unchanged_setting_is_reported_unchanged(store: Store) -> None:
    await store.update_guild_settings(1, lambda s: replace(s, max_n=2))
    before, after = await store.update_guild_settings(1, lambda s: replace(s, max_n=2))
    assert before == after


async def test_concurrent_setting_changes_all_land(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()

    def add(term: str) -> Callable[[GuildSettings], GuildSettings]:
        return lambda s: replace(s, blocked_terms=(*s.blocked_terms, term))

    await asyncio.gather(
        *((first if i % 2 else second).update_guild_settings(1, add(f"t{i}")) for i in range(20))
    )
    terms = (await first.get_guild_settings(1)).blocked_terms
    assert sorted(terms) == sorted(f"t{i}" for i in range(20))


async def test_a_failing_change_keeps_the_settings(store: Store) -> None:
    await store.update_guild_settings(1, lambda s: replace(s, max_n=2))

    def broken(settings: GuildSettings) -> GuildSettings:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await store.update_guild_settings(1, broken)
    assert (await store.get_guild_settings(1)).max_n == 2


# -- small settings --------------------------------------------------------------------


async def test_meta(store: Store) -> None:
    assert await store.get_meta("k") is None
    await store.set_meta("k", "v1")
    await store.set_meta("k", "v2")
    await store.set_meta("other", "")
    assert await store.get_meta("k") == "v2"
    assert await store.get_meta("other") == ""


# -- job records and usage figures -----------------------------------------------------


async def test_a_job_record_round_trip(store: Store, clock: Clock) -> None:
    created = clock.now
    params = {"model": "m", "n": 2, "aspect_ratio": None, "resolution": "2k"}
    await store.record_job(
        "j1",
        user_id=7,
        guild_id=9,
        channel_id=11,
        prompt="a cat ☕ «quoted»",
        params=params,
        locale="zh-CN",
    )
    running = await store.get_job("j1")
    assert running is not None
    assert (running.state, running.outcome, running.finished_at) == ("running", None, None)
    assert (running.images, running.cost_usd_ticks, running.message_ids) == (0, None, ())
    clock.now += 4
    await store.finish_job(
        "j1", outcome="delivered", images=2, cost_usd_ticks=400, message_ids=[21, 22]
    )
    job = await store.get_job("j1")
    assert job is not None
    assert (job.id, job.user_id, job.guild_id, job.channel_id) == ("j1", 7, 9, 11)
    assert (job.prompt, job.params, job.locale) == ("a cat ☕ «quoted»", params, "zh-CN")
    assert (job.state, job.outcome, job.images, job.cost_usd_ticks) == (
        "done",
        "delivered",
        2,
        400,
    )
    assert (job.created_at, job.finished_at) == (created, created + 4)
    assert job.message_ids == (21, 22)
    assert await store.get_job("missing") is None


async def test_a_direct_message_job_has_no_server_or_locale(store: Store) -> None:
    await store.record_job("dm", user_id=7, guild_id=None, channel_id=None, prompt="p", params={})
    await store.finish_job("dm", outcome="api_unavailable")
    job = await store.get_job("dm")
    assert job is not None
    assert (job.guild_id, job.channel_id, job.locale, job.cost_usd_ticks) == (
        None,
        None,
        None,
        None,
    )
    assert (job.outcome, job.images, job.message_ids) == ("api_unavailable", 0, ())


async def test_finishing_an_unknown_job_records_nothing(store: Store) -> None:
    await store.finish_job("ghost", outcome="delivered", images=1)
    assert await store.get_job("ghost") is None


async def test_usage_figures_per_server_and_period(store: Store, clock: Clock) -> None:
    base = {"user_id": 7, "guild_id": 1, "channel_id": 2, "prompt": "p", "params": {"n": 2}}
    await store.record_job("old", **base)  # type: ignore[arg-type]
    await store.finish_job("old", outcome="delivered", images=2, cost_usd_ticks=1)
    # The figures are kept per UTC day: the periods start at midnight.
    clock.now = MIDNIGHT + 100
    since = MIDNIGHT
    await store.record_job("a", **base)  # type: ignore[arg-type]
    await store.finish_job("a", outcome="delivered", images=2, cost_usd_ticks=10)
    await store.record_job("a2", **base)  # type: ignore[arg-type]
    await store.finish_job("a2", outcome="delivered", images=1, cost_usd_ticks=5)
    await store.record_job("b", **base)  # type: ignore[arg-type]
    await store.finish_job("b", outcome="blocked")
    await store.record_job("c", **base)  # type: ignore[arg-type]
    await store.finish_job("c", outcome="api_unavailable")
    await store.record_job("r", **base)  # type: ignore[arg-type]
    await store.finish_job("r", outcome="refused")
    await store.record_job("d", **base)  # type: ignore[arg-type]  # still running
    await store.record_job("x", **{**base, "guild_id": 2})  # type: ignore[arg-type]
    await store.finish_job("x", outcome="delivered", images=9)

    counts = {c.outcome: c for c in await store.job_stats(1, since=since)}
    assert set(counts) == {"delivered", "blocked", "api_unavailable", "refused"}
    assert (counts["delivered"].jobs, counts["delivered"].images) == (2, 3)
    assert counts["delivered"].cost_usd_ticks == 15
    assert counts["blocked"].cost_usd_ticks is None
    figures = fold(await store.job_stats(1, since=since))
    assert (figures.images, figures.delivered_jobs) == (3, 2)
    assert (figures.blocked, figures.failed, figures.refused) == (1, 1, 1)
    assert figures.cost_usd_ticks == 15
    assert fold(await store.job_stats(1, since=0)).images == 5
    assert fold(await store.job_stats(1, since=MIDNIGHT + quota.SECONDS_PER_DAY)).images == 0
    assert fold(await store.job_stats(99, since=0)).images == 0


async def test_a_job_id_is_recorded_once(store: Store) -> None:
    await store.record_job("j", user_id=7, guild_id=1, channel_id=2, prompt="p", params={})
    with pytest.raises(Exception, match=r"(?i)unique|already"):
        await store.record_job("j", user_id=8, guild_id=1, channel_id=2, prompt="q", params={})
    job = await store.get_job("j")
    assert job is not None
    assert (job.user_id, job.prompt) == (7, "p")


# -- the job journal -------------------------------------------------------------------

TOKEN = "interaction-token-that-is-a-credential"


def journaled(clock: Clock, **changes: Any) -> dict[str, Any]:
    """What the cog journals for an accepted job."""
    fields: dict[str, Any] = {
        "user_id": 7,
        "guild_id": 1,
        "channel_id": 2,
        "prompt": "a lighthouse",
        "params": {"model": "m", "n": 2, "aspect_ratio": None, "resolution": "1k"},
        "locale": "zh-CN",
        "interaction": InteractionRef(11, 12, TOKEN, clock.now + 900),
        "reservation": quota.Reservation("2025-02-28", "user:1:7", "guild:1", 2),
        "cooldown_seconds": 30.0,
        "owner": "proc-a",
    }
    fields.update(changes)
    return fields


async def test_a_journaled_job_keeps_what_resuming_needs(store: Store, clock: Clock) -> None:
    await store.journal_job("j1", state=journal.QUEUED, **journaled(clock))
    job = await store.get_job("j1")
    assert job is not None
    assert (job.state, job.finished, job.created_at) == (journal.QUEUED, False, clock.now)
    assert job.interaction == InteractionRef(11, 12, TOKEN, clock.now + 900)
    assert job.interaction.token == TOKEN
    assert job.reservation == quota.Reservation("2025-02-28", "user:1:7", "guild:1", 2)
    assert (job.cooldown_seconds, job.owner, job.locale) == (30.0, "proc-a", "zh-CN")
    assert job.lease_until == pytest.approx(clock.now + journal.LEASE_SECONDS)
    assert job.updated_at == clock.now
    assert job.params["n"] == 2
    assert TOKEN not in repr(job)


async def test_a_direct_message_job_without_a_reservation_is_journaled(
    store: Store, clock: Clock
) -> None:
    await store.journal_job("dm", **journaled(clock, guild_id=None, reservation=None))
    job = await store.get_job("dm")
    assert job is not None
    assert (job.guild_id, job.reservation, job.state) == (None, None, journal.ACCEPTED)


async def test_a_job_is_journaled_unfinished_only(store: Store, clock: Clock) -> None:
    with pytest.raises(ValueError, match="unfinished"):
        await store.journal_job("j1", state=journal.DONE, **journaled(clock))
    assert await store.get_job("j1") is None


async def test_journal_states_move_until_the_job_is_closed_once(store: Store, clock: Clock) -> None:
    await store.journal_job("j1", **journaled(clock))
    clock.now += 2
    assert await store.journal_state("j1", journal.RUNNING)
    assert await store.journal_state("j1", journal.DELIVERING)
    moved = await store.get_job("j1")
    assert moved is not None
    assert (moved.state, moved.updated_at) == (journal.DELIVERING, clock.now)
    clock.now += 3
    closes = await asyncio.gather(
        store.close_job("j1", outcome="delivered", images=2, message_ids=[5, 6]),
        store.close_job("j1", outcome="api_unavailable"),
    )
    assert sorted(closes) == [False, True]
    job = await store.get_job("j1")
    assert job is not None
    assert job.finished
    assert (job.finished_at, job.updated_at) == (clock.now, clock.now)
    if job.outcome == "delivered":
        assert (job.images, job.message_ids) == (2, (5, 6))
    else:
        assert job.outcome == "api_unavailable"
    # A closed job forgets its token and its owner, and stays closed.
    assert (job.interaction, job.owner, job.lease_until) == (None, None, None)
    assert job.reservation is not None  # kept: it says what was given back
    assert not await store.journal_state("j1", journal.RUNNING)
    assert not await store.journal_state("missing", journal.RUNNING)
    assert not await store.close_job("missing", outcome="x")
    assert await store.get_job("missing") is None
    with pytest.raises(ValueError, match="close_job"):
        await store.journal_state("j1", journal.DONE)


async def test_params_noted_on_an_unfinished_job_only(store: Store, clock: Clock) -> None:
    await store.journal_job("j1", **journaled(clock))
    before = await store.get_job("j1")
    assert before is not None
    clock.now += 2
    assert await store.journal_params("j1", {"request_id": "vid-1", "n": 1})
    noted = await store.get_job("j1")
    assert noted is not None
    assert noted.params == {**before.params, "request_id": "vid-1", "n": 1}
    assert noted.updated_at == clock.now
    assert await store.close_job("j1", outcome="delivered", images=1)
    assert not await store.journal_params("j1", {"request_id": "vid-2"})
    assert not await store.journal_params("missing", {"request_id": "vid-3"})
    closed = await store.get_job("j1")
    assert closed is not None
    assert closed.params["request_id"] == "vid-1"


async def test_a_closed_job_counts_in_the_usage_figures(store: Store, clock: Clock) -> None:
    await store.journal_job("j1", **journaled(clock))
    assert await store.close_job("j1", outcome="delivered", images=2, cost_usd_ticks=7)
    figures = fold(await store.job_stats(1, since=0))
    assert (figures.images, figures.delivered_jobs, figures.cost_usd_ticks) == (2, 1, 7)


async def test_unfinished_jobs_are_adopted_oldest_first(store: Store, clock: Clock) -> None:
    for name in ("c", "a", "b"):
        await store.journal_job(name, **journaled(clock))
        clock.now += 1
    await store.journal_job("tie", **journaled(clock))  # same time as "tie2", ordered by id
    await store.journal_job("tie2", **journaled(clock))
    await store.record_job("blocked", user_id=1, guild_id=1, channel_id=2, prompt="p", params={})
    await store.finish_job("blocked", outcome="blocked")
    await store.close_job("a", outcome="delivered", images=2)
    clock.now += journal.LEASE_SECONDS + 1  # proc-a's hold on them ran out
    adopted = await store.adopt_jobs("proc-b")
    assert [job.id for job in adopted] == ["c", "b", "tie", "tie2"]


async def test_a_recorded_job_never_finished_is_unfinished_without_a_token(
    store: Store,
) -> None:
    await store.record_job("old", user_id=1, guild_id=None, channel_id=3, prompt="p", params={})
    recorded = await store.get_job("old")
    assert recorded is not None
    assert (recorded.finished, recorded.owner, recorded.lease_until) == (False, None, None)
    # Held by nobody: free for the first process that adopts.
    [job] = await store.adopt_jobs("proc-a")
    assert (job.id, job.interaction, job.reservation, job.owner) == ("old", None, None, "proc-a")
    await store.finish_job("old", outcome="delivered", images=1)
    await store.hand_back_jobs("proc-a")
    assert await store.adopt_jobs("proc-b") == []


async def test_adopting_takes_handed_back_and_lapsed_jobs_once(backend: Backend) -> None:
    clock = backend.clock
    first, second = await backend.open(), await backend.open()
    await first.journal_job("mine", **journaled(clock, owner="proc-a"))
    clock.now += 1
    await second.journal_job("theirs", **journaled(clock, owner="proc-b"))
    # Both processes are alive: nothing is free.
    assert await first.adopt_jobs("proc-c") == []

    # proc-a stops cleanly and hands its job back: free at once.
    assert await first.hand_back_jobs("proc-a") == 1
    assert await first.hand_back_jobs("proc-a") == 0
    released = await second.get_job("mine")
    assert released is not None
    assert (released.owner, released.lease_until) == (None, None)
    adopted = await second.adopt_jobs("proc-c")
    assert [job.id for job in adopted] == ["mine"]
    assert adopted[0].owner == "proc-c"
    assert adopted[0].lease_until == pytest.approx(clock.now + journal.LEASE_SECONDS)
    assert adopted[0] == await second.get_job("mine")  # as now kept
    assert adopted[0].interaction is not None
    assert adopted[0].interaction.token == TOKEN

    # proc-b and proc-c renew while they live, then die: free once their holds run out.
    clock.now += journal.LEASE_SECONDS / 2
    assert await first.renew_leases("proc-b") == 1
    assert await second.renew_leases("proc-c") == 1
    assert await second.renew_leases("proc-z") == 0
    clock.now += journal.LEASE_SECONDS / 2 + 1
    assert await first.adopt_jobs("proc-d") == []
    clock.now += journal.LEASE_SECONDS
    taken = await asyncio.gather(first.adopt_jobs("proc-d"), second.adopt_jobs("proc-e"))
    assert sorted(len(jobs) for jobs in taken) == [0, 2]
    [winner] = [jobs for jobs in taken if jobs]
    assert [job.id for job in winner] == ["mine", "theirs"]  # oldest first


async def test_a_closed_job_is_neither_adopted_nor_renewed(store: Store, clock: Clock) -> None:
    await store.journal_job("j1", **journaled(clock, owner="proc-a"))
    assert await store.close_job("j1", outcome="delivered", images=2)
    assert await store.renew_leases("proc-a") == 0
    assert await store.hand_back_jobs("proc-a") == 0
    clock.now += 10 * journal.LEASE_SECONDS
    assert await store.adopt_jobs("proc-b") == []


async def test_the_journal_outlives_the_process(backend: Backend) -> None:
    clock = backend.clock
    first = await backend.open()
    await first.journal_job("j1", **journaled(clock))
    await first.journal_state("j1", journal.RUNNING)
    await first.close()

    again = await backend.open()
    clock.now += journal.LEASE_SECONDS + 1  # the first process's hold ran out
    [job] = await again.adopt_jobs("proc-b")
    assert (job.id, job.state) == ("j1", journal.RUNNING)
    assert job.interaction is not None
    assert job.interaction.token == TOKEN


# -- recovery: dead owners, claims kept alive, records never seen unfinished -------------


async def test_a_dead_owners_jobs_are_adopted_in_time(backend: Backend) -> None:
    """A process that dies without handing its jobs back (its lock goes with it): on one
    host (SQLite) another process sees that at once; with Redis once the lease runs out,
    which with the sweep's period stays within 45 seconds."""
    clock = backend.clock
    dying, live = await backend.open(), await backend.open()
    await dying.journal_job("j1", **journaled(clock, owner="proc-a"))
    await live.journal_job("j2", **journaled(clock, owner="proc-b"))
    assert await live.adopt_jobs("proc-b") == []  # proc-a lives
    await dying.close()  # what a SIGKILL does to it: nothing handed back
    adopted = await live.adopt_jobs("proc-b")
    if backend.name == "sqlite":
        assert [job.id for job in adopted] == ["j1"]
    else:
        assert adopted == []
        clock.now += journal.LEASE_SECONDS + 0.5
        await live.renew_leases("proc-b")  # as the live process's sweep does
        assert [job.id for job in await live.adopt_jobs("proc-b")] == ["j1"]
    assert journal.LEASE_SECONDS + journal.SWEEP_SECONDS <= 45
    # The live process's own job is never taken, however many look.
    other = await backend.open()
    assert await other.adopt_jobs("proc-c") == []


REPO = Path(__file__).resolve().parents[2]
#: A process that journals one job as ``proc-x`` on the SQLite file given, then waits.
_HOLDER = """
import asyncio, sys, time
from core.journal import InteractionRef
from core.storage import SqliteStore

async def main() -> None:
    store = SqliteStore(sys.argv[1])
    await store.open()
    await store.journal_job(
        "held", user_id=7, guild_id=1, channel_id=2, prompt="p", params={}, locale=None,
        interaction=InteractionRef(1, 2, "t", time.time() + 900), reservation=None,
        cooldown_seconds=0.0, owner="proc-x",
    )
    print("journaled", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_killed_process_is_known_dead_on_one_host_at_once(
    backend: Backend, tmp_path: Path
) -> None:
    if backend.name != "sqlite":
        pytest.skip("across hosts only the lease tells")
    store = await backend.open()
    assert isinstance(store, SqliteStore)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        str(store.path),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    try:
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"journaled\n"
        assert await store.adopt_jobs("proc-y") == []  # alive: its lock is held
    finally:
        holder.kill()  # SIGKILL: nothing handed back, its lease still runs
        await holder.wait()
    [job] = await store.adopt_jobs("proc-y")
    assert (job.id, job.owner) == ("held", "proc-y")
    assert [path.name for path in lock_files(tmp_path)] == ["proc-y.lock"]  # the live one


def lock_files(folder: Path) -> list[Path]:
    """The owners' lock files beside the databases in ``folder``."""
    return list(folder.glob("*.owners/*.lock"))


async def test_a_live_owner_on_the_same_backend_keeps_its_jobs(backend: Backend) -> None:
    clock = backend.clock
    first, second = await backend.open(), await backend.open()
    await first.journal_job("j1", **journaled(clock, owner="proc-a"))
    for _ in range(3):
        clock.now += journal.SWEEP_SECONDS
        assert await first.renew_leases("proc-a") == 1
        assert await second.adopt_jobs("proc-b") == []


async def test_a_claim_lives_as_long_as_its_jobs_lease_is_renewed(
    store: Store, clock: Clock
) -> None:
    start = clock.now
    assert (await claim(store, 7, "j1")).allowed
    await store.journal_job("j1", **journaled(clock, user_id=7, owner="proc-a"))
    # The job waits in line far past the claim's usual life, its lease renewed meanwhile.
    while clock.now < start + 2 * STALE_RUNNING_SECONDS:
        clock.now += journal.SWEEP_SECONDS
        assert await store.renew_leases("proc-a") == 1
    assert (await claim(store, 7, "j2")).verdict is Verdict.ALREADY_RUNNING
    # Its cooldown still starts from its start.
    assert await store.close_job("j1", outcome="delivered", images=2)
    await store.end_claim(7, "j1", delivered=True, cooldown_seconds=60)
    assert (await store.cooldown_state(7)).available_at == pytest.approx(start + 60)
    # Once the job is gone and no longer renewed, a claim goes stale as before.
    assert (await claim(store, 7, "j3")).allowed
    clock.now += STALE_RUNNING_SECONDS + 1
    assert (await claim(store, 7, "j4")).allowed


async def test_renewing_leases_renews_only_the_claims_of_the_owners_jobs(
    store: Store, clock: Clock
) -> None:
    assert (await claim(store, 7, "mine")).allowed
    assert (await claim(store, 8, "theirs")).allowed
    await store.journal_job("mine", **journaled(clock, user_id=7, owner="proc-a"))
    await store.journal_job("theirs", **journaled(clock, user_id=8, owner="proc-b"))
    clock.now += STALE_RUNNING_SECONDS - 1
    await store.renew_leases("proc-a")
    clock.now += 2
    assert (await claim(store, 7, "again")).verdict is Verdict.ALREADY_RUNNING
    assert (await claim(store, 8, "again")).allowed


async def test_a_job_recorded_with_its_outcome_is_finished_at_once(
    store: Store, clock: Clock
) -> None:
    await store.record_job(
        "blocked", user_id=1, guild_id=1, channel_id=2, prompt="p", params={}, outcome="blocked"
    )
    job = await store.get_job("blocked")
    assert job is not None
    assert (job.state, job.outcome, job.finished_at, job.owner) == (
        journal.DONE,
        "blocked",
        clock.now,
        None,
    )
    assert await store.adopt_jobs("proc-a") == []
    clock.now += 10 * journal.LEASE_SECONDS
    assert await store.adopt_jobs("proc-a") == []
    assert fold(await store.job_stats(1, since=0)).blocked == 1


async def test_an_unreadable_record_strands_no_other(backend: Backend) -> None:
    clock = backend.clock
    store = await backend.open()
    for name in ("a", "bad", "c"):
        await store.journal_job(name, **journaled(clock))
        clock.now += 1
    await store.hand_back_jobs("proc-a")
    await break_record(backend, store, "bad")
    adopted = await store.adopt_jobs("proc-b")
    assert [job.id for job in adopted] == ["a", "c"]


async def break_record(backend: Backend, store: Store, job_id: str) -> None:
    """Spoil a journal record the way a bad write or a hand edit would."""
    if isinstance(store, SqliteStore):
        await store.db.execute("UPDATE jobs SET params = '{' WHERE id = ?", (job_id,))
    else:
        assert isinstance(store, RedisStore)
        await store.redis.hset(store._key("job", job_id), "user_id", "not a number")


# -- API slots shared by every process -------------------------------------------------

LEASE = journal.LEASE_SECONDS


async def test_fifty_parallel_acquires_take_exactly_the_cap(store: Store) -> None:
    taken = await asyncio.gather(
        *(store.acquire_slot(f"job{i}", cap=3, lease_seconds=LEASE) for i in range(50))
    )
    assert taken.count(True) == 3


async def test_acquiring_again_keeps_the_slot_and_renews_it(store: Store, clock: Clock) -> None:
    assert await store.acquire_slot("a", cap=1, lease_seconds=LEASE)
    clock.now += LEASE - 1
    assert await store.acquire_slot("a", cap=1, lease_seconds=LEASE)  # renewed from now
    clock.now += LEASE - 1
    assert not await store.acquire_slot("b", cap=1, lease_seconds=LEASE)
    # A full set of slots still lets their holders in.
    assert await store.acquire_slot("a", cap=1, lease_seconds=LEASE)


async def test_freeing_a_slot_lets_another_in(store: Store) -> None:
    assert await store.acquire_slot("a", cap=2, lease_seconds=LEASE)
    assert await store.acquire_slot("b", cap=2, lease_seconds=LEASE)
    assert not await store.acquire_slot("c", cap=2, lease_seconds=LEASE)
    await store.free_slot("a")
    await store.free_slot("a")  # twice, or for a job holding none: nothing
    await store.free_slot("never")
    assert await store.acquire_slot("c", cap=2, lease_seconds=LEASE)
    assert not await store.acquire_slot("d", cap=2, lease_seconds=LEASE)


async def test_a_lapsed_slot_is_dropped_and_a_renewed_one_kept(store: Store, clock: Clock) -> None:
    assert await store.acquire_slot("alive", cap=2, lease_seconds=LEASE)
    assert await store.acquire_slot("dead", cap=2, lease_seconds=LEASE)
    clock.now += LEASE / 2
    await store.renew_slots(["alive", "unknown"], lease_seconds=LEASE)
    await store.renew_slots([], lease_seconds=LEASE)
    assert not await store.acquire_slot("new", cap=2, lease_seconds=LEASE)
    clock.now += LEASE / 2 + 1  # the dead process's lease ran out, not the renewed one
    assert await store.acquire_slot("new", cap=2, lease_seconds=LEASE)
    assert not await store.acquire_slot("dead", cap=2, lease_seconds=LEASE)
    # A renewal never brings back a slot that was dropped.
    await store.renew_slots(["dead"], lease_seconds=LEASE)
    await store.free_slot("new")
    assert await store.acquire_slot("other", cap=2, lease_seconds=LEASE)
    assert not await store.acquire_slot("more", cap=2, lease_seconds=LEASE)


async def test_a_lowered_cap_lets_nobody_new_in_until_enough_leave(store: Store) -> None:
    for job in ("a", "b", "c"):
        assert await store.acquire_slot(job, cap=3, lease_seconds=LEASE)
    assert not await store.acquire_slot("d", cap=2, lease_seconds=LEASE)
    await store.free_slot("a")
    assert not await store.acquire_slot("d", cap=2, lease_seconds=LEASE)
    await store.free_slot("b")
    assert await store.acquire_slot("d", cap=2, lease_seconds=LEASE)


# -- several processes on one backend --------------------------------------------------


async def test_two_processes_share_the_slots(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    taken = await asyncio.gather(
        *(
            (first if i % 2 else second).acquire_slot(f"job{i}", cap=4, lease_seconds=LEASE)
            for i in range(40)
        )
    )
    assert taken.count(True) == 4
    holders = [f"job{i}" for i, got in enumerate(taken) if got]
    await second.free_slot(holders[0])
    assert await first.acquire_slot("late", cap=4, lease_seconds=LEASE)
    assert not await second.acquire_slot("later", cap=4, lease_seconds=LEASE)
    # A slot held through one process is the same job's in the other.
    assert await second.acquire_slot(holders[1], cap=4, lease_seconds=LEASE)


async def test_two_processes_claim_once_between_them(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    decisions = await asyncio.gather(
        *(claim(first if i % 2 else second, 7, f"job{i}") for i in range(20))
    )
    assert sum(d.allowed for d in decisions) == 1


async def test_two_processes_share_every_kind_of_state(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()

    assert (await claim(first, 7, "a")).allowed
    assert (await claim(second, 7, "b")).verdict is Verdict.ALREADY_RUNNING
    await first.end_claim(7, "a", delivered=True, cooldown_seconds=60)
    assert (await claim(second, 7, "c")).verdict is Verdict.ON_COOLDOWN

    reserved = await reserve(first, guild_id=1, user_id=7, images=2, user_limit=3, guild_limit=0)
    assert reserved.allowed
    refused = await reserve(second, guild_id=1, user_id=7, images=2, user_limit=3, guild_limit=0)
    assert (refused.verdict, refused.left) == (QuotaVerdict.USER, 1)
    assert reserved.reservation is not None
    await second.refund_images(reserved.reservation, 2)
    assert (await first.usage_today(1, 7)).user_used == 0

    await first.update_guild_settings(1, lambda s: replace(s, max_n=3))
    assert (await second.get_guild_settings(1)).max_n == 3

    await first.set_meta("command_hash", "abc")
    assert await second.get_meta("command_hash") == "abc"

    await first.record_job("j", user_id=7, guild_id=1, channel_id=2, prompt="p", params={})
    await second.finish_job("j", outcome="delivered", images=1)
    job = await first.get_job("j")
    assert job is not None
    assert (job.state, job.images) == ("done", 1)
    assert fold(await second.job_stats(1, since=0)).images == 1


async def test_state_outlives_the_process(backend: Backend, clock: Clock) -> None:
    first = await backend.open()
    assert (await claim(first, 7, "a")).allowed
    await first.end_claim(7, "a", delivered=True, cooldown_seconds=60)
    await first.update_guild_settings(1, lambda s: replace(s, spoilers=True))
    await reserve(first, guild_id=1, user_id=7, images=2, user_limit=0, guild_limit=0)
    await first.close()

    clock.now += 10
    again = await backend.open()
    decision = await claim(again, 7, "b")
    assert (decision.verdict, decision.retry_after) == (Verdict.ON_COOLDOWN, pytest.approx(50))
    assert (await again.get_guild_settings(1)).spoilers
    assert (await again.usage_today(1, 7)).user_used == 2


# -- blocked prompts -------------------------------------------------------------------

LIMIT = AttemptLimit(limit=3, window_seconds=600, pause_seconds=1800)


async def test_blocked_prompts_pause_a_member_at_the_limit(store: Store, clock: Clock) -> None:
    start = clock.now
    first = await store.note_blocked(1, 7, limit=LIMIT)
    assert (first.attempts, first.paused) == (1, False)
    clock.now += 60
    assert (await store.note_blocked(1, 7, limit=LIMIT)).attempts == 2
    clock.now += 60
    third = await store.note_blocked(1, 7, limit=LIMIT)
    assert (third.attempts, third.paused_now) == (3, True)
    assert third.paused_until == pytest.approx(start + 120 + 1800)
    # Paused: further attempts count nothing, and the pause keeps its end.
    clock.now += 60
    again = await store.note_blocked(1, 7, limit=LIMIT)
    assert (again.attempts, again.paused_now) == (0, False)
    assert again.paused_until == pytest.approx(third.paused_until)


async def test_a_paused_member_is_refused_admission_in_that_server_only(
    store: Store, clock: Clock
) -> None:
    for _ in range(3):
        await store.note_blocked(1, 7, limit=LIMIT)
    admission = await admit(store, 7, "a")
    assert not admission.allowed
    assert admission.paused_until == pytest.approx(clock.now + 1800)
    assert (await store.cooldown_state(7)).running_job is None  # nothing claimed
    assert (await store.usage_today(1, 7)).user_used == 0  # nothing reserved
    assert (await admit(store, 8, "b")).allowed  # another member
    assert (await admit(store, 7, "c", guild_id=2)).allowed  # another server
    await store.end_claim(7, "c", delivered=False, cooldown_seconds=0)
    assert (await admit(store, 7, "d", guild_id=None)).allowed  # a direct message


async def test_a_pause_ends_and_the_count_starts_afresh(store: Store, clock: Clock) -> None:
    for _ in range(3):
        await store.note_blocked(1, 7, limit=LIMIT)
    clock.now += 1801
    assert (await admit(store, 7, "a")).allowed
    after = await store.note_blocked(1, 7, limit=LIMIT)
    assert (after.attempts, after.paused) == (1, False)


async def test_attempts_older_than_the_window_are_forgotten(store: Store, clock: Clock) -> None:
    await store.note_blocked(1, 7, limit=LIMIT)
    await store.note_blocked(1, 7, limit=LIMIT)
    clock.now += 601
    noted = await store.note_blocked(1, 7, limit=LIMIT)
    assert (noted.attempts, noted.paused) == (1, False)
    assert (await admit(store, 7, "a")).allowed


async def test_attempts_are_counted_per_member_and_server(store: Store) -> None:
    await store.note_blocked(1, 7, limit=LIMIT)
    await store.note_blocked(1, 7, limit=LIMIT)
    assert (await store.note_blocked(2, 7, limit=LIMIT)).attempts == 1
    assert (await store.note_blocked(1, 8, limit=LIMIT)).attempts == 1
    assert (await store.note_blocked(1, 7, limit=LIMIT)).paused_now


async def test_parallel_blocked_prompts_pause_once(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    noted = await asyncio.gather(
        *(store.note_blocked(1, 7, limit=LIMIT) for _ in range(5) for store in (first, second))
    )
    assert sum(n.paused_now for n in noted) == 1
    assert sorted(n.attempts for n in noted) == [0] * 7 + [1, 2, 3]
    assert (await admit(second, 7, "a")).paused_until > 0
    assert (await admit(first, 7, "b")).paused_until > 0


# -- daily spend counters (see core.spend) ----------------------------------------------


async def test_an_admission_reserves_spend_with_its_images(store: Store) -> None:
    ask = SpendAsk(ticks=200, bot_limit=1000, guild_limit=500)
    admission = await admit(store, 7, "a", units=2, spend=ask)
    assert admission.allowed
    assert admission.quota is not None
    assert admission.quota.reservation is not None
    assert admission.quota.reservation.spend_ticks == 200
    assert await store.spend_today(1) == (200, 200)
    assert await store.spend_today(None) == (200, 0)


async def test_a_spend_ceiling_refuses_and_takes_nothing(store: Store) -> None:
    assert (await admit(store, 7, "a", spend=SpendAsk(300, guild_limit=500))).allowed
    refused = await admit(store, 8, "b", units=2, spend=SpendAsk(300, guild_limit=500))
    assert not refused.allowed
    assert refused.quota is not None
    assert (refused.quota.verdict, refused.quota.limit, refused.quota.left) == (
        QuotaVerdict.GUILD_SPEND,
        500,
        200,
    )
    # Neither the images, nor the spend, nor the claim were taken.
    assert (await store.usage_today(1, 8)).user_used == 0
    assert await store.spend_today(1) == (300, 300)
    assert (await store.cooldown_state(8)).running_job is None
    bot = await admit(store, 9, "c", guild_id=2, spend=SpendAsk(300, bot_limit=500))
    assert bot.quota is not None
    assert bot.quota.verdict is QuotaVerdict.BOT_SPEND
    # Another server has its own counter, the bot one for all.
    assert (await admit(store, 9, "d", guild_id=2, spend=SpendAsk(200, bot_limit=500))).allowed
    assert await store.spend_today(2) == (500, 200)


async def test_settling_gives_back_or_adds_to_the_day_reserved_on(
    store: Store, clock: Clock
) -> None:
    first = await admit(store, 7, "a", spend=SpendAsk(300))
    second = await admit(store, 8, "b", spend=SpendAsk(300))
    assert first.quota
    assert first.quota.reservation
    assert second.quota
    assert second.quota.reservation
    clock.now += 2 * 3600  # past midnight: settling goes to the day before
    await store.settle_spend(first.quota.reservation, 100)
    await store.settle_spend(second.quota.reservation, 450)
    assert await store.spend_today(1) == (0, 0)
    clock.now -= 2 * 3600
    assert await store.spend_today(1) == (550, 550)


async def test_a_failed_job_settles_to_nothing(store: Store) -> None:
    admission = await admit(store, 7, "a", spend=SpendAsk(300))
    assert admission.quota
    assert admission.quota.reservation
    await store.settle_spend(admission.quota.reservation, 0)
    assert await store.spend_today(1) == (0, 0)
    # A counter never goes below zero.
    await store.settle_spend(admission.quota.reservation, 0)
    assert await store.spend_today(1) == (0, 0)


async def test_large_amounts_stay_exact(store: Store) -> None:
    ticks = 1_234_567_890_123_456  # past the 14 digits Lua writes a number with
    admission = await admit(store, 7, "a", spend=SpendAsk(ticks))
    assert admission.quota
    assert admission.quota.reservation
    assert await store.spend_today(1) == (ticks, ticks)
    await store.settle_spend(admission.quota.reservation, ticks + 1)
    assert await store.spend_today(1) == (ticks + 1, ticks + 1)


async def test_fifty_parallel_spend_reservations_never_overshoot(store: Store) -> None:
    admissions = await asyncio.gather(
        *(
            admit(store, 100 + i, f"job{i}", guild_id=1 + i % 2, spend=SpendAsk(3, bot_limit=100))
            for i in range(50)
        )
    )
    assert sum(a.allowed for a in admissions) == 33
    refused = [a.quota for a in admissions if not a.allowed]
    assert all(q is not None and q.verdict is QuotaVerdict.BOT_SPEND for q in refused)
    assert (await store.spend_today(1))[0] == 99
    guild = await asyncio.gather(
        *(
            admit(store, 200 + i, f"g{i}", guild_id=3, spend=SpendAsk(7, guild_limit=70))
            for i in range(50)
        )
    )
    assert sum(a.allowed for a in guild) == 10
    assert await store.spend_today(3) == (169, 70)


async def test_a_journaled_reservation_keeps_its_spend(store: Store) -> None:
    admission = await admit(store, 7, "a", spend=SpendAsk(300))
    assert admission.quota
    assert admission.quota.reservation
    await store.journal_job(
        "a",
        user_id=7,
        guild_id=1,
        channel_id=5,
        prompt="p",
        params={},
        locale=None,
        interaction=InteractionRef(1, 2, "token", 0.0),
        reservation=admission.quota.reservation,
        cooldown_seconds=0,
        owner="me",
    )
    job = await store.get_job("a")
    assert job is not None
    assert job.reservation == admission.quota.reservation


async def test_a_servers_spend_is_summed_over_days(store: Store, clock: Clock) -> None:
    await admit(store, 7, "a", spend=SpendAsk(300))  # the day before MIDNIGHT
    clock.now += 2 * 3600
    await admit(store, 8, "b", spend=SpendAsk(200))
    await admit(store, 9, "c", guild_id=2, spend=SpendAsk(50))
    days = [quota.day_key(MIDNIGHT - 3600), quota.day_key(MIDNIGHT)]
    assert await store.guild_spend(1, days) == 500
    assert await store.guild_spend(1, days[1:]) == 200
    assert await store.guild_spend(2, days) == 50


# -- daily seconds of video (see core.quota.Meter) -------------------------------------

VIDEO = quota.Meter.VIDEO_SECONDS


async def test_seconds_of_video_count_apart_from_images(store: Store) -> None:
    clip = await admit(store, 7, "a", units=6, user_limit=10, guild_limit=20, meter=VIDEO)
    assert clip.allowed
    assert clip.quota is not None
    assert clip.quota.reservation is not None
    assert clip.quota.reservation.meter is VIDEO
    assert clip.quota.reservation.images == 6
    seconds = await store.usage_today(1, 7, VIDEO)
    assert (seconds.user_used, seconds.guild_used) == (6, 6)
    images = await store.usage_today(1, 7)
    assert (images.user_used, images.guild_used) == (0, 0)
    # Images at their limit do not stop a clip, nor a clip's seconds the images.
    await store.end_claim(7, "a", delivered=False, cooldown_seconds=0)
    assert (await admit(store, 7, "b", units=2, user_limit=2)).allowed
    await store.end_claim(7, "b", delivered=False, cooldown_seconds=0)
    assert (await admit(store, 7, "c", units=4, user_limit=10, meter=VIDEO)).allowed
    assert (await store.usage_today(1, 7, VIDEO)).user_used == 10
    assert (await store.usage_today(1, 7)).user_used == 2


async def test_seconds_of_video_are_refused_past_the_allowance(store: Store) -> None:
    assert (await admit(store, 7, "a", units=6, user_limit=10, meter=VIDEO)).allowed
    await store.end_claim(7, "a", delivered=True, cooldown_seconds=0)
    refused = await admit(store, 7, "b", units=5, user_limit=10, meter=VIDEO)
    assert refused.quota is not None
    assert (refused.quota.verdict, refused.quota.limit, refused.quota.left) == (
        QuotaVerdict.USER,
        10,
        4,
    )
    assert refused.quota.resets_at == MIDNIGHT
    # Refused: no claim taken, nothing counted.
    assert (await store.cooldown_state(7)).running_job is None
    assert (await store.usage_today(1, 7, VIDEO)).user_used == 6
    server = await admit(store, 8, "c", units=5, guild_limit=10, meter=VIDEO)
    assert server.quota is not None
    assert (server.quota.verdict, server.quota.left) == (QuotaVerdict.GUILD, 4)
    # An image counter at the same figures would not have refused: it is another counter.
    assert (await admit(store, 8, "d", units=5, guild_limit=10)).allowed


async def test_seconds_of_video_are_refunded_to_their_counters_and_day(
    store: Store, clock: Clock
) -> None:
    clock.now = MIDNIGHT - 10
    clip = await admit(store, 7, "a", units=8, user_limit=10, guild_limit=10, meter=VIDEO)
    assert clip.quota is not None
    assert clip.quota.reservation is not None
    await store.end_claim(7, "a", delivered=False, cooldown_seconds=0)
    images = await admit(store, 7, "b", units=3, user_limit=10)
    assert images.allowed
    await store.end_claim(7, "b", delivered=False, cooldown_seconds=0)

    clock.now = MIDNIGHT + 5  # the clip fails after midnight
    assert (await admit(store, 7, "c", units=8, user_limit=10, meter=VIDEO)).allowed
    await store.refund_images(clip.quota.reservation, 8)
    today = await store.usage_today(1, 7, VIDEO)
    assert (today.user_used, today.guild_used) == (8, 8)  # the new day is untouched

    clock.now = MIDNIGHT - 10
    yesterday = await store.usage_today(1, 7, VIDEO)
    assert (yesterday.user_used, yesterday.guild_used) == (0, 0)
    # The images of that day were not touched by the clip's refund.
    assert (await store.usage_today(1, 7)).user_used == 3


async def test_a_clips_spend_counts_against_the_servers_one_spend_counter(
    store: Store,
) -> None:
    clip = await admit(store, 7, "a", units=6, meter=VIDEO, spend=SpendAsk(300))
    assert clip.quota is not None
    assert clip.quota.reservation is not None
    await store.end_claim(7, "a", delivered=False, cooldown_seconds=0)
    assert (await admit(store, 8, "b", spend=SpendAsk(200))).allowed
    assert await store.spend_today(1) == (500, 500)
    await store.settle_spend(clip.quota.reservation, 0)
    assert await store.spend_today(1) == (200, 200)


async def test_a_journaled_clip_refunds_its_seconds(store: Store, clock: Clock) -> None:
    clip = await admit(store, 7, "a", units=6, user_limit=10, meter=VIDEO)
    assert clip.quota is not None
    assert clip.quota.reservation is not None
    await store.journal_job("a", **journaled(clock, reservation=clip.quota.reservation))
    job = await store.get_job("a")
    assert job is not None
    assert job.reservation == clip.quota.reservation
    assert job.reservation.meter is VIDEO
    await store.refund_images(job.reservation, job.reservation.images)
    assert (await store.usage_today(1, 7, VIDEO)).user_used == 0


async def test_a_journaled_image_reservation_reads_back_as_images(
    store: Store, clock: Clock
) -> None:
    # Journaled the way entries always were: no meter among its fields.
    images = await admit(store, 7, "a", units=2, user_limit=10)
    assert images.quota is not None
    assert images.quota.reservation is not None
    await store.journal_job("a", **journaled(clock, reservation=images.quota.reservation))
    job = await store.get_job("a")
    assert job is not None
    assert job.reservation is not None
    assert job.reservation.meter is quota.Meter.IMAGES
    await store.refund_images(job.reservation, 2)
    assert (await store.usage_today(1, 7)).user_used == 0


# -- a member's day, as /imagine-quota reads it -----------------------------------------


async def test_a_members_day_is_read_in_one_call(store: Store, clock: Clock) -> None:
    assert (await admit(store, 7, "a", units=3, spend=SpendAsk(300))).allowed
    assert (await admit(store, 8, "b", units=4, meter=quota.Meter.VIDEO_SECONDS)).allowed
    assert (await admit(store, 9, "c", units=1, guild_id=2, spend=SpendAsk(50))).allowed
    for _ in range(3):
        await store.note_blocked(1, 8, limit=LIMIT)
    day = await store.member_day(1, 7)
    assert day.cooldown.running_job == "a"
    assert (day.images.user_used, day.images.guild_used) == (3, 3)
    assert (day.video.user_used, day.video.guild_used) == (0, 4)
    assert (day.bot_spend_ticks, day.guild_spend_ticks) == (350, 300)
    assert day.paused_until == 0.0
    assert day.images.resets_at == day.video.resets_at == pytest.approx(MIDNIGHT)
    paused = await store.member_day(1, 8)
    assert paused.paused_until == pytest.approx(clock.now + LIMIT.pause_seconds)
    assert paused.video.user_used == 4
    # Elsewhere the pause does not hold; a direct message has no server counters.
    assert (await store.member_day(2, 8)).paused_until == 0.0
    direct = await store.member_day(None, 7)
    assert (direct.images.user_used, direct.guild_spend_ticks, direct.bot_spend_ticks) == (
        0,
        0,
        350,
    )
