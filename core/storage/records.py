"""Job records and the rules both stores apply alike, written once.

A job is kept under the same field names in both backends (the SQLite ``jobs`` columns,
the fields of a Redis ``job:{id}`` hash): :func:`new_job`, :func:`journaled_job` and
:func:`done_fields` say what to write, :func:`job_from_fields` reads a record back from
either. The small decisions a store makes around its atomic steps (which states the
journal accepts, how much a refund gives back, whether settings changed, what a claim or a
reservation decides from what was read) are here too, so the two backends cannot drift.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from core import journal, quota, spend
from core.cooldown import CooldownState, Decision, decide
from core.guild_settings import GuildSettings
from core.journal import InteractionRef
from core.spend import SpendAsk
from core.stats import OutcomeCount

log = logging.getLogger(__name__)

_Raw = TypeVar("_Raw")

#: A value of a job's field as a store writes it (None: not set).
FieldValue = str | int | float | None

#: Every field of a job record, in the order of the SQLite columns.
JOB_FIELDS: tuple[str, ...] = (
    "id",
    "user_id",
    "guild_id",
    "channel_id",
    "prompt",
    "params",
    "state",
    "outcome",
    "images",
    "cost_usd_ticks",
    "created_at",
    "finished_at",
    "locale",
    "message_ids",
    "interaction_id",
    "application_id",
    "interaction_token",
    "token_expires_at",
    "reservation",
    "cooldown_seconds",
    "owner",
    "lease_until",
    "updated_at",
)

#: The state of a job recorded outside the journal (:meth:`Store.record_job`).
RECORDED = "running"


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job as the store keeps it: what was asked, how it ended, and its journal."""

    id: str
    user_id: int
    guild_id: int | None
    channel_id: int | None
    prompt: str
    params: dict[str, Any]
    state: str
    outcome: str | None
    images: int
    cost_usd_ticks: int | None
    created_at: float
    finished_at: float | None
    #: The requester's Discord locale, e.g. ``zh-CN``.
    locale: str | None = None
    #: The result messages, in the job's channel, in order.
    message_ids: tuple[int, ...] = ()
    #: The interaction the job answers, while the job is unfinished.
    interaction: InteractionRef | None = None
    #: The images the job reserved, given back (what was not delivered) when it closes.
    reservation: quota.Reservation | None = None
    #: The requester's cooldown once the job is delivered.
    cooldown_seconds: float = 0.0
    #: The process that runs the job, and until when it holds it.
    owner: str | None = None
    lease_until: float | None = None
    #: When the journal entry last changed.
    updated_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.state == journal.DONE


def readable_jobs(
    raws: Iterable[_Raw], read: Callable[[_Raw], JobRecord], unreadable: set[str]
) -> list[JobRecord]:
    """The records that can be read; each one that cannot is left out (and logged once,
    noting its id in ``unreadable``), so that one broken record strands no other."""
    jobs = []
    for raw in raws:
        try:
            jobs.append(read(raw))
        except (KeyError, TypeError, ValueError) as error:
            name = repr(raw[0]) if isinstance(raw, Sequence) and raw else "?"
            if name not in unreadable:
                unreadable.add(name)
                log.error("job %s: its journal record cannot be read: %s", name, error)
    return jobs


def oldest_first(job: JobRecord) -> tuple[float, str]:
    """The order jobs are handed out in: by creation time, then by id."""
    return (job.created_at, job.id)


# -- writing a job ---------------------------------------------------------------------


def new_job(
    job_id: str,
    created_at: float,
    *,
    user_id: int,
    guild_id: int | None,
    channel_id: int | None,
    prompt: str,
    params: dict[str, Any],
    locale: str | None,
    state: str = RECORDED,
) -> dict[str, FieldValue]:
    """The fields of a job as first written."""
    return {
        "id": job_id,
        "user_id": user_id,
        "guild_id": guild_id,
        "channel_id": channel_id,
        "prompt": prompt,
        "params": json.dumps(params),
        "state": state,
        "created_at": float(created_at),
        "locale": locale,
    }


