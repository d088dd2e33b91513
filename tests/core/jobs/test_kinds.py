"""Generation as a kind of job: options to request, and back from a record."""

from __future__ import annotations

import pytest

from core import errors, quota
from core.guild_settings import GuildSettings
from core.jobs import GenerationKind
from core.jobs.kinds import undelivered_units
from core.models import GenerationRequest
from core.storage import JobRecord
from core.video import VideoRequest
from tests.core.jobs.fakes import MODELS, FakeImageClient, image


def kind() -> GenerationKind:
    return GenerationKind(FakeImageClient(), models=MODELS, default_model=MODELS[0])


def record(params: dict[str, object]) -> JobRecord:
    return JobRecord(
        id="abcdef0001",
        user_id=7,
        guild_id=1,
        channel_id=2,
        prompt="a harbour",
        params=dict(params),
        state="running",
        outcome=None,
        images=0,
        cost_usd_ticks=None,
        created_at=0.0,
        finished_at=None,
    )


def test_options_become_a_request_with_the_servers_default_model() -> None:
    server = GuildSettings(models=(MODELS[1],))
    request = kind().build({"prompt": "a cat", "n": 2}, user_id=7, guild_settings=server)
    assert request == GenerationRequest(prompt="a cat", model=MODELS[1], n=2, user="7")


def test_a_record_gives_back_the_same_request_and_options() -> None:
    generation = kind()
    request = generation.build(
        {"prompt": "a harbour", "n": 3, "aspect": "16:9", "model": MODELS[1]},
        user_id=7,
        guild_settings=None,
    )
    params = generation.params_of(request)
    assert "kind" not in params  # generation records keep the layout they always had
    assert generation.rebuild(record(params)) == request
    assert generation.options_of(record(params))["aspect"] == "16:9"


def test_a_record_with_a_model_no_longer_offered_cannot_be_rebuilt() -> None:
    with pytest.raises(errors.InvalidOption):
        kind().rebuild(record({"model": "retired", "n": 1}))


def test_files_are_named_by_job_and_place() -> None:
    assert kind().file_name("abc123", 0, image()) == "imagine-abc123-1.png"


def test_a_job_gives_back_the_units_it_did_not_deliver() -> None:
    images = GenerationRequest(prompt="p", model="m", n=4)
    assert [undelivered_units(images, delivered) for delivered in (0, 1, 4, 5)] == [4, 3, 0, 0]
    clip = VideoRequest(prompt="p", duration=6)
    assert (clip.meter, clip.units, clip.n) == (quota.Meter.VIDEO_SECONDS, 6, 1)
    # A clip not delivered gives back all its seconds; one delivered, none.
    assert (undelivered_units(clip, 0), undelivered_units(clip, 1)) == (6, 0)
