"""Spend through the job service: reserved at admission, settled when the job closes."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from core import errors, journal
from core import guild_changes as changes
from core.jobs import GenerationKind, JobService
from core.jobs.admission import SPEND_NOTICE_SECONDS, notice_due
from core.jobs.port import JobSummary, SpendCeilingReached
from core.spend import PriceTable, SpendAsk, SpendPolicy
from core.storage import Store
from tests.core.jobs.fakes import (
    GUILD,
    MODELS,
    FakeImageClient,
    FakePort,
    FakePorts,
    config,
    eventually,
    options,
    origin,
)
from tests.core.store_calls import admit

pytestmark = pytest.mark.asyncio

#: Ten ticks an image, whatever the model.
PRICE = 10


def spend_service(
    store: Store, client: FakeImageClient, *, bot_limit: int = 0, ports: FakePorts | None = None
) -> JobService:
    settings = replace(config(), spend=SpendPolicy(PriceTable({"*": PRICE}), bot_limit=bot_limit))
    return JobService(
        store,
        config=settings,
        owner="one",
        kinds=[GenerationKind(client, models=MODELS, default_model=MODELS[0])],
        ports=ports or FakePorts(),
    )


async def test_a_delivered_job_settles_with_the_reported_cost(store: Store) -> None:
    client = FakeImageClient()
    client.cost_usd_ticks = 7
    await store.update_guild_settings(GUILD, partial(changes.set_modlog, channel_id=9))
    port = FakePort()
    await spend_service(store, client).submit(port, origin(1), options(n=3))
    assert await store.spend_today(GUILD) == (7, 7)
    _, entry = port.modlog[-1]
    assert isinstance(entry, JobSummary)
    assert (entry.cost_usd_ticks, entry.cost_estimated) == (7, False)


async def test_without_a_reported_cost_the_estimate_stands(store: Store) -> None:
    client = FakeImageClient()
    client.cost_usd_ticks = None
    await store.update_guild_settings(GUILD, partial(changes.set_modlog, channel_id=9))
    port = FakePort()
    await spend_service(store, client).submit(port, origin(1), options(n=3))
    assert await store.spend_today(GUILD) == (3 * PRICE, 3 * PRICE)
    _, entry = port.modlog[-1]
    assert isinstance(entry, JobSummary)
    assert (entry.cost_usd_ticks, entry.cost_estimated) == (3 * PRICE, True)


async def test_a_failed_job_gives_its_spend_back(store: Store) -> None:
    client = FakeImageClient()
    client.fail = errors.TransientError("down")
    await spend_service(store, client).submit(FakePort(), origin(1), options(n=3))
    assert await store.spend_today(GUILD) == (0, 0)


async def test_the_bot_ceiling_refuses_before_the_api_call(store: Store) -> None:
    client = FakeImageClient()
    client.cost_usd_ticks = None
    service = spend_service(store, client, bot_limit=5 * PRICE)
    await service.submit(FakePort(), origin(1), options(n=4))
    with pytest.raises(errors.SpendLimitReached) as refused:
        await service.submit(FakePort(), origin(2), options(n=2))
    assert refused.value.outcome.value == "spend_limit"
    assert (refused.value.left, refused.value.needed) == (PRICE, 2 * PRICE)
    assert len(client.calls) == 1
    # What fits still goes.
    await service.submit(FakePort(), origin(3), options(n=1))
    assert await store.spend_today(GUILD) == (5 * PRICE, 5 * PRICE)


async def test_the_servers_ceiling_refuses_its_own_jobs_only(store: Store) -> None:
    client = FakeImageClient()
    service = spend_service(store, client)
    await store.update_guild_settings(GUILD, partial(changes.set_spend_limit, ticks=PRICE))
    with pytest.raises(errors.SpendLimitReached) as refused:
        await service.submit(FakePort(), origin(1), options(n=2))
    assert refused.value.outcome.value == "guild_spend_limit"
    await service.submit(FakePort(), origin(2, guild_id=GUILD + 1), options(n=2))
    assert len(client.calls) == 1


async def journal_for_another(store: Store, job_id: str, user_id: int, state: str) -> None:
    """A job another process accepted with 2 images and 2 images' estimate, handed back."""
    admission = await admit(
        store, user_id, job_id, units=2, guild_id=GUILD, spend=SpendAsk(ticks=2 * PRICE)
    )
    assert admission.quota is not None
    await store.journal_job(
        job_id,
        user_id=user_id,
        guild_id=GUILD,
        channel_id=600,
        prompt="a harbour",
        params={"model": MODELS[0], "n": 2, "aspect_ratio": None, "resolution": None},
        locale="en-US",
        interaction=origin(user_id).interaction,  # type: ignore[arg-type]
        reservation=admission.quota.reservation,
        cooldown_seconds=0,
        owner="other",
        state=state,
    )
    await store.hand_back_jobs("other")


