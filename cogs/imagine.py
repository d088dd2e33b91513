"""``/imagine``, ``/imagine-quota`` and the result buttons: the Discord surface of generation.

The flow of one job: validate the options, check the server's rules, claim the user's
cooldown and reserve the images against the daily quotas (all quick, before any answer, so
a refusal can be ephemeral), defer, call the image API, fit the images into Discord's
limits, upload them with a result embed and the Re-roll and Delete buttons, give back the
images not delivered, log one line and write the server's mod log. Errors are raised as
``core.errors`` values and turned into words in one place (``cogs.errors``).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.errors import NO_MENTIONS, answer_error, reply, timestamp
from cogs.i18n import localized
from cogs.messages import text
from cogs.modlog import JobEntry, deleted_embed, job_embed, server_locale
from core import errors
from core.cooldown import Verdict as CooldownVerdict
from core.cooldown import decide as decide_cooldown
from core.delivery import DeliveryLimits, plan_batches, shrink_image, smaller_limits
from core.guild_settings import GuildSettings
from core.models import GenerationRequest, GenerationResult, ImageFile
from core.moderation import (
    Rule,
    RuleContext,
    Verdict,
    check_rules,
    default_model_for,
    is_exempt,
)
from core.options import ASPECT_RATIOS, MAX_IMAGES, MAX_PROMPT_LENGTH, RESOLUTIONS, build_request
from core.quota import Reservation, remaining

if TYPE_CHECKING:
    from bot import ImagineBot

log = logging.getLogger(__name__)

CommandT = TypeVar("CommandT", bound=app_commands.Command[Any, ..., None])

#: The whole job, retries and uploads included, stays well inside the 15-minute token life.
JOB_DEADLINE_SECONDS = 12 * 60.0
#: How many times one job re-plans after Discord answers 413.
MAX_REPLANS = 12

#: Result buttons: the job id in the custom id is all they need, so they outlive restarts.
REROLL_TEMPLATE = r"imagine:reroll:(?P<job>[0-9a-f]{6,32})"
DELETE_TEMPLATE = r"imagine:delete:(?P<job>[0-9a-f]{6,32})"


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
    cost_usd_ticks: int | None = None
    #: The result messages, in order (the first carries the embed and the buttons).
    message_ids: list[int] = field(default_factory=list)

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
    spoiler: bool = False,
) -> discord.Embed:
    """The result embed: the prompt, its parameters, who asked and how long it took."""
    prompt = discord.utils.escape_markdown(request.prompt)
    embed = discord.Embed(
        title=text("result_title", locale),
        description=f"||{prompt}||" if spoiler else prompt,
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


def _params_of(request: GenerationRequest) -> dict[str, Any]:
    """The options a job record keeps, enough to run the job again."""
    return {
        "model": request.model,
        "n": request.n,
        "aspect_ratio": request.aspect_ratio,
        "resolution": request.resolution,
    }


def fit_images(images: list[ImageFile | None], max_bytes: int) -> list[ImageFile | None]:
    """Re-encode every image over ``max_bytes`` (CPU-bound: run in a thread)."""
    return [None if image is None else shrink_image(image, max_bytes) for image in images]


class RerollButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=REROLL_TEMPLATE
):
    """Re-roll: the same parameters again, for whoever presses (under their own limits)."""

    def __init__(self, job_id: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or text("button_reroll"),
                emoji="🎲",
                style=discord.ButtonStyle.secondary,
                custom_id=f"imagine:reroll:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> RerollButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _cog_of(interaction)
        if cog is not None:
            await cog.reroll(interaction, self.job_id)


class DeleteButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=DELETE_TEMPLATE
):
    """Delete: the requester, or anyone with Manage Messages, removes the result."""

    def __init__(self, job_id: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or text("button_delete"),
                emoji="🗑️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"imagine:delete:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DeleteButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _cog_of(interaction)
        if cog is not None:
            await cog.delete_result(interaction, self.job_id)


def _cog_of(interaction: discord.Interaction) -> ImagineCog | None:
    client = interaction.client
    cog = client.get_cog(ImagineCog.__cog_name__) if isinstance(client, commands.Bot) else None
    return cog if isinstance(cog, ImagineCog) else None


def result_view(job_id: str, locale: str | None) -> discord.ui.View:
    """The buttons under a result, labelled in the requester's language."""
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id, text("button_reroll", locale)))
    view.add_item(DeleteButton(job_id, text("button_delete", locale)))
    return view


