"""The servers (guilds) the fake knows: their roles, channels and members."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fakes.discord.constants import Json
from tests.fakes.discord.snowflakes import iso

#: Announcement, public and private threads.
THREAD_TYPES = (10, 11, 12)


@dataclass
class Role:
    """A role: its permissions, and whether it is a bot's managed role."""

    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    color: int = 0

    def to_json(self) -> Json:
        """The role as Discord sends it."""
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": False,
            "managed": self.managed,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class Channel:
    """A guild text channel, or a DM channel (``guild_id`` None, type 1)."""

    id: int
    guild_id: int | None
    name: str
    type: int = 0
    nsfw: bool = False
    position: int = 0
    recipient_id: int | None = None
    #: A thread's channel (threads are type 11, public).
    parent_id: int | None = None
    owner_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def thread_fields(self) -> Json:
        """What a thread carries besides a channel's fields."""
        return {
            "owner_id": str(self.owner_id or 0),
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": iso(time.time()),
                "locked": False,
                "create_timestamp": iso(time.time()),
            },
        }

    def to_json(self, user_json: Callable[[int], Json]) -> Json:
        """The channel as Discord sends it (``user_json`` gives a DM's recipient)."""
        if self.guild_id is None:
            recipients = [user_json(self.recipient_id)] if self.recipient_id is not None else []
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": recipients,
            }
        data: Json = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": self.nsfw,
            "topic": None,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }
        if self.is_thread:
            for key in ("position", "permission_overwrites", "topic"):
                del data[key]
            data.update(self.thread_fields())
        return data


@dataclass
class Member:
    """A guild member; ``permissions`` fixes what interactions report."""

    user_id: int
    roles: list[int]
    permissions: int | None  # explicit override for interactions; None = computed
    nick: str | None = None
    joined_wall: float = field(default_factory=time.time)


@dataclass
class Guild:
    """A guild with its channels, roles and members, by id."""

    id: int
    name: str
    owner_id: int
    channels: dict[int, Channel] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    default_channel_id: int = 0
    nsfw_channel_id: int = 0
    locale: str = "en-US"
