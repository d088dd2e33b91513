"""Posting a result: as few messages as fit, re-planned smaller each time the platform
answers that a message was too large (Discord's 413, whose limits vary by server)."""

from __future__ import annotations

import logging
import time

from core import errors
from core.delivery import DeliveryLimits, plan_batches, smaller_limits
from core.jobs.job import Job
from core.jobs.port import Notice, OutgoingFile, ResultCard, UploadRefused, UploadTooLarge
from core.models import GenerationResult, ImageFile

log = logging.getLogger(__name__)

#: How many times one job re-plans after the platform answers 413.
MAX_REPLANS = 12


def result_card(job: Job, result: GenerationResult, *, left_out: int) -> ResultCard:
    """The card of a result: the prompt, its parameters, who asked and how long it took."""
    request = job.request
    return ResultCard(
        job_id=job.id,
        requester_id=job.user_id,
        prompt=request.prompt,
        model=request.model,
        n=request.n,
        aspect_ratio=request.aspect_ratio,
        resolution=request.resolution,
        delivered=len(result.images) - left_out,
        withheld=result.withheld,
        unusable=result.unusable,
        left_out=left_out,
        elapsed=time.monotonic() - job.report.started,
        spoiler=job.spoiler,
        sources=tuple(request.sources),
        guild_id=job.guild_id,
    )


class _Upload:
    """The state of one result's upload: the images still to post and the limits they
    are planned with."""

    def __init__(self, job: Job, images: list[ImageFile | None], limits: DeliveryLimits) -> None:
        self.job = job
        self.images = images
        self.limits = limits
        self.pending = [i for i, image in enumerate(images) if image is not None]
        self.delivered = 0
        self.replans = 0

    def next_batch(self) -> list[tuple[int, ImageFile]]:
        """The images of the next message, by the current plan."""
        ready = [image for i in self.pending if (image := self.images[i]) is not None]
        first = plan_batches([image.size for image in ready], self.limits)[0]
        batch = [self.pending[j] for j in first]
        return [(i, image) for i in batch if (image := self.images[i]) is not None]

    def files(self, chosen: list[tuple[int, ImageFile]]) -> list[OutgoingFile]:
        job = self.job
        return [
            OutgoingFile(image, job.kind.file_name(job.id, i, image), spoiler=job.spoiler)
            for i, image in chosen
        ]

    def sent(self, chosen: list[tuple[int, ImageFile]]) -> None:
        posted = {i for i, _ in chosen}
        self.delivered += len(chosen)
        self.pending = [i for i in self.pending if i not in posted]

    async def replan(self, chosen: list[tuple[int, ImageFile]]) -> None:
        """Plan again below what was refused as too large."""
        self.replans += 1
        if self.job.report.observer is not None:
            self.job.report.observer.upload_replanned()
        refused = sum(image.size for _, image in chosen)
        self.limits = smaller_limits(self.limits, refused, len(chosen))
        log.info(
            "job %s: Discord refused %d files (%d bytes) as too large; re-planning "
            "with %d bytes a message and %d a file",
            self.job.id,
            len(chosen),
            refused,
            self.limits.payload_budget,
            self.limits.file_budget(),
        )
        # Each kind fits its own files (a clip as a clip, never by the image re-encoder).
        self.images = await self.job.kind.fit_files(self.images, self.limits)
        self.pending = [i for i in self.pending if self.images[i] is not None]


async def deliver(job: Job, result: GenerationResult) -> int:
    """Upload the images in as few messages as fit; on 413 re-plan with a smaller budget.

    The first message carries the result card (and its buttons); every message's id goes
    into the job's report. Returns how many images were delivered.
    """
    limits = DeliveryLimits.for_interaction(job.port.filesize_limit)
    images = await job.kind.fit_files(list(result.images), limits)
    upload = _Upload(job, images, limits)
    if not upload.pending:
        raise errors.DeliveryFailed("no image fits the per-file limit")
    card: ResultCard | None = result_card(
        job, result, left_out=sum(1 for image in images if image is None)
    )
    while upload.pending:
        chosen = upload.next_batch()
        try:
            message_id = await job.port.send(upload.files(chosen), card)
        except UploadRefused as failure:
            if isinstance(failure, UploadTooLarge) and upload.replans < MAX_REPLANS:
                await upload.replan(chosen)
                continue
            await _refused(upload, chosen, failure)
            break
        job.report.message_ids.append(message_id)
        upload.sent(chosen)
        card = None
    if upload.delivered == 0:
        raise errors.DeliveryFailed("nothing could be uploaded")
    return upload.delivered


async def _refused(
    upload: _Upload, chosen: list[tuple[int, ImageFile]], failure: UploadRefused
) -> None:
    """The platform will not take the rest: say so below what was delivered, or fail."""
    job = upload.job
    log.warning(
        "job %s: Discord refused an upload of %d files: HTTP %s (code %s)",
        job.id,
        len(chosen),
        failure.status,
        failure.code,
    )
    if not upload.delivered:
        raise errors.DeliveryFailed(f"HTTP {failure.status}") from failure
    missing = sum(1 for i in upload.pending if upload.images[i] is not None)
    await job.port.say(
        Notice.of("undeliverable", count=missing, total=job.request.n), private=False
    )
