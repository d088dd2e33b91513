"""The job service tells its observer of every job line and every 413 re-plan."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core import errors
from core.jobs import GenerationKind, JobService
from core.storage import Store
from tests.core.jobs.fakes import (
    MODELS,
    FakeImageClient,
    FakePort,
    FakePorts,
    config,
    options,
    origin,
)

pytestmark = pytest.mark.asyncio


@dataclass
class Recorder:
    """A JobObserver that keeps what it heard."""

    ended: list[dict[str, object]] = field(default_factory=list)
    replans: int = 0
    spent: list[tuple[str, str, int]] = field(default_factory=list)

    def job_ended(
        self, *, kind: str, outcome: str, images: int, api_seconds: float, total_seconds: float
    ) -> None:
        self.ended.append(
            {
                "kind": kind,
                "outcome": outcome,
                "images": images,
                "api_seconds": api_seconds,
                "total_seconds": total_seconds,
            }
        )

    def upload_replanned(self) -> None:
        self.replans += 1

    def job_spent(self, *, kind: str, model: str, ticks: int) -> None:
        self.spent.append((kind, model, ticks))


def observed_service(store: Store, client: FakeImageClient, observer: Recorder) -> JobService:
    return JobService(
        store,
        config=config(),
        owner="one",
        kinds=[GenerationKind(client, models=MODELS, default_model=MODELS[0])],
        ports=FakePorts(),
        observer=observer,
    )


async def test_every_job_line_is_heard_with_its_kind_and_outcome(store: Store) -> None:
    observer = Recorder()
    service = observed_service(store, FakeImageClient(), observer)
    await service.submit(FakePort(), origin(1), options(n=2))
    with pytest.raises(errors.OnCooldown):
        await service.submit(FakePort(), origin(1), options())
    delivered, refused = observer.ended
    assert delivered["kind"] == "generation"
    assert delivered["outcome"] == "delivered"
    assert delivered["images"] == 2
    assert delivered["api_seconds"] == pytest.approx(0.01)
    assert isinstance(delivered["total_seconds"], float)
    assert delivered["total_seconds"] >= 0
    assert refused["outcome"] == "on_cooldown"
    assert refused["images"] == 0


async def test_a_413_replan_is_heard(store: Store) -> None:
    observer = Recorder()
    service = observed_service(store, FakeImageClient(), observer)
    await service.submit(FakePort(too_large=1), origin(2), options(n=4))
    assert observer.replans == 1
    assert observer.ended[-1]["outcome"] == "delivered"


async def test_a_failed_job_is_heard(store: Store) -> None:
    observer = Recorder()
    client = FakeImageClient()
    client.fail = errors.ContentRefused("withheld")
    service = observed_service(store, client, observer)
    await service.submit(FakePort(), origin(3), options())
    assert [e["outcome"] for e in observer.ended] == ["refused"]


async def test_a_closed_jobs_cost_is_heard(store: Store) -> None:
    observer = Recorder()
    client = FakeImageClient()
    service = observed_service(store, client, observer)
    await service.submit(FakePort(), origin(3), options(n=2))
    assert observer.spent == [("generation", MODELS[0], 100)]
