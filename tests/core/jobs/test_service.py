"""The job service from admission to close, on both real stores, with a fake port."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

import pytest

from core import errors, journal
from core.guild_settings import GuildSettings
from core.jobs import (
    DEFAULT_KIND,
    CancelAnswer,
    GenerationKind,
    JobService,
    MemberPaused,
    Notice,
    Stage,
    Status,
)
from core.models import ImageFile
from core.moderation import AttemptLimit
from core.outcomes import Outcome
from core.storage import Store
from tests.core.jobs.conftest import Backend
from tests.core.jobs.fakes import (
    COOLDOWN,
    GUILD,
    MODELS,
    FakeImageClient,
    FakePort,
    FakePorts,
    config,
    eventually,
    make_service,
    options,
    origin,
)
from tests.core.store_calls import admit

pytestmark = pytest.mark.asyncio


async def used(store: Store, user_id: int) -> int:
    return (await store.usage_today(GUILD, user_id)).user_used


async def claim_of(store: Store, user_id: int) -> str | None:
    return (await store.cooldown_state(user_id)).running_job


async def on_cooldown(store: Store, user_id: int) -> bool:
    return (await store.cooldown_state(user_id)).available_at > time.time()


async def test_a_job_is_delivered_counted_and_starts_the_cooldown(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeImageClient()
    service = make_service(store, client)
    port = FakePort()
    with caplog.at_level(logging.INFO, logger="core.jobs"):
        await service.submit(port, origin(1), options(n=2))
    assert port.acknowledged
    [message] = port.sent
    assert message.card is not None
    assert message.card.delivered == 2
    assert [f.name for f in message.files] == [
        f"imagine-{port.job_id}-1.png",
        f"imagine-{port.job_id}-2.png",
    ]
    record = await store.get_job(port.job_id)
    assert record is not None
    assert (record.state, record.outcome, record.images) == (journal.DONE, "delivered", 2)
    assert record.message_ids == (message.message_id,)
    assert await used(store, 1) == 2
    assert await claim_of(store, 1) is None
    assert await on_cooldown(store, 1)
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job=")]
    assert f"job={port.job_id} user=1 guild={GUILD} model=grok-imagine-image n=2 " in line
    assert "outcome=delivered images=2 " in line


@pytest.mark.parametrize(
    ("guild_settings", "asked", "error"),
    [
        (GuildSettings(enabled=False), options(), errors.RefusedByServer),
        (GuildSettings(user_quota=1), options(n=2), errors.DailyLimitReached),
        (GuildSettings(), options(model="no-such-model"), errors.InvalidOption),
    ],
)
async def test_a_refusal_before_acknowledging_leaves_nothing_behind(
    store: Store,
    guild_settings: GuildSettings,
    asked: dict[str, object],
    error: type[errors.GenerationError],
) -> None:
    await store.update_guild_settings(GUILD, lambda _: guild_settings)
    client = FakeImageClient()
    service = make_service(store, client)
    port = FakePort()
    with pytest.raises(error):
        await service.submit(port, origin(1), asked)
    assert not port.acknowledged
    assert client.calls == []
    assert await used(store, 1) == 0
    assert await claim_of(store, 1) is None
    assert not await on_cooldown(store, 1)
    assert service.queue.running == service.queue.waiting == 0


async def test_a_blocked_prompt_is_recorded_and_mod_logged(store: Store) -> None:
    guild_settings = GuildSettings(blocked_terms=("kraken",), modlog_channel=77)
    await store.update_guild_settings(GUILD, lambda _: guild_settings)
    service = make_service(store, FakeImageClient())
    port = FakePort()
    with pytest.raises(errors.RefusedByServer):
        await service.submit(port, origin(1), options("a kraken at sea"))
    [(channel, entry)] = port.modlog
    assert channel == 77
    assert getattr(entry, "outcome", None) == "blocked"
    assert getattr(entry, "term", None) == "kraken"
    assert await used(store, 1) == 0


async def test_blocked_prompts_past_the_limit_pause_the_member_with_one_entry(
    store: Store,
) -> None:
    guild_settings = GuildSettings(blocked_terms=("kraken",), modlog_channel=77)
    await store.update_guild_settings(GUILD, lambda _: guild_settings)
    client = FakeImageClient()
    service = make_service(store, client)
    port = FakePort()
    for _ in range(AttemptLimit().limit - 1):
        with pytest.raises(errors.RefusedByServer):
            await service.submit(port, origin(1), options("a kraken at sea"))
    with pytest.raises(errors.MemberPaused) as paused:
        await service.submit(port, origin(1), options("a kraken at sea"))
    assert paused.value.paused_until > time.time()
    for prompt in ("a kraken at sea", "a calm sea"):
        with pytest.raises(errors.MemberPaused):
            await service.submit(FakePort(), origin(1), options(prompt))
    entries = [entry for _, entry in port.modlog]
    [pause] = [entry for entry in entries if isinstance(entry, MemberPaused)]
    assert (pause.user_id, pause.attempts, pause.term) == (1, AttemptLimit().limit, "kraken")
    assert len(entries) == AttemptLimit().limit  # the blocked jobs before, then the pause
    await service.submit(FakePort(), origin(2), options("a calm sea"))
    assert len(client.calls) == 1  # only the other member's
    assert await claim_of(store, 1) is None


async def test_a_cooldown_refuses_the_next_job(store: Store) -> None:
    service = make_service(store, FakeImageClient())
    await service.submit(FakePort(), origin(1), options())
    with pytest.raises(errors.OnCooldown) as refused:
        await service.submit(FakePort(), origin(1), options())
    assert 0 < (refused.value.retry_after or 0) <= COOLDOWN


async def test_a_failure_gives_the_images_back_and_starts_no_cooldown(store: Store) -> None:
    client = FakeImageClient()
    client.fail = errors.TransientError("the API is down")
    service = make_service(store, client)
    port = FakePort()
    await service.submit(port, origin(1), options(n=3))
    assert port.sent == []
    assert port.said == [client.fail]
    record = await store.get_job(port.job_id)
    assert record is not None
    assert record.outcome == Outcome.API_UNAVAILABLE.value
    assert await used(store, 1) == 0
    assert await claim_of(store, 1) is None
    assert not await on_cooldown(store, 1)


async def test_an_acknowledgement_too_late_costs_nothing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeImageClient()
    service = make_service(store, client)
    port = FakePort(too_late=True)
    with caplog.at_level(logging.INFO, logger="core.jobs"):
        await service.submit(port, origin(1), options(n=2))
    assert client.calls == []
    assert await store.get_job(port.job_id) is None
    assert await used(store, 1) == 0
    assert await claim_of(store, 1) is None
    assert service.queue.running == 0
    assert any("outcome=not_deferred " in r.getMessage() for r in caplog.records)


async def test_a_413_is_re_planned_and_everything_delivered(store: Store) -> None:
    client = FakeImageClient()
    service = make_service(store, client)
    port = FakePort(too_large=1)
    await service.submit(port, origin(1), options(n=4))
    assert port.refused == [4]
    assert len(port.sent) >= 2
    assert len(port.files) == 4
    assert port.sent[0].card is not None
    assert all(message.card is None for message in port.sent[1:])
    record = await store.get_job(port.job_id)
    assert record is not None
    assert (record.outcome, record.images) == ("delivered", 4)
    assert len(record.message_ids) == len(port.sent)


async def test_a_refusal_after_some_messages_says_what_is_missing(store: Store) -> None:
    service = make_service(store, FakeImageClient())
    # Too large once (planned again: three images, then one), then no permission to post.
    port = FakePort(too_large=1, refuse_after=1)
    await service.submit(port, origin(1), options(n=4))
    assert [len(message.files) for message in port.sent] == [3]
    assert port.said == [Notice.of("undeliverable", count=1, total=4)]
    record = await store.get_job(port.job_id)
    assert record is not None
    assert (record.outcome, record.images) == ("delivered", 3)
    # The image not delivered is given back.
    assert await used(store, 1) == 3


async def test_nothing_delivered_is_a_failure_that_costs_nothing(store: Store) -> None:
    service = make_service(store, FakeImageClient())
    port = FakePort(refuse_after=0)
    await service.submit(port, origin(1), options(n=2))
    assert port.sent == []
    [error] = port.said
    assert isinstance(error, errors.DeliveryFailed)
    record = await store.get_job(port.job_id)
    assert record is not None
    assert record.outcome == "delivery_failed"
    assert await used(store, 1) == 0
    assert not await on_cooldown(store, 1)


class SketchKind(GenerationKind):
    """Another kind of job: only its name and its files differ."""

    name = "sketch"

    def file_name(self, job_id: str, index: int, file: ImageFile) -> str:
        return f"sketch-{job_id}-{index + 1}.{file.extension}"


async def test_another_kind_runs_on_the_same_service(store: Store) -> None:
    client = FakeImageClient()
    service = JobService(
        store,
        config=config(),
        owner="one",
        kinds=[
            GenerationKind(client, models=MODELS, default_model=MODELS[0]),
            SketchKind(client, models=MODELS, default_model=MODELS[0]),
        ],
        ports=FakePorts(),
    )
    port = FakePort()
    await service.submit(port, origin(1), options(), kind="sketch")
    assert [f.name for f in port.files] == [f"sketch-{port.job_id}-1.png"]
    record = await store.get_job(port.job_id)
    assert record is not None
    assert record.params["kind"] == "sketch"
    kind = service.kind_of(record)
    assert isinstance(kind, SketchKind)
    # The same cooldown holds across kinds.
    with pytest.raises(errors.OnCooldown):
        await service.submit(FakePort(), origin(1), options())


async def start_running(service: JobService, client: FakeImageClient, user_id: int) -> FakePort:
    """A job of ``user_id`` that holds the only slot until ``client.gate`` is set."""
    client.gate = asyncio.Event()
    port = FakePort()
    asyncio.get_running_loop().create_task(service.submit(port, origin(user_id), options()))
    await asyncio.wait_for(client.started.wait(), 5)
    return port


async def start_waiting(service: JobService, user_id: int) -> tuple[FakePort, asyncio.Task[None]]:
    port = FakePort()
    task = asyncio.create_task(service.submit(port, origin(user_id), options()))
    await eventually(lambda: Status(Stage.WAITING, 1) in port.statuses)
    return port, task


async def test_cancel_while_waiting_costs_nothing(store: Store) -> None:
    client = FakeImageClient()
    service = make_service(store, client)
    running = await start_running(service, client, 1)
    waiting, task = await start_waiting(service, 2)
    assert service.cancel(waiting.job_id, 3) is CancelAnswer.NOT_YOURS
    assert service.cancel(waiting.job_id, 2) is CancelAnswer.CANCELLED
    await asyncio.wait_for(task, 5)
    assert service.cancel(waiting.job_id, 2) is CancelAnswer.TOO_LATE
    assert service.cancel(running.job_id, 1) is CancelAnswer.TOO_LATE
    record = await store.get_job(waiting.job_id)
    assert record is not None
    assert record.outcome == "cancelled"
    assert await used(store, 2) == 0
    assert await claim_of(store, 2) is None
    assert not await on_cooldown(store, 2)
    assert client.gate is not None
    client.gate.set()
    await eventually(lambda: len(running.sent) == 1)


async def stop_mid_job(
    store: Store, client: FakeImageClient
) -> tuple[JobService, FakePort, FakePort]:
    """A service stopping with one job running (finishing within the grace period) and
    one waiting."""
    service = make_service(store, client, owner="first")
    running = await start_running(service, client, 1)
    waiting, task = await start_waiting(service, 2)
    draining = asyncio.create_task(service.drain(5.0))
    await eventually(lambda: service.stopping)
    assert client.gate is not None
    client.gate.set()
    await asyncio.wait_for(draining, 10)
    await asyncio.wait_for(task, 5)
    await store.hand_back_jobs("first")
    return service, running, waiting


async def test_drain_lets_running_jobs_finish_and_keeps_waiting_ones(store: Store) -> None:
    client = FakeImageClient()
    service, running, waiting = await stop_mid_job(store, client)
    assert len(running.sent) == 1
    assert waiting.statuses[-1] == Status(Stage.SUSPENDED)
    assert waiting.sent == []
    record = await store.get_job(waiting.job_id)
    assert record is not None
    assert record.state == journal.QUEUED
    assert record.reservation is not None
    assert record.reservation.images == 1
    # Its images stay reserved and its claim held, for the next process.
    assert await used(store, 2) == 1
    assert await claim_of(store, 2) == waiting.job_id
    with pytest.raises(errors.ShuttingDown):
        await service.submit(FakePort(), origin(3), options())


async def test_a_journaled_job_is_resumed_after_a_restart(backend: Backend, store: Store) -> None:
    client = FakeImageClient()
    _, _, waiting = await stop_mid_job(store, client)
    client.gate = None
    # The next process, on the same store.
    ports = FakePorts()
    restarted = make_service(await backend.open(), client, owner="second", ports=ports)
    await restarted.sweep_once()
    await eventually(
        lambda: waiting.job_id in ports.built and bool(ports.built[waiting.job_id].sent)
    )
    await eventually(lambda: restarted.queue.running == 0)
    record = await store.get_job(waiting.job_id)
    assert record is not None
    assert (record.state, record.outcome) == (journal.DONE, "delivered")
    # Reserved once, before the restart: neither given back nor counted twice.
    assert await used(store, 2) == 1
    assert await on_cooldown(store, 2)
    await restarted.drain(1.0)


async def journal_for_another(store: Store, job_id: str, user_id: int, state: str) -> None:
    """A job another process accepted and handed back (its images reserved)."""
    admission = await admit(
        store, user_id, job_id, units=2, guild_id=GUILD, user_limit=10, guild_limit=100
    )
    assert admission.allowed
    assert admission.quota is not None
    await store.journal_job(
        job_id,
        user_id=user_id,
        guild_id=GUILD,
        channel_id=600,
        prompt="a harbour",
        params={"model": "grok-imagine-image", "n": 2, "aspect_ratio": None, "resolution": None},
        locale="en-US",
        interaction=origin(user_id).interaction,  # type: ignore[arg-type]
        reservation=admission.quota.reservation,
        cooldown_seconds=COOLDOWN,
        owner="other",
        state=state,
    )
    await store.hand_back_jobs("other")


async def test_another_owners_handed_back_jobs_are_adopted(store: Store) -> None:
    await journal_for_another(store, "abcdef0001", 5, journal.RUNNING)
    await journal_for_another(store, "abcdef0002", 6, journal.DELIVERING)
    client = FakeImageClient()
    ports = FakePorts()
    service = make_service(store, client, owner="mine", ports=ports, max_running=2)
    await service.sweep_once()
    # A job that was not uploading runs again and is delivered.
    await eventually(
        lambda: "abcdef0001" in ports.built and len(ports.built["abcdef0001"].files) == 2
    )
    # One cut short while uploading is closed, its images given back, its requester told.
    await eventually(lambda: "abcdef0002" in ports.built and bool(ports.built["abcdef0002"].said))
    assert ports.built["abcdef0002"].said == [Notice.of("interrupted", job_id="abcdef0002")]
    await eventually(lambda: service.queue.running == 0)
    resumed = await store.get_job("abcdef0001")
    interrupted = await store.get_job("abcdef0002")
    assert resumed is not None
    assert resumed.outcome == "delivered"
    assert interrupted is not None
    assert interrupted.outcome == "interrupted"
    assert await used(store, 5) == 2
    assert await used(store, 6) == 0
    assert await claim_of(store, 6) is None
    assert len(client.calls) == 1
    await service.drain(1.0)


class StoreCalls:
    """A store that notes the name of each method called on it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def noted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return noted


async def test_the_probing_limit_costs_no_store_call_for_a_prompt_not_blocked(
    store: Store,
) -> None:
    guild_settings = GuildSettings(blocked_terms=("kraken",), modlog_channel=77)
    await store.update_guild_settings(GUILD, lambda _: guild_settings)
    calls = StoreCalls(store)
    service = make_service(cast(Store, calls), FakeImageClient())
    kind = service.kinds[DEFAULT_KIND]
    await service.admitter.admit(FakePort(), origin(1), kind, options("a calm sea"))
    assert calls.calls == ["get_guild_settings", "admit"]
    calls.calls.clear()
    with pytest.raises(errors.RefusedByServer):
        await service.admitter.admit(FakePort(), origin(2), kind, options("a kraken"))
    assert calls.calls[:2] == ["get_guild_settings", "note_blocked"]
