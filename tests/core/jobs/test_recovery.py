"""The job service's recovery, on both real stores: claims that outlive a long wait, the
longest wait, closes that fail, adoptions that fail one by one, and blocked prompts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from core import errors, journal
from core.cooldown import STALE_RUNNING_SECONDS
from core.guild_settings import GuildSettings
from core.jobs import Notice
from core.outcomes import Outcome
from core.storage import JobRecord, Store
from tests.core.jobs.conftest import Backend
from tests.core.jobs.fakes import (
    GUILD,
    FakeImageClient,
    FakePort,
    FakePorts,
    eventually,
    make_service,
    options,
    origin,
)
from tests.core.jobs.test_service import (
    claim_of,
    journal_for_another,
    on_cooldown,
    start_running,
    start_waiting,
    used,
)

pytestmark = pytest.mark.asyncio


class Later:
    """The store's clock, moved on by hand from the real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def test_a_waiting_job_keeps_its_claim_while_it_lives(store: Store) -> None:
    clock = Later()
    store._clock = clock  # type: ignore[attr-defined]
    client = FakeImageClient()
    service = make_service(store, client)
    await start_running(service, client, 1)
    waiting, _ = await start_waiting(service, 2)
    # The job waits far past the claim's usual life; the sweep renews it meanwhile.
    while clock.offset < STALE_RUNNING_SECONDS + 60:
        clock.offset += 5 * 60
        await service.sweep_once()
    assert await claim_of(store, 2) == waiting.job_id
    with pytest.raises(errors.AlreadyRunning):
        await service.submit(FakePort(), origin(2), options())
    assert client.gate is not None
    client.gate.set()
    await eventually(lambda: len(waiting.sent) == 1)
    await eventually(lambda: service.queue.running == 0)
    # Its cooldown is not lost: it starts as for any delivered job.
    assert await on_cooldown(store, 2)
    await service.drain(1.0)


async def test_a_job_that_cannot_start_in_time_is_closed_and_costs_nothing(
    store: Store,
) -> None:
    client = FakeImageClient()
    service = make_service(store, client, max_wait_seconds=0.5)
    running = await start_running(service, client, 1)
    waiting, task = await start_waiting(service, 2)
    await asyncio.wait_for(task, 5)
    assert waiting.said == [Notice.of("waited_too_long", job_id=waiting.job_id)]
    assert waiting.sent == []
    record = await store.get_job(waiting.job_id)
    assert record is not None
    assert (record.state, record.outcome) == (journal.DONE, Outcome.WAITED_TOO_LONG.value)
    # Everything it reserved is given back: images, claim, its place and any API slot.
    assert await used(store, 2) == 0
    assert await claim_of(store, 2) is None
    assert not await on_cooldown(store, 2)
    assert service.queue.waiting == 0
    assert client.gate is not None
    client.gate.set()
    await eventually(lambda: len(running.sent) == 1)
    assert len(client.calls) == 1
    assert await store.acquire_slot("next", cap=1, lease_seconds=journal.LEASE_SECONDS)
    await service.drain(1.0)