def journaled_job(
    job: dict[str, FieldValue],
    now: float,
    *,
    interaction: InteractionRef,
    reservation: quota.Reservation | None,
    cooldown_seconds: float,
    owner: str,
    lease_seconds: float,
) -> dict[str, FieldValue]:
    """``job`` (see :func:`new_job`) with what resuming it needs, held by ``owner``."""
    check_journaled(str(job["state"]))
    return {
        **job,
        "interaction_id": interaction.interaction_id,
        "application_id": interaction.application_id,
        "interaction_token": interaction.token,
        "token_expires_at": float(interaction.expires_at),
        "reservation": reservation_json(reservation),
        "cooldown_seconds": float(cooldown_seconds),
        "owner": owner,
        "lease_until": float(now + lease_seconds),
        "updated_at": float(now),
    }


def finished_job(job: dict[str, FieldValue], now: float, *, outcome: str) -> dict[str, FieldValue]:
    """``job`` (see :func:`new_job`) written as finished at once with ``outcome``."""
    done = done_fields(now, outcome=outcome, images=0, cost_usd_ticks=None, message_ids=())
    return {**job, "state": journal.DONE, **done}


def done_fields(
    now: float, *, outcome: str, images: int, cost_usd_ticks: int | None, message_ids: Sequence[int]
) -> dict[str, FieldValue]:
    """What finishing a job writes (closing one through the journal also forgets its
    token and its hold, and notes the change)."""
    return {
        "outcome": outcome,
        "images": images,
        "cost_usd_ticks": cost_usd_ticks,
        "finished_at": float(now),
        "message_ids": json.dumps(list(message_ids)) if message_ids else None,
    }


def reservation_json(reservation: quota.Reservation | None) -> str | None:
    """A reservation as the journal keeps it."""
    if reservation is None:
        return None
    data: dict[str, object] = {
        "day": reservation.day,
        "user_scope": reservation.user_scope,
        "guild_scope": reservation.guild_scope,
        "images": reservation.images,
    }
    if reservation.spend_ticks:
        # Only when spend was reserved, so earlier entries and these read alike.
        data["spend_ticks"] = reservation.spend_ticks
    if reservation.meter is not quota.Meter.IMAGES:
        # Likewise only for video: an entry without a meter counted images.
        data["meter"] = reservation.meter.value
    return json.dumps(data)


# -- reading a job ---------------------------------------------------------------------


def _missing(value: object) -> bool:
    # SQLite gives NULL as None; a Redis hash leaves a field out, or holds ''.
    return value is None or value == ""


def int_or_none(value: object) -> int | None:
    """A stored number, or None where the field is not set."""
    return None if _missing(value) else int(str(value))


def float_or_none(value: object) -> float | None:
    """A stored time or amount, or None where the field is not set."""
    return None if _missing(value) else float(str(value))


def text_or_none(value: object) -> str | None:
    """A stored text, or None where the field is not set (or empty)."""
    return None if _missing(value) else str(value)


def _reservation_of(raw: object) -> quota.Reservation | None:
    if _missing(raw):
        return None
    data = json.loads(str(raw))
    return quota.Reservation(
        day=str(data["day"]),
        user_scope=str(data["user_scope"]),
        guild_scope=None if data.get("guild_scope") is None else str(data["guild_scope"]),
        images=int(data["images"]),
        spend_ticks=int(data.get("spend_ticks", 0)),
        meter=quota.Meter(data.get("meter", quota.Meter.IMAGES.value)),
    )


def _interaction_of(fields: Mapping[str, object]) -> InteractionRef | None:
    interaction_id = int_or_none(fields.get("interaction_id"))
    application_id = int_or_none(fields.get("application_id"))
    token = text_or_none(fields.get("interaction_token"))
    expires_at = float_or_none(fields.get("token_expires_at"))
    if interaction_id is None or application_id is None or token is None or expires_at is None:
        return None  # closed (the token is forgotten), or recorded outside the journal
    return InteractionRef(interaction_id, application_id, token, expires_at)


