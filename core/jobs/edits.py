"""Image edits as a kind of job: pictures from pictures, guided by a prompt.

The requester's options carry the input pictures' sources (attachment URLs from the chat
platform's payload) and, when the caller fetched them already (to answer a bad input
privately before anything is reserved), the prepared pictures. The job record keeps the
sources only: Re-roll and a job taken over after a restart fetch the pictures again.

With ``GROK_EDITS=auto`` a gateway that answers that the edits path does not exist turns
edits off for :data:`UNAVAILABLE_SECONDS` (for every request, not one at a time); the job
ends as ``edits_unavailable``, which charges nothing, and generation goes on.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from core import errors
from core.delivery import DeliveryLimits
from core.edit_inputs import MAX_INPUTS, InputFetcher, PreparedInput
from core.guild_settings import GuildSettings
from core.jobs.kinds import GenerationKind, ImageMaker, JobContext, JobRequest, fit
from core.models import EditRequest, GenerationResult, ImageFile, InputSource
from core.options import MAX_IMAGES, RESOLUTIONS
from core.storage import JobRecord

log = logging.getLogger(__name__)

EDIT_KIND = "edit"
#: ``GROK_EDITS`` values.
EDITS_AUTO = "auto"
EDITS_OFF = "off"
#: How long edits stay off once the gateway said it has none.
UNAVAILABLE_SECONDS = 15 * 60.0

#: What OpenAI-style gateways say of a path or feature they lack.
_NOT_OFFERED_RE = re.compile(
    r"not\s+(?:supported|implemented|available)|unsupported|no\s+such\s+(?:route|path|endpoint)"
    r"|(?:unknown|invalid)\s+(?:route|path|endpoint|url)|path\s+\S*\s*not\s+found"
    r"|route\s+not\s+found|endpoint\s+not\s+found",
    re.IGNORECASE,
)
_MODEL_RE = re.compile(r"\bmodel\b", re.IGNORECASE)


def edits_not_offered(error: errors.GenerationError) -> bool:
    """Whether an error answer to an edit says the image service has no edits at all
    (rather than refusing this one): 405, 404 not about a model, 501, or a "not
    supported" message on another 4xx."""
    status = error.status
    if status is None:
        return False
    detail = error.detail
    if status in (405, 501):
        return True
    if status == 404:
        return not _MODEL_RE.search(detail) or bool(_NOT_OFFERED_RE.search(detail))
    if 400 <= status < 500 and status not in (401, 402, 403, 429):
        return bool(_NOT_OFFERED_RE.search(detail))
    return False


def check_edit_rules(guild_settings: GuildSettings | None, sources: Sequence[InputSource]) -> None:
    """Raise why a server's settings refuse an edit of ``sources``: edits off
    (``RefusedByServer("edits")``), or an upload where only the bot's own results may
    be edited (``InvalidInput("uploads_off")``). Outside a server nothing refuses."""
    if guild_settings is None:
        return
    if not guild_settings.edits:
        raise errors.RefusedByServer("edits")
    if not guild_settings.edit_uploads:
        for index, source in enumerate(sources):
            if not source.own:
                raise errors.InvalidInput("uploads_off", index=index)


class ImageService(ImageMaker, Protocol):
    """The image service's client, as edits use it (``core.client.ImageClient``)."""

    async def edit(self, request: EditRequest) -> GenerationResult: ...


class InputLoader(Protocol):
    """Fetches and prepares input pictures (``core.edit_inputs.InputFetcher``)."""

    async def load(self, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]: ...


def sources_of(value: object) -> tuple[InputSource, ...]:
    """The input sources an option or a job parameter holds; ``InvalidInput`` when none
    or too many."""
    if not isinstance(value, list | tuple) or not value:
        raise errors.InvalidInput("none")
    if len(value) > MAX_INPUTS:
        raise errors.InvalidInput("too_many", index=MAX_INPUTS)
    try:
        return tuple(InputSource.from_param(item) for item in value)
    except ValueError:
        raise errors.InvalidInput("none") from None