def fail_the_first_close(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store cannot be written when the next job ends; it can again after."""
    close_job = store.close_job
    failures = [RuntimeError("the store is away")]

    async def flaky_close(job_id: str, **values: Any) -> bool:
        if failures:
            raise failures.pop()
        return await close_job(job_id, **values)

    monkeypatch.setattr(store, "close_job", flaky_close)


async def test_a_failed_close_keeps_the_entry_and_gives_back_once(
    backend: Backend, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FakeImageClient()
    client.fail = errors.TransientError("the API is down")
    service = make_service(store, client)
    fail_the_first_close(store, monkeypatch)
    port = FakePort()
    await service.submit(port, origin(1), options(n=2))
    assert port.said == [client.fail]
    # Not given back yet: the entry is still open, and still held by this process.
    assert await used(store, 1) == 2
    assert await claim_of(store, 1) == port.job_id
    record = await store.get_job(port.job_id)
    assert record is not None
    assert (record.finished, record.owner) == (False, "one")
    other = make_service(await backend.open(), client, owner="two", ports=FakePorts())
    await other.sweep_once()
    assert other.queue.running == other.queue.waiting == 0

    await service.sweep_once()  # closes it at last, and gives back once
    record = await store.get_job(port.job_id)
    assert record is not None
    assert record.outcome == Outcome.API_UNAVAILABLE.value
    assert await used(store, 1) == 0
    assert await claim_of(store, 1) is None
    await service.sweep_once()
    await other.sweep_once()
    assert await used(store, 1) == 0
    assert len(client.calls) == 1
    assert port.said == [client.fail]


async def test_a_delivered_job_whose_close_failed_is_closed_later_and_never_run_twice(
    backend: Backend, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FakeImageClient()
    service = make_service(store, client)
    fail_the_first_close(store, monkeypatch)
    port = FakePort()
    await service.submit(port, origin(1), options(n=2))
    assert len(port.files) == 2
    ports = FakePorts()
    other = make_service(await backend.open(), client, owner="two", ports=ports)
    await other.sweep_once()
    await service.sweep_once()
    record = await store.get_job(port.job_id)
    assert record is not None
    assert (record.outcome, record.images) == ("delivered", 2)
    # Counted once, never given back, and the cooldown starts as for any delivered job.
    assert await used(store, 1) == 2
    assert await on_cooldown(store, 1)
    await other.sweep_once()
    await asyncio.sleep(0.05)
    assert ports.built == {}
    assert len(client.calls) == 1
    assert port.said == []
    await service.drain(1.0)


class BrokenOnce(FakePorts):
    """Cannot rebuild the port of one job the first time it is asked."""

    def __init__(self, broken: str) -> None:
        super().__init__()
        self.broken: str | None = broken

    def port_for(self, record: JobRecord, guild_settings: GuildSettings | None) -> FakePort:
        if record.id == self.broken:
            self.broken = None
            raise RuntimeError("cannot rebuild this one now")
        return super().port_for(record, guild_settings)


async def test_one_entry_that_cannot_be_taken_over_strands_no_other(store: Store) -> None:
    await journal_for_another(store, "abcdef0001", 5, journal.RUNNING)
    await journal_for_another(store, "abcdef0002", 6, journal.RUNNING)
    client = FakeImageClient()
    ports = BrokenOnce("abcdef0001")
    service = make_service(store, client, owner="mine", ports=ports, max_running=2)
    await service.sweep_once()
    await eventually(
        lambda: "abcdef0002" in ports.built and len(ports.built["abcdef0002"].files) == 2
    )
    assert "abcdef0001" not in ports.built
    # The one that failed is tried again by the next sweep, and runs once.
    await service.sweep_once()
    await eventually(
        lambda: "abcdef0001" in ports.built and len(ports.built["abcdef0001"].files) == 2
    )
    await eventually(lambda: service.queue.running == 0)
    await service.sweep_once()
    assert len(client.calls) == 2
    for job_id in ("abcdef0001", "abcdef0002"):
        record = await store.get_job(job_id)
        assert record is not None
        assert record.outcome == "delivered"
    await service.drain(1.0)


async def test_a_blocked_prompt_is_finished_at_once_and_never_adopted(
    backend: Backend, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocking = GuildSettings(blocked_terms=("kraken",), modlog_channel=77)
    await store.update_guild_settings(GUILD, lambda _: blocking)

    async def no_finish(job_id: str, **values: Any) -> None:
        raise RuntimeError("the process died before it could finish the record")

    monkeypatch.setattr(store, "finish_job", no_finish)
    service = make_service(store, FakeImageClient())
    port = FakePort()
    with pytest.raises(errors.RefusedByServer):
        await service.submit(port, origin(1), options("a kraken at sea"))
    [(_, entry)] = port.modlog
    job_id = getattr(entry, "job_id", "")
    record = await store.get_job(job_id)
    assert record is not None
    assert (record.state, record.outcome) == (journal.DONE, "blocked")
    ports = FakePorts()
    other = make_service(await backend.open(), FakeImageClient(), owner="two", ports=ports)
    await other.sweep_once()
    await asyncio.sleep(0.05)
    assert ports.built == {}


async def test_the_sweep_starts_once_however_often_the_platform_connects(
    store: Store,
) -> None:
    service = make_service(store, FakeImageClient())
    sweeps = 0
    original = service.sweep_once

    async def counted() -> None:
        nonlocal sweeps
        sweeps += 1
        await original()

    service.sweep_once = counted  # type: ignore[method-assign]

    async def ready() -> None:
        return None

    for _ in range(3):  # each connection (or new session) would start it again
        service.start(ready)
    await eventually(lambda: sweeps >= 1)
    await asyncio.sleep(0.1)
    assert sweeps == 1
    service.stop()
