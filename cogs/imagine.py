"""``/imagine``, ``/imagine-quota`` and the result buttons: the Discord surface of generation.

The flow of one job, in three parts. *Admit*: validate the options, check the server's
rules, claim the user's cooldown, reserve the images against the daily quotas and take a
place in the queue (all quick, before any answer, so a refusal can be ephemeral), then
defer and write the job to the journal. *Run*: wait for a slot in this process's line,
then for one of the API slots every process on the store shares (showing the place in
line, with a Cancel button, meanwhile), call the image API, fit the images into Discord's
limits and upload them with a result embed and the Re-roll and Delete buttons. *Finish*:
close the journal entry, give back the images not delivered, log one line and write the
server's mod log.
A job taken over from the journal after a restart goes through the same run and finish.
Errors are ``core.errors`` values turned into words in one place (``cogs.errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import re
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.errors import answer_error, message_for, reply, timestamp
from cogs.i18n import localized
from cogs.jobs import Job, JobReport, Reply
from cogs.messages import text
from cogs.modlog import JobEntry, deleted_embed, job_embed, server_locale
from core import errors, journal
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
from core.outcomes import Outcome
from core.queue import Cancelled, JobQueue, QueueClosed, Ticket
from core.quota import Reservation, remaining
from core.storage import JobRecord

if TYPE_CHECKING:
    from bot import ImagineBot

log = logging.getLogger(__name__)

CommandT = TypeVar("CommandT", bound=app_commands.Command[Any, ..., None])

#: The whole job, retries and uploads included, stays well inside the 15-minute token life.
JOB_DEADLINE_SECONDS = 12 * 60.0
#: How many times one job re-plans after Discord answers 413.
MAX_REPLANS = 12

#: Result buttons: the job id in the custom id is all they need, so they outlive restarts.
JOB_BUTTON_TEMPLATE = r"imagine:(?P<action>reroll|delete|cancel):(?P<job>[0-9a-f]{6,32})"

#: A waiting job's place in line is shown at most this often (Discord rate-limits edits,
#: and a long line moving fast would otherwise flood it).
PLACE_EDIT_SECONDS = 3.0
#: A job waiting for an API slot another process holds asks again after this long at
#: first, doubling up to the most (each wait shortened at random, so processes spread out).
SLOT_POLL_SECONDS = 0.2
SLOT_POLL_MAX_SECONDS = 1.0
#: At shutdown, how long the jobs that lost their place get to say so before the bot closes.
SUSPEND_NOTICE_SECONDS = 5.0
#: A server's mod log hears that the API account ran out of credits at most this often.
CREDITS_NOTICE_SECONDS = 10 * 60.0
#: The per-file limit assumed for a job taken over from the journal in a server the bot
#: does not see (Discord's default).
DEFAULT_FILESIZE_LIMIT = 10 * 1024 * 1024


def new_job_id() -> str:
    """A short id for logs and messages, unique enough to look a job up."""
    return secrets.token_hex(5)


def _outcome_of(error: BaseException) -> str:
    return error.outcome if isinstance(error, errors.GenerationError) else Outcome.ERROR


def build_embed(
    request: GenerationRequest,
    result: GenerationResult,
    *,
    requester_id: int,
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
    embed.add_field(name=text("field_requester", locale), value=f"<@{requester_id}>", inline=True)
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


@dataclass(frozen=True, slots=True)
class _ButtonKind:
    label_key: str
    emoji: str | None
    #: The cog's method that handles a press: ``(interaction, job_id) -> None``.
    handler: str


_BUTTON_KINDS = {
    "reroll": _ButtonKind("button_reroll", "🎲", "reroll"),
    "delete": _ButtonKind("button_delete", "🗑️", "delete_result"),
    "cancel": _ButtonKind("button_cancel", None, "cancel_job"),
}


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=JOB_BUTTON_TEMPLATE
):
    """A button acting on one job: Re-roll (the same parameters again, under the presser's
    own limits), Delete (the requester or Manage Messages removes the result) or Cancel (the
    requester takes a waiting job out of the line). All it needs is in its custom id, so it
    keeps working after a restart."""

    def __init__(self, action: str, job_id: str, label: str | None = None) -> None:
        kind = _BUTTON_KINDS[action]
        super().__init__(
            discord.ui.Button(
                label=label or text(kind.label_key),
                emoji=kind.emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=f"imagine:{action}:{job_id}",
            )
        )
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> JobButton:
        return cls(match["action"], match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _cog_of(interaction)
        if cog is not None:
            await getattr(cog, _BUTTON_KINDS[self.action].handler)(interaction, self.job_id)


def _cog_of(interaction: discord.Interaction) -> ImagineCog | None:
    client = interaction.client
    cog = client.get_cog(ImagineCog.__cog_name__) if isinstance(client, commands.Bot) else None
    return cog if isinstance(cog, ImagineCog) else None


def result_view(job_id: str, locale: str | None) -> discord.ui.View:
    """The buttons under a result, labelled in the requester's language."""
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("reroll", job_id, text("button_reroll", locale)))
    view.add_item(JobButton("delete", job_id, text("button_delete", locale)))
    return view


