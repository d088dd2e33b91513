"""What both stores do the same way, on top of a few steps each backend makes atomic.

A backend subclasses :class:`BaseStore` and writes the steps (insert a job, finish one,
move one's state, read and give back counters); the journal's and the counters' methods
of :class:`core.storage.interface.Store` are then written here once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core import journal, quota
from core.journal import InteractionRef
from core.storage import records
from core.storage.records import FieldValue


class BaseStore(ABC):
    """The shared half of a store; ``_clock`` gives the time every step is judged by."""

    _clock: Callable[[], float]

    # -- the steps each backend makes atomic -----------------------------------------------

    @abstractmethod
    async def _insert_job(self, fields: Mapping[str, FieldValue]) -> None:
        """Write a new job (``fields`` as from :mod:`core.storage.records`); an id once."""
        raise NotImplementedError

    @abstractmethod
    async def _finish(
        self, job_id: str, done: Mapping[str, FieldValue], *, closing: bool, now: float
    ) -> bool:
        """Mark a job done with ``done``; when ``closing``, only an unfinished one, also
        forgetting its token and hold. True if a job was changed."""
        raise NotImplementedError

    @abstractmethod
    async def _move(self, job_id: str, state: str, now: float) -> bool:
        """Move an unfinished job to ``state``; False if it is closed or unknown."""
        raise NotImplementedError

    @abstractmethod
    async def _note_params(self, job_id: str, params: Mapping[str, Any], now: float) -> bool:
        """Merge ``params`` into an unfinished job's parameters; False if it is closed or
        unknown."""
        raise NotImplementedError

    @abstractmethod
    async def _counters(self, day: str, scopes: Sequence[str]) -> list[int]:
        """A day's counters of these scopes (0 for one never counted)."""
        raise NotImplementedError

    @abstractmethod
    async def _give_back(self, day: str, scopes: Sequence[str], images: int) -> None:
        """Take ``images`` off a day's counters, none below zero."""
        raise NotImplementedError

    def _alive(self, owner: str) -> None:  # noqa: B027 (a hook; most backends need none)
        """Note that this process is ``owner`` (a backend that can tell a dead owner from a
        live one, before its lease runs out, keeps that here)."""

    @abstractmethod
    async def _settle(self, day: str, scopes: Sequence[str], ticks: int) -> None:
        """Add ``ticks`` (negative: take them off) to a day's spend counters, none below
        zero."""
        raise NotImplementedError

    # -- job records -----------------------------------------------------------------------

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
        """Record a job as running, now; or, with its ``outcome``, as finished already, in
        the same one write (a job turned away is never seen unfinished)."""
        now = self._clock()
        job = records.new_job(
            job_id,
            now,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            prompt=prompt,
            params=params,
            locale=locale,
        )
        if outcome is not None:
            job = records.finished_job(job, now, outcome=outcome)
        await self._insert_job(job)

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
        await self._end(job_id, outcome, images, cost_usd_ticks, message_ids, closing=False)

    async def _end(
        self,
        job_id: str,
        outcome: str,
        images: int,
        cost_usd_ticks: int | None,
        message_ids: Sequence[int],
        *,
        closing: bool,
    ) -> bool:
        now = self._clock()
        done = records.done_fields(
            now,
            outcome=outcome,
            images=images,
            cost_usd_ticks=cost_usd_ticks,
            message_ids=message_ids,
        )
        return await self._finish(job_id, done, closing=closing, now=now)

    # -- job journal -----------------------------------------------------------------------

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
        self._alive(owner)
        now = self._clock()
        job = records.new_job(
            job_id,
            now,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            prompt=prompt,
            params=params,
            locale=locale,
            state=state,
        )
        await self._insert_job(
            records.journaled_job(
                job,
                now,
                interaction=interaction,
                reservation=reservation,
                cooldown_seconds=cooldown_seconds,
                owner=owner,
                lease_seconds=lease_seconds,
            )
        )

    async def journal_state(self, job_id: str, state: str) -> bool:
        """Move an unfinished job to ``state``; False if it is closed or unknown."""
        records.check_move(state)
        return await self._move(job_id, state, self._clock())

    async def journal_params(self, job_id: str, params: Mapping[str, Any]) -> bool:
        """Add ``params`` to an unfinished job's parameters; False if it is closed or
        unknown."""
        return await self._note_params(job_id, params, self._clock())

    async def close_job(
        self,
        job_id: str,
        *,
        outcome: str,
        images: int = 0,
        cost_usd_ticks: int | None = None,
        message_ids: Sequence[int] = (),
    ) -> bool:
        """Close an unfinished job with its outcome and forget its token.

        True if this call closed it; False if it was already closed (by another process,
        say) or is unknown, so that a job is closed, refunded and told about only once.
        """
        return await self._end(job_id, outcome, images, cost_usd_ticks, message_ids, closing=True)

    # -- daily image counters --------------------------------------------------------------

    async def refund_images(self, reservation: quota.Reservation, images: int) -> None:
        """Give back up to ``reservation.images`` images (or seconds of video), to the
        counters and the day they were reserved on."""
        amount = records.refund_amount(reservation, images)
        if amount:
            await self._give_back(reservation.day, records.reserved_scopes(reservation), amount)

    async def usage_today(
        self, guild_id: int | None, user_id: int, meter: quota.Meter = quota.Meter.IMAGES
    ) -> quota.Usage:
        """Today's counters of ``meter`` of a member where they are, and when they start
        again."""
        today = records.today(self._clock(), guild_id, user_id, meter)
        return today.usage(await self._counters(today.day, today.scopes))

    # -- daily spend counters (see core.spend) ---------------------------------------------

    async def settle_spend(self, reservation: quota.Reservation, cost_usd_ticks: int) -> None:
        """Settle a reservation's spend with the job's real cost, on the day it was
        reserved on: the difference given back, or the excess added."""
        delta = records.settle_delta(reservation, cost_usd_ticks)
        if delta:
            await self._settle(
                reservation.day, records.spend_scopes(reservation.guild_scope), delta
            )

    async def spend_today(self, guild_id: int | None) -> tuple[int, int]:
        """Today's spend in ticks: the whole bot's and the server's (0 in a DM)."""
        day = quota.day_key(self._clock())
        guild = None if guild_id is None else quota.guild_scope(guild_id)
        counts = await self._counters(day, records.spend_scopes(guild))
        return counts[0], counts[1] if len(counts) > 1 else 0

    async def guild_spend(self, guild_id: int, days: Sequence[str]) -> int:
        """A server's spend in ticks over these UTC days (kept ``quota.KEEP_DAYS``)."""
        scope = records.spend_scopes(quota.guild_scope(guild_id))[1]
        return sum([(await self._counters(day, [scope]))[0] for day in days])