def role_ids(user: discord.abc.User) -> list[int]:
    """The member's role ids (none outside a server)."""
    return [role.id for role in user.roles] if isinstance(user, discord.Member) else []


def rule_context(interaction: discord.Interaction, request: GenerationRequest) -> RuleContext:
    """Where the member is, and what they asked for, as the rules see it."""
    channel = interaction.channel
    parent_id = channel.parent_id if isinstance(channel, discord.Thread) else None
    category_id = getattr(channel, "category_id", None)
    is_nsfw = getattr(channel, "is_nsfw", None)
    return RuleContext(
        channel_id=interaction.channel_id,
        parent_id=parent_id,
        channel_nsfw=bool(is_nsfw()) if callable(is_nsfw) else False,
        prompt=request.prompt,
        model=request.model,
        n=request.n,
        resolution=request.resolution,
        category_id=category_id if isinstance(category_id, int) else None,
    )


def refusal(
    verdict: Verdict, server: GuildSettings, models: tuple[str, ...]
) -> errors.GenerationError:
    """The error that tells a member which of the server's rules stopped them."""
    return errors.RefusedByServer(
        verdict.rule.value,
        channels=server.channels,
        max_n=server.max_n or MAX_IMAGES,
        choices=(
            server.effective_models(models)
            if verdict.rule is Rule.MODEL
            else server.effective_resolutions(RESOLUTIONS)
        ),
    )


