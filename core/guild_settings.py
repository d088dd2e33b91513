"""A server's own rules for ``/imagine``, as one plain value.

The store keeps it as one JSON document per server, so any store (SQLite today, a
key-value store later) can read and replace it in one operation. Unknown keys are ignored
and missing keys take their defaults, so a document written by another version still loads.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

log = logging.getLogger(__name__)

#: How many blocked terms a server may keep, and how long one may be.
MAX_TERMS = 200
MAX_TERM_LENGTH = 100
#: How many channels and exempt roles a server may list.
MAX_CHANNELS = 50
MAX_EXEMPT_ROLES = 25
#: The longest cooldown a server may set (a week, as for COOLDOWN_SECONDS).
MAX_COOLDOWN_SECONDS = 7 * 24 * 3600
#: The largest daily quota or budget a server may set.
MAX_DAILY_IMAGES = 1_000_000


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """Every per-server setting; the defaults are what a server gets before any change."""

    #: Whether /imagine works in this server at all.
    enabled: bool = True
    #: Channel (or category) ids where /imagine may run; a thread counts as its parent
    #: channel. Empty: everywhere.
    channels: tuple[int, ...] = ()
    #: Blocked words or phrases, as the admins typed them.
    blocked_terms: tuple[str, ...] = ()
    #: Allow /imagine only in age-restricted (NSFW) channels.
    nsfw_only: bool = False
    #: Send every result as a spoiler.
    spoilers: bool = False
    #: Seconds a member waits after a delivered job; None: the bot's COOLDOWN_SECONDS.
    cooldown_seconds: float | None = None
    #: The largest ``n`` allowed; None: the command's own limit.
    max_n: int | None = None
    #: Allowed models (a subset of the configured ones); empty: all configured models.
    models: tuple[str, ...] = ()
    #: Allowed resolutions; empty: all.
    resolutions: tuple[str, ...] = ()
    #: Role ids exempt from the cooldown and the per-user quota.
    exempt_roles: tuple[int, ...] = ()
    #: Channel id of the mod log; None: no mod log.
    modlog_channel: int | None = None
    #: Whether anyone, not only the requester, may press Re-roll.
    reroll_open: bool = False
    #: Images a member may make per UTC day here; None: DAILY_USER_QUOTA; 0: no limit.
    user_quota: int | None = None
    #: Images the whole server may make per UTC day; None: DAILY_GUILD_BUDGET; 0: no limit.
    guild_budget: int | None = None
    #: Whether members may edit pictures here (/imagine with pictures, the Edit button).
    edits: bool = True
    #: Whether they may edit pictures people uploaded, not only the bot's own results.
    edit_uploads: bool = False
    #: Whether members may make video clips here (/animate); off until an admin turns it on.
    video: bool = False
    #: Seconds of video a member, and the whole server, may make per UTC day here; None:
    #: DAILY_USER_VIDEO_SECONDS, DAILY_GUILD_VIDEO_SECONDS; 0: no limit.
    user_video_seconds: int | None = None
    guild_video_seconds: int | None = None
    #: The server's daily spend ceiling in ticks of 1e-10 USD; None: no ceiling.
    spend_limit_ticks: int | None = None
    #: Anything a newer version wrote that this one does not know, kept on save.
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> str:
        """One JSON document (tuples become lists)."""
        data = asdict(self)
        extra = data.pop("extra")
        return json.dumps({**extra, **data}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, document: str | None) -> GuildSettings:
        """Read a document written by ``to_json``; a broken one gives the defaults."""
        if not document:
            return cls()
        try:
            data = json.loads(document)
        except ValueError:
            log.warning("unreadable server settings document; using the defaults")
            return cls()
        if not isinstance(data, dict):
            return cls()
        known = {f.name for f in fields(cls)} - {"extra"}
        values: dict[str, Any] = {}
        for name in known & data.keys():
            value = data[name]
            values[name] = tuple(value) if isinstance(value, list) else value
        try:
            settings = cls(**values)
        except TypeError:
            log.warning("server settings document has wrong fields; using the defaults")
            return cls()
        extra = {k: v for k, v in data.items() if k not in known}
        return replace(settings, extra=extra) if extra else settings

    def user_quota_or(self, default: int) -> int:
        """Images a member may make per day here (0: no limit)."""
        return default if self.user_quota is None else self.user_quota

    def guild_budget_or(self, default: int) -> int:
        """Images the server may make per day (0: no limit)."""
        return default if self.guild_budget is None else self.guild_budget

    def user_video_seconds_or(self, default: int) -> int:
        """Seconds of video a member may make per day here (0: no limit)."""
        return default if self.user_video_seconds is None else self.user_video_seconds

    def guild_video_seconds_or(self, default: int) -> int:
        """Seconds of video the server may make per day (0: no limit)."""
        return default if self.guild_video_seconds is None else self.guild_video_seconds

    def cooldown_or(self, default: float) -> float:
        """Seconds a member waits after a delivered job here."""
        return default if self.cooldown_seconds is None else self.cooldown_seconds

    def effective_models(self, configured: tuple[str, ...]) -> tuple[str, ...]:
        """The models members may pick here: the allowed ones that are still configured."""
        allowed = tuple(m for m in configured if m in self.models) if self.models else ()
        return allowed or configured

    def effective_resolutions(self, available: tuple[str, ...]) -> tuple[str, ...]:
        """The resolutions members may pick here."""
        allowed = tuple(r for r in available if r in self.resolutions) if self.resolutions else ()
        return allowed or available