def cancel_view(job_id: str, locale: str | None) -> discord.ui.View:
    """The Cancel button under a waiting job's place in line."""
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("cancel", job_id, text("button_cancel", locale)))
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
        self.queue = JobQueue(
            max_running=self.settings.max_concurrent_jobs,
            max_waiting=self.settings.max_queued_jobs,
        )
        #: Set at shutdown: no new job is accepted.
        self.stopping = False
        #: The task of every job this process runs or keeps in line, by job id.
        self._jobs: dict[str, asyncio.Task[Any]] = {}
        #: Background work (jobs taken over from the journal, the journal sweep).
        self._background: set[asyncio.Task[Any]] = set()
        #: When each server's mod log last heard that the API ran out of credits.
        self._credits_noticed: dict[int, float] = {}
        #: The journal sweep (see :meth:`_sweep_journal`).
        self._sweeper: asyncio.Task[Any] | None = None
        #: The jobs of this process holding an API slot in the store (renewed by the sweep).
        self._slots: set[str] = set()
        self._jitter = random.Random()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.command)
        self.bot.tree.add_command(self.quota_command)
        self.bot.add_dynamic_items(JobButton)
        self._sweeper = self._spawn(self._sweep_journal())

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)
        self.bot.tree.remove_command(self.quota_command.name)
        self.bot.remove_dynamic_items(JobButton)
        for task in self._background:
            task.cancel()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

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
        daily quotas, a full queue) is decided before deferring, so the refusal is private;
        those refusals are raised as core errors for the error handler. Once deferred, the
        job runs to its end here and tells the requester itself.
        """
        job_id = new_job_id()
        user = interaction.user
        guild_id = interaction.guild_id
        locale = str(interaction.locale)
        report = JobReport(job_id, user.id, guild_id)
        if self.stopping:
            report.outcome = "shutting_down"
            report.log()
            raise errors.ShuttingDown()
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
        if not self.queue.has_room():
            # A quick look first, so a full line costs no database work.
            report.outcome = "shutting_down" if self.queue.closed else "queue_full"
            report.log()
            raise errors.ShuttingDown() if self.queue.closed else errors.QueueFull()
        cooldown_seconds = self._cooldown(server, exempt=exempt)

        # The claim and the reservation in one step: a refused claim reserves nothing and a
        # refused reservation takes no claim, so neither refusal leaves anything to undo.
        admission = await self.bot.store.admit(
            user_id=user.id,
            job_id=job_id,
            exempt=exempt,
            guild_id=guild_id,
            images=request.n,
            user_limit=0 if exempt else self._user_limit(server),
            guild_limit=self._guild_limit(server),
        )
        decision = admission.claim
        if not decision.allowed:
            report.outcome = decision.verdict.value
            report.log()
            if decision.retry_after > 0:
                raise errors.OnCooldown(decision.retry_after)
            raise errors.AlreadyRunning()
        quota = admission.quota
        assert quota is not None
        if not quota.allowed:
            report.outcome = quota.verdict.value
            report.log()
            raise errors.DailyLimitReached(
                quota.verdict.value,
                limit=quota.limit,
                left=quota.left,
                needed=request.n,
                resets_at=quota.resets_at,
            )

        reservation = quota.reservation
        ticket: Ticket | None = None
        accepted = False
        try:
            ticket = self.queue.enter(job_id, user.id)
            if ticket is None:
                report.outcome = "shutting_down" if self.queue.closed else "queue_full"
                raise errors.ShuttingDown() if self.queue.closed else errors.QueueFull()
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
            accepted = True
        finally:
            if not accepted:
                if ticket is not None:
                    self.queue.release(ticket)
                if reservation is not None:
                    await self._refund_quietly(reservation, request.n)
                await self.bot.store.end_claim(
                    user.id, job_id, delivered=False, cooldown_seconds=cooldown_seconds
                )
                report.log()
        assert ticket is not None
        guild_locale = server_locale(interaction)
        job = Job(
            id=job_id,
            user_id=user.id,
            guild_id=guild_id,
            channel_id=interaction.channel_id,
            locale=locale,
            request=request,
            reply=Reply(
                self.bot,
                interaction.followup,
                job_id=job_id,
                user_id=user.id,
                guild_id=guild_id,
                channel_id=interaction.channel_id,
                locale=locale,
                filesize_limit=interaction.filesize_limit,
                modlog=self.bot.modlog,
                modlog_channel=None if server is None else server.modlog_channel,
                guild_locale=guild_locale,
            ),
            report=report,
            cooldown_seconds=cooldown_seconds,
            reservation=reservation,
            server=server,
            guild_locale=guild_locale,
            interaction=journal.InteractionRef(
                interaction_id=interaction.id,
                application_id=interaction.application_id,
                token=interaction.token,
                expires_at=interaction.created_at.timestamp() + journal.TOKEN_LIFETIME_SECONDS,
            ),
        )
        await self._journal(job, ticket)
        await self._run(job, ticket)

    async def _journal(self, job: Job, ticket: Ticket) -> None:
        """Write an accepted job to the journal before its API call."""
        assert job.interaction is not None
        try:
            await self.bot.store.journal_job(
                job.id,
                user_id=job.user_id,
                guild_id=job.guild_id,
                channel_id=job.channel_id,
                prompt=job.request.prompt,
                params=_params_of(job.request),
                locale=job.locale,
                interaction=job.interaction,
                reservation=job.reservation,
                cooldown_seconds=job.cooldown_seconds,
                owner=self.bot.journal_owner,
                state=journal.RUNNING if ticket.granted else journal.QUEUED,
            )
        except Exception:
            # The job can still run; it only could not be resumed after a restart.
            log.exception("job %s: could not write the job to the journal", job.id)
            return
        job.journaled = True

    async def _journal_state(self, job: Job, state: str) -> None:
        if not job.journaled:
            return
        try:
            await self.bot.store.journal_state(job.id, state)
        except Exception:
            log.exception("job %s: could not note state %s in the journal", job.id, state)

    async def _run(self, job: Job, ticket: Ticket) -> None:
        """Wait for a slot, make the images, deliver them and close the job.

        Every outcome ends in images delivered or a message to the requester, except when
        the process stops first: then the job stays in the journal, its images reserved and
        its claim held, for the next process to finish.
        """
        task = asyncio.current_task()
        if task is not None:
            self._jobs[job.id] = task
        try:
            await self._run_job(job, ticket)
        finally:
            # Only now: a stopping bot waits for the job's bookkeeping too.
            self._jobs.pop(job.id, None)

    async def _run_job(self, job: Job, ticket: Ticket) -> None:
        report = job.report
        close = True
        failure: BaseException | None = None
        slot_asked = False
        try:
            waited = ticket.waiting
            if waited:
                await self._wait_for_slot(job, ticket)
            slot_asked = True
            if await self._take_api_slot(job, ticket, queued=waited):
                waited = True
            if waited:
                await self._journal_state(job, journal.RUNNING)
                await job.reply.status(text("queue_started", job.locale))
            async with asyncio.timeout(JOB_DEADLINE_SECONDS):
                result = await self.bot.image_client.generate(job.request)
                report.api_seconds = result.api_seconds
                report.cost_usd_ticks = result.cost_usd_ticks
                await self._journal_state(job, journal.DELIVERING)
                report.delivered = await self._deliver(job, result)
                # The images go as soon as they are uploaded, not when the job ends.
                del result
            report.outcome = "delivered"
        except Cancelled:
            # The Cancel button already answered the requester.
            report.outcome = "cancelled"
        except QueueClosed:
            report.outcome = "suspended"
            close = False
            await job.reply.status(text("suspended", job.locale))
        except asyncio.CancelledError:
            if self.stopping:
                # Cut short by the end of the shutdown grace period: the next process
                # takes the job over from the journal.
                report.outcome = "suspended"
                close = False
            else:
                report.outcome = "cancelled"
            raise
        except Exception as error:
            failure = (
                errors.TransientError("job deadline passed")
                if isinstance(error, TimeoutError)
                else error
            )
            report.outcome = _outcome_of(failure)
            if isinstance(failure, errors.GenerationError):
                # The detail is for the operator: short and free of secrets.
                log.info("job %s: %s: %s", job.id, report.outcome, failure.detail)
            else:
                log.error("unexpected error in job %s", job.id, exc_info=error)
            if isinstance(failure, errors.QuotaExceeded):
                self._tell_admins_out_of_credits(job)
        finally:
            try:
                if slot_asked:
                    # The shared slot first: the next job in this line then finds it free.
                    await self._release_api_slot(job.id)
            finally:
                self.queue.release(ticket)
            if close:
                await self._close(job)
            else:
                report.log()
        if failure is not None:
            await job.reply.say(message_for(failure, job.locale, job_id=job.id))

    async def _wait_for_slot(self, job: Job, ticket: Ticket) -> None:
        """Wait in line, showing the place (and a Cancel button) as it changes."""
        places = asyncio.create_task(self._show_places(job, ticket))
        try:
            await self.queue.wait_turn(ticket)
        finally:
            places.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await places

    async def _take_api_slot(self, job: Job, ticket: Ticket, *, queued: bool) -> bool:
        """Hold one of the ``MAX_CONCURRENT_JOBS`` API slots shared by every process on the
        store; whether the job had to wait for it.

        With one process a slot is always free here (this process's own line lets no more
        jobs through). With several, the job asks again, backing off, while its message
        says it waits first in line, with the Cancel button; a Cancel or a stop ends the
        wait. The caller releases the slot (see :meth:`_release_api_slot`).
        """
        store = self.bot.store
        cap = self.settings.max_concurrent_jobs
        self.queue.hold_back(ticket)
        waited = False
        delay = SLOT_POLL_SECONDS
        while True:
            ticket.changed.clear()
            if ticket.error is not None:
                raise ticket.error
            if await store.acquire_slot(job.id, cap=cap, lease_seconds=journal.LEASE_SECONDS):
                self._slots.add(job.id)
                if ticket.error is not None:
                    raise ticket.error  # cancelled meanwhile; the caller frees the slot
                self.queue.go_on(ticket)
                return waited
            if not waited:
                waited = True
                if not queued:
                    await self._journal_state(job, journal.QUEUED)
                await job.reply.status(
                    text("queue_place", job.locale, place=1), view=cancel_view(job.id, job.locale)
                )
                continue  # the status edit took a while: ask again at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    ticket.changed.wait(), delay * self._jitter.uniform(0.5, 1.0)
                )
            delay = min(SLOT_POLL_MAX_SECONDS, delay * 2)

    async def _release_api_slot(self, job_id: str) -> None:
        self._slots.discard(job_id)
        try:
            await self.bot.store.free_slot(job_id)
        except Exception:
            # Its lease runs out instead: the slot is free again within a minute or two.
            log.exception("job %s: could not free its API slot", job_id)

    async def _show_places(self, job: Job, ticket: Ticket) -> None:
        view = cancel_view(job.id, job.locale)
        async for place in self.queue.positions(ticket, min_interval=PLACE_EDIT_SECONDS):
            await job.reply.status(text("queue_place", job.locale, place=place), view=view)

    async def _close(self, job: Job) -> None:
        """Close the job's journal entry, give back what was not delivered, end the claim,
        log the job line and write the mod log. Done once, by whoever closes the entry."""
        report = job.report
        closed = not job.journaled
        if job.journaled:
            try:
                closed = await self.bot.store.close_job(
                    job.id,
                    outcome=report.outcome,
                    images=report.delivered,
                    cost_usd_ticks=report.cost_usd_ticks,
                    message_ids=report.message_ids,
                )
            except Exception:
                log.exception("could not record the end of job %s", job.id)
                closed = True
        if not closed:
            log.warning("job %s was closed elsewhere already", job.id)
            return
        if job.reservation is not None:
            await self._refund_quietly(job.reservation, job.request.n - report.delivered)
        try:
            await self.bot.store.end_claim(
                job.user_id,
                job.id,
                delivered=report.delivered > 0,
                cooldown_seconds=job.cooldown_seconds,
            )
        except Exception:
            log.exception("could not end the claim of job %s", job.id)
        report.log()
        self._log_job(job)

    def _tell_admins_out_of_credits(self, job: Job) -> None:
        """The image API account is out of credits: tell the server's mod log (now and then)."""
        if job.guild_id is None or job.server is None or job.server.modlog_channel is None:
            return
        now = time.monotonic()
        last = self._credits_noticed.get(job.guild_id)
        if last is not None and now - last < CREDITS_NOTICE_SECONDS:
            return
        self._credits_noticed[job.guild_id] = now
        embed = discord.Embed(
            description=text("modlog_out_of_credits", job.guild_locale),
            colour=discord.Colour.red(),
        )
        self.bot.modlog.post_soon(job.server.modlog_channel, embed)

    # -- stopping and starting ---------------------------------------------------------

    async def drain(self, grace: float) -> None:
        """Stop taking jobs; let those running finish within ``grace`` seconds; leave the
        rest in the journal for the next process."""
        self.stopping = True
        waiting = self.queue.close()
        running = self.queue.running
        log.info(
            "stopping: %d job(s) running get up to %.0fs to finish; %d waiting are kept "
            "for the next start",
            running,
            grace,
            len(waiting),
        )
        if not await self.queue.wait_idle(grace):
            log.warning(
                "%d job(s) still running after %.0fs; they are kept for the next start",
                self.queue.running,
                grace,
            )
            for task in list(self._jobs.values()):
                task.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
        # Let every job finish its bookkeeping (and those that lost their place say so).
        tasks = set(self._jobs.values()) | self._background
        if tasks:
            await asyncio.wait(tasks, timeout=SUSPEND_NOTICE_SECONDS)

    async def _sweep_journal(self) -> None:
        """Keep this process's hold on its jobs, and take over those nobody holds: at start
        (the jobs a stopped process left) and later (those of a process that died)."""
        await self.bot.wait_until_ready()
        while not self.stopping:
            try:
                if self._slots:
                    await self.bot.store.renew_slots(
                        list(self._slots), lease_seconds=journal.LEASE_SECONDS
                    )
                await self.bot.store.renew_leases(self.bot.journal_owner)
                for record in await self.bot.store.adopt_jobs(self.bot.journal_owner):
                    await self._take_over(record)
            except Exception:
                log.exception("could not go through the job journal")
            await asyncio.sleep(journal.SWEEP_SECONDS)

    async def _take_over(self, record: JobRecord) -> None:
        """Resume a journaled job, or close it with a message."""
        now = time.time()
        action = journal.resume_action(
            state=record.state,
            created_at=record.created_at,
            interaction=record.interaction,
            now=now,
        )
        server = (
            None
            if record.guild_id is None
            else await self.bot.store.get_guild_settings(record.guild_id)
        )
        job = self._job_of(record, server)
        if action is journal.ResumeAction.RESUME and job is not None and not self.stopping:
            ticket = self.queue.enter(job.id, job.user_id, force=True)
            if ticket is not None:
                log.info(
                    "job %s: taken over from the journal (was %s); running it again",
                    job.id,
                    record.state,
                )
                await self._journal_state(
                    job, journal.RUNNING if ticket.granted else journal.QUEUED
                )
                self._spawn(self._run(job, ticket))
                return
        if self.stopping:
            return
        self._spawn(self._close_interrupted(record, job, action))

    def _job_of(self, record: JobRecord, server: GuildSettings | None) -> Job | None:
        """A job rebuilt from its journal entry; None if its options are no longer valid."""
        models = self.settings.grok_models
        params = record.params
        try:
            request = build_request(
                prompt=record.prompt,
                model=params.get("model"),
                n=params.get("n"),
                aspect=params.get("aspect_ratio"),
                resolution=params.get("resolution"),
                user_id=record.user_id,
                models=models,
                default_model=self.settings.default_model,
                response_format=self.settings.grok_response_format,
            )
        except errors.InvalidOption as error:
            log.warning("job %s: cannot run again: invalid %s", record.id, error.option)
            return None
        guild = None if record.guild_id is None else self.bot.get_guild(record.guild_id)
        guild_locale = None if guild is None else str(guild.preferred_locale)
        ref = record.interaction
        webhook = (
            None
            if ref is None or ref.valid_for(time.time()) <= 0
            else discord.Webhook.partial(ref.application_id, ref.token, client=self.bot)
        )
        reply = Reply(
            self.bot,
            webhook,
            job_id=record.id,
            user_id=record.user_id,
            guild_id=record.guild_id,
            channel_id=record.channel_id,
            locale=record.locale,
            filesize_limit=DEFAULT_FILESIZE_LIMIT if guild is None else guild.filesize_limit,
            modlog=self.bot.modlog,
            modlog_channel=None if server is None else server.modlog_channel,
            guild_locale=guild_locale,
        )
        # The first message may show a status from before the restart, or still be
        # "thinking…": editing it serves both.
        reply.status_shown = True
        report = JobReport(record.id, record.user_id, record.guild_id)
        report.model, report.n = request.model, request.n
        job = Job(
            id=record.id,
            user_id=record.user_id,
            guild_id=record.guild_id,
            channel_id=record.channel_id,
            locale=record.locale,
            request=request,
            reply=reply,
            report=report,
            cooldown_seconds=record.cooldown_seconds,
            reservation=record.reservation,
            server=server,
            guild_locale=guild_locale,
            interaction=ref,
            resumed=True,
        )
        job.journaled = True
        return job

    async def _close_interrupted(
        self,
        record: JobRecord,
        job: Job | None,
        action: journal.ResumeAction,
    ) -> None:
        """Close a journaled job that will not run again; tell the requester unless the job
        is too old for that (``DROP``): it could not be finished."""
        try:
            closed = await self.bot.store.close_job(record.id, outcome="interrupted")
        except Exception:
            log.exception("could not close interrupted job %s", record.id)
            return
        if not closed:
            return
        # A slot its process took before it stopped or died is free now, not at its lease's end.
        await self._release_api_slot(record.id)
        if record.reservation is not None:
            await self._refund_quietly(record.reservation, record.reservation.images)
        try:
            await self.bot.store.end_claim(
                record.user_id, record.id, delivered=False, cooldown_seconds=0.0
            )
        except Exception:
            log.exception("could not end the claim of job %s", record.id)
        report = JobReport(record.id, record.user_id, record.guild_id, outcome="interrupted")
        if job is not None:
            report.model, report.n = job.request.model, job.request.n
        report.log()
        if job is not None:
            job.report = report
            self._log_job(job)
        if action is journal.ResumeAction.DROP:
            return
        if job is not None:
            # An upload cut short may have filled the first message: say it below instead.
            job.reply.status_shown = record.state != journal.DELIVERING
            await job.reply.say(text("interrupted", record.locale, job_id=record.id))
            return
        reply = Reply(
            self.bot,
            None,
            job_id=record.id,
            user_id=record.user_id,
            guild_id=record.guild_id,
            channel_id=record.channel_id,
            locale=record.locale,
            filesize_limit=DEFAULT_FILESIZE_LIMIT,
        )
        await reply.say_in_channel(
            text("interrupted_for", record.locale, user=f"<@{record.user_id}>", job_id=record.id)
        )

    # -- Cancel ------------------------------------------------------------------------

    async def cancel_job(self, interaction: discord.Interaction, job_id: str) -> None:
        """Cancel a waiting job: the requester's choice; it costs them nothing."""
        locale = str(interaction.locale)
        try:
            ticket = self.queue.ticket(job_id)
            if ticket is None or not ticket.cancellable:
                await reply(interaction, text("cancel_too_late", locale))
                return
            if ticket.user_id != interaction.user.id:
                await reply(interaction, text("cancel_not_yours", locale))
                return
            self.queue.cancel(job_id)
            log.info("job %s: cancelled by its requester while waiting", job_id)
            await interaction.response.edit_message(content=text("cancelled", locale), view=None)
        except Exception as error:
            await answer_error(interaction, error)

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
        self._post_entry(
            server,
            server_locale(interaction),
            interaction.channel_id,
            request,
            report,
            term=term,
        )

    def _log_job(self, job: Job) -> None:
        """The job's mod-log entry, posted in the background."""
        self._post_entry(job.server, job.guild_locale, job.channel_id, job.request, job.report)

    def _post_entry(
        self,
        server: GuildSettings | None,
        guild_locale: str | None,
        channel_id: int | None,
        request: GenerationRequest,
        report: JobReport,
        *,
        term: str | None = None,
    ) -> None:
        if server is None or server.modlog_channel is None:
            return
        entry = JobEntry(
            job_id=report.job_id,
            user_id=report.user_id,
            guild_id=report.guild_id,
            channel_id=channel_id,
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
        self.bot.modlog.post_soon(server.modlog_channel, job_embed(entry, guild_locale))

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

    async def _deliver(self, job: Job, result: GenerationResult) -> int:
        """Upload the images in as few messages as fit; on 413 re-plan with a smaller budget.

        The first message carries the embed and the Re-roll and Delete buttons; every
        message's id goes into the job's report.
        """
        request, report, locale = job.request, job.report, job.locale
        limits = DeliveryLimits.for_interaction(job.reply.filesize_limit)
        images: list[ImageFile | None] = await self._fit(list(result.images), limits)
        left_out = sum(1 for image in images if image is None)
        pending = [i for i, image in enumerate(images) if image is not None]
        if not pending:
            raise errors.DeliveryFailed("no image fits the per-file limit")

        embed: discord.Embed | None = build_embed(
            request,
            result,
            requester_id=job.user_id,
            elapsed=time.monotonic() - report.started,
            job_id=job.id,
            locale=locale,
            left_out=left_out,
            spoiler=job.spoiler,
        )
        view = result_view(job.id, locale)
        delivered = 0
        replans = 0
        while pending:
            ready = [images[i] for i in pending]
            batch = [pending[j] for j in plan_batches([im.size for im in ready if im], limits)[0]]
            chosen = [(i, image) for i in batch if (image := images[i]) is not None]

            def files(chosen: list[tuple[int, ImageFile]] = chosen) -> list[discord.File]:
                return [
                    discord.File(
                        io.BytesIO(image.data),
                        filename=f"imagine-{job.id}-{i + 1}.{image.extension}",
                        spoiler=job.spoiler,
                    )
                    for i, image in chosen
                ]

            try:
                sent = await job.reply.send(
                    files=files, embed=embed, view=view if embed is not None else None
                )
            except discord.HTTPException as failure:
                if failure.status != 413 or replans >= MAX_REPLANS:
                    log.warning(
                        "job %s: Discord refused an upload of %d files: HTTP %s (code %s)",
                        job.id,
                        len(batch),
                        failure.status,
                        failure.code,
                    )
                    if delivered:
                        missing = sum(1 for i in pending if images[i] is not None)
                        await job.reply.say(
                            text("undeliverable", locale, count=missing, total=request.n),
                            private=False,
                        )
                        break
                    raise errors.DeliveryFailed(f"HTTP {failure.status}") from failure
                replans += 1
                refused = sum(image.size for _, image in chosen)
                limits = smaller_limits(limits, refused, len(batch))
                log.info(
                    "job %s: Discord refused %d files (%d bytes) as too large; re-planning "
                    "with %d bytes a message and %d a file",
                    job.id,
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