class ImagineCog(commands.Cog):
    """Image generation with Grok Imagine."""

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.command = self._build_command()
        self.quota_command = self._build_quota_command()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.command)
        self.bot.tree.add_command(self.quota_command)
        self.bot.add_dynamic_items(RerollButton, DeleteButton)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)
        self.bot.tree.remove_command(self.quota_command.name)
        self.bot.remove_dynamic_items(RerollButton, DeleteButton)

    def _where(self, command: CommandT) -> CommandT:
        """Servers only, unless the operator allows direct messages (ALLOW_DMS)."""
        if self.settings.allow_dms:
            return app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)(
                command
            )
        return app_commands.guild_only(command)

    def _build_command(self) -> app_commands.Command[Any, ..., None]:
        cog = self
        models = [app_commands.Choice(name=m, value=m) for m in self.settings.grok_models]
        aspects = [
            app_commands.Choice(name=localized(f"aspect_{a}"), value=a) for a in ASPECT_RATIOS
        ]
        resolutions = [app_commands.Choice(name=r, value=r) for r in RESOLUTIONS]

        @app_commands.command(name="imagine", description=localized("cmd_imagine"))
        @app_commands.describe(
            prompt=localized("opt_prompt"),
            model=localized("opt_model"),
            n=localized("opt_n"),
            aspect=localized("opt_aspect"),
            resolution=localized("opt_resolution"),
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

        return self._where(imagine)

    def _build_quota_command(self) -> app_commands.Command[Any, ..., None]:
        cog = self

        @app_commands.command(name="imagine-quota", description=localized("cmd_quota"))
        async def imagine_quota(interaction: discord.Interaction) -> None:
            """See your cooldown and how many images you have left today."""
            await cog.show_quota(interaction)

        return self._where(imagine_quota)

    # -- the job pipeline, shared by /imagine and Re-roll ------------------------------

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
        """One job, from options to attachments, for ``interaction.user``: /imagine and the
        Re-roll button both come here, so the same rules, cooldown and quotas apply.

        Everything that can refuse the job (options, the server's rules, the cooldown, the
        daily quotas) is decided before deferring, so the refusal is private. Raises core
        errors for the error handler.
        """
        job_id = new_job_id()
        user = interaction.user
        guild_id = interaction.guild_id
        locale = str(interaction.locale)
        report = JobReport(job_id, user.id, guild_id)
        if guild_id is None and not self.settings.allow_dms:
            report.outcome = "dm_off"
            report.log()
            raise errors.DirectMessagesOff()
        # In a direct message no server's rules apply: the bot's own limits do.
        server = None if guild_id is None else await self.bot.store.get_guild_settings(guild_id)
        models = self.settings.grok_models
        try:
            request = build_request(
                prompt=prompt,
                model=model,
                n=n,
                aspect=aspect,
                resolution=resolution,
                user_id=user.id,
                models=models,
                default_model=(
                    self.settings.default_model
                    if server is None
                    else default_model_for(server, models, self.settings.default_model)
                ),
                response_format=self.settings.grok_response_format,
            )
        except errors.InvalidOption as error:
            report.outcome = f"invalid_{error.option}"
            report.log()
            error.choices = ", ".join(models)  # type: ignore[attr-defined]
            raise
        report.model, report.n = request.model, request.n

        exempt = False
        if server is not None:
            verdict = check_rules(
                server, rule_context(interaction, request), models=models, resolutions=RESOLUTIONS
            )
            if not verdict.allowed:
                report.outcome = (
                    "blocked" if verdict.rule is Rule.BLOCKED else f"rule_{verdict.rule.value}"
                )
                report.log()
                if verdict.rule is Rule.BLOCKED:
                    await self._record_blocked(interaction, server, request, report, verdict.term)
                raise refusal(verdict, server, models)
            exempt = is_exempt(server, role_ids(user))
        cooldown_seconds = self._cooldown(server, exempt=exempt)

        claim = self.bot.store.claim_exempt if exempt else self.bot.store.claim
        decision = await claim(user.id, job_id)
        if not decision.allowed:
            report.outcome = decision.verdict.value
            report.log()
            if decision.retry_after > 0:
                raise errors.OnCooldown(decision.retry_after)
            raise errors.AlreadyRunning()

        delivered = False
        reservation = None
        try:
            quota = await self.bot.store.reserve_images(
                guild_id=guild_id,
                user_id=user.id,
                images=request.n,
                user_limit=0 if exempt else self._user_limit(server),
                guild_limit=self._guild_limit(server),
            )
            if not quota.allowed:
                report.outcome = quota.verdict.value
                raise errors.DailyLimitReached(
                    quota.verdict.value,
                    limit=quota.limit,
                    left=quota.left,
                    needed=request.n,
                    resets_at=quota.resets_at,
                )
            reservation = quota.reservation
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
                guild_id=guild_id,
                channel_id=interaction.channel_id,
                prompt=request.prompt,
                params=_params_of(request),
                locale=locale,
            )
            async with asyncio.timeout(JOB_DEADLINE_SECONDS):
                result = await self.bot.image_client.generate(request)
            report.api_seconds = result.api_seconds
            report.cost_usd_ticks = result.cost_usd_ticks
            report.delivered = await self._deliver(
                interaction,
                request,
                result,
                report,
                spoiler=server is not None and server.spoilers,
            )
            delivered = report.delivered > 0
            report.outcome = "delivered"
            await self.bot.store.finish_job(
                job_id,
                outcome="delivered",
                images=report.delivered,
                cost_usd_ticks=result.cost_usd_ticks,
                message_ids=report.message_ids,
            )
        except errors.DailyLimitReached:
            raise
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
            if reservation is not None:
                await self._refund_quietly(reservation, request.n - report.delivered)
            await self.bot.store.release(
                user.id,
                job_id,
                delivered=delivered,
                cooldown_seconds=cooldown_seconds,
            )
            report.log()
            if reservation is not None and report.outcome != "not_deferred":
                self._log_job(interaction, server, request, report)

    def _cooldown(self, server: GuildSettings | None, *, exempt: bool) -> float:
        if exempt:
            return 0.0
        default = self.settings.cooldown_seconds
        return default if server is None else server.cooldown_or(default)

    def _user_limit(self, server: GuildSettings | None) -> int:
        default = self.settings.daily_user_quota
        return default if server is None else server.user_quota_or(default)

    def _guild_limit(self, server: GuildSettings | None) -> int:
        default = self.settings.daily_guild_budget
        return default if server is None else server.guild_budget_or(default)

    async def _refund_quietly(self, reservation: Reservation, images: int) -> None:
        try:
            await self.bot.store.refund_images(reservation, images)
        except Exception:
            log.exception("could not give back %d reserved images", images)

    async def _record_blocked(
        self,
        interaction: discord.Interaction,
        server: GuildSettings,
        request: GenerationRequest,
        report: JobReport,
        term: str | None,
    ) -> None:
        """A prompt stopped by the server's terms is a job too: recorded and mod-logged."""
        try:
            await self.bot.store.record_job(
                report.job_id,
                user_id=report.user_id,
                guild_id=report.guild_id,
                channel_id=interaction.channel_id,
                prompt=request.prompt,
                params=_params_of(request),
                locale=str(interaction.locale),
            )
            await self.bot.store.finish_job(report.job_id, outcome="blocked")
        except Exception:
            log.exception("could not record blocked job %s", report.job_id)
        self._log_job(interaction, server, request, report, term=term)

    def _log_job(
        self,
        interaction: discord.Interaction,
        server: GuildSettings | None,
        request: GenerationRequest,
        report: JobReport,
        *,
        term: str | None = None,
    ) -> None:
        """The job's mod-log entry, posted in the background."""
        if server is None or server.modlog_channel is None:
            return
        entry = JobEntry(
            job_id=report.job_id,
            user_id=report.user_id,
            guild_id=report.guild_id,
            channel_id=interaction.channel_id,
            prompt=request.prompt,
            model=request.model,
            n=request.n,
            aspect=request.aspect_ratio,
            resolution=request.resolution,
            outcome=report.outcome,
            images=report.delivered,
            cost_usd_ticks=report.cost_usd_ticks,
            result_message_id=report.message_ids[0] if report.message_ids else None,
            term=term,
        )
        self.bot.modlog.post_soon(
            server.modlog_channel, job_embed(entry, server_locale(interaction))
        )

    # -- result buttons ----------------------------------------------------------------

    async def reroll(self, interaction: discord.Interaction, job_id: str) -> None:
        """Re-roll a result: the same options, as a new job of whoever pressed."""
        locale = str(interaction.locale)
        try:
            job = await self.bot.store.get_job(job_id)
            if job is None:
                await reply(interaction, text("job_gone", locale))
                return
            if interaction.user.id != job.user_id:
                server = (
                    None
                    if interaction.guild_id is None
                    else await self.bot.store.get_guild_settings(interaction.guild_id)
                )
                if server is None or not server.reroll_open:
                    await reply(interaction, text("reroll_not_yours", locale))
                    return
            await self.run_job(
                interaction,
                prompt=job.prompt,
                model=job.params.get("model"),
                n=job.params.get("n"),
                aspect=job.params.get("aspect_ratio"),
                resolution=job.params.get("resolution"),
            )
        except Exception as error:
            await answer_error(interaction, error)

    async def delete_result(self, interaction: discord.Interaction, job_id: str) -> None:
        """Delete a result's messages: the requester's or a moderator's choice."""
        locale = str(interaction.locale)
        try:
            job = await self.bot.store.get_job(job_id)
            if job is None or job.channel_id is None:
                await reply(interaction, text("job_gone", locale))
                return
            if interaction.user.id != job.user_id and not (
                interaction.permissions.manage_messages or interaction.permissions.administrator
            ):
                await reply(interaction, text("delete_not_yours", locale))
                return
            await interaction.response.defer(ephemeral=True, thinking=True)
            ids = list(job.message_ids)
            if interaction.message is not None and interaction.message.id not in ids:
                ids.append(interaction.message.id)
            channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
            failed = 0
            for message_id in ids:
                try:
                    await channel.get_partial_message(message_id).delete()
                except discord.NotFound:
                    pass  # already gone
                except discord.HTTPException as failure:
                    failed += 1
                    log.warning(
                        "job %s: could not delete message %s: HTTP %s (code %s)",
                        job_id,
                        message_id,
                        failure.status,
                        failure.code,
                    )
            log.info("job %s: result deleted by user %s", job_id, interaction.user.id)
            if job.guild_id is not None:
                server = await self.bot.store.get_guild_settings(job.guild_id)
                if server.modlog_channel is not None:
                    entry = deleted_embed(
                        job_id, interaction.user.id, job.channel_id, server_locale(interaction)
                    )
                    self.bot.modlog.post_soon(server.modlog_channel, entry)
            await reply(interaction, text("delete_partly" if failed else "deleted", locale))
        except Exception as error:
            await answer_error(interaction, error)

    # -- /imagine-quota ----------------------------------------------------------------

    async def show_quota(self, interaction: discord.Interaction) -> None:
        """Tell a member, privately, their cooldown, today's use and what is left."""
        locale = str(interaction.locale)
        guild_id = interaction.guild_id
        if guild_id is None and not self.settings.allow_dms:
            raise errors.DirectMessagesOff()
        user = interaction.user
        server = None if guild_id is None else await self.bot.store.get_guild_settings(guild_id)
        exempt = server is not None and is_exempt(server, role_ids(user))
        usage = await self.bot.store.usage_today(guild_id, user.id)
        state = await self.bot.store.cooldown_state(user.id)
        now = time.time()
        lines = [f"**{text('quota_title', locale)}**"]
        if exempt:
            lines.append(text("quota_exempt", locale))
        elif state.available_at > now:
            lines.append(text("quota_cooldown_wait", locale, when=timestamp(state.available_at)))
        else:
            lines.append(text("quota_cooldown_ready", locale))
        if decide_cooldown(state, now).verdict is CooldownVerdict.ALREADY_RUNNING:
            lines.append(text("quota_running", locale))
        user_limit = 0 if exempt else self._user_limit(server)
        left = remaining(user_limit, usage.user_used)
        if left is None:
            lines.append(text("quota_user_unlimited", locale, used=usage.user_used))
        else:
            lines.append(
                text("quota_user_line", locale, used=usage.user_used, left=left, limit=user_limit)
            )
        if guild_id is not None:
            guild_limit = self._guild_limit(server)
            guild_left = remaining(guild_limit, usage.guild_used)
            if guild_left is None:
                lines.append(text("quota_guild_unlimited", locale))
            else:
                lines.append(text("quota_guild_line", locale, left=guild_left, limit=guild_limit))
        lines.append(text("quota_resets", locale, when=timestamp(usage.resets_at)))
        await reply(interaction, "\n".join(lines))

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
        *,
        spoiler: bool = False,
    ) -> int:
        """Upload the images in as few messages as fit; on 413 re-plan with a smaller budget.

        The first message carries the embed and the Re-roll and Delete buttons; every
        message's id goes into ``report.message_ids``.
        """
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
            spoiler=spoiler,
        )
        view = result_view(report.job_id, locale)
        delivered = 0
        replans = 0
        while pending:
            ready = [images[i] for i in pending]
            batch = [pending[j] for j in plan_batches([im.size for im in ready if im], limits)[0]]
            files = [
                discord.File(
                    io.BytesIO(image.data),
                    filename=f"imagine-{report.job_id}-{i + 1}.{image.extension}",
                    spoiler=spoiler,
                )
                for i in batch
                if (image := images[i]) is not None
            ]
            try:
                if embed is not None:
                    sent = await interaction.followup.send(
                        embed=embed, files=files, view=view, allowed_mentions=NO_MENTIONS, wait=True
                    )
                else:
                    sent = await interaction.followup.send(
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
            report.message_ids.append(sent.id)
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
