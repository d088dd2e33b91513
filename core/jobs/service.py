"""The job service: every job's life from admission to close, with no Discord in it.

*Admit*: the server's rules, the cooldown claim and the image reservation (one store round
trip, ``Store.admit``) and a place in the line: all quick, before any answer, so a refusal
is raised to the caller (a core error) and can be private. *Acknowledge* through the job's
port, then write the job to the journal. *Run*: wait for a slot in this process's line,
then for one of the API slots every process on the store shares (the port shows the place
in line, with a Cancel offer), let the job's kind call the image service, and deliver
(:mod:`core.jobs.deliver`). A kind that waits on the image service for long (a clip
rendering) gives both slots back meanwhile, through the context the service lends it
(:class:`~core.jobs.kinds.JobContext`), and waits in line for them again afterwards.
*Close*: close the journal entry, give back the images not delivered, end the claim, log
the job line and post the mod-log entry.

A job taken over from the journal (after a restart, or from a process that died) goes
through the same run and close, with a port rebuilt by the :class:`PortFactory`. At
shutdown, :meth:`JobService.drain` lets the running jobs finish within a grace period and
keeps the others (clips rendering among them) in the journal for the next process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core import errors, journal
from core.guild_settings import GuildSettings
from core.jobs.admission import Admitted, Admitter, notice_due
from core.jobs.deliver import deliver
from core.jobs.job import Job, JobReport, summary_of
from core.jobs.kinds import DEFAULT_KIND, KIND_PARAM, JobKind, record_params, undelivered_units
from core.jobs.port import (
    JobPort,
    Notice,
    Origin,
    OutOfCredits,
    PortFactory,
    Stage,
    Status,
)
from core.jobs.retention import DEFAULT_JOB_RETENTION_DAYS, keep_bounded
from core.jobs.slots import ApiSlots
from core.limits import LimitDefaults
from core.observe import JobObserver
from core.outcomes import Outcome
from core.queue import Cancelled, JobQueue, QueueClosed, Ticket
from core.quota import Reservation
from core.spend import SpendPolicy, settled_cost
from core.storage import JobRecord, Store

log = logging.getLogger(__name__)

#: The whole job, retries and uploads included, stays well inside the 15-minute token life.
JOB_DEADLINE_SECONDS = 12 * 60.0
#: A waiting job's place in line is shown at most this often (Discord rate-limits edits,
#: and a long line moving fast would otherwise flood it).
PLACE_EDIT_SECONDS = 3.0
#: The least time between two edits of a rendering clip's progress.
PROGRESS_EDIT_SECONDS = 5.0
#: A job waiting for an API slot another process holds asks again after this long at
#: first, doubling up to the most (each wait shortened at random, so processes spread out).
SLOT_POLL_SECONDS = 0.2
SLOT_POLL_MAX_SECONDS = 1.0
#: At shutdown, how long the jobs that lost their place get to say so before the bot closes.
SUSPEND_NOTICE_SECONDS = 5.0
#: A server's mod log hears that the API account ran out of credits at most this often.
CREDITS_NOTICE_SECONDS = 10 * 60.0
#: How long a job may wait to start (``MAX_WAIT_SECONDS``), counted from its request: well
#: inside the token's 15 minutes, so that a job that starts late still has time to finish.
DEFAULT_MAX_WAIT_SECONDS = 10 * 60.0


def polls_again(record: JobRecord, job: Job) -> bool:
    """Whether a journaled job that could not be resumed through its interaction is run
    again all the same: the image service has it (a clip with its request id) and none
    of its result was being posted when it stopped."""
    return record.state != journal.DELIVERING and job.kind.submitted(job.request)


class WaitedTooLong(Exception):
    """A job could not start within the longest wait; it is closed, costing nothing."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """The operator's settings the service works by."""

    #: Jobs running at once (in this process's line, and API slots across processes).
    max_running: int
    #: Jobs waiting in this process's line.
    max_waiting: int
    allow_dms: bool
    limits: LimitDefaults
    #: Jobs one server (or the direct messages together) may keep waiting in that line.
    max_waiting_per_guild: int | None = None
    #: Days a finished job's record is kept (the usage figures outlive it).
    job_retention_days: int = DEFAULT_JOB_RETENTION_DAYS
    #: How long a job may wait in line (for a slot here or an API slot) before it starts.
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS
    #: The price table and the bot's daily spend ceiling (None: the default prices and
    #: no ceiling).
    spend: SpendPolicy | None = None


