"""Spend through the job service: reserved at admission, settled when the job closes."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from core import errors
from core import guild_changes as changes
from core.jobs import GenerationKind, JobService
from core.jobs.port import JobSummary
from core.spend import PriceTable, SpendPolicy
from core.storage import Store
from tests.core.jobs.fakes import (
    GUILD,
    MODELS,
    FakeImageClient,
    FakePort,
    FakePorts,
    config,
    options,
    origin,
)

pytestmark = pytest.mark.asyncio

#: Ten ticks an image, whatever the model.
PRICE = 10


def spend_service(store: Store, client: FakeImageClient, *, bot_limit: int = 0) -> JobService:
    settings = replace(config(), spend=SpendPolicy(PriceTable({"*": PRICE}), bot_limit=bot_limit))
    return JobService(
        store,
        config=settings,
        owner="one",
        kinds=[GenerationKind(client, models=MODELS, default_model=MODELS[0])],
        ports=FakePorts(),
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
