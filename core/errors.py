"""Errors with meaning, raised by the core and turned into words by the Discord layer.

``detail`` is for the operator's log only (already shortened and free of secrets); users
see a fixed message chosen by the error's type.
"""

from __future__ import annotations

from core import outcomes
from core.outcomes import Outcome


class GenerationError(Exception):
    """Base class of every failure a user should hear about."""

    #: Whether the image client may try the same request again.
    retryable: bool = False
    #: How a job that ends with this error ends (the log line, the record, the figures).
    outcome: Outcome = Outcome.ERROR

    def __init__(
        self,
        detail: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail or type(self).__name__)
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


class InvalidOption(GenerationError):
    """A command option failed our own validation; no API call was made."""

    def __init__(self, option: str, detail: str = "") -> None:
        super().__init__(detail or f"invalid {option}")
        self.option = option
        self.outcome = outcomes.parse(f"invalid_{option}")


class ContentRefused(GenerationError):
    """The API refused the prompt or withheld every image for its content policy."""

    outcome = Outcome.REFUSED


class InvalidRequest(GenerationError):
    """The API rejected the request as malformed (400/404/415/422)."""

    outcome = Outcome.INVALID_REQUEST


class AuthenticationFailed(GenerationError):
    """The API key is missing, wrong or not allowed (401/403)."""

    outcome = Outcome.AUTH_FAILED


class QuotaExceeded(GenerationError):
    """The API account is out of credits or over its spending limit."""

    outcome = Outcome.OUT_OF_CREDITS


class RateLimited(GenerationError):
    """The API is temporarily at capacity (429); worth retrying later."""

    outcome = Outcome.RATE_LIMITED

    retryable = True


class TransientError(GenerationError):
    """A 5xx answer, a timeout or a broken connection; worth retrying."""

    outcome = Outcome.API_UNAVAILABLE

    retryable = True


class BadResponse(GenerationError):
    """The API answered 200 but nothing usable could be made of it."""

    outcome = Outcome.BAD_RESPONSE


class OnCooldown(GenerationError):
    """The user's cooldown has not passed yet; no API call was made."""

    outcome = Outcome.ON_COOLDOWN

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"on cooldown for {retry_after:.1f}s", retry_after=retry_after)


class AlreadyRunning(GenerationError):
    """The user already has a job in flight; no API call was made."""

    outcome = Outcome.ALREADY_RUNNING


class DeliveryFailed(GenerationError):
    """Images were made but Discord would not take them."""

    outcome = Outcome.DELIVERY_FAILED


class RefusedByServer(GenerationError):
    """A server's rules refuse the request (``rule`` says which); no API call was made."""

    def __init__(
        self,
        rule: str,
        *,
        channels: tuple[int, ...] = (),
        max_n: int = 0,
        choices: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"refused by the server's rule {rule}")
        self.rule = rule
        self.outcome = Outcome.BLOCKED if rule == "blocked" else outcomes.parse(f"rule_{rule}")
        self.channels = channels
        self.max_n = max_n
        self.choices = choices


class DailyLimitReached(GenerationError):
    """The member's daily quota or the server's daily budget would be passed: of images,
    or, with ``video`` set, of seconds of video (``limit``, ``left`` and ``needed`` are
    then seconds)."""

    def __init__(
        self,
        scope: str,
        *,
        limit: int,
        left: int,
        needed: int,
        resets_at: float,
        video: bool = False,
    ) -> None:
        unit = "seconds of video" if video else "images"
        super().__init__(f"daily {scope} reached: {left} of {limit} {unit} left, {needed} asked")
        self.scope = scope
        self.video = video
        self.outcome = outcomes.parse(scope)
        self.limit = limit
        self.left = left
        self.needed = needed
        self.resets_at = resets_at


class DirectMessagesOff(GenerationError):
    """The command was used in a direct message, which the operator has not allowed."""

    outcome = Outcome.DM_OFF


class QueueFull(GenerationError):
    """Too many jobs are running and waiting already; no API call was made."""

    outcome = Outcome.QUEUE_FULL


class ShuttingDown(GenerationError):
    """The bot is stopping and takes no new job; no API call was made."""

    outcome = Outcome.SHUTTING_DOWN


class MemberPaused(GenerationError):
    """The member sent too many blocked prompts in this server lately and may not use
    ``/imagine`` there until ``paused_until``; no API call was made."""

    outcome = Outcome.PAUSED

    def __init__(self, paused_until: float) -> None:
        super().__init__(f"paused until {paused_until:.0f}")
        self.paused_until = paused_until


class InvalidInput(GenerationError):
    """An input picture of an edit cannot be used (``reason`` says why: ``not_image``,
    ``corrupt``, ``too_large``, ``download``, ``too_many``, ``none``, ``uploads_off``);
    ``index`` is its place among the inputs (from 0). No API call was made."""

    outcome = Outcome.INVALID_INPUT

    def __init__(self, reason: str, *, index: int = 0, detail: str = "") -> None:
        super().__init__(detail or f"input {index + 1}: {reason}")
        self.reason = reason
        self.index = index


class EditsUnavailable(GenerationError):
    """The image service does not offer edits (its gateway has no edits path), or the
    operator turned them off; nothing is charged."""

    outcome = Outcome.EDITS_UNAVAILABLE


class SpendLimitReached(DailyLimitReached):
    """The job's estimated cost would pass today's spend ceiling of the whole bot or of
    the server (``scope``: the outcome's word); nothing was reserved or charged. The
    amounts (``limit``, ``left``, ``needed``) are in ticks of 1e-10 USD."""


class VideoFailed(GenerationError):
    """The image service reported that a video failed to render."""

    outcome = Outcome.VIDEO_FAILED


class VideoExpired(GenerationError):
    """The image service reported a video expired before it was fetched."""

    outcome = Outcome.VIDEO_EXPIRED


class VideoTimedOut(GenerationError):
    """A video was not done within the longest wait for one."""

    outcome = Outcome.VIDEO_TIMED_OUT


class VideoUnavailable(GenerationError):
    """The gateway has no video endpoints (404/405 on the path): nothing is charged."""

    outcome = Outcome.VIDEO_UNAVAILABLE