class CancelAnswer(Enum):
    """What came of a requester's Cancel."""

    CANCELLED = "cancelled"
    #: The job is not waiting any more (it runs, or it is over).
    TOO_LATE = "too_late"
    NOT_YOURS = "not_yours"


class JobService:
    """Admits, runs, delivers and closes jobs; drains at shutdown; takes over the journal's."""

    def __init__(
        self,
        store: Store,
        *,
        config: ServiceConfig,
        owner: str,
        kinds: Sequence[JobKind],
        ports: PortFactory,
        observer: JobObserver | None = None,
    ) -> None:
        self.store = store
        #: Hears of every job line (the bot's metrics), if anything listens.
        self.observer = observer
        self.config = config
        #: This process, as the journal's owner of the jobs it runs.
        self.owner = owner
        self.kinds: Mapping[str, JobKind] = {kind.name: kind for kind in kinds}
        self.ports = ports
        self.queue = JobQueue(
            max_running=config.max_running,
            max_waiting=config.max_waiting,
            max_waiting_per_guild=config.max_waiting_per_guild,
        )
        self.admitter = Admitter(
            store,
            queue=self.queue,
            allow_dms=config.allow_dms,
            limits=config.limits,
            observer=observer,
            spend=config.spend,
        )
        self.slots = ApiSlots(store, cap=config.max_running)
        #: Set at shutdown: no new job is accepted.
        self.stopping = False
        #: The task of every job this process runs or keeps in line, by job id.
        self._jobs: dict[str, asyncio.Task[Any]] = {}
        #: Background work (jobs taken over from the journal, the journal sweep).
        self._background: set[asyncio.Task[Any]] = set()
        #: When each server's mod log last heard that the API ran out of credits.
        self._credits_noticed: dict[int, float] = {}
        self._sweeper: asyncio.Task[Any] | None = None
        self._jitter = random.Random()
        #: Jobs over whose journal entry could not be closed: closed (and only then
        #: refunded) by a later sweep; their entries stay held by this process meanwhile.
        self._unclosed: dict[str, Job] = {}
        #: Adopted entries whose take-over failed: tried again by the next sweep.
        self._untaken: dict[str, JobRecord] = {}
        #: Jobs rendering at the image service (a clip) holding no slot, by id: their
        #: requester; and those whose requester pressed Cancel meanwhile (stopped at
        #: their next poll).
        self._rendering: dict[str, int] = {}
        self._cancel_renders: set[str] = set()

    # -- starting and stopping ---------------------------------------------------------

    def start(self, ready: Callable[[], Awaitable[object]]) -> None:
        """Start the journal sweep and the retention pass once ``ready()`` returns (the
        platform is connected); once only, however often the platform connects again."""
        if self._sweeper is not None and not self._sweeper.done():
            return
        self._sweeper = self._spawn(self._sweep(ready))
        self._spawn(
            keep_bounded(self.store, self.config.job_retention_days, ready, lambda: self.stopping)
        )

    def stop(self) -> None:
        """Cancel the background work at once (the cog is unloaded)."""
        for task in self._background:
            task.cancel()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def kind_of(self, record: JobRecord) -> JobKind | None:
        """The kind of a recorded job (None for a kind this version does not run)."""
        return self.kinds.get(str(record.params.get(KIND_PARAM, DEFAULT_KIND)))

    # -- a new job ---------------------------------------------------------------------

    async def submit(
        self,
        port: JobPort,
        origin: Origin,
        options: Mapping[str, object],
        *,
        kind: str = DEFAULT_KIND,
    ) -> None:
        """One new job, from the requester's options to its result, for ``origin.user_id``.

        Everything that can refuse the job (the options, the server's rules, the cooldown,
        the daily quotas, a full line) is decided before it is acknowledged, and raised as
        a core error for the caller to answer privately. Once acknowledged, the job runs
        to its end here and tells the requester itself.
        """
        admitted = await self.admitter.admit(
            port, origin, self.kinds[kind], options, stopping=self.stopping
        )
        accepted = await self._accept(port, origin, admitted)
        if accepted is None:
            return
        job, ticket = accepted
        await self._journal(job, ticket)
        await self._tracked(job, ticket)

    async def _accept(
        self, port: JobPort, origin: Origin, admitted: Admitted
    ) -> tuple[Job, Ticket] | None:
        """Take a place in line and acknowledge the request; None (and nothing kept) when
        the acknowledgement came too late. A full line is raised, and undoes the claim."""
        report, request = admitted.report, admitted.request
        job_id = report.job_id
        guild_settings = admitted.guild_settings
        ticket: Ticket | None = None
        accepted = False
        try:
            ticket = self.queue.enter(job_id, origin.user_id, guild_id=origin.guild_id)
            if ticket is None:
                full = errors.ShuttingDown() if self.queue.closed else errors.QueueFull()
                report.outcome = full.outcome
                raise full
            modlog_channel = None if guild_settings is None else guild_settings.modlog_channel
            if not await port.acknowledge(job_id, modlog_channel=modlog_channel):
                # Nobody is waiting for this request any more: there is no one to tell.
                report.outcome = Outcome.NOT_DEFERRED
                return None
            accepted = True
        finally:
            if not accepted:
                if ticket is not None:
                    self.queue.leave(ticket)
                if admitted.reservation is not None:
                    await self._refund_quietly(admitted.reservation, request.units)
                    await self._settle_quietly(admitted.reservation, 0)
                await self.store.end_claim(
                    origin.user_id,
                    job_id,
                    delivered=False,
                    cooldown_seconds=admitted.limits.cooldown_seconds,
                )
                report.log()
        job = Job(
            id=job_id,
            user_id=origin.user_id,
            guild_id=origin.guild_id,
            channel_id=origin.channel_id,
            locale=origin.locale,
            kind=admitted.kind,
            request=request,
            port=port,
            report=report,
            cooldown_seconds=admitted.limits.cooldown_seconds,
            reservation=admitted.reservation,
            guild_settings=guild_settings,
            interaction=origin.interaction,
        )
        return job, ticket

    # -- the journal -------------------------------------------------------------------

    async def _journal(self, job: Job, ticket: Ticket) -> None:
        """Write an accepted job to the journal before its API call."""
        if job.interaction is None:
            return  # nothing to answer it with later: it cannot be resumed anyway
        try:
            await self.store.journal_job(
                job.id,
                user_id=job.user_id,
                guild_id=job.guild_id,
                channel_id=job.channel_id,
                prompt=job.request.prompt,
                params=record_params(job.kind, job.request),
                locale=job.locale,
                interaction=job.interaction,
                reservation=job.reservation,
                cooldown_seconds=job.cooldown_seconds,
                owner=self.owner,
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
            await self.store.journal_state(job.id, state)
        except Exception:
            log.exception("job %s: could not note state %s in the journal", job.id, state)

    # -- running -----------------------------------------------------------------------

    async def _tracked(self, job: Job, ticket: Ticket) -> None:
        """Run the job as a task a stopping service can find (and cut short)."""
        task = asyncio.current_task()
        if task is not None:
            self._jobs[job.id] = task
        try:
            await self._run(job, ticket)
        finally:
            # Only now: a stopping service waits for the job's bookkeeping too.
            self._jobs.pop(job.id, None)

    async def _run(self, job: Job, ticket: Ticket) -> None:
        """Wait for a slot, make the result, deliver it and close the job.

        Every outcome ends in a result delivered or a notice to the requester, except when
        the process stops first: then the job stays in the journal, its images reserved and
        its claim held, for the next process to finish.
        """
        report = job.report
        close = True
        failure: errors.GenerationError | None = None
        notice: Notice | None = None
        slot_asked = False
        run = _Run(self, job, ticket)
        try:
            slot_asked = True  # freed below: a slot may be taken as the wait runs out
            # A job the image service has already (a clip taken over) goes straight to
            # asking for it, holding no slot; it waits in line only to download.
            if not job.kind.submitted(job.request) and await self._wait_to_start(job, ticket):
                await self._journal_state(job, journal.RUNNING)
                await job.port.show_status(Status(Stage.STARTED))
            async with asyncio.timeout(JOB_DEADLINE_SECONDS) as deadline:
                run.deadline = deadline
                await self._make_and_deliver(job, run)
            report.outcome = Outcome.DELIVERED
        except Cancelled:
            # The requester's Cancel was answered already.
            report.outcome = Outcome.CANCELLED
        except WaitedTooLong:
            report.outcome = Outcome.WAITED_TOO_LONG
            notice = Notice.of("waited_too_long", job_id=job.id)
        except QueueClosed:
            report.outcome = Outcome.SUSPENDED
            close = False
            await job.port.show_status(Status(Stage.SUSPENDED))
        except asyncio.CancelledError:
            # Cut short by the end of the shutdown grace period: the next process takes
            # the job over from the journal.
            report.outcome = Outcome.SUSPENDED if self.stopping else Outcome.CANCELLED
            close = not self.stopping
            raise
        except Exception as error:
            failure = self._failed(job, error)
        finally:
            try:
                if slot_asked:
                    # The shared slot first: the next job in this line then finds it free.
                    await self.slots.free(job.id)
            finally:
                # The job's latest place: one that gave its slot back comes back anew.
                self.queue.leave(run.ticket)
            if close:
                await self._close(job)
            else:
                report.log()
        if failure is not None:
            await job.port.say(failure)
        if notice is not None:
            await job.port.say(notice)

    async def _wait_to_start(self, job: Job, ticket: Ticket) -> bool:
        """Wait for a slot in this process's line, then for an API slot, within the
        longest wait; whether the job had to wait. :class:`WaitedTooLong` past it."""
        remaining = self._wait_deadline(job) - time.time()
        waited = ticket.waiting
        try:
            async with asyncio.timeout(max(0.0, remaining)):
                if waited:
                    await self._wait_in_line(job, ticket)
                if await self._take_api_slot(job, ticket, queued=waited):
                    waited = True
        except TimeoutError:
            log.info("job %s: could not start within %.0fs", job.id, self.config.max_wait_seconds)
            raise WaitedTooLong from None
        return waited

    def _wait_deadline(self, job: Job) -> float:
        """When the job must have started: the longest wait after its request (a resumed
        job counts from its request, not from the restart)."""
        if job.interaction is not None and not job.kind.submitted(job.request):
            # (A job the image service has already, a clip taken over, waits only to ask
            # for it: from now, since giving up would lose what is paid for.)
            asked = job.interaction.expires_at - journal.TOKEN_LIFETIME_SECONDS
            return min(asked, time.time()) + self.config.max_wait_seconds
        return time.time() + self.config.max_wait_seconds

    async def _make_and_deliver(self, job: Job, run: _Run) -> None:
        result = await job.kind.make(job.request, run)
        job.report.api_seconds = result.api_seconds
        job.report.cost_usd_ticks = result.cost_usd_ticks
        # The images made, and (for an edit) the inputs the service read: each is billed.
        made = len(result.images) + result.withheld + result.unusable
        job.report.billed_images = made + job.request.billed_images - job.request.n
        await self._journal_state(job, journal.DELIVERING)
        # The images go as soon as they are uploaded, not when the job ends.
        job.report.delivered = await deliver(job, result)

    async def _come_back(self, job: Job, run: _Run) -> None:
        """Take the slots of a job that gave them back (its clip rendered) again: in line
        like any job (a Cancel ends the wait; a stop keeps the job for the next process).
        The journal keeps saying ``running``: the image service has the job."""
        ticket = self.queue.enter(job.id, job.user_id, guild_id=job.guild_id, force=True)
        if ticket is None:
            raise QueueClosed(job.id)
        run.ticket = ticket
        if ticket.waiting:
            await self._wait_in_line(job, ticket)
        await self._take_api_slot(job, ticket, queued=True)

    def _failed(self, job: Job, error: Exception) -> errors.GenerationError:
        """Note how the job failed; the error to tell the requester."""
        if isinstance(error, TimeoutError):
            error = errors.TransientError("job deadline passed")
        if not isinstance(error, errors.GenerationError):
            job.report.outcome = Outcome.ERROR
            log.error("unexpected error in job %s", job.id, exc_info=error)
            return errors.GenerationError("unexpected error")
        job.report.outcome = error.outcome
        # The detail is for the operator: short and free of secrets.
        log.info("job %s: %s: %s", job.id, error.outcome.value, error.detail)
        if isinstance(error, errors.QuotaExceeded):
            self._tell_admins_out_of_credits(job)
        return error

    async def _wait_in_line(self, job: Job, ticket: Ticket) -> None:
        """Wait in line, showing the place (and a Cancel offer) as it changes."""
        places = asyncio.create_task(self._show_places(job, ticket))
        try:
            await self.queue.wait_turn(ticket)
        finally:
            places.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await places

    async def _show_places(self, job: Job, ticket: Ticket) -> None:
        async for place in self.queue.positions(ticket, min_interval=PLACE_EDIT_SECONDS):
            await job.port.show_status(Status(Stage.WAITING, place))

    async def _take_api_slot(self, job: Job, ticket: Ticket, *, queued: bool) -> bool:
        """Hold one of the API slots shared by every process on the store; whether the
        job had to wait for it.

        With one process a slot is always free here (this process's own line lets no more
        jobs through). With several, the job asks again, backing off, while its status
        says it waits first in line, with a Cancel offer; a Cancel or a stop ends the
        wait. The caller frees the slot.
        """
        self.queue.hold_back(ticket)
        waited = False
        delay = SLOT_POLL_SECONDS
        while True:
            ticket.changed.clear()
            if ticket.error is not None:
                raise ticket.error
            if await self.slots.take(job.id):
                if ticket.error is not None:
                    raise ticket.error  # cancelled meanwhile; the caller frees the slot
                self.queue.go_on(ticket)
                return waited
            if not waited:
                waited = True
                if not queued:
                    await self._journal_state(job, journal.QUEUED)
                await job.port.show_status(Status(Stage.WAITING, 1))
                continue  # the status took a while to show: ask again at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    ticket.changed.wait(), delay * self._jitter.uniform(0.5, 1.0)
                )
            delay = min(SLOT_POLL_MAX_SECONDS, delay * 2)

    # -- closing -----------------------------------------------------------------------

    async def _close(self, job: Job) -> None:
        """Close the job's journal entry, give back what was not delivered, end the claim,
        log the job line and post the mod-log entry. Done once, by whoever closes the
        entry."""
        report = job.report
        closed = not job.journaled
        if job.journaled:
            try:
                closed = await self.store.close_job(
                    job.id,
                    outcome=report.outcome.value,
                    images=report.delivered,
                    cost_usd_ticks=report.cost_usd_ticks,
                    message_ids=report.message_ids,
                )
            except Exception:
                # The entry stays in the journal, held by this process: a later sweep
                # closes it and gives back what it reserved, once, and nobody else
                # takes it over meanwhile (nor runs it again).
                log.exception("could not record the end of job %s; trying again later", job.id)
                self._unclosed[job.id] = job
                return
            self._unclosed.pop(job.id, None)
        if not closed:
            log.warning("job %s was closed elsewhere already", job.id)
            return
        if job.reservation is not None:
            undelivered = undelivered_units(job.request, report.delivered)
            await self._refund_quietly(job.reservation, undelivered)
        await self._settle_spend(job)
        await self._end_claim(job.user_id, job.id, report.delivered > 0, job.cooldown_seconds)
        report.log()
        self._post_summary(job)

    async def _end_claim(
        self, user_id: int, job_id: str, delivered: bool, cooldown_seconds: float
    ) -> None:
        try:
            await self.store.end_claim(
                user_id, job_id, delivered=delivered, cooldown_seconds=cooldown_seconds
            )
        except Exception:
            log.exception("could not end the claim of job %s", job_id)

    async def _refund_quietly(self, reservation: Reservation, images: int) -> None:
        try:
            await self.store.refund_images(reservation, images)
        except Exception:
            log.exception("could not give back %d reserved images", images)

    def _post_summary(self, job: Job) -> None:
        """The job's mod-log entry, posted in the background."""
        if job.modlog_channel is not None:
            summary = summary_of(job.id, job.report, job.request, job.channel_id)
            job.port.post_modlog(job.modlog_channel, summary)

    def _tell_admins_out_of_credits(self, job: Job) -> None:
        """The image API account is out of credits: tell the server's mod log (now and then)."""
        if job.guild_id is None or job.modlog_channel is None:
            return
        now = time.monotonic()
        if not notice_due(self._credits_noticed.get(job.guild_id), now, CREDITS_NOTICE_SECONDS):
            return
        self._credits_noticed[job.guild_id] = now
        job.port.post_modlog(job.modlog_channel, OutOfCredits())

    # -- Cancel ------------------------------------------------------------------------

    def cancel(self, job_id: str, user_id: int) -> CancelAnswer:
        """Cancel a waiting job: its requester's choice; it costs them nothing."""
        renderer = self._rendering.get(job_id)
        if renderer is not None:
            if renderer != user_id:
                return CancelAnswer.NOT_YOURS
            self._cancel_renders.add(job_id)
            log.info("job %s: cancelled by its requester while rendering", job_id)
            return CancelAnswer.CANCELLED
        ticket = self.queue.ticket(job_id)
        if ticket is None or not ticket.cancellable:
            return CancelAnswer.TOO_LATE
        if ticket.user_id != user_id:
            return CancelAnswer.NOT_YOURS
        self.queue.cancel(job_id)
        log.info("job %s: cancelled by its requester while waiting", job_id)
        return CancelAnswer.CANCELLED

    # -- stopping and starting ---------------------------------------------------------

    async def drain(self, grace: float) -> None:
        """Stop taking jobs; let those running finish within ``grace`` seconds; leave the
        rest in the journal for the next process."""
        self.stopping = True
        waiting = self.queue.close()
        # Clips rendering hold no slot: they stop at once, and the next process polls
        # them again by their request id (never submitting them twice).
        rendering = [task for job_id, task in self._jobs.items() if job_id in self._rendering]
        for task in rendering:
            task.cancel()
        if rendering:
            log.info("stopping: %d clip(s) rendering are kept for the next start", len(rendering))
        log.info(
            "stopping: %d job(s) running get up to %.0fs to finish; %d waiting are kept "
            "for the next start",
            self.queue.running,
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
        # A last try at the entries that could not be closed, before they are handed back.
        for job in list(self._unclosed.values()):
            await self._close(job)

    async def _sweep(self, ready: Callable[[], Awaitable[object]]) -> None:
        """Keep this process's hold on its jobs, and take over those nobody holds: at start
        (the jobs a stopped process left) and later (those of a process that died)."""
        await ready()
        log.info("job journal: holding and looking for jobs every %.0fs", journal.SWEEP_SECONDS)
        while not self.stopping:
            await self.sweep_once()
            await asyncio.sleep(journal.SWEEP_SECONDS)

    async def sweep_once(self) -> None:
        """One pass of the journal sweep (never raises)."""
        try:
            await self.slots.renew()
            await self.store.renew_leases(self.owner)
            for job in list(self._unclosed.values()):
                await self._close(job)
            for record in await self.store.adopt_jobs(self.owner):
                self._untaken[record.id] = record
        except Exception:
            log.exception("could not go through the job journal")
        # Each on its own: one that cannot be taken over now strands no other.
        for record in list(self._untaken.values()):
            try:
                await self._take_over(record)
            except Exception:
                log.exception("job %s: could not take it over; trying again later", record.id)
            else:
                self._untaken.pop(record.id, None)

    async def _take_over(self, record: JobRecord) -> None:
        """Resume a journaled job, or close it with a notice."""
        action = journal.resume_action(
            state=record.state,
            created_at=record.created_at,
            interaction=record.interaction,
            now=time.time(),
        )
        guild_settings = (
            None
            if record.guild_id is None
            else await self.store.get_guild_settings(record.guild_id)
        )
        job = self._job_of(record, guild_settings)
        if action is journal.ResumeAction.NOTIFY and job is not None and polls_again(record, job):
            # Its token is dead, but the image service has the job (a clip, paid for): it
            # is asked for again and posted in the channel, rather than lost.
            log.info("job %s: its token is dead; its result goes to its channel", job.id)
            action = journal.ResumeAction.RESUME
        if action is journal.ResumeAction.RESUME and job is not None and not self.stopping:
            ticket = self.queue.enter(job.id, job.user_id, guild_id=job.guild_id, force=True)
            if ticket is not None:
                log.info(
                    "job %s: taken over from the journal (was %s); running it again",
                    job.id,
                    record.state,
                )
                await self._journal_state(
                    job, journal.RUNNING if ticket.granted else journal.QUEUED
                )
                self._spawn(self._tracked(job, ticket))
                return
        if self.stopping:
            return
        self._spawn(self._close_interrupted(record, guild_settings, job, action))

    def _job_of(self, record: JobRecord, guild_settings: GuildSettings | None) -> Job | None:
        """A job rebuilt from its journal entry; None if its options are no longer valid."""
        kind = self.kind_of(record)
        if kind is None:
            log.warning("job %s: cannot run again: unknown kind", record.id)
            return None
        try:
            request = kind.rebuild(record)
        except errors.InvalidOption as error:
            log.warning("job %s: cannot run again: invalid %s", record.id, error.option)
            return None
        report = JobReport(
            record.id, record.user_id, record.guild_id, kind=kind.name, observer=self.observer
        )
        report.model, report.n = request.model, request.n
        return Job(
            id=record.id,
            user_id=record.user_id,
            guild_id=record.guild_id,
            channel_id=record.channel_id,
            locale=record.locale,
            kind=kind,
            request=request,
            port=self.ports.port_for(record, guild_settings),
            report=report,
            cooldown_seconds=record.cooldown_seconds,
            reservation=record.reservation,
            guild_settings=guild_settings,
            interaction=record.interaction,
            resumed=True,
            journaled=True,
        )

    async def _close_interrupted(
        self,
        record: JobRecord,
        guild_settings: GuildSettings | None,
        job: Job | None,
        action: journal.ResumeAction,
    ) -> None:
        """Close a journaled job that will not run again; tell the requester unless the job
        is too old for that (``DROP``): it could not be finished."""
        try:
            closed = await self.store.close_job(record.id, outcome=Outcome.INTERRUPTED.value)
        except Exception:
            log.exception("could not close interrupted job %s", record.id)
            return
        if not closed:
            return
        # A slot its process took before it stopped or died is free now, not at its lease's end.
        await self.slots.free(record.id)
        if record.reservation is not None:
            await self._refund_quietly(record.reservation, record.reservation.images)
        await self._end_claim(record.user_id, record.id, False, 0.0)
        report = JobReport(record.id, record.user_id, record.guild_id, outcome=Outcome.INTERRUPTED)
        report.observer = self.observer
        if job is not None:
            report.model, report.n = job.request.model, job.request.n
            report.kind = job.kind.name
        await self._settle_interrupted(record, report)
        report.log()
        if job is not None:
            job.report = report
            self._post_summary(job)
        if action is journal.ResumeAction.DROP:
            return
        if job is not None:
            await job.port.say(Notice.of("interrupted", job_id=record.id))
            return
        port = self.ports.port_for(record, guild_settings)
        await port.say_in_channel(Notice.of("interrupted_for", job_id=record.id))

    # -- spend (see core.spend) ----------------------------------------------------------

    @property
    def spend(self) -> SpendPolicy:
        """The price table and the bot's spend ceiling."""
        return self.admitter.spend

    async def _settle_spend(self, job: Job) -> None:
        """Settle the job's reserved spend with its cost: the API's, else the price
        table's for the images the API made (none when it made none); tell the metrics."""
        report = job.report
        estimate = self.spend.prices.estimate(
            job.request.model, job.request.resolution, report.billed_images
        )
        report.spend_ticks, report.cost_estimated = settled_cost(report.cost_usd_ticks, estimate)
        if job.reservation is not None:
            await self._settle_quietly(job.reservation, report.spend_ticks)
        if self.observer is not None and report.spend_ticks:
            self.observer.job_spent(
                kind=job.kind.name, model=job.request.model, ticks=report.spend_ticks
            )

    async def _settle_interrupted(self, record: JobRecord, report: JobReport) -> None:
        """An interrupted job keeps its estimate if it may have reached the API (it may
        be billed); one still waiting gives it back."""
        reservation = record.reservation
        if reservation is None:
            return
        reached = record.state in (journal.RUNNING, journal.DELIVERING)
        cost = reservation.spend_ticks if reached else 0
        report.spend_ticks, report.cost_estimated = cost, bool(cost)
        await self._settle_quietly(reservation, cost)
        if self.observer is not None and cost:
            self.observer.job_spent(kind=report.kind, model=report.model, ticks=cost)

    async def _settle_quietly(self, reservation: Reservation, ticks: int) -> None:
        try:
            await self.store.settle_spend(reservation, ticks)
        except Exception:
            log.exception("could not settle %d ticks of reserved spend", ticks)


class _Run:
    """A running job's context, lent to its kind (:class:`~core.jobs.kinds.JobContext`):
    its journal id, its progress shown, and its slots given back while the image service
    works on it alone (a clip rendering), taken again, in line, afterwards."""

    def __init__(self, service: JobService, job: Job, ticket: Ticket) -> None:
        self._service = service
        self._job = job
        #: The job's place in this process's line (a new one each time it comes back).
        self.ticket = ticket
        self.job_id = job.id if job.journaled else None
        #: The job deadline: it counts only while the job holds (or waits for) its slots,
        #: so a clip's render is bounded by the kind's own limit (``VIDEO_MAX_WAIT_SECONDS``).
        self.deadline: asyncio.Timeout | None = None
        self._left = JOB_DEADLINE_SECONDS
        self._shown_at = -PROGRESS_EDIT_SECONDS
        self._shown_stage = ""

    async def progress(self, stage: str, percent: int) -> None:
        """Show the stage and progress, no more often than :data:`PROGRESS_EDIT_SECONDS`
        except when the stage changes; raise a Cancel pressed meanwhile."""
        job = self._job
        if job.id in self._service._cancel_renders:
            raise Cancelled(job.id)
        now = time.monotonic()
        if stage == self._shown_stage and now - self._shown_at < PROGRESS_EDIT_SECONDS:
            return
        self._shown_at, self._shown_stage = now, stage
        elapsed = now - job.report.started
        await job.port.show_status(
            Status(Stage.RENDERING, detail=stage, progress=percent, elapsed=elapsed)
        )

    @contextlib.asynccontextmanager
    async def released(self) -> AsyncIterator[None]:
        """Hold no slot within (other jobs run meanwhile); a Cancel pressed meanwhile is
        raised on leaving, else the job waits in line for its slots again."""
        service, job = self._service, self._job
        self._pause()
        await service.slots.free(job.id)
        service.queue.leave(self.ticket)
        service._rendering[job.id] = job.user_id
        try:
            yield
        except asyncio.CancelledError:
            if service.stopping:
                # Stopped while rendering: the next process polls the clip again.
                await job.port.show_status(Status(Stage.SUSPENDED))
            raise
        finally:
            del service._rendering[job.id]
            cancelled = job.id in service._cancel_renders
            service._cancel_renders.discard(job.id)
        if cancelled:
            raise Cancelled(job.id)
        self._resume()
        await service._come_back(job, self)

    def _pause(self) -> None:
        deadline = self.deadline
        if deadline is None or deadline.expired():
            return
        when = deadline.when()
        if when is not None:
            self._left = when - asyncio.get_running_loop().time()
            deadline.reschedule(None)

    def _resume(self) -> None:
        deadline = self.deadline
        if deadline is None or deadline.expired() or deadline.when() is not None:
            return
        deadline.reschedule(asyncio.get_running_loop().time() + max(0.0, self._left))
