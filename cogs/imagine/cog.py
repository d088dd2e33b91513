"""``/imagine``, ``/imagine-quota`` and the result buttons: the Discord surface of jobs.

The life of a job (admission, the line, the journal, the API slots, delivery, closing,
taking over after a restart, draining at shutdown) is the job service's
(:mod:`core.jobs`). This cog turns commands and button presses into calls of the service,
gives it a :class:`~cogs.imagine.port.DiscordPort` for each job (and rebuilds one for a job
taken over from the journal), and answers refusals raised before a job is accepted. Errors
are ``core.errors`` values turned into words in one place (``cogs.common.answers``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.answers import answer_error, reply, timestamp, usd_text
from cogs.common.catalog import text
from cogs.common.modlog import deleted_embed, server_locale
from cogs.common.translator import localized
from cogs.imagine.access import ANIMATE_COMMAND, COMMAND_NAME, CommandAccess
from cogs.imagine.edit_views import AnimateModal, EditButton, EditModal
from cogs.imagine.edits import (
    attachment_sources,
    message_sources,
    own_source,
    picture_count,
    prefetch,
    result_pictures,
)
from cogs.imagine.port import DiscordPort
from cogs.imagine.views import JobButton
from core import errors, journal
from core.cooldown import Verdict as CooldownVerdict
from core.cooldown import decide as decide_cooldown
from core.edit_inputs import InputFetcher
from core.guild_settings import GuildSettings
from core.job_buttons import Action, JobPlace, PressPlace, pressed_on_job
from core.jobs import (
    EDIT_KIND,
    CancelAnswer,
    EditKind,
    GenerationKind,
    JobService,
    Origin,
    ServiceConfig,
)
from core.jobs.edits import check_edit_rules
from core.jobs.video import VIDEO_KIND, VideoKind, check_video_rules
from core.limits import Ceilings, LimitDefaults, Limits, limits_for
from core.models import InputSource
from core.moderation import AttemptLimit
from core.options import ASPECT_RATIOS, MAX_IMAGES, MAX_PROMPT_LENGTH, RESOLUTIONS
from core.quota import MemberDay, Meter, Usage, remaining
from core.spend import SpendPolicy, price_table, usd_to_ticks
from core.storage import JobRecord
from core.video import DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS, VIDEO_RESOLUTIONS

if TYPE_CHECKING:
    from bot import ImagineBot
    from config import Settings

log = logging.getLogger(__name__)

CommandT = TypeVar(
    "CommandT", bound=app_commands.Command[Any, ..., None] | app_commands.ContextMenu
)

#: The per-file limit assumed for a job taken over from the journal in a server the bot
#: does not see (Discord's default).
DEFAULT_FILESIZE_LIMIT = 10 * 1024 * 1024

#: What a press is told when the command's permissions are unknown, or refuse it.
_COMMAND_REFUSALS = {
    COMMAND_NAME: ("permissions_unknown", "reroll_forbidden"),
    ANIMATE_COMMAND: ("animate_permissions_unknown", "animate_forbidden"),
}

_CANCEL_ANSWERS = {
    CancelAnswer.TOO_LATE: "cancel_too_late",
    CancelAnswer.NOT_YOURS: "cancel_not_yours",
}


def pressed_here(interaction: discord.Interaction, job: JobRecord, action: Action) -> bool:
    """Whether a job's button was pressed in the job's server, on a message of the job (not
    a button copied elsewhere)."""
    message = interaction.message
    metadata = None if message is None else message.interaction_metadata
    return pressed_on_job(
        action,
        JobPlace(
            guild_id=job.guild_id,
            message_ids=job.message_ids,
            interaction_id=None if job.interaction is None else job.interaction.interaction_id,
        ),
        PressPlace(
            guild_id=interaction.guild_id,
            message_id=None if message is None else message.id,
            message_interaction_id=None if metadata is None else metadata.id,
        ),
    )


def role_ids(user: discord.abc.User) -> tuple[int, ...]:
    """The member's role ids (none outside a server)."""
    return tuple(role.id for role in user.roles) if isinstance(user, discord.Member) else ()


