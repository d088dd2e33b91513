"""``/imagine``: the Discord surface of image generation.

The flow of one job: validate the options and claim the user's cooldown (both quick, before
any answer, so a refusal can be ephemeral), defer, call the image API, fit the images into
Discord's limits, upload them with a result embed, and log one line. Errors are raised as
``core.errors`` values and turned into words by the tree's error handler.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs.errors import NO_MENTIONS, reply
from cogs.messages import text
from core import errors
from core.delivery import DeliveryLimits, plan_batches, shrink_image, smaller_limits
from core.models import GenerationRequest, GenerationResult, ImageFile
from core.options import ASPECT_RATIOS, MAX_IMAGES, MAX_PROMPT_LENGTH, RESOLUTIONS, build_request

if TYPE_CHECKING:
    from bot import ImagineBot

log = logging.getLogger(__name__)

#: The whole job, retries and uploads included, stays well inside the 15-minute token life.
JOB_DEADLINE_SECONDS = 12 * 60.0
#: How many times one job re-plans after Discord answers 413.
MAX_REPLANS = 12

_ASPECT_LABELS = {
    "1:1": "1:1 square",
    "16:9": "16:9 landscape",
    "9:16": "9:16 portrait",
    "4:3": "4:3 landscape",
    "3:4": "3:4 portrait",
    "3:2": "3:2 photo",
    "2:3": "2:3 photo portrait",
    "2:1": "2:1 wide",
    "1:2": "1:2 tall",
    "19.5:9": "19.5:9 phone landscape",
    "9:19.5": "9:19.5 phone portrait",
    "20:9": "20:9 ultrawide",
    "9:20": "9:20 ultratall",
    "auto": "auto (model picks)",
}


def new_job_id() -> str:
    """A short id for logs and messages, unique enough to look a job up."""
    return secrets.token_hex(5)


@dataclass
class JobReport:
    """What the job log line says."""

    job_id: str
    user_id: int
    guild_id: int | None
    model: str = "-"
    n: int = 0
    outcome: str = "started"
    delivered: int = 0
    api_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def log(self) -> None:
        log.info(
            "job=%s user=%s guild=%s model=%s n=%d outcome=%s images=%d api=%.2fs total=%.2fs",
            self.job_id,
            self.user_id,
            self.guild_id or "dm",
            self.model,
            self.n,
            self.outcome,
            self.delivered,
            self.api_seconds,
            time.monotonic() - self.started,
        )


def _outcome_of(error: BaseException) -> str:
    names = {
        errors.ContentRefused: "refused",
        errors.InvalidRequest: "invalid_request",
        errors.AuthenticationFailed: "auth_failed",
        errors.QuotaExceeded: "out_of_credits",
        errors.RateLimited: "rate_limited",
        errors.TransientError: "api_unavailable",
        errors.BadResponse: "bad_response",
        errors.DeliveryFailed: "delivery_failed",
    }
    for kind, name in names.items():
        if isinstance(error, kind):
            return name
    return "error"


def build_embed(
    request: GenerationRequest,
    result: GenerationResult,
    *,
    requester: discord.abc.User,
    elapsed: float,
    job_id: str,
    locale: str | None,
    left_out: int = 0,
) -> discord.Embed:
    """The result embed: the prompt, its parameters, who asked and how long it took."""
    embed = discord.Embed(
        title=text("result_title", locale),
        description=discord.utils.escape_markdown(request.prompt),
        colour=discord.Colour.blurple(),
    )
    delivered = len(result.images) - left_out
    images = str(delivered) if delivered == request.n else f"{delivered} / {request.n}"
    embed.add_field(name=text("field_model", locale), value=request.model, inline=True)
    embed.add_field(
        name=text("field_aspect", locale),
        value=request.aspect_ratio or text("model_picks", locale),
        inline=True,
    )
    embed.add_field(
        name=text("field_resolution", locale),
        value=request.resolution or text("api_default", locale),
        inline=True,
    )
    embed.add_field(name=text("field_images", locale), value=images, inline=True)
    embed.add_field(name=text("field_requester", locale), value=requester.mention, inline=True)
    embed.add_field(
        name=text("field_time", locale), value=text("seconds", locale, value=elapsed), inline=True
    )
    notes = []
    if result.withheld:
        notes.append(text("withheld", locale, count=result.withheld, total=request.n))
    if result.unusable:
        notes.append(text("unusable", locale, count=result.unusable, total=request.n))
    if left_out:
        notes.append(text("undeliverable", locale, count=left_out, total=request.n))
    if notes:
        embed.add_field(name="\u200b", value="\n".join(notes), inline=False)
    embed.set_footer(text=text("footer", locale, job_id=job_id))
    return embed


def fit_images(images: list[ImageFile | None], max_bytes: int) -> list[ImageFile | None]:
    """Re-encode every image over ``max_bytes`` (CPU-bound: run in a thread)."""
    return [None if image is None else shrink_image(image, max_bytes) for image in images]


class ImagineCog(commands.Cog):
    """Image generation with Grok Imagine."""

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.command = self._build_command()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.command)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)

    def _build_command(self) -> app_commands.Command[Any, ..., None]:
        cog = self
        models = [app_commands.Choice(name=m, value=m) for m in self.settings.grok_models]
        aspects = [app_commands.Choice(name=_ASPECT_LABELS[a], value=a) for a in ASPECT_RATIOS]
        resolutions = [app_commands.Choice(name=r, value=r) for r in RESOLUTIONS]

        @app_commands.command(name="imagine", description=text("cmd_imagine"))
        @app_commands.describe(
            prompt=text("opt_prompt"),
            model=text("opt_model"),
            n=text("opt_n"),
            aspect=text("opt_aspect"),
            resolution=text("opt_resolution"),
        )
        @app_commands.choices(model=models, aspect=aspects, resolution=resolutions)
        async def imagine(
            interaction: discord.Interaction,
            prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
            model: str | None = None,
            n: app_commands.Range[int, 1, MAX_IMAGES] = 1,
            aspect: str | None = None,
            resolution: str | None = None,
        ) -> None:
            """Create images from a text prompt with Grok Imagine."""
            await cog.run_job(
                interaction,
                prompt=prompt,
                model=model,
                n=n,
                aspect=aspect,
                resolution=resolution,
            )

        return imagine

    async def run_job(
        self,
        interaction: discord.Interaction,
        *,
        prompt: object,
        model: object,
        n: object,
        aspect: object,
        resolution: object,
    ) -> None:
        """One /imagine job from options to attachments; raises core errors for the handler."""
        job_id = new_job_id()
        user = interaction.user
        report = JobReport(job_id, user.id, interaction.guild_id)
        try:
            request = build_request(
                prompt=prompt,
                model=model,
                n=n,
                aspect=aspect,
                resolution=resolution,
                user_id=user.id,
                models=self.settings.grok_models,
                default_model=self.settings.default_model,
                response_format=self.settings.grok_response_format,
            )
        except errors.InvalidOption as error:
            report.outcome = f"invalid_{error.option}"
            report.log()
            error.choices = ", ".join(self.settings.grok_models)  # type: ignore[attr-defined]
            raise
        report.model, report.n = request.model, request.n

        decision = await self.bot.store.claim(user.id, job_id)
        if not decision.allowed:
            report.outcome = decision.verdict.value
            report.log()
            if decision.retry_after > 0:
                raise errors.OnCooldown(decision.retry_after)
            raise errors.AlreadyRunning()

        delivered = False
        try:
            try:
                await interaction.response.defer(thinking=True)
            except discord.HTTPException as late:
                # Past Discord's 3-second deadline (10062) or answered elsewhere: nobody is
                # waiting for this interaction any more, so there is no one to tell.
                report.outcome = "not_deferred"
                log.warning(
                    "job %s: could not defer the interaction: HTTP %s (code %s)",
                    job_id,
                    late.status,
                    late.code,
                )
                return
            await self.bot.store.record_job(
                job_id,
                user_id=user.id,
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
                prompt=request.prompt,
                params={
                    "model": request.model,
                    "n": request.n,
                    "aspect_ratio": request.aspect_ratio,
                    "resolution": request.resolution,
                },
            )
            async with asyncio.timeout(JOB_DEADLINE_SECONDS):
                result = await self.bot.image_client.generate(request)
            report.api_seconds = result.api_seconds
            report.delivered = await self._deliver(interaction, request, result, report)
            delivered = report.delivered > 0
            report.outcome = "delivered"
            await self.bot.store.finish_job(
                job_id,
                outcome="delivered",
                images=report.delivered,
                cost_usd_ticks=result.cost_usd_ticks,
            )
        except BaseException as error:
            failure: BaseException = error
            if isinstance(error, TimeoutError):
                failure = errors.TransientError("job deadline passed")
            report.outcome = _outcome_of(failure) if isinstance(error, Exception) else "cancelled"
            failure.job_id = job_id  # type: ignore[attr-defined]
            await self._finish_quietly(job_id, report.outcome)
            if failure is not error:
                raise failure from error
            raise
        finally:
            await self.bot.store.release(
                user.id,
                job_id,
                delivered=delivered,
                cooldown_seconds=self.settings.cooldown_seconds,
            )
            report.log()

    async def _finish_quietly(self, job_id: str, outcome: str) -> None:
        try:
            await self.bot.store.finish_job(job_id, outcome=outcome)
        except Exception:
            log.exception("could not record the end of job %s", job_id)

    async def _deliver(
        self,
        interaction: discord.Interaction,
        request: GenerationRequest,
        result: GenerationResult,
        report: JobReport,
    ) -> int:
        """Upload the images in as few messages as fit; on 413 re-plan with a smaller budget."""
        locale = str(interaction.locale)
        limits = DeliveryLimits.for_interaction(interaction.filesize_limit)
        images: list[ImageFile | None] = await self._fit(list(result.images), limits)
        left_out = sum(1 for image in images if image is None)
        pending = [i for i, image in enumerate(images) if image is not None]
        if not pending:
            raise errors.DeliveryFailed("no image fits the per-file limit")

        embed: discord.Embed | None = build_embed(
            request,
            result,
            requester=interaction.user,
            elapsed=time.monotonic() - report.started,
            job_id=report.job_id,
            locale=locale,
            left_out=left_out,
        )
        delivered = 0
        replans = 0
        while pending:
            ready = [images[i] for i in pending]
            batch = [pending[j] for j in plan_batches([im.size for im in ready if im], limits)[0]]
            files = [
                discord.File(
                    io.BytesIO(image.data),
                    filename=f"imagine-{report.job_id}-{i + 1}.{image.extension}",
                )
                for i in batch
                if (image := images[i]) is not None
            ]
            try:
                if embed is not None:
                    await interaction.followup.send(
                        embed=embed, files=files, allowed_mentions=NO_MENTIONS, wait=True
                    )
                else:
                    await interaction.followup.send(
                        files=files, allowed_mentions=NO_MENTIONS, wait=True
                    )
            except discord.HTTPException as failure:
                if failure.status != 413 or replans >= MAX_REPLANS:
                    log.warning(
                        "job %s: Discord refused an upload of %d files: HTTP %s (code %s)",
                        report.job_id,
                        len(batch),
                        failure.status,
                        failure.code,
                    )
                    if delivered:
                        missing = sum(1 for i in pending if images[i] is not None)
                        await reply(
                            interaction,
                            text("undeliverable", locale, count=missing, total=request.n),
                            ephemeral=False,
                        )
                        break
                    raise errors.DeliveryFailed(f"HTTP {failure.status}") from failure
                replans += 1
                refused = sum(image.size for i in batch if (image := images[i]) is not None)
                limits = smaller_limits(limits, refused, len(batch))
                log.info(
                    "job %s: Discord refused %d files (%d bytes) as too large; re-planning "
                    "with %d bytes a message and %d a file",
                    report.job_id,
                    len(batch),
                    refused,
                    limits.payload_budget,
                    limits.file_budget(),
                )
                images = await self._fit(images, limits)
                pending = [i for i in pending if images[i] is not None]
                continue
            delivered += len(batch)
            pending = [i for i in pending if i not in batch]
            embed = None
        if delivered == 0:
            raise errors.DeliveryFailed("nothing could be uploaded")
        return delivered

    @staticmethod
    async def _fit(
        images: list[ImageFile | None], limits: DeliveryLimits
    ) -> list[ImageFile | None]:
        """Re-encode, off the event loop, any image over the per-file budget."""
        budget = limits.file_budget()
        if all(image is None or image.size <= budget for image in images):
            return images
        return await asyncio.to_thread(fit_images, images, budget)


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(ImagineCog(bot))
