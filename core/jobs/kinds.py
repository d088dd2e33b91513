"""Kinds of job: what differs between them, plugged into the one job service.

Admission, the line, the journal, the API slots, delivery, closing and taking over are the
same for every kind; a kind says only how it turns the requester's options into a request
(and back, for Re-roll and for a job taken over from the journal), how it calls the image
service (with a :class:`JobContext` the service lends it: the job's journal id, its
progress, and its slots, given back while the image service works alone), how its files
are fitted to the upload limit, and how they are named. Generation is the first kind;
image edits add their input pictures to the request (:mod:`core.jobs.edits`); video
submits, notes its request id with the job and polls it holding no slot, and a resumed
clip polls again rather than submitting twice (:mod:`core.jobs.video`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from core.delivery import DeliveryLimits, shrink_image
from core.guild_settings import GuildSettings
from core.models import GenerationRequest, GenerationResult, ImageFile, InputSource
from core.moderation import default_model_for
from core.options import MAX_IMAGES, RESOLUTIONS, build_request
from core.quota import Meter
from core.storage import JobRecord

#: The kind of a journaled job whose parameters name none (every job before kinds existed).
DEFAULT_KIND = "generation"
#: The job parameter naming a job's kind (generation jobs leave it out).
KIND_PARAM = "kind"


class JobRequest(Protocol):
    """What the service itself reads of any kind's request (rules, quotas, the mod log)."""

    @property
    def prompt(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def n(self) -> int: ...

    @property
    def aspect_ratio(self) -> str | None: ...

    @property
    def resolution(self) -> str | None: ...

    @property
    def billed_images(self) -> int: ...

    @property
    def meter(self) -> Meter:
        """What the request counts against the daily limits (images, seconds of video)."""
        ...

    @property
    def units(self) -> int:
        """How many of :attr:`meter` it reserves: ``n`` images, a clip's seconds."""
        ...

    @property
    def sources(self) -> tuple[InputSource, ...]:
        """The pictures the request reads (an edit's), for the card and the mod log."""
        ...


#: Hears of a job's progress: its stage and the percent done (a rendering clip's polls).
ProgressHook = Callable[[str, int], Awaitable[None]]


class JobContext(Protocol):
    """What the job service lends a kind while it makes a job's result."""

    @property
    def job_id(self) -> str | None:
        """The job's id when it has a journal entry (to note what the kind learns in it,
        a clip's request id), else None."""
        ...

    async def progress(self, stage: str, percent: int) -> None:
        """Show the job's stage and progress (throttled); raises ``core.queue.Cancelled``
        when its requester pressed Cancel meanwhile."""
        ...

    def released(self) -> AbstractAsyncContextManager[None]:
        """Within it, the job holds no slot (a clip rendering at the image service: other
        jobs run meanwhile); on leaving it normally, the job waits in line for its slots
        again."""
        ...


@dataclass(frozen=True, slots=True)
class Unattended:
    """The context of a result made with no job service around it (tests, the bench):
    no slot to give back, progress told to ``hook`` if there is one."""

    job_id: str | None = None
    hook: ProgressHook | None = None

    async def progress(self, stage: str, percent: int) -> None:
        if self.hook is not None:
            await self.hook(stage, percent)

    def released(self) -> AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()


class ImageMaker(Protocol):
    """The image service's client, as generation uses it (``core.client.ImageClient``)."""

    async def generate(self, request: GenerationRequest) -> GenerationResult: ...


class JobKind(Protocol):
    """What one kind of job plugs into the job service."""

    #: Its name in the job's parameters (and in :data:`KIND_PARAM`).
    name: str
    #: The models, resolutions and most images its requests may ask for (for the rules).
    models: tuple[str, ...]
    resolutions: tuple[str, ...]
    max_n: int

    def build(
        self, options: Mapping[str, object], *, user_id: int, guild_settings: GuildSettings | None
    ) -> JobRequest:
        """The request the requester's options ask for; raises ``errors.InvalidOption``."""
        ...

    def params_of(self, request: JobRequest) -> dict[str, Any]:
        """What the journal keeps of a request, besides its prompt, to run it again."""
        ...

    def options_of(self, record: JobRecord) -> dict[str, object]:
        """A recorded job's options, as the requester gave them (for Re-roll)."""
        ...

    def rebuild(self, record: JobRecord) -> JobRequest:
        """The request of a journaled job; raises ``errors.InvalidOption`` when its
        options are no longer valid (the operator changed the models)."""
        ...

    async def make(self, request: JobRequest, context: JobContext) -> GenerationResult:
        """Call the image service; raises ``core.errors`` values. ``context`` is the
        job's: its journal id, its progress, its slots."""
        ...

    def submitted(self, request: JobRequest) -> bool:
        """Whether the image service has the request already (a clip with its request
        id): running it again only asks for the result, never bills again."""
        ...

    def file_name(self, job_id: str, index: int, file: ImageFile) -> str:
        """The name of the ``index``-th file (from 0) of a result."""
        ...

    async def fit_files(
        self, files: list[ImageFile | None], limits: DeliveryLimits
    ) -> list[ImageFile | None]:
        """The result's files made to fit the per-file budget of ``limits`` (None for one
        that cannot), re-encoded off the event loop."""
        ...


def fit_images(images: list[ImageFile | None], max_bytes: int) -> list[ImageFile | None]:
    """Re-encode every image over ``max_bytes`` (CPU-bound: run in a thread)."""
    return [None if image is None else shrink_image(image, max_bytes) for image in images]


async def fit(images: list[ImageFile | None], limits: DeliveryLimits) -> list[ImageFile | None]:
    """Re-encode, off the event loop, any image over the per-file budget."""
    budget = limits.file_budget()
    if all(image is None or image.size <= budget for image in images):
        return images
    return await asyncio.to_thread(fit_images, images, budget)


def undelivered_units(request: JobRequest, delivered: int) -> int:
    """The reserved units a job gives back once it delivered ``delivered`` of its ``n``
    files: those of the files it did not deliver (every second of a clip not delivered,
    none of one delivered)."""
    n = max(1, request.n)
    return request.units * max(0, n - delivered) // n


def record_params(kind: JobKind, request: JobRequest) -> dict[str, Any]:
    """What a job record keeps of a request: the kind's parameters, and the kind's name
    unless it is generation (so generation records keep the layout they always had)."""
    params = kind.params_of(request)
    if kind.name != DEFAULT_KIND:
        params[KIND_PARAM] = kind.name
    return params


class GenerationKind:
    """``POST /v1/images/generations``: images from a text prompt."""

    name: str = DEFAULT_KIND
    resolutions: tuple[str, ...] = RESOLUTIONS
    max_n: int = MAX_IMAGES

    def __init__(
        self,
        client: ImageMaker,
        *,
        models: tuple[str, ...],
        default_model: str,
        response_format: str = "b64_json",
    ) -> None:
        self.client = client
        self.models = models
        self.default_model = default_model
        self.response_format = response_format

    def build(
        self, options: Mapping[str, object], *, user_id: int, guild_settings: GuildSettings | None
    ) -> GenerationRequest:
        """The request the options ask for; a server's own default model wins."""
        default = (
            self.default_model
            if guild_settings is None
            else default_model_for(guild_settings, self.models, self.default_model)
        )
        return build_request(
            prompt=options.get("prompt"),
            model=options.get("model"),
            n=options.get("n"),
            aspect=options.get("aspect"),
            resolution=options.get("resolution"),
            user_id=user_id,
            models=self.models,
            default_model=default,
            response_format=self.response_format,
        )

    def params_of(self, request: JobRequest) -> dict[str, Any]:
        """The options a job record keeps, enough to run the job again."""
        return {
            "model": request.model,
            "n": request.n,
            "aspect_ratio": request.aspect_ratio,
            "resolution": request.resolution,
        }

    def options_of(self, record: JobRecord) -> dict[str, object]:
        params = record.params
        return {
            "prompt": record.prompt,
            "model": params.get("model"),
            "n": params.get("n"),
            "aspect": params.get("aspect_ratio"),
            "resolution": params.get("resolution"),
        }

    def rebuild(self, record: JobRecord) -> GenerationRequest:
        """The journaled request, with the operator's default model (not a server's)."""
        return self.build(self.options_of(record), user_id=record.user_id, guild_settings=None)

    async def make(self, request: JobRequest, context: JobContext) -> GenerationResult:
        """One call; the job holds its slots throughout (the answer comes in seconds)."""
        assert isinstance(request, GenerationRequest)
        return await self.client.generate(request)

    def submitted(self, request: JobRequest) -> bool:
        """Never: a generation is one call, made again when the job runs again."""
        return False

    def file_name(self, job_id: str, index: int, file: ImageFile) -> str:
        return f"imagine-{job_id}-{index + 1}.{file.extension}"

    async def fit_files(
        self, files: list[ImageFile | None], limits: DeliveryLimits
    ) -> list[ImageFile | None]:
        """Images over the per-file budget, re-encoded smaller."""
        return await fit(files, limits)