class EditKind:
    """``POST /v1/images/edits``: images from up to three pictures and a prompt."""

    name: str = EDIT_KIND
    resolutions: tuple[str, ...] = RESOLUTIONS
    max_n: int = MAX_IMAGES

    def __init__(
        self,
        client: ImageService,
        inputs: InputLoader | InputFetcher,
        *,
        models: tuple[str, ...],
        default_model: str,
        response_format: str = "b64_json",
        mode: str = EDITS_AUTO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.inputs = inputs
        self.models = models
        #: The options an edit shares with a generation are read and checked alike.
        self._common = GenerationKind(
            client, models=models, default_model=default_model, response_format=response_format
        )
        self.mode = mode
        self._clock = clock
        #: Until when (``clock()``) edits are not offered, after the gateway said so.
        self._unavailable_until = 0.0

    # -- whether edits are offered -----------------------------------------------------

    @property
    def offered(self) -> bool:
        """Whether edits are offered now (not off, and the gateway has not said it lacks
        them lately)."""
        return self.mode != EDITS_OFF and self._clock() >= self._unavailable_until

    def mark_unavailable(self) -> None:
        """The gateway has no edits: stop offering them for a while."""
        self._unavailable_until = self._clock() + UNAVAILABLE_SECONDS
        log.warning(
            "the image service has no edits endpoint; edits are off for %.0f minutes",
            UNAVAILABLE_SECONDS / 60,
        )

    def check_offered(self) -> None:
        """Raise :class:`~core.errors.EditsUnavailable` unless edits are offered."""
        if not self.offered:
            raise errors.EditsUnavailable("edits are not offered")

    async def load(self, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]:
        """The pictures of ``sources``, ready for the API (raises ``InvalidInput``)."""
        return await self.inputs.load(sources)

    # -- the kind ----------------------------------------------------------------------

    def build(
        self, options: Mapping[str, object], *, user_id: int, guild_settings: GuildSettings | None
    ) -> EditRequest:
        """The edit the options ask for (``sources``, and ``inputs`` when fetched);
        raises ``EditsUnavailable`` while edits are not offered."""
        self.check_offered()
        return self._build(options, user_id=user_id, guild_settings=guild_settings)

    def _build(
        self,
        options: Mapping[str, object],
        *,
        user_id: int,
        guild_settings: GuildSettings | None,
        check_rules: bool = True,
    ) -> EditRequest:
        sources = sources_of(options.get("sources"))
        if check_rules:
            check_edit_rules(guild_settings, sources)
        base = self._common.build(options, user_id=user_id, guild_settings=guild_settings)
        prepared = options.get("inputs")
        inputs: tuple[str, ...] = ()
        if isinstance(prepared, tuple | list) and len(prepared) == len(sources):
            inputs = tuple(
                item.data_uri if isinstance(item, PreparedInput) else str(item) for item in prepared
            )
        return EditRequest(
            prompt=base.prompt,
            model=base.model,
            sources=sources,
            n=base.n,
            # A single-picture edit keeps the picture's aspect ratio: the API takes one
            # only with two or three pictures.
            aspect_ratio=base.aspect_ratio if len(sources) > 1 else None,
            resolution=base.resolution,
            response_format=base.response_format,
            user=base.user,
            inputs=inputs,
        )

    def params_of(self, request: JobRequest) -> dict[str, Any]:
        """The options a job record keeps: the sources, never the pictures."""
        assert isinstance(request, EditRequest)
        params = self._common.params_of(request)
        params["sources"] = [source.to_param() for source in request.sources]
        return params

    def options_of(self, record: JobRecord) -> dict[str, object]:
        options = self._common.options_of(record)
        options["sources"] = record.params.get("sources")
        return options

    def rebuild(self, record: JobRecord) -> EditRequest:
        """The journaled edit, without its pictures (:meth:`make` fetches them again)."""
        try:
            return self._build(
                self.options_of(record),
                user_id=record.user_id,
                guild_settings=None,
                check_rules=False,
            )
        except errors.InvalidInput as error:
            raise errors.InvalidOption("sources", error.detail) from None

    async def make(self, request: JobRequest, context: JobContext) -> GenerationResult:
        """Fetch the pictures when the request has none yet, then edit them."""
        assert isinstance(request, EditRequest)
        self.check_offered()
        if not request.inputs:
            prepared = await self.load(request.sources)
            request = replace(request, inputs=tuple(item.data_uri for item in prepared))
        try:
            return await self.client.edit(request)
        except errors.GenerationError as error:
            if self.mode == EDITS_AUTO and edits_not_offered(error):
                self.mark_unavailable()
                raise errors.EditsUnavailable(error.detail, status=error.status) from None
            raise

    def submitted(self, request: JobRequest) -> bool:
        """Never: an edit is one call, made again when the job runs again."""
        return False

    def file_name(self, job_id: str, index: int, file: ImageFile) -> str:
        return f"imagine-{job_id}-{index + 1}.{file.extension}"

    async def fit_files(
        self, files: list[ImageFile | None], limits: DeliveryLimits
    ) -> list[ImageFile | None]:
        """Images over the per-file budget, re-encoded smaller."""
        return await fit(files, limits)
