"""The input pictures of an edit on the Discord side: fetched before the job when quick."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from cogs.imagine import edits
from core import errors
from core.edit_inputs import PreparedInput
from core.jobs import EditKind
from core.models import InputSource
from tests.core.jobs.fakes import MODELS, FakeImageClient

SOURCE = InputSource("https://cdn.example/a.png")


class SlowInputs:
    def __init__(self, delay: float, fail: errors.GenerationError | None = None) -> None:
        self.delay = delay
        self.fail = fail

    async def load(self, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]:
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return tuple(PreparedInput(b"png", "image/png", 1, 1) for _ in sources)


def kind(inputs: SlowInputs) -> EditKind:
    return EditKind(FakeImageClient(), inputs, models=MODELS, default_model=MODELS[0])


@pytest.mark.asyncio
async def test_pictures_fetched_in_time_go_with_the_request() -> None:
    assert len(await edits.prefetch(kind(SlowInputs(0.0)), [SOURCE])) == 1


@pytest.mark.asyncio
async def test_a_bad_picture_is_raised_before_the_job() -> None:
    with pytest.raises(errors.InvalidInput):
        await edits.prefetch(kind(SlowInputs(0.0, errors.InvalidInput("corrupt"))), [SOURCE])


@pytest.mark.asyncio
async def test_pictures_too_slow_for_the_deadline_are_left_to_the_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(edits, "PREFETCH_SECONDS", 0.05)
    assert await edits.prefetch(kind(SlowInputs(1.0)), [SOURCE]) == ()
