"""The one storage interface of the bot, as small interfaces grouped by role.

Two implementations keep the same promises: :class:`core.storage.sqlite_store.SqliteStore`
(one SQLite file, for a single process) and :class:`core.storage.redis_store.RedisStore`
(one Redis shared by several processes). The decisions themselves (cooldown rules in
:mod:`core.cooldown`, quota arithmetic in :mod:`core.quota`) are pure functions both use;
a store only makes each check-and-change one atomic step.
``tests/core/test_store_conformance.py`` runs the same suite against both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from core import journal, quota
from core.cooldown import CooldownState
from core.guild_settings import GuildSettings
from core.journal import InteractionRef
from core.moderation import AttemptLimit, BlockedAttempts
from core.stats import OutcomeCount
from core.storage.records import AdmitRequest, JobRecord

__all__ = [
    "ApiSlots",
    "BlockedPrompts",
    "Claims",
    "DailyCounters",
    "JobJournal",
    "JobRecords",
    "MetaValues",
    "ServerSettings",
    "Store",
    "StoreUnavailable",
]


class StoreUnavailable(RuntimeError):
    """The store could not be reached; the message names the setting, never its value."""


class Claims(Protocol):
    """One job at a time per member, and the cooldown after a delivered one."""

    async def admit(self, request: AdmitRequest) -> quota.Admission:
        """What runs before a job is accepted, in one atomic step and one round trip:
        check the member's cooldown (only the one-job-at-a-time rule if ``exempt``, the
        stored cooldown being kept for when the exemption ends) and claim it for
        ``job_id``, then count ``units`` against today's member and server counters if
        both allow it (a limit of 0 is no limit; a direct message has no server counter).
        A refused claim reserves nothing (``quota`` is None); a refused reservation takes
        no claim. A member paused in ``guild_id`` (see :meth:`BlockedPrompts.note_blocked`)
        is refused before anything, in the same step: ``paused_until`` says until when.
        With ``spend``, its estimate is reserved in the same step against today's spend
        counters of the bot and the server (see :mod:`core.spend`), if both ceilings
        allow it; refused, nothing is taken (the verdict says which ceiling). ``meter``
        says what ``units`` counts: images, or seconds of video, each against counters
        of its own (see :mod:`core.quota`). The names are the fields of ``request``."""

    async def end_claim(
        self, user_id: int, job_id: str, *, delivered: bool, cooldown_seconds: float
    ) -> None:
        """End ``job_id``'s claim; a delivered job starts the cooldown from its start."""

    async def cooldown_state(self, user_id: int) -> CooldownState:
        """What is stored for a user (the defaults for one never seen)."""


class DailyCounters(Protocol):
    """The daily image (and video) counters that ``admit`` counts against."""

    async def refund_images(self, reservation: quota.Reservation, images: int) -> None:
        """Give back up to ``reservation.images`` images (or seconds of video), to the
        counters and the day they were reserved on."""

    async def usage_today(
        self, guild_id: int | None, user_id: int, meter: quota.Meter = quota.Meter.IMAGES
    ) -> quota.Usage:
        """Today's counters of ``meter`` of a member where they are, and when they start
        again."""

    async def settle_spend(self, reservation: quota.Reservation, cost_usd_ticks: int) -> None:
        """Settle a reservation's spend with the job's real cost: give back the difference,
        or add the excess, to the spend counters of the day it was reserved on (none
        below zero)."""

    async def spend_today(self, guild_id: int | None) -> tuple[int, int]:
        """Today's spend in ticks: the whole bot's and the server's (0 in a DM)."""

    async def member_day(self, guild_id: int | None, user_id: int) -> quota.MemberDay:
        """What ``/imagine-quota`` shows of a member where they are, in one round trip:
        their cooldown, today's counters of images and of video, today's spend of the bot
        and of the server, and the end of their pause for blocked prompts there."""

    async def guild_spend(self, guild_id: int, days: Sequence[str]) -> int:
        """A server's spend in ticks over these UTC days (kept ``quota.KEEP_DAYS``)."""


class MetaValues(Protocol):
    """Small values the bot keeps for itself."""

    async def get_meta(self, key: str) -> str | None:
        """A small value the bot keeps for itself (e.g. the last synced command hash)."""

    async def set_meta(self, key: str, value: str) -> None:
        """Set a small value."""


class JobRecords(Protocol):
    """A record of each job, and the usage figures summed as they close."""

    async def record_job(
        self,
        job_id: str,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        prompt: str,
        params: dict[str, Any],
        locale: str | None = None,
        outcome: str | None = None,
    ) -> None:
        """Record a job as running, now; with an ``outcome``, as finished already (one
        write: the record is never seen unfinished, so never adopted)."""

    async def finish_job(
        self,
        job_id: str,
        *,
        outcome: str,
        images: int = 0,
        cost_usd_ticks: int | None = None,
        message_ids: Sequence[int] = (),
    ) -> None:
        """Mark a recorded job done with its outcome; nothing for an unknown job."""

    async def get_job(self, job_id: str) -> JobRecord | None:
        """A recorded job, or None."""

    async def job_stats(self, guild_id: int, since: float) -> list[OutcomeCount]:
        """Finished jobs of a server made on the UTC day of ``since`` or later, summed per
        outcome, from daily totals kept as jobs close (they outlive the records)."""

    async def prune_jobs(self, before: float) -> int:
        """Remove the finished job records made before ``before``, never an unfinished
        one, with whatever indexes them, and daily totals past their keeping; how many
        records went."""


