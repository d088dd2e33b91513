"""Daily image quotas, as pure functions: UTC day keys, counter names and the arithmetic.

Two counters limit a request, both counted in images (``n``) per UTC day: the member's own
use in a server (the per-user quota) and the whole server's use (the server budget). In a
direct message only the member's own counter applies. A limit of 0 means no limit. Images
are reserved before the API call and given back for any the job did not deliver; a refund
goes to the day the images were reserved on, even when the job ends after midnight.

Video has counters of its own, counted in seconds of video (a clip's ``duration``), under
the same rules: each :class:`Meter` counts under scopes of its own (the image scopes
prefixed, see :func:`metered`), so a clip never counts against the images, nor images
against the seconds, and a reservation names the scopes it counted against, so a refund
goes back to the right counters.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import Enum, StrEnum

from core.cooldown import CooldownState, Decision

SECONDS_PER_DAY = 24 * 3600
#: How many days of counters the store keeps (the stats look at seven).
KEEP_DAYS = 8


def day_key(now: float) -> str:
    """The UTC day of a UNIX time, e.g. ``"2025-11-25"``."""
    return datetime.datetime.fromtimestamp(now, datetime.UTC).date().isoformat()


def day_start(now: float) -> float:
    """The UNIX time of the UTC midnight that began the day of ``now``."""
    return float(int(now // SECONDS_PER_DAY) * SECONDS_PER_DAY)


def day_start_of(day: str) -> float:
    """The UNIX time of the UTC midnight that began a day key (see :func:`day_key`)."""
    start = datetime.datetime.combine(
        datetime.date.fromisoformat(day), datetime.time(), datetime.UTC
    )
    return start.timestamp()


def next_reset(now: float) -> float:
    """The UNIX time when the counters of ``now``'s day stop counting."""
    return day_start(now) + SECONDS_PER_DAY


def user_scope(guild_id: int | None, user_id: int) -> str:
    """The counter of one member in one server (``dm`` for direct messages)."""
    return f"user:{guild_id if guild_id is not None else 'dm'}:{user_id}"


def guild_scope(guild_id: int) -> str:
    """The counter of a whole server."""
    return f"guild:{guild_id}"


class Meter(StrEnum):
    """What a job's reservation counts: images, or seconds of video."""

    IMAGES = "images"
    VIDEO_SECONDS = "video_seconds"


#: The prefix of the scopes counting seconds of video (``video:user:…``, ``video:guild:…``).
VIDEO_SCOPE_PREFIX = "video:"


def metered(scope: str, meter: Meter) -> str:
    """The counter of ``scope`` (:func:`user_scope`, :func:`guild_scope`) for a meter:
    images keep the scopes they always had; seconds of video are prefixed."""
    return scope if meter is Meter.IMAGES else VIDEO_SCOPE_PREFIX + scope


def unmetered(scope: str) -> str:
    """The image scope a metered scope (:func:`metered`) was made from."""
    return scope.removeprefix(VIDEO_SCOPE_PREFIX)


def remaining(limit: int, used: int) -> int | None:
    """Images left under ``limit``; None when there is no limit."""
    if limit <= 0:
        return None
    return max(0, limit - used)


class QuotaVerdict(Enum):
    ALLOWED = "allowed"
    USER = "user_quota"
    GUILD = "guild_budget"
    #: The whole bot's daily spend ceiling, and the server's (see core.spend).
    BOT_SPEND = "spend_limit"
    GUILD_SPEND = "guild_spend_limit"


@dataclass(frozen=True, slots=True)
class Reservation:
    """Images (or seconds of video, see ``meter``) counted against a day's counters, to
    be given back if not delivered."""

    day: str
    #: The counters counted against, metered (see :func:`metered`).
    user_scope: str
    guild_scope: str | None
    #: How many units were counted: images, or seconds of video (the name is the one the
    #: journal has always kept).
    images: int
    #: Ticks of spend reserved with the images (see core.spend), settled when the job
    #: closes.
    spend_ticks: int = 0
    meter: Meter = Meter.IMAGES


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    verdict: QuotaVerdict
    #: The limit that stopped the request, and how many images it still allows.
    limit: int = 0
    left: int = 0
    #: When the counters start again (UNIX time).
    resets_at: float = 0.0
    reservation: Reservation | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict is QuotaVerdict.ALLOWED


@dataclass(frozen=True, slots=True)
class Admission:
    """A job's cooldown claim and image reservation, decided in one step (``Store.admit``).

    ``quota`` is None when the claim was refused: nothing was reserved then. When the
    reservation is refused, the claim was not taken either. ``paused_until`` is set when
    the member is paused in this server for sending too many blocked prompts (see
    :class:`core.moderation.AttemptLimit`): then nothing was checked or taken (``claim``
    is as for a member never seen, ``quota`` None).
    """

    claim: Decision
    quota: QuotaDecision | None = None
    paused_until: float = 0.0

    @property
    def allowed(self) -> bool:
        return (
            not self.paused_until
            and self.claim.allowed
            and self.quota is not None
            and self.quota.allowed
        )


def decide(
    images: int,
    *,
    user_used: int,
    user_limit: int,
    guild_used: int,
    guild_limit: int,
    resets_at: float = 0.0,
) -> QuotaDecision:
    """May ``images`` more be made? The member's own quota is checked first."""
    for verdict, used, limit in (
        (QuotaVerdict.USER, user_used, user_limit),
        (QuotaVerdict.GUILD, guild_used, guild_limit),
    ):
        left = remaining(limit, used)
        if left is not None and images > left:
            return QuotaDecision(verdict, limit=limit, left=left, resets_at=resets_at)
    return QuotaDecision(QuotaVerdict.ALLOWED, resets_at=resets_at)


def after_refund(used: int, images: int) -> int:
    """A counter once ``images`` are given back (never below zero)."""
    return max(0, used - max(0, images))


@dataclass(frozen=True, slots=True)
class Usage:
    """Today's counters for one member where they are."""

    day: str
    user_used: int
    guild_used: int
    resets_at: float


@dataclass(frozen=True, slots=True)
class MemberDay:
    """What ``/imagine-quota`` shows of a member where they are, read in one step: their
    cooldown, today's counters of images and of seconds of video, today's spend of the
    whole bot and of the server (ticks; 0 in a direct message), and the end of their
    pause for blocked prompts in the server (0 when never paused there)."""

    cooldown: CooldownState
    images: Usage
    video: Usage
    bot_spend_ticks: int
    guild_spend_ticks: int
    paused_until: float = 0.0
