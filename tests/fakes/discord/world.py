"""Users and guilds (roles, channels, members): adding them, and their JSON.

Changes made while the bot is connected reach it as gateway events, as on Discord.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from tests.fakes.discord.constants import (
    ALL_PERMISSIONS,
    DEFAULT_APP_PERMISSIONS,
    DEFAULT_BOT_ROLE_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_MEMBER_PERMISSIONS,
    DEFAULT_NSFW_CHANNEL_ID,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILDS,
    P_ADMINISTRATOR,
    Json,
)
from tests.fakes.discord.errors import unknown
from tests.fakes.discord.guilds import Channel, Guild, Member, Role
from tests.fakes.discord.sessions import broadcast
from tests.fakes.discord.snowflakes import iso
from tests.fakes.discord.state import DiscordState


class World:
    """The users and guilds of the fake Discord."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state
        self.users = state.registry.users
        self.guilds = state.registry.guilds
        self.dm_channels = state.registry.dm_channels

    def _event(self, guild_id: int | None, event: str, data: Json, intent: int) -> None:
        self.state.spawn(broadcast(self.state.sessions, guild_id, event, data, intent))

    # ----------------------------------------------------------------- users

    def add_user(self, user_id: int, name: str, *, bot: bool = False) -> Json:
        """Add (or replace) a user."""
        user: Json = {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": None if bot else name.capitalize(),
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }
        if bot:
            user["bot"] = True
        self.users[user_id] = user
        return user

    def user_json(self, user_id: int | None) -> Json:
        """A user as Discord sends it (an unknown id becomes a new user)."""
        if user_id is None:
            raise KeyError("no user")
        if user_id not in self.users:
            self.add_user(user_id, f"user{user_id % 100000}")
        return dict(self.users[user_id])

    # ----------------------------------------------------------------- guilds

    def add_guild(self, guild_id: int, *, name: str = "Test Server", locale: str = "en-US") -> int:
        """Add a guild (with @everyone, a bot role, a text channel and an NSFW text channel)."""
        state = self.state
        guild = Guild(id=guild_id, name=name, owner_id=state.owner_user_id, locale=locale)
        guild.roles[guild_id] = Role(guild_id, "@everyone", DEFAULT_MEMBER_PERMISSIONS)
        bot_role = DEFAULT_BOT_ROLE_ID if guild_id == DEFAULT_GUILD_ID else state.new_id()
        guild.roles[bot_role] = Role(
            bot_role, state.bot_name, DEFAULT_APP_PERMISSIONS, position=1, managed=True
        )
        if guild_id == DEFAULT_GUILD_ID:
            general, nsfw = DEFAULT_CHANNEL_ID, DEFAULT_NSFW_CHANNEL_ID
        else:
            general, nsfw = state.new_id(), state.new_id()
        guild.channels[general] = Channel(general, guild_id, "general", position=0)
        guild.channels[nsfw] = Channel(nsfw, guild_id, "nsfw", nsfw=True, position=1)
        guild.default_channel_id, guild.nsfw_channel_id = general, nsfw
        guild.members[state.bot_user_id] = Member(state.bot_user_id, [bot_role], None)
        guild.members[state.owner_user_id] = Member(state.owner_user_id, [], ALL_PERMISSIONS)
        self.guilds[guild_id] = guild
        return guild_id

    def guild(self, guild_id: str | int) -> Guild:
        """A guild by id; an unknown one is Discord's 404, code 10004."""
        g = self.guilds.get(int(guild_id))
        if g is None:
            raise unknown("Guild", 10004)
        return g

    def _guild_or_default(self, guild_id: int | None) -> Guild:
        return self.guilds[guild_id or self.state.guild_id]

    def add_channel(self, name: str, *, guild_id: int | None = None, nsfw: bool = False) -> int:
        """Add a text channel to a guild (the first one by default)."""
        g = self._guild_or_default(guild_id)
        cid = self.state.new_id()
        g.channels[cid] = Channel(cid, g.id, name, nsfw=nsfw, position=len(g.channels))
        self._event(g.id, "CHANNEL_CREATE", self.channel_json(g.channels[cid]), INTENT_GUILDS)
        return cid

    def add_thread(self, name: str, *, parent_id: int, guild_id: int | None = None) -> int:
        """Add a public thread under a text channel (the first guild by default)."""
        g = self._guild_or_default(guild_id)
        if parent_id not in g.channels or g.channels[parent_id].is_thread:
            raise ValueError(f"no text channel {parent_id} in guild {g.id}")
        tid = self.state.new_id()
        g.channels[tid] = Channel(
            tid, g.id, name, type=11, parent_id=parent_id, owner_id=self.state.owner_user_id
        )
        data = {**self.channel_json(g.channels[tid]), "newly_created": True}
        self._event(g.id, "THREAD_CREATE", data, INTENT_GUILDS)
        return tid

    def add_role(
        self,
        name: str,
        *,
        permissions: int = 0,
        guild_id: int | None = None,
        role_id: int | None = None,
    ) -> int:
        """Add a role to a guild (the first one by default)."""
        g = self._guild_or_default(guild_id)
        rid = role_id or self.state.new_id()
        g.roles[rid] = Role(rid, name, permissions, position=len(g.roles))
        data = {"guild_id": str(g.id), "role": g.roles[rid].to_json()}
        self._event(g.id, "GUILD_ROLE_CREATE", data, INTENT_GUILDS)
        return rid

    def bot_role_id(self, guild_id: int | None = None) -> int:
        """The id of the bot's own (managed) role in a guild."""
        g = self._guild_or_default(guild_id)
        return next(role.id for role in g.roles.values() if role.managed)

    def set_role_permissions(
        self, role_id: int, permissions: int, *, guild_id: int | None = None
    ) -> None:
        """Change a role's permissions (the guild's id is @everyone) and tell the bot."""
        g = self._guild_or_default(guild_id)
        role = g.roles[role_id]
        role.permissions = permissions
        data = {"guild_id": str(g.id), "role": role.to_json()}
        self._event(g.id, "GUILD_ROLE_UPDATE", data, INTENT_GUILDS)

    # ----------------------------------------------------------------- members

    def add_member(
        self,
        user_id: int,
        *,
        name: str | None = None,
        roles: Sequence[int] = (),
        permissions: int | None = None,
        guild_id: int | None = None,
        nick: str | None = None,
    ) -> Json:
        """Add (or replace) a member; unknown role ids become roles without permissions.

        ``permissions`` fixes what interactions report for this member; by default it is
        computed from @everyone and the roles.
        """
        g = self._guild_or_default(guild_id)
        if user_id not in self.users or name is not None:
            self.add_user(user_id, name or f"user{user_id % 100000}")
        for rid in roles:
            if rid not in g.roles:
                self.add_role(f"role-{rid % 10000}", guild_id=g.id, role_id=rid)
        existed = user_id in g.members
        g.members[user_id] = Member(user_id, list(roles), permissions, nick=nick)
        data = self.member_json(g, user_id)
        event = "GUILD_MEMBER_UPDATE" if existed else "GUILD_MEMBER_ADD"
        self._event(g.id, event, {**data, "guild_id": str(g.id)}, INTENT_GUILD_MEMBERS)
        return data

    def member_permissions(self, user_id: int, guild_id: int | None = None) -> int:
        """What a member may do in a guild: the override, or @everyone and the roles."""
        g = self._guild_or_default(guild_id)
        member = g.members.get(user_id)
        if member is not None and member.permissions is not None:
            return member.permissions
        if user_id == g.owner_id:
            return ALL_PERMISSIONS
        perms = g.roles[g.id].permissions
        for rid in member.roles if member else []:
            role = g.roles.get(rid)
            if role is not None:
                perms |= role.permissions
        return ALL_PERMISSIONS if perms & P_ADMINISTRATOR else perms

    def member_json(self, g: Guild, user_id: int, *, permissions: int | None = None) -> Json:
        """A guild member as Discord sends it (an unknown one joins without roles)."""
        member = g.members.get(user_id)
        if member is None:
            member = g.members[user_id] = Member(user_id, [], None)
        data: Json = {
            "user": self.user_json(user_id),
            "roles": [str(r) for r in member.roles],
            "joined_at": iso(member.joined_wall),
            "premium_since": None,
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "pending": False,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    # ----------------------------------------------------------------- channels

    def channel(self, channel_id: int) -> Channel | None:
        """A guild channel or a DM channel by id."""
        for g in self.guilds.values():
            if channel_id in g.channels:
                return g.channels[channel_id]
        for ch in self.dm_channels.values():
            if ch.id == channel_id:
                return ch
        return None

    def text_channel(self, channel_id: str | int) -> Channel:
        """A channel by id; an unknown one is Discord's 404, code 10003."""
        ch = self.channel(int(channel_id))
        if ch is None:
            raise unknown("Channel", 10003)
        return ch

    def channel_json(self, channel: Channel) -> Json:
        """A channel as Discord sends it."""
        return channel.to_json(self.user_json)

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the bot's DM channel with a user (made on first use)."""
        ch = self.dm_channels.get(user_id)
        if ch is None:
            ch = self.dm_channels[user_id] = Channel(
                self.state.new_id(), None, "", type=1, recipient_id=user_id
            )
        return ch.id

    def guild_create_json(self, g: Guild) -> Json:
        """The GUILD_CREATE payload of a guild: everything, members and channels included."""
        return {
            "id": str(g.id),
            "name": g.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(g.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in g.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(g.default_channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": g.locale,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": iso(time.time() - 86400),
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(g.members),
            "voice_states": [],
            "members": [self.member_json(g, uid) for uid in g.members],
            "channels": [
                {k: v for k, v in self.channel_json(ch).items() if k != "guild_id"}
                for ch in g.channels.values()
                if not ch.is_thread
            ],
            "threads": [self.channel_json(ch) for ch in g.channels.values() if ch.is_thread],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "version": int(time.time() * 1000),
        }