async def test_taken_over_jobs_settle_once_each(store: Store) -> None:
    await journal_for_another(store, "abcdef0001", 5, journal.QUEUED)
    await journal_for_another(store, "abcdef0002", 6, journal.DELIVERING)
    assert await store.spend_today(GUILD) == (4 * PRICE, 4 * PRICE)
    client = FakeImageClient()
    client.cost_usd_ticks = 3
    ports = FakePorts()
    service = spend_service(store, client, ports=ports)
    await service.sweep_once()
    await eventually(
        lambda: "abcdef0001" in ports.built and len(ports.built["abcdef0001"].files) == 2
    )
    await eventually(lambda: "abcdef0002" in ports.built and bool(ports.built["abcdef0002"].said))
    await eventually(lambda: service.queue.running == 0)
    # The one run again costs what the API reported; the one cut short while uploading had
    # reached the API: it keeps its estimate.
    assert await store.spend_today(GUILD) == (3 + 2 * PRICE, 3 + 2 * PRICE)
    await service.drain(1.0)


async def test_a_ceiling_turning_members_away_is_told_to_the_mod_log_once_for_a_while(
    store: Store,
) -> None:
    client = FakeImageClient()
    service = spend_service(store, client, bot_limit=3 * PRICE)
    await store.update_guild_settings(GUILD, partial(changes.set_modlog, channel_id=9))
    await store.update_guild_settings(GUILD, partial(changes.set_spend_limit, ticks=PRICE))
    ports = [FakePort() for _ in range(3)]
    for user, port in enumerate(ports, start=1):
        with pytest.raises(errors.SpendLimitReached):
            await service.submit(port, origin(user), options(n=2))
    entries = [entry for port in ports for _, entry in port.modlog]
    assert len(entries) == 1
    (entry,) = entries
    assert isinstance(entry, SpendCeilingReached)
    assert (entry.ceiling, entry.limit, entry.left, entry.user_id) == (
        "guild_spend_limit",
        PRICE,
        PRICE,
        1,
    )
    assert entry.resets_at > 0
    # The bot's ceiling is another ceiling: told once too, apart from the server's.
    await store.update_guild_settings(GUILD, partial(changes.set_spend_limit, ticks=0))
    port = FakePort()
    with pytest.raises(errors.SpendLimitReached):
        await service.submit(port, origin(4), options(n=4))
    ((channel, bot_entry),) = port.modlog
    assert channel == 9
    assert isinstance(bot_entry, SpendCeilingReached)
    assert (bot_entry.ceiling, bot_entry.limit) == ("spend_limit", 3 * PRICE)


async def test_a_ceiling_reached_without_a_mod_log_is_told_to_no_one(store: Store) -> None:
    service = spend_service(store, FakeImageClient(), bot_limit=PRICE)
    port = FakePort()
    with pytest.raises(errors.SpendLimitReached):
        await service.submit(port, origin(1), options(n=2))
    assert port.modlog == []


async def test_the_mod_log_hears_of_a_ceiling_again_only_after_a_while() -> None:
    assert notice_due(None, 0.0)
    assert not notice_due(100.0, 100.0 + SPEND_NOTICE_SECONDS - 1)
    assert notice_due(100.0, 100.0 + SPEND_NOTICE_SECONDS)
