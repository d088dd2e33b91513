"""Admission: everything that can refuse a job, decided before it is acknowledged.

The request is built from the options by its kind and checked against the server's rules;
the member's effective limits (:mod:`core.limits`) decide the cooldown claim and the
image reservation, taken in one atomic step (``Store.admit``), which also refuses a member
paused for sending too many blocked prompts (counted by ``Store.note_blocked``, only for
a blocked prompt). A refusal is raised as a core error once the job line is logged, with
nothing reserved and no claim left behind. A spend ceiling's refusal is also told to the
server's mod log, once for a while per ceiling (:data:`SPEND_NOTICE_SECONDS`).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from core import errors
from core.guild_settings import GuildSettings
from core.jobs.job import JobReport, summary_of
from core.jobs.kinds import JobKind, JobRequest, record_params
from core.jobs.port import JobPort, MemberPaused, Origin, SpendCeilingReached
from core.limits import LimitDefaults, Limits, limits_for
from core.moderation import BlockedAttempts, Rule, RuleContext, Verdict, check_rules
from core.observe import JobObserver
from core.outcomes import Outcome
from core.queue import JobQueue
from core.quota import Meter, QuotaDecision, QuotaVerdict, Reservation
from core.spend import SpendAsk, SpendPolicy
from core.storage import AdmitRequest, Store

log = logging.getLogger(__name__)


#: Bits of a job id: 128, so that ids never collide in a bot's lifetime (at 40 bits two jobs
#: shared an id by about a million jobs, and a button then acted on the other job).
JOB_ID_BITS = 128


def new_job_id() -> str:
    """A job's id for logs, messages and button custom ids: 32 hex characters, random."""
    return secrets.token_hex(JOB_ID_BITS // 8)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request that passed admission: claimed, its images reserved."""

    report: JobReport
    kind: JobKind
    request: JobRequest
    guild_settings: GuildSettings | None
    limits: Limits
    reservation: Reservation | None


def rule_context(origin: Origin, request: JobRequest) -> RuleContext:
    """Where the member is, and what they asked for, as the server's rules see it."""
    return RuleContext(
        channel_id=origin.channel_id,
        parent_id=origin.parent_id,
        channel_nsfw=origin.channel_nsfw,
        prompt=request.prompt,
        model=request.model,
        n=request.n,
        resolution=request.resolution,
        category_id=origin.category_id,
    )


def refusal(
    verdict: Verdict, guild_settings: GuildSettings, kind: JobKind
) -> errors.RefusedByServer:
    """The error that tells a member which of the server's rules stopped them."""
    return errors.RefusedByServer(
        verdict.rule.value,
        channels=guild_settings.channels,
        max_n=guild_settings.max_n or kind.max_n,
        choices=(
            guild_settings.effective_models(kind.models)
            if verdict.rule is Rule.MODEL
            else guild_settings.effective_resolutions(kind.resolutions)
        ),
    )


#: The verdicts of the spend ceilings (see core.spend).
SPEND_VERDICTS = (QuotaVerdict.BOT_SPEND, QuotaVerdict.GUILD_SPEND)
#: A server's mod log hears that a spend ceiling turns requests away at most this often,
#: per ceiling: a crowd turned away makes one entry, not one a member.
SPEND_NOTICE_SECONDS = 30 * 60.0


def notice_due(last: float | None, now: float, every: float = SPEND_NOTICE_SECONDS) -> bool:
    """Whether a notice last given at ``last`` (None: never) may be given again ``now``."""
    return last is None or now - last >= every


def spend_refusal(decision: QuotaDecision, ask: SpendAsk | None) -> errors.SpendLimitReached:
    """The error that tells a member a spend ceiling stops the job (amounts in ticks)."""
    return errors.SpendLimitReached(
        decision.verdict.value,
        limit=decision.limit,
        left=decision.left,
        needed=0 if ask is None else ask.ticks,
        resets_at=decision.resets_at,
    )


def refuse(
    report: JobReport, error: errors.GenerationError, outcome: Outcome | None = None
) -> NoReturn:
    """Log the job line of a refused request, and raise why it was refused."""
    report.outcome = outcome or error.outcome
    report.log()
    raise error


class Admitter:
    """Admits requests for new jobs (or turns them away)."""

    def __init__(
        self,
        store: Store,
        *,
        queue: JobQueue,
        allow_dms: bool,
        limits: LimitDefaults,
        observer: JobObserver | None = None,
        spend: SpendPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.queue = queue
        self.allow_dms = allow_dms
        self.limits = limits
        self.observer = observer
        #: The price table and the bot's spend ceiling (the defaults: no ceiling).
        self.spend = spend or SpendPolicy()
        self._clock = clock
        #: When each server's mod log last heard that a ceiling (by its outcome word)
        #: turns requests away.
        self._spend_noticed: dict[tuple[int, str], float] = {}

    async def admit(
        self,
        port: JobPort,
        origin: Origin,
        kind: JobKind,
        options: Mapping[str, object],
        *,
        stopping: bool = False,
    ) -> Admitted:
        """Check the request and take its claim and reservation, or raise why not (a core
        error, after the job line is logged): one store round trip (``Store.admit``)
        beside the server's settings, so the refusal can come before any answer."""
        report = JobReport(
            new_job_id(), origin.user_id, origin.guild_id, kind=kind.name, observer=self.observer
        )
        if stopping:
            refuse(report, errors.ShuttingDown())
        if origin.guild_id is None and not self.allow_dms:
            refuse(report, errors.DirectMessagesOff())
        # In a direct message no server's rules apply: the bot's own limits do.
        guild_settings = (
            None
            if origin.guild_id is None
            else await self.store.get_guild_settings(origin.guild_id)
        )
        try:
            request = kind.build(options, user_id=origin.user_id, guild_settings=guild_settings)
        except errors.InvalidOption as error:
            error.choices = ", ".join(kind.models)  # type: ignore[attr-defined]
            refuse(report, error)
        except errors.GenerationError as error:
            # A kind's own refusal (edits not offered here, a picture that cannot be used).
            refuse(report, error)
        report.model, report.n = request.model, request.n
        if guild_settings is not None:
            await self._check_rules(port, origin, guild_settings, kind, request, report)
        if not self.queue.has_room(origin.guild_id):
            # A quick look first, so a full line costs no database work.
            refuse(report, errors.ShuttingDown() if self.queue.closed else errors.QueueFull())
        limits = limits_for(self.limits, guild_settings, origin.role_ids)
        guild_spend_limit = None if guild_settings is None else guild_settings.spend_limit_ticks
        ask = self.spend.ask(
            request.model, request.resolution, request.billed_images, guild_spend_limit
        )
        try:
            reservation = await self._claim(origin, request, limits, report, ask)
        except errors.SpendLimitReached as reached:
            self._tell_admins_spend_reached(port, origin, guild_settings, reached)
            raise
        return Admitted(report, kind, request, guild_settings, limits, reservation)

    def _tell_admins_spend_reached(
        self,
        port: JobPort,
        origin: Origin,
        guild_settings: GuildSettings | None,
        reached: errors.SpendLimitReached,
    ) -> None:
        """A spend ceiling turned a request away: tell the server's mod log, at most once
        per ceiling every :data:`SPEND_NOTICE_SECONDS` (in this process)."""
        if origin.guild_id is None or guild_settings is None:
            return
        if guild_settings.modlog_channel is None:
            return
        key = (origin.guild_id, reached.scope)
        now = self._clock()
        if not notice_due(self._spend_noticed.get(key), now):
            return
        self._spend_noticed[key] = now
        entry = SpendCeilingReached(
            ceiling=reached.scope,
            limit=reached.limit,
            left=reached.left,
            resets_at=reached.resets_at,
            user_id=origin.user_id,
            channel_id=origin.channel_id,
        )
        port.post_modlog(guild_settings.modlog_channel, entry)

    async def _check_rules(
        self,
        port: JobPort,
        origin: Origin,
        guild_settings: GuildSettings,
        kind: JobKind,
        request: JobRequest,
        report: JobReport,
    ) -> None:
        """Raise the refusal of the server's rule that stops the request, if one does."""
        verdict = check_rules(
            guild_settings,
            rule_context(origin, request),
            models=kind.models,
            resolutions=kind.resolutions,
        )
        if verdict.allowed:
            return
        error = refusal(verdict, guild_settings, kind)
        if verdict.rule is not Rule.BLOCKED:
            refuse(report, error)
        noted = await self._note_blocked(origin)
        if noted is not None and noted.paused and not noted.paused_now:
            # Paused already: refused like any prompt of theirs, with no record or entry.
            refuse(report, errors.MemberPaused(noted.paused_until))
        report.outcome = error.outcome
        report.log()
        await self._record_blocked(
            port, origin, guild_settings, kind, request, report, verdict.term, noted
        )
        if noted is not None and noted.paused_now:
            raise errors.MemberPaused(noted.paused_until)
        raise error

    async def _note_blocked(self, origin: Origin) -> BlockedAttempts | None:
        """Count a blocked prompt towards pausing its member; None when it is not counted
        (no limit is set, or the store failed: the prompt is still refused)."""
        limit = self.limits.blocked_attempts
        if not limit.enabled or origin.guild_id is None:
            return None
        try:
            return await self.store.note_blocked(origin.guild_id, origin.user_id, limit=limit)
        except Exception:
            log.exception("could not count a blocked prompt of user %s", origin.user_id)
            return None

    async def _claim(
        self,
        origin: Origin,
        request: JobRequest,
        limits: Limits,
        report: JobReport,
        ask: SpendAsk | None = None,
    ) -> Reservation | None:
        """The cooldown claim and the reservation (of images, or of a clip's seconds), in
        one step: a refused claim reserves nothing and a refused reservation takes no
        claim, so neither refusal leaves anything to undo."""
        # A clip counts its seconds against counters of their own, images their number.
        user_limit, guild_limit = limits.daily(request.meter)
        admission = await self.store.admit(
            AdmitRequest(
                user_id=origin.user_id,
                job_id=report.job_id,
                exempt=limits.exempt,
                guild_id=origin.guild_id,
                units=request.units,
                user_limit=user_limit,
                guild_limit=guild_limit,
                spend=ask,
                meter=request.meter,
            )
        )
        if admission.paused_until:
            refuse(report, errors.MemberPaused(admission.paused_until))
        claim = admission.claim
        if not claim.allowed:
            error = (
                errors.OnCooldown(claim.retry_after)
                if claim.retry_after > 0
                else errors.AlreadyRunning()
            )
            refuse(report, error, Outcome(claim.verdict.value))
        quota = admission.quota
        assert quota is not None
        if not quota.allowed and quota.verdict in SPEND_VERDICTS:
            refuse(report, spend_refusal(quota, ask))
        if not quota.allowed:
            limit = errors.DailyLimitReached(
                quota.verdict.value,
                limit=quota.limit,
                left=quota.left,
                needed=request.units,
                resets_at=quota.resets_at,
                video=request.meter is Meter.VIDEO_SECONDS,
            )
            refuse(report, limit)
        return quota.reservation

    async def _record_blocked(
        self,
        port: JobPort,
        origin: Origin,
        guild_settings: GuildSettings,
        kind: JobKind,
        request: JobRequest,
        report: JobReport,
        term: str | None,
        noted: BlockedAttempts | None,
    ) -> None:
        """A prompt stopped by the server's terms is a job too: recorded and mod-logged;
        the one that pauses its member is mod-logged as the pause (one entry for the run)."""
        try:
            await self.store.record_job(
                report.job_id,
                user_id=report.user_id,
                guild_id=report.guild_id,
                channel_id=origin.channel_id,
                prompt=request.prompt,
                params=record_params(kind, request),
                locale=origin.locale,
                outcome=Outcome.BLOCKED.value,
            )
        except Exception:
            log.exception("could not record blocked job %s", report.job_id)
        if guild_settings.modlog_channel is None:
            return
        if noted is not None and noted.paused_now:
            paused = MemberPaused(
                user_id=report.user_id,
                channel_id=origin.channel_id,
                job_id=report.job_id,
                attempts=noted.attempts,
                window_seconds=self.limits.blocked_attempts.window_seconds,
                paused_until=noted.paused_until,
                term=term,
            )
            port.post_modlog(guild_settings.modlog_channel, paused)
            return
        summary = summary_of(report.job_id, report, request, origin.channel_id, term=term)
        port.post_modlog(guild_settings.modlog_channel, summary)
