"""A fake port (recording what the service asked of the platform), a fake image client,
and a service on a real store: the job service tested with no Discord at all."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core import errors
from core.edit_inputs import PreparedInput
from core.guild_settings import GuildSettings
from core.jobs import (
    EditKind,
    GenerationKind,
    JobService,
    ModLogEntry,
    Notice,
    Origin,
    OutgoingFile,
    ResultCard,
    ServiceConfig,
    Status,
    UploadRefused,
    UploadTooLarge,
)
from core.journal import InteractionRef
from core.limits import LimitDefaults
from core.models import EditRequest, GenerationRequest, GenerationResult, ImageFile, InputSource
from core.storage import JobRecord, Store

MODELS = ("grok-imagine-image", "grok-imagine-image-pro")
GUILD = 500
CHANNEL = 600
COOLDOWN = 30.0


@dataclass
class Sent:
    files: list[OutgoingFile]
    card: ResultCard | None
    message_id: int


@dataclass
class FakePort:
    """Records every call; refuses what it is told to."""

    job_id: str = "-"
    filesize_limit: int = 10 * 1024 * 1024
    #: acknowledge answers "too late".
    too_late: bool = False
    #: The next this many sends are refused as too large.
    too_large: int = 0
    #: Once this many messages are posted, every other send is refused (no permission).
    refuse_after: int | None = None
    acknowledged: bool = False
    modlog_channel: int | None = None
    statuses: list[Status] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    said: list[Notice | errors.GenerationError] = field(default_factory=list)
    in_channel: list[Notice] = field(default_factory=list)
    modlog: list[tuple[int, ModLogEntry]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1000))

    async def acknowledge(self, job_id: str, *, modlog_channel: int | None) -> bool:
        self.job_id = job_id
        self.modlog_channel = modlog_channel
        self.acknowledged = not self.too_late
        return not self.too_late

    async def show_status(self, status: Status) -> None:
        self.statuses.append(status)

    async def send(self, files: Sequence[OutgoingFile], card: ResultCard | None) -> int:
        if self.too_large > 0:
            self.too_large -= 1
            self.refused.append(len(files))
            raise UploadTooLarge(status=413, code=40005)
        if self.refuse_after is not None and len(self.sent) >= self.refuse_after:
            self.refused.append(len(files))
            raise UploadRefused(status=403, code=50013)
        message_id: int = next(self._ids)
        self.sent.append(Sent(list(files), card, message_id))
        return message_id

    async def say(self, notice: Notice | errors.GenerationError, *, private: bool = True) -> None:
        self.said.append(notice)

    async def say_in_channel(self, notice: Notice) -> None:
        self.in_channel.append(notice)

    def post_modlog(self, channel_id: int, entry: ModLogEntry) -> None:
        self.modlog.append((channel_id, entry))

    @property
    def files(self) -> list[OutgoingFile]:
        return [file for message in self.sent for file in message.files]


class FakePorts:
    """Builds a fake port for each job taken over from the journal."""

    def __init__(self) -> None:
        self.built: dict[str, FakePort] = {}

    def port_for(self, record: JobRecord, guild_settings: GuildSettings | None) -> FakePort:
        port = FakePort(job_id=record.id)
        self.built[record.id] = port
        return port


def image(size: int = 1000) -> ImageFile:
    return ImageFile(data=b"x" * size, mime_type="image/png", extension="png", width=1, height=1)


class FakeImageClient:
    """``generate`` as ``core.client.ImageClient`` has it: images, or a core error.

    While ``gate`` is set to an unset event, every call waits for it (a job "running").
    """

    def __init__(self) -> None:
        self.calls: list[GenerationRequest] = []
        self.fail: errors.GenerationError | None = None
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.image_size = 1000
        self.edits: list[EditRequest] = []
        self.edit_fail: errors.GenerationError | None = None
        #: The cost the answer reports (None: it reports none).
        self.cost_usd_ticks: int | None = 100

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls.append(request)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        images = [image(self.image_size) for _ in range(request.n)]
        return GenerationResult(images=images, cost_usd_ticks=self.cost_usd_ticks, api_seconds=0.01)

    async def edit(self, request: EditRequest) -> GenerationResult:
        """An edit answers like a generation (``edit_fail`` fails edits only)."""
        self.edits.append(request)
        if self.edit_fail is not None:
            raise self.edit_fail
        return await self.generate(
            GenerationRequest(prompt=request.prompt, model=request.model, n=request.n)
        )


class FakeInputs:
    """Loads input pictures without a network: every source is a tiny PNG, or the error
    it is told to raise."""

    def __init__(self) -> None:
        self.loads: list[tuple[InputSource, ...]] = []
        self.fail: errors.GenerationError | None = None

    async def load(self, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]:
        self.loads.append(tuple(sources))
        if self.fail is not None:
            raise self.fail
        return tuple(PreparedInput(b"png", "image/png", 1, 1) for _ in sources)


def config(
    *, max_running: int = 1, max_waiting: int = 5, max_wait_seconds: float = 600.0
) -> ServiceConfig:
    return ServiceConfig(
        max_running=max_running,
        max_waiting=max_waiting,
        allow_dms=True,
        limits=LimitDefaults(cooldown_seconds=COOLDOWN, user_quota=10, guild_budget=100),
        max_wait_seconds=max_wait_seconds,
    )


def make_service(
    store: Store,
    client: FakeImageClient,
    *,
    owner: str = "one",
    ports: FakePorts | None = None,
    max_running: int = 1,
    max_wait_seconds: float = 600.0,
    edits: EditKind | None = None,
) -> JobService:
    kind = GenerationKind(client, models=MODELS, default_model=MODELS[0])
    return JobService(
        store,
        config=config(max_running=max_running, max_wait_seconds=max_wait_seconds),
        owner=owner,
        kinds=[kind] if edits is None else [kind, edits],
        ports=ports or FakePorts(),
    )


def origin(user_id: int, *, guild_id: int | None = GUILD, token_left: float = 900.0) -> Origin:
    return Origin(
        user_id=user_id,
        guild_id=guild_id,
        channel_id=CHANNEL,
        locale="en-US",
        interaction=InteractionRef(
            interaction_id=user_id * 10,
            application_id=1,
            token=f"token-{user_id}",
            expires_at=time.time() + token_left,
        ),
    )


def options(prompt: str = "a lighthouse", n: int = 1, **more: object) -> dict[str, object]:
    return {"prompt": prompt, "n": n, **more}


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``condition()`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never held")
        await asyncio.sleep(0.01)