def origin_of(interaction: discord.Interaction) -> Origin:
    """Who asks, where, and how to answer them later, as the job service sees it."""
    channel = interaction.channel
    category_id = getattr(channel, "category_id", None)
    is_nsfw = getattr(channel, "is_nsfw", None)
    return Origin(
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        locale=str(interaction.locale),
        role_ids=role_ids(interaction.user),
        parent_id=channel.parent_id if isinstance(channel, discord.Thread) else None,
        category_id=category_id if isinstance(category_id, int) else None,
        channel_nsfw=bool(is_nsfw()) if callable(is_nsfw) else False,
        interaction=journal.InteractionRef(
            interaction_id=interaction.id,
            application_id=interaction.application_id,
            token=interaction.token,
            expires_at=interaction.created_at.timestamp() + journal.TOKEN_LIFETIME_SECONDS,
        ),
    )


def spend_policy(settings: Settings) -> SpendPolicy:
    """The price table (``GROK_PRICES``) and the bot's daily spend ceiling."""
    limit = settings.daily_spend_limit_usd
    return SpendPolicy(
        prices=price_table(settings.grok_prices),
        bot_limit=0 if limit is None else usd_to_ticks(limit),
    )


def limit_defaults(settings: Settings) -> LimitDefaults:
    """The operator's limits, for servers that set none, and the ceilings on all of them."""
    return LimitDefaults(
        cooldown_seconds=settings.cooldown_seconds,
        user_quota=settings.daily_user_quota,
        guild_budget=settings.daily_guild_budget,
        blocked_attempts=AttemptLimit(
            limit=settings.blocked_attempts_limit,
            window_seconds=settings.blocked_attempts_window_seconds,
            pause_seconds=settings.blocked_attempts_pause_seconds,
        ),
        ceilings=Ceilings(
            user_quota=settings.max_user_daily_quota,
            guild_budget=settings.max_guild_daily_budget,
            min_cooldown_seconds=settings.min_cooldown_seconds,
        ),
        user_video_seconds=settings.daily_user_video_seconds,
        guild_video_seconds=settings.daily_guild_video_seconds,
    )


def build_edits(bot: ImagineBot) -> EditKind:
    """Image edits as a kind of job, fetching their pictures through the bot's session."""
    settings = bot.settings
    assert bot.session is not None, "the bot's HTTP session opens before the cogs load"
    return EditKind(
        bot.image_client,
        InputFetcher(bot.session),
        models=settings.grok_models,
        default_model=settings.default_model,
        response_format=settings.grok_response_format,
        mode=settings.grok_edits,
    )


def usage_lines(
    keys: tuple[str, str], limits: tuple[int, int], usage: Usage, locale: str, *, guild: bool
) -> list[str]:
    """The /imagine-quota lines of one meter's use today (images, or seconds of video): the
    member's (``keys[0]``), then, with ``guild``, the server's (``keys[1]``); each says
    what is left under its limit, or that there is none (0)."""
    lines = []
    for key, limit, used in zip(keys, limits, (usage.user_used, usage.guild_used), strict=True):
        left = remaining(limit, used)
        if left is None:
            lines.append(text(f"{key}_unlimited", locale, used=used))
        else:
            lines.append(text(f"{key}_line", locale, used=used, left=left, limit=limit))
        if not guild:
            break
    return lines


@dataclass(frozen=True, slots=True)
class SpendCeilings:
    """The daily spend ceilings over a member's requests, in ticks (0: none): the whole
    bot's, and the server's (None in a direct message)."""

    bot: int
    guild: int | None