def job_from_fields(fields: Mapping[str, object]) -> JobRecord:
    """A job record from its fields, as either backend gives them back (missing, None or
    '' where a field is not set)."""
    message_ids = fields.get("message_ids")
    return JobRecord(
        id=str(fields["id"]),
        user_id=int(str(fields["user_id"])),
        guild_id=int_or_none(fields.get("guild_id")),
        channel_id=int_or_none(fields.get("channel_id")),
        prompt=str(fields["prompt"]),
        params=json.loads(str(fields["params"])),
        state=str(fields["state"]),
        outcome=text_or_none(fields.get("outcome")),
        images=int_or_none(fields.get("images")) or 0,
        cost_usd_ticks=int_or_none(fields.get("cost_usd_ticks")),
        created_at=float(str(fields["created_at"])),
        finished_at=float_or_none(fields.get("finished_at")),
        locale=text_or_none(fields.get("locale")),
        message_ids=()
        if _missing(message_ids)
        else tuple(int(i) for i in json.loads(str(message_ids))),
        interaction=_interaction_of(fields),
        reservation=_reservation_of(fields.get("reservation")),
        cooldown_seconds=float_or_none(fields.get("cooldown_seconds")) or 0.0,
        owner=text_or_none(fields.get("owner")),
        lease_until=float_or_none(fields.get("lease_until")),
        updated_at=float_or_none(fields.get("updated_at")),
    )


# -- the journal's states --------------------------------------------------------------


def check_journaled(state: str) -> None:
    """A job enters the journal unfinished."""
    if state not in journal.UNFINISHED:
        raise ValueError(f"a job is journaled unfinished, not {state!r}")


def check_move(state: str) -> None:
    """A journaled job moves between unfinished states; closing it is ``close_job``."""
    if state not in journal.UNFINISHED:
        raise ValueError(f"use close_job to finish a job, not state {state!r}")


# -- admission -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AdmitRequest:
    """What :meth:`core.storage.interface.Claims.admit` is asked to check and take in one
    step: ``job_id``'s claim of member ``user_id``'s cooldown, and ``units`` of ``meter``
    counted against today's counters of the member and of server ``guild_id``."""

    user_id: int
    job_id: str
    #: Exempt from the cooldown: only the one-job-at-a-time rule applies.
    exempt: bool
    #: The server asked in; None for a direct message (no server counter, no pause).
    guild_id: int | None
    #: How much the job counts: images, or seconds of video (see ``meter``).
    units: int
    #: Today's limits of the member and of the server, in units of ``meter`` (0: none).
    user_limit: int
    guild_limit: int
    #: The spend estimate to reserve with the units, under its ceilings (None: none).
    spend: SpendAsk | None = None
    #: What ``units`` counts: images, or seconds of video, each against counters of its own.
    meter: quota.Meter = quota.Meter.IMAGES


# -- cooldown claims -------------------------------------------------------------------


def claim_decision(
    state: CooldownState, now: float, *, exempt: bool, renewed_at: float | None = None
) -> Decision:
    """May a job claim this cooldown? An exempt member skips the cooldown, not the
    one-job-at-a-time rule (the stored cooldown is kept for when the exemption ends).
    A claim renewed at ``renewed_at`` (its job still lives) counts as stale only that
    long after the renewal."""
    since = state.running_since
    if since is not None and renewed_at is not None:
        since = max(since, renewed_at)
    available = 0.0 if exempt else state.available_at
    return decide(CooldownState(available, state.running_job, since), now)


