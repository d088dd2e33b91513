"""What the job service needs from the chat platform, and the plain data it speaks in.

The service never sees Discord: it talks to one :class:`JobPort` per job (implemented by the
Discord layer, which turns notices into words from its catalog and cards into embeds and
buttons), and asks a :class:`PortFactory` for a port rebuilt from the journal when it takes
over a job another process (or an earlier run of this one) left unfinished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from core import errors
from core.guild_settings import GuildSettings
from core.journal import InteractionRef
from core.models import ImageFile, InputSource
from core.storage import JobRecord


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked for a job, and where: what admission needs to know of the request."""

    user_id: int
    guild_id: int | None
    channel_id: int | None
    locale: str | None
    #: The member's role ids (none outside a server): exempt roles are among them.
    role_ids: tuple[int, ...] = ()
    #: The parent channel of a thread (a thread is allowed where its parent is).
    parent_id: int | None = None
    #: The category the channel is in.
    category_id: int | None = None
    channel_nsfw: bool = False
    #: How to answer the request later (its token lets the bot post for 15 minutes).
    interaction: InteractionRef | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A line for the requester: a message key of the catalog and the values it names."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, key: str, **values: Any) -> Notice:
        return cls(key, values)


class Stage(Enum):
    """What a job's status message says."""

    #: In line (for a slot of this process, or an API slot shared by every process),
    #: with a Cancel offer.
    WAITING = "waiting"
    #: Out of line: the job is being made.
    STARTED = "started"
    #: The process stops before the job started; the next one will go on with it.
    SUSPENDED = "suspended"
    #: A clip renders at the image service (or downloads), with a Cancel offer.
    RENDERING = "rendering"


@dataclass(frozen=True, slots=True)
class Status:
    stage: Stage
    #: The place in line while waiting (1 is next).
    place: int = 0
    #: While rendering: what happens now (``rendering``, ``downloading``), the progress
    #: the image service reports (percent) and the seconds since the request.
    detail: str = ""
    progress: int = 0
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """One file of a result, named as the requester sees it."""

    file: ImageFile
    name: str
    spoiler: bool = False


@dataclass(frozen=True, slots=True)
class ResultCard:
    """What the first message of a result says about the job, beside its files."""

    job_id: str
    requester_id: int
    prompt: str
    model: str
    #: How many were asked for.
    n: int
    aspect_ratio: str | None
    resolution: str | None
    #: How many are delivered.
    delivered: int
    #: Withheld by the image service's moderation; made but unusable; too large to post.
    withheld: int = 0
    unusable: int = 0
    left_out: int = 0
    elapsed: float = 0.0
    spoiler: bool = False
    #: An edit's input pictures (empty for a generation), and the server they are in.
    sources: tuple[InputSource, ...] = ()
    guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class JobSummary:
    """A mod-log entry of one job (or one blocked prompt)."""

    job_id: str
    user_id: int
    guild_id: int | None
    channel_id: int | None
    prompt: str
    model: str
    n: int
    aspect_ratio: str | None
    resolution: str | None
    outcome: str
    images: int = 0
    cost_usd_ticks: int | None = None
    result_message_id: int | None = None
    #: The blocked term that matched (for the moderators only, never the requester).
    term: str | None = None
    #: An edit's input pictures (empty for a generation).
    sources: tuple[InputSource, ...] = ()
    #: The cost is an estimate from the price table (the API reported none).
    cost_estimated: bool = False


@dataclass(frozen=True, slots=True)
class OutOfCredits:
    """A mod-log notice: the image service's account ran out of credits."""


@dataclass(frozen=True, slots=True)
class MemberPaused:
    """A mod-log notice: a member sent ``attempts`` blocked prompts within
    ``window_seconds`` and may not use the command in the server until ``paused_until``
    (one entry for the run; the last prompt is ``job_id``'s, and matched ``term``)."""

    user_id: int
    channel_id: int | None
    job_id: str
    attempts: int
    window_seconds: float
    paused_until: float
    term: str | None = None


@dataclass(frozen=True, slots=True)
class SpendCeilingReached:
    """A mod-log notice: a daily spend ceiling turns requests away. ``ceiling`` is the
    refusal's outcome word (``spend_limit``: the whole bot's, ``guild_spend_limit``: the
    server's); ``limit`` and ``left`` are in ticks (1e-10 USD); the count starts again at
    ``resets_at``. ``user_id`` and ``channel_id`` are the request that found it reached."""

    ceiling: str
    limit: int
    left: int
    resets_at: float
    user_id: int
    channel_id: int | None = None


ModLogEntry = JobSummary | OutOfCredits | MemberPaused | SpendCeilingReached


class UploadRefused(errors.DeliveryFailed):
    """The platform refused one batch of files (``status`` and ``code`` are its answer)."""

    def __init__(self, *, status: int, code: int) -> None:
        super().__init__(f"HTTP {status}", status=status)
        self.code = code


class UploadTooLarge(UploadRefused):
    """The platform refused one batch as too large (413): the service re-plans smaller."""


class JobPort(Protocol):
    """Where one job's messages go, and how the requester is answered.

    Every method is best effort except :meth:`send`: a notice that cannot be shown is
    logged by the port, never raised.
    """

    #: The largest one file may be where the job posts (the platform tells).
    filesize_limit: int

    async def acknowledge(self, job_id: str, *, modlog_channel: int | None) -> bool:
        """Tell the requester the job is accepted (Discord: defer); False when it is too
        late for that (nobody waits for the answer any more). From now on the port speaks
        for ``job_id``; it names missing permissions in ``modlog_channel``."""
        ...

    async def show_status(self, status: Status) -> None:
        """Show the job's status in its first message (best effort)."""
        ...

    async def send(self, files: Sequence[OutgoingFile], card: ResultCard | None) -> int:
        """Post one message of the result (the card, with the result's buttons, goes on
        the first); its id. Raises :class:`UploadTooLarge` when the platform refuses the
        files as too large, :class:`UploadRefused` when it refuses them otherwise."""
        ...

    async def say(self, notice: Notice | errors.GenerationError, *, private: bool = True) -> None:
        """Tell the requester a notice or an error, wherever that still works; privately
        where that can be had."""
        ...

    async def say_in_channel(self, notice: Notice) -> None:
        """Post a notice in the job's channel, naming the requester (whose interaction
        can no longer be answered)."""
        ...

    def post_modlog(self, channel_id: int, entry: ModLogEntry) -> None:
        """Post a mod-log entry in the background."""
        ...


class PortFactory(Protocol):
    """Rebuilds the port of a journaled job (taken over after a restart, or from a
    process that died)."""

    def port_for(self, record: JobRecord, guild_settings: GuildSettings | None) -> JobPort:
        """The port of ``record``'s job, answering through its interaction while its
        token lasts, else in its channel."""
        ...
