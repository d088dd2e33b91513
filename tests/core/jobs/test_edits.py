"""Edits as a kind of job: options to request and back, and the service running them on
both real stores with a fake port."""

from __future__ import annotations

import logging
import time

import pytest

from core import errors, journal
from core.guild_settings import GuildSettings
from core.jobs import EditKind
from core.jobs.edits import UNAVAILABLE_SECONDS, check_edit_rules, edits_not_offered
from core.models import EditRequest, InputSource
from core.storage import JobRecord, Store
from tests.core.jobs.fakes import (
    COOLDOWN,
    GUILD,
    MODELS,
    FakeImageClient,
    FakeInputs,
    FakePort,
    FakePorts,
    eventually,
    make_service,
    origin,
)
from tests.core.store_calls import admit

SOURCES = [
    {
        "url": "https://cdn.example/a.png",
        "size": 100,
        "channel_id": 600,
        "message_id": 9,
        "own": True,
    },
    {"url": "https://cdn.example/b.png", "own": True},
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def edit_kind(
    client: FakeImageClient, inputs: FakeInputs | None = None, clock: Clock | None = None
) -> EditKind:
    return EditKind(
        client,
        inputs or FakeInputs(),
        models=MODELS,
        default_model=MODELS[0],
        clock=clock or Clock(),
    )


def edit_options(
    sources: list[dict[str, object]] = SOURCES[:1], **more: object
) -> dict[str, object]:
    return {"prompt": "make it night", "n": 1, "sources": sources, **more}


async def used(store: Store, user_id: int) -> int:
    return (await store.usage_today(GUILD, user_id)).user_used


# -- the kind -------------------------------------------------------------------------------


def test_an_edit_keeps_its_sources_in_the_record_and_comes_back_without_pictures() -> None:
    kind = edit_kind(FakeImageClient())
    request = kind.build(
        edit_options(SOURCES, aspect="16:9", inputs=("data:a", "data:b")),
        user_id=7,
        guild_settings=None,
    )
    assert request.inputs == ("data:a", "data:b")
    assert request.aspect_ratio == "16:9"
    params = kind.params_of(request)
    assert [s["url"] for s in params["sources"]] == [s["url"] for s in SOURCES]
    record = JobRecord(
        id="abcdef0001",
        user_id=7,
        guild_id=1,
        channel_id=2,
        prompt="make it night",
        params=params,
        state="running",
        outcome=None,
        images=0,
        cost_usd_ticks=None,
        created_at=0.0,
        finished_at=None,
    )
    rebuilt = kind.rebuild(record)
    assert rebuilt.inputs == ()
    assert rebuilt.sources == request.sources
    assert rebuilt.sources[0] == InputSource(
        "https://cdn.example/a.png", size=100, channel_id=600, message_id=9, own=True
    )
    assert kind.options_of(record)["sources"] == params["sources"]


def test_a_single_picture_edit_keeps_the_pictures_aspect() -> None:
    kind = edit_kind(FakeImageClient())
    request = kind.build(edit_options(aspect="16:9"), user_id=7, guild_settings=None)
    assert request.aspect_ratio is None


@pytest.mark.parametrize("sources", [[], SOURCES * 2, "https://typed.example/x.png"])
def test_an_edit_needs_one_to_three_sources(sources: object) -> None:
    with pytest.raises(errors.InvalidInput):
        edit_kind(FakeImageClient()).build(
            {"prompt": "x", "sources": sources}, user_id=7, guild_settings=None
        )


UPLOAD = InputSource("https://cdn.example/upload.png")
OWN = InputSource("https://cdn.example/result.png", own=True)


@pytest.mark.parametrize(
    ("settings", "sources", "refusal"),
    [
        (None, [UPLOAD], None),  # a direct message: no server's rules
        (GuildSettings(), [OWN], None),
        (GuildSettings(), [OWN, UPLOAD], "uploads_off"),
        (GuildSettings(edit_uploads=True), [OWN, UPLOAD], None),
        (GuildSettings(edits=False), [OWN], "edits"),
    ],
)
def test_a_servers_rules_on_edits(
    settings: GuildSettings | None, sources: list[InputSource], refusal: str | None
) -> None:
    if refusal is None:
        check_edit_rules(settings, sources)
        return
    with pytest.raises((errors.InvalidInput, errors.RefusedByServer)) as caught:
        check_edit_rules(settings, sources)
    if refusal == "edits":
        assert isinstance(caught.value, errors.RefusedByServer)
        assert caught.value.outcome.value == "rule_edits"
    else:
        assert isinstance(caught.value, errors.InvalidInput)
        assert (caught.value.reason, caught.value.index) == ("uploads_off", 1)


def test_building_an_edit_applies_the_servers_rules() -> None:
    kind = edit_kind(FakeImageClient())
    with pytest.raises(errors.RefusedByServer):
        kind.build(edit_options(), user_id=7, guild_settings=GuildSettings(edits=False))


@pytest.mark.parametrize(
    ("status", "detail", "lacking"),
    [
        (404, "HTTP 404: Path /v1/images/edits not found", True),
        (405, "HTTP 405: Method Not Allowed", True),
        (400, "HTTP 400 [invalid_request_error]: This endpoint is not supported", True),
        (404, "HTTP 404: The model grok-x does not exist", False),
        (400, "HTTP 400: prompt must not be empty", False),
        (403, "HTTP 403: not supported in your region", False),
        (None, "timed out", False),
    ],
)
def test_what_says_the_gateway_has_no_edits(status: int | None, detail: str, lacking: bool) -> None:
    assert edits_not_offered(errors.InvalidRequest(detail, status=status)) is lacking


# -- the service ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_edit_with_its_pictures_is_delivered_and_journaled(store: Store) -> None:
    client, inputs = FakeImageClient(), FakeInputs()
    service = make_service(store, client, edits=edit_kind(client, inputs))
    port = FakePort()
    await service.submit(
        port, origin(1), edit_options(SOURCES, n=2, inputs=("data:a", "data:b")), kind="edit"
    )
    [message] = port.sent
    assert message.card is not None
    assert message.card.delivered == 2
    [call] = client.edits
    assert call.inputs == ("data:a", "data:b")
    assert not inputs.loads  # the caller fetched them already
    record = await store.get_job(port.job_id)
    assert record is not None
    assert record.params["kind"] == "edit"
    assert [s["url"] for s in record.params["sources"]] == [s["url"] for s in SOURCES]
    assert "inputs" not in record.params
    assert await used(store, 1) == 2


@pytest.mark.asyncio
async def test_an_edit_without_its_pictures_fetches_them_again(store: Store) -> None:
    client, inputs = FakeImageClient(), FakeInputs()
    service = make_service(store, client, edits=edit_kind(client, inputs))
    await service.submit(FakePort(), origin(1), edit_options(), kind="edit")
    assert len(inputs.loads) == 1
    [call] = client.edits
    assert call.inputs == ("data:image/png;base64,cG5n",)


@pytest.mark.asyncio
async def test_a_picture_gone_since_costs_nothing(store: Store) -> None:
    client, inputs = FakeImageClient(), FakeInputs()
    inputs.fail = errors.InvalidInput("download")
    service = make_service(store, client, edits=edit_kind(client, inputs))
    port = FakePort()
    await service.submit(port, origin(1), edit_options(), kind="edit")
    assert port.said == [inputs.fail]
    record = await store.get_job(port.job_id)
    assert record is not None
    assert record.outcome == "invalid_input"
    assert await used(store, 1) == 0
    assert (await store.cooldown_state(1)).available_at <= time.time()
    assert not client.edits


@pytest.mark.asyncio
async def test_a_gateway_without_edits_charges_nothing_and_stops_offering_them(
    store: Store,
) -> None:
    client, clock = FakeImageClient(), Clock()
    client.edit_fail = errors.InvalidRequest("HTTP 404: Path not found", status=404)
    kind = edit_kind(client, clock=clock)
    service = make_service(store, client, edits=kind)
    port = FakePort()
    await service.submit(port, origin(1), edit_options(), kind="edit")
    [said] = port.said
    assert isinstance(said, errors.EditsUnavailable)
    record = await store.get_job(port.job_id)
    assert record is not None
    assert record.outcome == "edits_unavailable"
    assert await used(store, 1) == 0
    assert (await store.cooldown_state(1)).available_at <= time.time()
    # Not offered for a while, for everyone: refused before anything is reserved.
    assert not kind.offered
    with pytest.raises(errors.EditsUnavailable):
        await service.submit(FakePort(), origin(2), edit_options(), kind="edit")
    assert len(client.edits) == 1
    assert await store.cooldown_state(2) is not None
    # Generation keeps working.
    generated = FakePort()
    await service.submit(generated, origin(3), {"prompt": "a lighthouse", "n": 1})
    assert len(generated.files) == 1
    clock.now += UNAVAILABLE_SECONDS + 1
    assert kind.offered


@pytest.mark.asyncio
async def test_a_journaled_edit_is_resumed_and_fetches_its_pictures(store: Store) -> None:
    admission = await admit(store, 5, "abcdef0009", guild_id=GUILD, user_limit=10, guild_limit=100)
    assert admission.quota is not None
    await store.journal_job(
        "abcdef0009",
        user_id=5,
        guild_id=GUILD,
        channel_id=600,
        prompt="make it night",
        params={"kind": "edit", "model": MODELS[0], "n": 1, "sources": SOURCES},
        locale="en-US",
        interaction=origin(5).interaction,  # type: ignore[arg-type]
        reservation=admission.quota.reservation,
        cooldown_seconds=COOLDOWN,
        owner="other",
        state=journal.RUNNING,
    )
    await store.hand_back_jobs("other")
    client, inputs, ports = FakeImageClient(), FakeInputs(), FakePorts()
    service = make_service(store, client, ports=ports, edits=edit_kind(client, inputs))
    await service.sweep_once()
    await eventually(lambda: "abcdef0009" in ports.built and bool(ports.built["abcdef0009"].files))
    await eventually(lambda: service.queue.running == 0)
    assert [len(load) for load in inputs.loads] == [2]
    [call] = client.edits
    assert isinstance(call, EditRequest)
    assert len(call.inputs) == 2
    record = await store.get_job("abcdef0009")
    assert record is not None
    assert record.outcome == "delivered"
    await service.drain(1.0)


def test_grok_edits_off_never_offers_edits() -> None:
    kind = EditKind(
        FakeImageClient(), FakeInputs(), models=MODELS, default_model=MODELS[0], mode="off"
    )
    assert not kind.offered
    with pytest.raises(errors.EditsUnavailable):
        kind.build(edit_options(), user_id=7, guild_settings=None)


@pytest.mark.asyncio
async def test_a_servers_refusal_of_an_edit_is_logged_and_leaves_nothing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeImageClient()
    service = make_service(store, client, edits=edit_kind(client))
    await store.update_guild_settings(GUILD, lambda s: GuildSettings(edits=False))
    with caplog.at_level(logging.INFO, logger="core.jobs"), pytest.raises(errors.RefusedByServer):
        await service.submit(FakePort(), origin(1), edit_options(), kind="edit")
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job=")]
    assert "outcome=rule_edits images=0 " in line
    assert await used(store, 1) == 0
    assert (await store.cooldown_state(1)).running_job is None