# -- daily image (and video) counters ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Today:
    """A member's counters today, where they are (no server counter in a direct message),
    for one meter (their scopes are metered, see :func:`core.quota.metered`)."""

    day: str
    user_scope: str
    guild_scope: str | None
    resets_at: float
    meter: quota.Meter = quota.Meter.IMAGES

    @property
    def scopes(self) -> list[str]:
        """The counters a reservation counts against: the member's, then the server's."""
        return (
            [self.user_scope] if self.guild_scope is None else [self.user_scope, self.guild_scope]
        )

    def decide(
        self, images: int, used: Sequence[int], *, user_limit: int, guild_limit: int
    ) -> quota.QuotaDecision:
        """The reservation's decision from the counters of :attr:`scopes` as read; the
        reservation to count if it is allowed. A limit of 0 is no limit; a direct message
        has no server's."""
        in_server = self.guild_scope is not None
        decision = quota.decide(
            images,
            user_used=used[0],
            user_limit=user_limit,
            guild_used=used[1] if in_server else 0,
            guild_limit=guild_limit if in_server else 0,
            resets_at=self.resets_at,
        )
        if not decision.allowed:
            return decision
        reservation = quota.Reservation(
            self.day, self.user_scope, self.guild_scope, images, meter=self.meter
        )
        return quota.QuotaDecision(
            decision.verdict, resets_at=decision.resets_at, reservation=reservation
        )

    def usage(self, counts: Sequence[int]) -> quota.Usage:
        """The usage figures from the counters of :attr:`scopes`, as read."""
        return quota.Usage(self.day, counts[0], counts[1] if len(counts) > 1 else 0, self.resets_at)


def today(
    now: float, guild_id: int | None, user_id: int, meter: quota.Meter = quota.Meter.IMAGES
) -> Today:
    """A member's counters of ``meter`` on the UTC day of ``now``."""
    return Today(
        day=quota.day_key(now),
        user_scope=quota.metered(quota.user_scope(guild_id, user_id), meter),
        guild_scope=None if guild_id is None else quota.metered(quota.guild_scope(guild_id), meter),
        resets_at=quota.next_reset(now),
        meter=meter,
    )


def refund_amount(reservation: quota.Reservation, images: int) -> int:
    """How many images a refund gives back: never more than were reserved."""
    return max(0, min(images, reservation.images))


def reserved_scopes(reservation: quota.Reservation) -> list[str]:
    """The counters a reservation counted against."""
    return _scopes(reservation.user_scope, reservation.guild_scope)


def _scopes(user_scope: str, guild_scope: str | None) -> list[str]:
    # A direct message has no server counter.
    return [user_scope] if guild_scope is None else [user_scope, guild_scope]


# -- server settings -------------------------------------------------------------------


def settings_changed(before: GuildSettings, after: GuildSettings) -> bool:
    """Whether a change is worth writing (``extra`` keeps unknown keys and is left out of
    equality, so it is compared on its own)."""
    return after != before or after.extra != before.extra


# -- blocked prompts -------------------------------------------------------------------


def paused_admission(paused_until: float) -> quota.Admission:
    """The admission of a member paused until ``paused_until``: nothing checked or taken."""
    return quota.Admission(decide(CooldownState(), 0.0), paused_until=paused_until)


def attempt_times(text: str | None) -> list[float]:
    """A member's recent blocked attempts as a store keeps them: exact times, spaced."""
    return [float(part) for part in (text or "").split()]


def attempt_times_text(times: Sequence[float]) -> str:
    """The text :func:`attempt_times` reads back."""
    return " ".join(repr(float(time)) for time in times)


def attempts_until(times: Sequence[float], paused_until: float, window_seconds: float) -> float:
    """Until when a member's attempts or pause matter (then a store may forget them)."""
    return max([paused_until, *(time + window_seconds for time in times)])


# -- daily totals per outcome ------------------------------------------------------------
#
# Each server's finished jobs are summed per UTC day (the day the job was made on) and
# outcome as they close: jobs, images, reported cost and how many jobs reported one (so a
# total with none reads back as "no cost reported", as a job with none does).

#: The parts of a day's total of one outcome (in Redis, hash fields ``part:outcome``).
TOTAL_PARTS = ("jobs", "images", "cost", "costed")


def total_of(images: object, cost_usd_ticks: object, sign: int = 1) -> dict[str, int]:
    """What one finished job adds to its outcome's total (``sign`` -1: takes away)."""
    cost = int_or_none(cost_usd_ticks)
    return {
        "jobs": sign,
        "images": sign * (int_or_none(images) or 0),
        "cost": sign * (cost or 0),
        "costed": 0 if cost is None else sign,
    }