def spend_quota_lines(day: MemberDay, ceilings: SpendCeilings, locale: str) -> list[str]:
    """The /imagine-quota lines of the spend left today under each ceiling set, or that
    it is reached."""
    lines = []
    for key, limit, spent in (
        ("quota_spend_bot", ceilings.bot, day.bot_spend_ticks),
        ("quota_spend_guild", ceilings.guild or 0, day.guild_spend_ticks),
    ):
        left = remaining(limit, spent)
        if left is None:
            continue
        if left == 0:
            lines.append(text(f"{key}_reached", locale, limit=usd_text(limit, locale)))
        else:
            lines.append(
                text(
                    f"{key}_line",
                    locale,
                    left=usd_text(left, locale),
                    limit=usd_text(limit, locale),
                )
            )
    return lines


def quota_lines(
    day: MemberDay,
    limits: Limits,
    ceilings: SpendCeilings,
    locale: str,
    *,
    video: bool,
    now: float | None = None,
) -> list[str]:
    """What /imagine-quota says of a member's day where they are: a pause for blocked
    prompts, the cooldown, today's images (and seconds of video where ``video`` is on),
    the spend left under the ceilings, and when the counts start again."""
    now = time.time() if now is None else now
    lines = [f"**{text('quota_title', locale)}**"]
    if day.paused_until > now:
        lines.append(text("quota_paused", locale, when=timestamp(day.paused_until)))
    if limits.exempt:
        lines.append(text("quota_exempt", locale))
    elif day.cooldown.available_at > now:
        lines.append(text("quota_cooldown_wait", locale, when=timestamp(day.cooldown.available_at)))
    else:
        lines.append(text("quota_cooldown_ready", locale))
    if decide_cooldown(day.cooldown, now).verdict is CooldownVerdict.ALREADY_RUNNING:
        lines.append(text("quota_running", locale))
    in_server = ceilings.guild is not None
    lines += usage_lines(
        ("quota_user", "quota_guild"),
        limits.daily(Meter.IMAGES),
        day.images,
        locale,
        guild=in_server,
    )
    if video:
        # Seconds of video are counted apart; shown only where /animate is on.
        lines += usage_lines(
            ("quota_video", "quota_video_guild"),
            limits.daily(Meter.VIDEO_SECONDS),
            day.video,
            locale,
            guild=in_server,
        )
    lines.extend(spend_quota_lines(day, ceilings, locale))
    lines.append(text("quota_resets", locale, when=timestamp(day.images.resets_at)))
    return lines


def build_video(bot: ImagineBot) -> VideoKind:
    """Video clips as a kind of job, their request ids journaled in the bot's store and
    their first frames fetched through the bot's session."""
    assert bot.session is not None, "the bot's HTTP session opens before the cogs load"
    return VideoKind(
        bot.image_client,
        bot.store,
        inputs=InputFetcher(bot.session),
        max_wait_seconds=bot.settings.video_max_wait_seconds,
    )


def build_service(
    bot: ImagineBot,
    ports: ImagineCog,
    edits: EditKind | None = None,
    video: VideoKind | None = None,
) -> JobService:
    """The job service of this process: generation, and edits and video when given."""
    settings = bot.settings
    generation = GenerationKind(
        bot.image_client,
        models=settings.grok_models,
        default_model=settings.default_model,
        response_format=settings.grok_response_format,
    )
    service = JobService(
        bot.store,
        config=ServiceConfig(
            max_running=settings.max_concurrent_jobs,
            max_waiting=settings.max_queued_jobs,
            max_waiting_per_guild=settings.max_queued_per_guild,
            job_retention_days=settings.job_retention_days,
            allow_dms=settings.allow_dms,
            limits=limit_defaults(settings),
            max_wait_seconds=settings.max_wait_seconds,
            spend=spend_policy(settings),
        ),
        owner=bot.journal_owner,
        kinds=[generation, *(kind for kind in (edits, video) if kind is not None)],
        ports=ports,
        observer=bot.metrics,
    )
    bot.metrics.watch_queue(service.queue)
    return service