class JobJournal(Protocol):
    """The job journal (see :mod:`core.journal`): accepted jobs, held by the process
    running them, taken over when that process stops or dies."""

    async def journal_job(
        self,
        job_id: str,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        prompt: str,
        params: dict[str, Any],
        locale: str | None,
        interaction: InteractionRef,
        reservation: quota.Reservation | None,
        cooldown_seconds: float,
        owner: str,
        state: str = journal.ACCEPTED,
        lease_seconds: float = journal.LEASE_SECONDS,
    ) -> None:
        """Write an accepted job to the journal, held by ``owner``, before its API call."""

    async def journal_state(self, job_id: str, state: str) -> bool:
        """Move an unfinished job to ``state``; False if it is closed or unknown."""

    async def journal_params(self, job_id: str, params: Mapping[str, Any]) -> bool:
        """Add ``params`` to an unfinished job's parameters (a video's request id, the
        moment the image service returns it); False if it is closed or unknown."""

    async def close_job(
        self,
        job_id: str,
        *,
        outcome: str,
        images: int = 0,
        cost_usd_ticks: int | None = None,
        message_ids: Sequence[int] = (),
    ) -> bool:
        """Close an unfinished job with its outcome and forget its token; True only for
        the one call that closed it."""

    async def adopt_jobs(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> list[JobRecord]:
        """Take every unfinished job no live process holds (handed back, its hold ran
        out, or its process is known to be dead); oldest first. Two processes adopting at
        once never get the same job; ``owner``'s own jobs are not taken again; a record
        that cannot be read is left out."""

    async def renew_leases(
        self, owner: str, *, lease_seconds: float = journal.LEASE_SECONDS
    ) -> int:
        """Extend ``owner``'s hold on its unfinished jobs, and the claims of those jobs
        (a claim lives as long as its job, waiting in line included); how many it holds."""

    async def hand_back_jobs(self, owner: str) -> int:
        """Hand back ``owner``'s unfinished jobs (at shutdown), free for the next process."""


class ApiSlots(Protocol):
    """The slots of jobs calling the image API, shared by every process."""

    async def acquire_slot(self, job_id: str, *, cap: int, lease_seconds: float) -> bool:
        """Take one of ``cap`` slots for ``job_id`` if one is free, after dropping the
        slots whose lease ran out (their process died); held until ``free_slot`` or
        for ``lease_seconds`` unless renewed. A job that holds a slot already keeps it
        (renewed) and gets True."""

    async def free_slot(self, job_id: str) -> None:
        """Free ``job_id``'s slot; nothing if it holds none."""

    async def renew_slots(self, job_ids: Sequence[str], *, lease_seconds: float) -> None:
        """Extend the lease of the slots these jobs hold (not of slots already dropped)."""


class ServerSettings(Protocol):
    """Each server's settings, changed atomically."""

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """A server's settings; the defaults for a server that never changed any."""

    async def update_guild_settings(
        self, guild_id: int, change: Callable[[GuildSettings], GuildSettings]
    ) -> tuple[GuildSettings, GuildSettings]:
        """Apply ``change`` atomically; returns (before, after).

        Concurrent changes are all kept. ``change`` must be a pure function of the
        settings: a store may run it again when another change landed first. An
        exception from it leaves the settings as they were.
        """


class BlockedPrompts(Protocol):
    """Members' blocked prompts in each server, counted to pause one who probes the list."""

    async def note_blocked(
        self, guild_id: int, user_id: int, *, limit: AttemptLimit
    ) -> BlockedAttempts:
        """Count a member's blocked prompt in a server, in one atomic step (see
        :func:`core.moderation.note_attempt`): nothing when they are paused there already;
        else the attempt joins theirs within ``limit.window_seconds``, and reaching
        ``limit.limit`` pauses them for ``limit.pause_seconds`` (``admit`` refuses them
        meanwhile) and forgets the attempts. What is kept expires once it stops mattering."""


class Store(
    Claims,
    DailyCounters,
    MetaValues,
    JobRecords,
    JobJournal,
    ApiSlots,
    ServerSettings,
    BlockedPrompts,
    Protocol,
):
    """Everything the bot keeps. Every method that checks and changes is atomic, across
    processes sharing the backend too."""

    async def open(self) -> None:
        """Connect (and create or migrate what needs it)."""

    async def close(self) -> None:
        """Release the connection; safe to call more than once."""
