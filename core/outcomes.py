"""Every way a job can end, as one enum, and the families the figures count them in.

The values are the words of the job log line and of the ``outcome`` column of job records
(records written before this enum keep working: an unknown word counts as a failure).
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Outcome(StrEnum):
    """How one job (or one request that never became a job) ended."""

    #: Not ended yet: the job log line of a job still under way.
    STARTED = "started"

    # -- jobs that ran -----------------------------------------------------------------
    DELIVERED = "delivered"
    #: The image service refused the prompt or withheld every image.
    REFUSED = "refused"
    #: The requester pressed Cancel while the job waited.
    CANCELLED = "cancelled"
    #: A restart cut the job short and it could not be run again.
    INTERRUPTED = "interrupted"
    #: The job could not start within ``MAX_WAIT_SECONDS`` (the bot was too busy): closed
    #: before the image service was asked, costing nothing. (Jobs closed so before this
    #: outcome existed were recorded as ``interrupted``, and stay so.)
    WAITED_TOO_LONG = "waited_too_long"
    #: The process stopped first; the job stays in the journal for the next one.
    SUSPENDED = "suspended"
    #: Accepted but never acknowledged (Discord's 3-second deadline passed).
    NOT_DEFERRED = "not_deferred"

    # -- failures ----------------------------------------------------------------------
    INVALID_REQUEST = "invalid_request"
    AUTH_FAILED = "auth_failed"
    OUT_OF_CREDITS = "out_of_credits"
    RATE_LIMITED = "rate_limited"
    API_UNAVAILABLE = "api_unavailable"
    BAD_RESPONSE = "bad_response"
    DELIVERY_FAILED = "delivery_failed"
    ERROR = "error"
    #: The image service does not offer edits (or they are off); nothing is charged.
    EDITS_UNAVAILABLE = "edits_unavailable"
    #: A video the image service reported failed, or expired before it was fetched.
    VIDEO_FAILED = "video_failed"
    VIDEO_EXPIRED = "video_expired"
    #: A video not done within ``VIDEO_MAX_WAIT_SECONDS`` (its request may still finish).
    VIDEO_TIMED_OUT = "video_timed_out"
    #: The gateway has no video endpoints (nothing charged).
    VIDEO_UNAVAILABLE = "video_unavailable"

    # -- turned away before anything was reserved or generated --------------------------
    #: The prompt has one of the server's blocked terms (recorded and mod-logged).
    BLOCKED = "blocked"
    RULE_DISABLED = "rule_disabled"
    RULE_CHANNEL = "rule_channel"
    RULE_NSFW_ONLY = "rule_nsfw_only"
    RULE_MAX_N = "rule_max_n"
    RULE_MODEL = "rule_model"
    RULE_RESOLUTION = "rule_resolution"
    INVALID_PROMPT = "invalid_prompt"
    INVALID_MODEL = "invalid_model"
    INVALID_N = "invalid_n"
    INVALID_ASPECT = "invalid_aspect"
    INVALID_RESOLUTION = "invalid_resolution"
    INVALID_RESPONSE_FORMAT = "invalid_response_format"
    #: An input picture of an edit is not an image, is corrupt or could not be fetched.
    INVALID_INPUT = "invalid_input"
    #: A server's rules refuse edits (off, or of uploads).
    RULE_EDITS = "rule_edits"
    RULE_VIDEO = "rule_video"
    INVALID_DURATION = "invalid_duration"
    ON_COOLDOWN = "on_cooldown"
    ALREADY_RUNNING = "already_running"
    USER_QUOTA = "user_quota"
    GUILD_BUDGET = "guild_budget"
    DM_OFF = "dm_off"
    QUEUE_FULL = "queue_full"
    SHUTTING_DOWN = "shutting_down"
    #: The member sent too many blocked prompts lately and is paused in this server.
    PAUSED = "paused"
    #: The whole bot's daily spend ceiling (``DAILY_SPEND_LIMIT_USD``) would be passed.
    SPEND_LIMIT = "spend_limit"
    #: The server's daily spend ceiling (``/imagine-admin spend-limit``) would be passed.
    GUILD_SPEND_LIMIT = "guild_spend_limit"


class Family(Enum):
    """What the usage figures and the mod log count an outcome as."""

    DELIVERED = "delivered"
    REFUSED = "refused"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    #: Closed in line, too busy to start in time: not a failure of the image service.
    WAITED_TOO_LONG = "waited_too_long"
    #: A request turned away before it became a job (a rule, a limit, a full line).
    TURNED_AWAY = "turned_away"
    FAILED = "failed"


_OWN_FAMILY = {
    Outcome.DELIVERED: Family.DELIVERED,
    Outcome.REFUSED: Family.REFUSED,
    Outcome.BLOCKED: Family.BLOCKED,
    Outcome.CANCELLED: Family.CANCELLED,
    Outcome.INTERRUPTED: Family.INTERRUPTED,
    Outcome.SUSPENDED: Family.INTERRUPTED,
    Outcome.WAITED_TOO_LONG: Family.WAITED_TOO_LONG,
}

_FAILURES = frozenset(
    {
        Outcome.STARTED,
        Outcome.NOT_DEFERRED,
        Outcome.INVALID_REQUEST,
        Outcome.AUTH_FAILED,
        Outcome.OUT_OF_CREDITS,
        Outcome.RATE_LIMITED,
        Outcome.API_UNAVAILABLE,
        Outcome.BAD_RESPONSE,
        Outcome.DELIVERY_FAILED,
        Outcome.ERROR,
        Outcome.EDITS_UNAVAILABLE,
        Outcome.VIDEO_FAILED,
        Outcome.VIDEO_EXPIRED,
        Outcome.VIDEO_TIMED_OUT,
        Outcome.VIDEO_UNAVAILABLE,
    }
)


def parse(word: str | None) -> Outcome:
    """The outcome a stored word names; an unknown or missing word is :attr:`Outcome.ERROR`."""
    try:
        return Outcome(word or "")
    except ValueError:
        return Outcome.ERROR


def family(outcome: Outcome | str | None) -> Family:
    """The family an outcome (or a stored word) counts in."""
    known = parse(outcome) if not isinstance(outcome, Outcome) else outcome
    if known in _OWN_FAMILY:
        return _OWN_FAMILY[known]
    if known in _FAILURES:
        return Family.FAILED
    return Family.TURNED_AWAY
