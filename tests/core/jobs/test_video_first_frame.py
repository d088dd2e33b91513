"""A clip's first frame: the job keeps its source, never the picture; the picture is
fetched before the submission (unless fetched at admission already) and sent as a data
URI; a job that has a request id only polls and fetches nothing; records written when
the first frame was kept as a URL still rebuild."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

import pytest

from core import errors
from core.edit_inputs import PreparedInput, prepare_input
from core.guild_settings import GuildSettings
from core.jobs.kinds import Unattended
from core.jobs.video import REQUEST_ID_PARAM, VideoKind, check_video_rules, first_frame_source
from core.models import InputSource
from core.storage import JobRecord
from core.video import VideoRequest
from tests.core.jobs.test_kinds import record as job_record
from tests.core.jobs.test_video import DONE_STATUS, Clock, FakeVideoClient, Notes
from tests.fakes.image_api import make_png

PICTURE = prepare_input(make_png(12, 8))
SOURCE = InputSource(
    url="https://cdn.discordapp.com/attachments/1/2/imagine-1.png?ex=1",
    size=len(PICTURE.data),
    filename="imagine-1.png",
    channel_id=1,
    message_id=2,
    own=True,
)


class Loader:
    """Stands in for ``core.edit_inputs.InputFetcher``."""

    def __init__(self, error: errors.InvalidInput | None = None) -> None:
        self.loaded: list[tuple[InputSource, ...]] = []
        self.error = error

    async def load(self, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]:
        self.loaded.append(tuple(sources))
        if self.error is not None:
            raise self.error
        return (PICTURE,)


def video_kind(client: FakeVideoClient, loader: Loader | None) -> VideoKind:
    clock = Clock()
    return VideoKind(client, Notes(), inputs=loader, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def record(params: dict[str, object]) -> JobRecord:
    """A clip's job record (with the generation tests' record of a job)."""
    return job_record({"kind": "video", "model": "grok-imagine-video", "duration": 5, **params})


def test_the_record_keeps_the_source_never_the_picture() -> None:
    kind = video_kind(FakeVideoClient(), Loader())
    request = kind.build(
        {"prompt": "waves", "image": SOURCE.to_param(), "first_frame": PICTURE},
        user_id=7,
        guild_settings=None,
    )
    assert request.image == SOURCE
    assert request.first_frame == PICTURE.data_uri
    params = kind.params_of(request)
    assert params["image"] == SOURCE.to_param()
    assert "data:" not in json.dumps(params)
    # Re-roll asks for the same picture, fetched again.
    again = kind.rebuild(record(params))
    assert (again.image, again.first_frame) == (SOURCE, None)


@pytest.mark.asyncio
async def test_the_picture_is_fetched_before_submitting_and_sent_as_a_data_uri() -> None:
    client, loader = FakeVideoClient(DONE_STATUS), Loader()
    kind = video_kind(client, loader)
    request = kind.build({"prompt": "waves", "image": SOURCE}, user_id=7, guild_settings=None)
    assert request.first_frame is None
    await kind.make(request, Unattended("job1"))
    assert loader.loaded == [(SOURCE,)]
    [submitted] = client.submitted
    header, _, payload = submitted.to_body()["image"]["url"].partition(",")
    assert header == "data:image/png;base64"
    assert base64.b64decode(payload) == PICTURE.data


@pytest.mark.asyncio
async def test_a_picture_fetched_at_admission_is_not_fetched_again() -> None:
    client, loader = FakeVideoClient(DONE_STATUS), Loader()
    kind = video_kind(client, loader)
    options = {"prompt": "waves", "image": SOURCE, "first_frame": PICTURE}
    await kind.make(kind.build(options, user_id=7, guild_settings=None), Unattended("job1"))
    assert loader.loaded == []
    assert client.submitted[0].to_body()["image"] == {"url": PICTURE.data_uri}


@pytest.mark.asyncio
async def test_a_job_with_a_request_id_only_polls_and_fetches_nothing() -> None:
    client, loader = FakeVideoClient(DONE_STATUS), Loader()
    kind = video_kind(client, loader)
    request = kind.rebuild(record({"image": SOURCE.to_param(), REQUEST_ID_PARAM: "vid-old"}))
    assert request.request_id == "vid-old"
    await kind.make(request, Unattended("job1"))
    assert (loader.loaded, client.submitted, client.polled) == ([], [], ["vid-old"])


@pytest.mark.asyncio
async def test_an_unusable_picture_ends_the_job_before_anything_is_submitted() -> None:
    client = FakeVideoClient(DONE_STATUS)
    kind = video_kind(client, Loader(errors.InvalidInput("download", detail="HTTP 404")))
    request = kind.build({"prompt": "waves", "image": SOURCE}, user_id=7, guild_settings=None)
    with pytest.raises(errors.InvalidInput):
        await kind.make(request, Unattended("job1"))
    assert client.submitted == []
    # Without a fetcher at all, likewise.
    with pytest.raises(errors.InvalidInput):
        await video_kind(client, None).make(request, Unattended("job1"))
    assert client.submitted == []


def test_a_record_that_kept_the_first_frame_as_a_url_still_rebuilds() -> None:
    kind = video_kind(FakeVideoClient(), Loader())
    old = kind.rebuild(record({"image": SOURCE.url, REQUEST_ID_PARAM: "vid-7"}))
    assert (old.image, old.request_id) == (InputSource(url=SOURCE.url), "vid-7")
    assert kind.rebuild(record({"image": None})).image is None
    assert kind.options_of(record({"image": SOURCE.url}))["image"] == SOURCE.url


def test_the_first_frames_source_is_read_from_options_and_records() -> None:
    assert first_frame_source(None) is None
    assert first_frame_source("") is None
    assert first_frame_source(SOURCE) == SOURCE
    assert first_frame_source(SOURCE.to_param()) == SOURCE
    assert first_frame_source("https://x/a.png") == InputSource(url="https://x/a.png")
    for bad in (3, {"size": 1}, ["https://x/a.png"]):
        with pytest.raises(errors.InvalidOption):
            first_frame_source(bad)


def test_a_prompt_alone_sends_no_image() -> None:
    assert "image" not in VideoRequest(prompt="waves").to_body()
    # A picture not fetched yet is never sent as its (expiring) URL.
    assert "image" not in VideoRequest(prompt="waves", image=SOURCE).to_body()


def test_video_off_in_a_server_is_refused() -> None:
    check_video_rules(None)
    check_video_rules(GuildSettings(video=True))
    with pytest.raises(errors.RefusedByServer):
        check_video_rules(GuildSettings())