class ImagineCog(commands.Cog):
    """Image generation with Grok Imagine."""

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.command = self._build_command()
        self.quota_command = self._build_quota_command()
        self.menus = [
            self._where(app_commands.ContextMenu(name=localized(key), callback=callback))
            for key, callback in (
                ("ctx_edit", self.edit_message_menu),
                ("ctx_imagine", self.imagine_message_menu),
            )
        ]
        self.edits = build_edits(bot)
        self.video = build_video(bot)
        self.animate_command = self._build_animate_command()
        self.service = build_service(bot, self, self.edits, self.video)
        self.access = CommandAccess(bot, dev_guild_id=self.settings.dev_guild_id)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.command)
        self.bot.tree.add_command(self.quota_command)
        self.bot.tree.add_command(self.animate_command)
        for menu in self.menus:
            self.bot.tree.add_command(menu)
        self.bot.add_dynamic_items(JobButton, EditButton)
        self.service.start(self.bot.wait_until_ready)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)
        self.bot.tree.remove_command(self.quota_command.name)
        self.bot.tree.remove_command(self.animate_command.name)
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)
        self.bot.remove_dynamic_items(JobButton, EditButton)
        self.service.stop()

    @commands.Cog.listener()
    async def on_raw_app_command_permissions_update(
        self, payload: discord.RawAppCommandPermissionsUpdateEvent
    ) -> None:
        """A server changed its command permissions: the buttons follow at the next press."""
        if payload.application_id == self.bot.application_id:
            self.access.forget(payload.guild.id)
            log.info("command permissions of guild %s changed", payload.guild.id)

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
            image=localized("opt_image"),
            image2=localized("opt_image2"),
            image3=localized("opt_image3"),
        )
        @app_commands.choices(model=models, aspect=aspects, resolution=resolutions)
        async def imagine(
            interaction: discord.Interaction,
            prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
            model: str | None = None,
            n: app_commands.Range[int, 1, MAX_IMAGES] = 1,
            aspect: str | None = None,
            resolution: str | None = None,
            image: discord.Attachment | None = None,
            image2: discord.Attachment | None = None,
            image3: discord.Attachment | None = None,
        ) -> None:
            """Create images from a text prompt with Grok Imagine."""
            options = {
                "prompt": prompt,
                "model": model,
                "n": n,
                "aspect": aspect,
                "resolution": resolution,
            }
            pictures = [a for a in (image, image2, image3) if a is not None]
            if pictures:
                sources = attachment_sources(interaction, pictures)
                await cog.submit_edit(interaction, options, sources)
                return
            await cog.submit(interaction, options)

        return self._where(imagine)

    def _build_quota_command(self) -> app_commands.Command[Any, ..., None]:
        cog = self

        @app_commands.command(name="imagine-quota", description=localized("cmd_quota"))
        async def imagine_quota(interaction: discord.Interaction) -> None:
            """See your cooldown and how many images you have left today."""
            await cog.show_quota(interaction)

        return self._where(imagine_quota)

    def _build_animate_command(self) -> app_commands.Command[Any, ..., None]:
        cog = self
        aspects = [
            app_commands.Choice(name=localized(f"aspect_{a}"), value=a)
            for a in ASPECT_RATIOS
            if a != "auto"
        ]
        resolutions = [app_commands.Choice(name=r, value=r) for r in VIDEO_RESOLUTIONS]

        @app_commands.command(name="animate", description=localized("cmd_animate"))
        @app_commands.describe(
            prompt=localized("opt_animate_prompt"),
            image=localized("opt_animate_image"),
            duration=localized("opt_duration"),
            aspect=localized("opt_video_aspect"),
            resolution=localized("opt_video_resolution"),
        )
        @app_commands.choices(aspect=aspects, resolution=resolutions)
        async def animate(
            interaction: discord.Interaction,
            prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
            image: discord.Attachment | None = None,
            duration: app_commands.Range[int, MIN_SECONDS, MAX_SECONDS] = DEFAULT_SECONDS,
            aspect: str | None = None,
            resolution: str | None = None,
        ) -> None:
            """Make a short video clip from a prompt, or from a picture."""
            await cog.submit_video(
                interaction,
                {
                    "prompt": prompt,
                    "duration": duration,
                    "aspect": aspect,
                    "resolution": resolution,
                },
                None if image is None else attachment_sources(interaction, [image])[0],
            )

        return self._where(animate)

    # -- jobs --------------------------------------------------------------------------

    async def submit_video(
        self,
        interaction: discord.Interaction,
        options: Mapping[str, object],
        image: InputSource | None = None,
    ) -> None:
        """One video clip for ``interaction.user``, under the same rules as images; from
        ``image`` as its first frame when given: /animate and the Animate button both
        come here. Whether video is offered here and the picture is usable is answered
        privately before anything is reserved."""
        # The clip is asked for at a resolution that fits what this server takes.
        asked = {**options, "upload_limit": interaction.filesize_limit}
        if image is not None:
            await self._check_video_allowed(interaction)
            frames = await prefetch(self.video, [image])
            asked.update(image=image.to_param(), first_frame=frames[0] if frames else None)
        port = self._port(interaction)
        await self.service.submit(port, origin_of(interaction), asked, kind=VIDEO_KIND)

    def _port(self, interaction: discord.Interaction) -> DiscordPort:
        """The port of a job asked for by ``interaction``."""
        return DiscordPort.for_interaction(interaction, self.bot.modlog, self.animate_offered)

    async def animate_offered(self, guild_id: int | None) -> bool:
        """Whether a clip can be made of a picture result in a server (or a DM, where
        /animate works when the bot allows DMs): the image service offers video and the
        server has it on."""
        if not self.video.offered:
            return False
        if guild_id is None:
            return True
        return (await self.bot.store.get_guild_settings(guild_id)).video

    async def submit(self, interaction: discord.Interaction, options: Mapping[str, object]) -> None:
        """One job for ``interaction.user``: /imagine and the Re-roll button both come
        here, so the same rules, cooldown and quotas apply. A refusal before the job is
        accepted is raised (a core error) for the error handler to answer privately."""
        port = self._port(interaction)
        await self.service.submit(port, origin_of(interaction), options)

    async def drain(self, grace: float) -> None:
        """Stop taking jobs; let those running finish within ``grace`` seconds; leave the
        rest in the journal for the next process."""
        await self.service.drain(grace)

    def port_for(self, record: JobRecord, guild_settings: GuildSettings | None) -> DiscordPort:
        """The port of a job taken over from the journal: its interaction's webhook while
        the token lasts, else its channel."""
        guild = None if record.guild_id is None else self.bot.get_guild(record.guild_id)
        ref = record.interaction
        webhook = (
            None
            if ref is None or ref.valid_for(time.time()) <= 0
            else discord.Webhook.partial(ref.application_id, ref.token, client=self.bot)
        )
        port = DiscordPort(
            self.bot,
            webhook,
            job_id=record.id,
            user_id=record.user_id,
            guild_id=record.guild_id,
            channel_id=record.channel_id,
            locale=record.locale,
            filesize_limit=DEFAULT_FILESIZE_LIMIT if guild is None else guild.filesize_limit,
            modlog=self.bot.modlog,
            modlog_channel=None if guild_settings is None else guild_settings.modlog_channel,
            guild_locale=None if guild is None else str(guild.preferred_locale),
            offers_animate=self.animate_offered,
        )
        # The first message may show a status from before the restart, or still be
        # "thinking…": editing it serves both; but an upload cut short may have filled it,
        # and then what follows goes below it.
        port.status_shown = record.state != journal.DELIVERING
        return port

    # -- Cancel ------------------------------------------------------------------------

    async def cancel_job(self, interaction: discord.Interaction, job_id: str) -> None:
        """Cancel a waiting job: the requester's choice; it costs them nothing."""
        locale = str(interaction.locale)
        try:
            job = await self.bot.store.get_job(job_id)
            if job is None or job.finished:
                await reply(interaction, text("cancel_too_late", locale))
                return
            if not pressed_here(interaction, job, Action.CANCEL):
                await self._refuse_elsewhere(interaction, job_id, Action.CANCEL)
                return
            answer = self.service.cancel(job_id, interaction.user.id)
            if answer is not CancelAnswer.CANCELLED:
                await reply(interaction, text(_CANCEL_ANSWERS[answer], locale))
                return
            await interaction.response.edit_message(content=text("cancelled", locale), view=None)
        except Exception as error:
            await answer_error(interaction, error)

    # -- result buttons ----------------------------------------------------------------

    async def reroll(self, interaction: discord.Interaction, job_id: str) -> None:
        """Re-roll a result: the same options, as a new job of whoever pressed."""
        locale = str(interaction.locale)
        try:
            job = await self.bot.store.get_job(job_id)
            kind = None if job is None else self.service.kind_of(job)
            if job is None or kind is None:
                await reply(interaction, text("job_gone", locale))
                return
            if not pressed_here(interaction, job, Action.REROLL):
                await self._refuse_elsewhere(interaction, job_id, Action.REROLL)
                return
            if interaction.user.id != job.user_id:
                guild_settings = (
                    None
                    if interaction.guild_id is None
                    else await self.bot.store.get_guild_settings(interaction.guild_id)
                )
                if guild_settings is None or not guild_settings.reroll_open:
                    await reply(interaction, text("reroll_not_yours", locale))
                    return
            # A clip's Re-roll follows /animate's permissions, a picture's /imagine's.
            command = ANIMATE_COMMAND if kind.name == VIDEO_KIND else COMMAND_NAME
            if not await self._may_use_command(interaction, job_id, command=command):
                return
            port = self._port(interaction)
            await self.service.submit(
                port, origin_of(interaction), kind.options_of(job), kind=kind.name
            )
        except Exception as error:
            await answer_error(interaction, error)

    async def _may_use_command(
        self,
        interaction: discord.Interaction,
        job_id: str,
        what: str = "re-roll",
        command: str = COMMAND_NAME,
    ) -> bool:
        """Whether Discord's command permissions let the presser use the command where
        they pressed (/imagine, or /animate for Animate): a button that makes a new job
        follows its command; refused privately."""
        access = await self.access.check(interaction, command)
        if access is not None and access.allowed:
            return True
        log.info(
            "job %s: %s refused to user %s in channel %s: %s",
            job_id,
            what,
            interaction.user.id,
            interaction.channel_id,
            "permissions unknown" if access is None else access.value,
        )
        keys = _COMMAND_REFUSALS[command]
        await reply(
            interaction, text(keys[0] if access is None else keys[1], str(interaction.locale))
        )
        return False

    async def _refuse_elsewhere(
        self, interaction: discord.Interaction, job_id: str, action: Action
    ) -> None:
        """A job's button pressed on a message or in a server not the job's."""
        message = interaction.message
        log.warning(
            "job %s: %s pressed by user %s on message %s in guild %s, not the job's",
            job_id,
            action.value,
            interaction.user.id,
            None if message is None else message.id,
            interaction.guild_id,
        )
        await reply(interaction, text("pressed_elsewhere", str(interaction.locale)))

    async def delete_result(self, interaction: discord.Interaction, job_id: str) -> None:
        """Delete a result's messages: the requester's or a moderator's choice."""
        locale = str(interaction.locale)
        try:
            job = await self.bot.store.get_job(job_id)
            if job is None or job.channel_id is None:
                await reply(interaction, text("job_gone", locale))
                return
            if not pressed_here(interaction, job, Action.DELETE):
                await self._refuse_elsewhere(interaction, job_id, Action.DELETE)
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
                guild_settings = await self.bot.store.get_guild_settings(job.guild_id)
                if guild_settings.modlog_channel is not None:
                    entry = deleted_embed(
                        job_id, interaction.user.id, job.channel_id, server_locale(interaction)
                    )
                    self.bot.modlog.post_soon(guild_settings.modlog_channel, entry)
            await reply(interaction, text("delete_partly" if failed else "deleted", locale))
        except Exception as error:
            await answer_error(interaction, error)

    # -- /imagine-quota ----------------------------------------------------------------

    async def show_quota(self, interaction: discord.Interaction) -> None:
        """Tell a member, privately, their cooldown, today's use and what is left, their
        pause for blocked prompts and the spend left under the ceilings."""
        guild_id = interaction.guild_id
        if guild_id is None and not self.settings.allow_dms:
            raise errors.DirectMessagesOff()
        guild_settings = (
            None if guild_id is None else await self.bot.store.get_guild_settings(guild_id)
        )
        limits = limits_for(
            limit_defaults(self.settings), guild_settings, role_ids(interaction.user)
        )
        # Everything else the member's day holds, in one round trip.
        day = await self.bot.store.member_day(guild_id, interaction.user.id)
        ceilings = SpendCeilings(
            bot=self.service.spend.bot_limit,
            guild=None if guild_settings is None else guild_settings.spend_limit_ticks or 0,
        )
        video = guild_settings is not None and guild_settings.video
        lines = quota_lines(day, limits, ceilings, str(interaction.locale), video=video)
        await reply(interaction, "\n".join(lines))

    # -- edits -------------------------------------------------------------------------

    async def submit_edit(
        self,
        interaction: discord.Interaction,
        options: Mapping[str, object],
        sources: list[InputSource],
    ) -> None:
        """One edit of ``sources`` for ``interaction.user``: whether edits are offered
        and the pictures are usable is answered privately before anything is reserved."""
        await self._check_edits_allowed(interaction, sources)
        inputs = await prefetch(self.edits, sources)
        port = self._port(interaction)
        asked = {**options, "sources": [source.to_param() for source in sources], "inputs": inputs}
        await self.service.submit(port, origin_of(interaction), asked, kind=EDIT_KIND)

    async def _pictures_pressed(
        self, interaction: discord.Interaction, job_id: str, action: Action, command: str
    ) -> int | None:
        """How many pictures the result of a pressed Edit or Animate button has; None
        (the presser told why) when the job is gone, the button is not on its own job's
        message, or the command's permissions refuse the presser here."""
        job = await self.bot.store.get_job(job_id)
        count = 0 if job is None else picture_count(interaction, job)
        if job is None or count <= 0 or job.channel_id is None:
            await reply(interaction, text("job_gone", str(interaction.locale)))
            return None
        if not pressed_here(interaction, job, action):
            await self._refuse_elsewhere(interaction, job_id, action)
            return None
        if not await self._may_use_command(interaction, job_id, action.value, command):
            return None
        return count

    async def open_edit(self, interaction: discord.Interaction, job_id: str) -> None:
        """The Edit button: ask (a modal) what to change, and which image when several."""
        try:
            count = await self._pictures_pressed(interaction, job_id, Action.EDIT, COMMAND_NAME)
            if count is None:
                return
            await self._check_edits_allowed(interaction, [])

            async def run(submitted: discord.Interaction, prompt: str, index: int) -> None:
                await self.edit_result(submitted, job_id, prompt, index)

            modal = EditModal(run, count=count, locale=str(interaction.locale))
            await interaction.response.send_modal(modal)
        except Exception as error:
            await answer_error(interaction, error)

    async def open_animate(self, interaction: discord.Interaction, job_id: str) -> None:
        """The Animate button: ask (a modal) how the picture moves, which image when
        several, and for how long. It follows /animate's permissions; a server that turned
        video off since the result was posted is told so privately."""
        try:
            count = await self._pictures_pressed(
                interaction, job_id, Action.ANIMATE, ANIMATE_COMMAND
            )
            if count is None:
                return
            await self._check_video_allowed(interaction)

            async def run(
                submitted: discord.Interaction, motion: str, index: int, seconds: int
            ) -> None:
                await self.animate_result(submitted, job_id, motion, index, seconds)

            modal = AnimateModal(run, count=count, locale=str(interaction.locale))
            await interaction.response.send_modal(modal)
        except Exception as error:
            await answer_error(interaction, error)

    async def animate_result(
        self, interaction: discord.Interaction, job_id: str, motion: str, index: int, seconds: int
    ) -> None:
        """A clip of the ``index``-th image (from 1) of a result, as its modal asked: the
        picture is the first frame."""
        picked = await self._result_picture(interaction, job_id, index)
        if picked is not None:
            await self.submit_video(
                interaction, {"prompt": motion, "duration": seconds}, image=picked[1]
            )

    async def _check_video_allowed(self, interaction: discord.Interaction) -> None:
        """Raise why a clip cannot be had here (not offered, or off in the server)."""
        self.video.check_offered()
        if interaction.guild_id is not None:
            check_video_rules(await self.bot.store.get_guild_settings(interaction.guild_id))

    async def _result_picture(
        self, interaction: discord.Interaction, job_id: str, index: int
    ) -> tuple[JobRecord, InputSource] | None:
        """The job and the source of its ``index``-th image (from 1), as a modal asked;
        None (the member told) when the job is gone."""
        job = await self.bot.store.get_job(job_id)
        if job is None:
            await reply(interaction, text("job_gone", str(interaction.locale)))
            return None
        pictures = await result_pictures(interaction, job)
        if not 1 <= index <= len(pictures):
            raise errors.InvalidInput("none")
        message_id, attachment = pictures[index - 1]
        return job, own_source(job, message_id, attachment)

    async def edit_result(
        self, interaction: discord.Interaction, job_id: str, prompt: str, index: int
    ) -> None:
        """Edit the ``index``-th image (from 1) of a result, as its modal asked."""
        picked = await self._result_picture(interaction, job_id, index)
        if picked is None:
            return
        job, source = picked
        options = {
            "prompt": prompt,
            "model": job.params.get("model"),
            "n": 1,
            "resolution": job.params.get("resolution"),
        }
        await self.submit_edit(interaction, options, [source])

    async def edit_message_menu(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """ "Edit with Grok" on a message: ask what to change, then edit its pictures (up
        to three: attachments, then images of its embeds)."""
        locale = str(interaction.locale)
        bot_user = self.bot.user
        own = bot_user is not None and message.author.id == bot_user.id
        sources = message_sources(message, own)
        if not sources:
            raise errors.InvalidInput("none")
        await self._check_edits_allowed(interaction, sources)

        async def run(submitted: discord.Interaction, prompt: str, _index: int) -> None:
            await self.submit_edit(submitted, {"prompt": prompt, "n": 1}, sources)

        await interaction.response.send_modal(EditModal(run, count=1, locale=locale))

    async def imagine_message_menu(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """ "Imagine from message": the message's text becomes the prompt, shown in a
        modal the member can adjust before it runs."""
        locale = str(interaction.locale)

        async def run(submitted: discord.Interaction, prompt: str, _index: int) -> None:
            await self.submit(submitted, {"prompt": prompt, "n": 1})

        modal = EditModal(
            run,
            count=1,
            locale=locale,
            title_key="modal_imagine_title",
            label_key="modal_imagine_prompt",
            prompt=message.content.strip()[:MAX_PROMPT_LENGTH],
        )
        await interaction.response.send_modal(modal)

    async def _check_edits_allowed(
        self, interaction: discord.Interaction, sources: list[InputSource]
    ) -> None:
        """Raise why an edit cannot be had here (not offered, or the server's rules)."""
        self.edits.check_offered()
        if interaction.guild_id is not None:
            guild_settings = await self.bot.store.get_guild_settings(interaction.guild_id)
            check_edit_rules(guild_settings, sources)