def outcome_counts(sums: Mapping[str, Mapping[str, int]]) -> list[OutcomeCount]:
    """Totals summed per outcome (``{outcome: {part: n}}``) as the stats read them; an
    outcome with no job left out."""
    return [
        OutcomeCount(
            outcome=outcome,
            jobs=parts.get("jobs", 0),
            images=parts.get("images", 0),
            cost_usd_ticks=parts.get("cost", 0) if parts.get("costed", 0) > 0 else None,
        )
        for outcome, parts in sums.items()
        if parts.get("jobs", 0) > 0
    ]


def add_totals(
    sums: dict[str, dict[str, int]], outcome: str, parts: Mapping[str, int | str]
) -> None:
    """Add one total (or one job's :func:`total_of`) to ``sums``, per outcome."""
    into = sums.setdefault(outcome, dict.fromkeys(TOTAL_PARTS, 0))
    for part in TOTAL_PARTS:
        into[part] += int(parts.get(part, 0) or 0)


# -- daily spend counters (see core.spend) ---------------------------------------------


def spend_scopes(guild_scope: str | None) -> list[str]:
    """The spend counters beside these image (or video) counters: the bot's, then the
    server's (one spend counter per server, whatever the meter)."""
    if guild_scope is None:
        return [spend.BOT_SCOPE]
    return [spend.BOT_SCOPE, "spend:" + quota.unmetered(guild_scope)]


def decide_spend(
    decision: quota.QuotaDecision, ask: spend.SpendAsk | None, spent: Sequence[int]
) -> quota.QuotaDecision:
    """The images' decision once the spend counters (of :func:`spend_scopes`, as read)
    had their say: refused when the job's estimate passes the bot's ceiling, then the
    server's; else the reservation carries the estimate."""
    if ask is None or not decision.allowed or decision.reservation is None:
        return decision
    # A direct message has no server's counter, nor ceiling.
    in_server = decision.reservation.guild_scope is not None
    guild_used, guild_limit = (spent[1], ask.guild_limit) if in_server else (0, 0)
    for verdict, used, limit in (
        (quota.QuotaVerdict.BOT_SPEND, spent[0], ask.bot_limit),
        (quota.QuotaVerdict.GUILD_SPEND, guild_used, guild_limit),
    ):
        if not spend.fits(used, ask.ticks, limit):
            return quota.QuotaDecision(
                verdict, limit=limit, left=max(0, limit - used), resets_at=decision.resets_at
            )
    reservation = dataclasses.replace(decision.reservation, spend_ticks=ask.ticks)
    return dataclasses.replace(decision, reservation=reservation)


def settle_delta(reservation: quota.Reservation, cost: int) -> int:
    """What settling a reservation with its real cost adds to its day's spend counters
    (negative: given back)."""
    return max(0, cost) - reservation.spend_ticks


# -- a member's day, as /imagine-quota reads it -------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberCounters:
    """The counters ``/imagine-quota`` reads of a member where they are, all at once: the
    images, the seconds of video, then the spend of the bot and of the server."""

    images: Today
    video: Today
    spend: tuple[str, ...]

    @property
    def day(self) -> str:
        return self.images.day

    @property
    def scopes(self) -> list[str]:
        """Every counter to read, in the order :meth:`read` takes their values."""
        return [*self.images.scopes, *self.video.scopes, *self.spend]

    def read(
        self, counts: Sequence[int], cooldown: CooldownState, paused_until: float
    ) -> quota.MemberDay:
        """The member's day from the counters of :attr:`scopes`, as read."""
        images = len(self.images.scopes)
        video = images + len(self.video.scopes)
        spent = list(counts[video:])
        return quota.MemberDay(
            cooldown=cooldown,
            images=self.images.usage(counts[:images]),
            video=self.video.usage(counts[images:video]),
            bot_spend_ticks=spent[0],
            guild_spend_ticks=spent[1] if len(spent) > 1 else 0,
            paused_until=paused_until,
        )


def member_counters(now: float, guild_id: int | None, user_id: int) -> MemberCounters:
    """A member's counters on the UTC day of ``now``, where they are."""
    images = today(now, guild_id, user_id)
    return MemberCounters(
        images=images,
        video=today(now, guild_id, user_id, quota.Meter.VIDEO_SECONDS),
        spend=tuple(spend_scopes(images.guild_scope)),
    )
