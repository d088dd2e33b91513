"""Who and where: the bot user, users and DMs, the application, the gateway, guilds, channels."""

from __future__ import annotations

from tests.fakes.discord.constants import Json
from tests.fakes.discord.errors import form_error, unknown
from tests.fakes.discord.rest import SNOWFLAKE, Req, Route, route
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.world import World


class DirectoryRoutes:
    """Read-mostly routes about users, the application, guilds and channels."""

    def __init__(self, state: DiscordState, world: World) -> None:
        self.state = state
        self.world = world

    def routes(self) -> list[Route]:
        """This area's routes."""
        snow = SNOWFLAKE
        return [
            route("GET", r"/users/@me", self.get_me),
            route("GET", rf"/users/{snow}", self.get_user),
            route("POST", r"/users/@me/channels", self.create_dm),
            route("GET", r"/oauth2/applications/@me", self.get_application),
            route("GET", r"/applications/@me", self.get_application),
            route("GET", r"/gateway", self.get_gateway),
            route("GET", r"/gateway/bot", self.get_gateway_bot),
            route("GET", rf"/channels/{snow}", self.get_channel),
            route("POST", rf"/channels/{snow}/typing", self.typing),
            route("GET", rf"/guilds/{snow}", self.get_guild),
            route("GET", rf"/guilds/{snow}/channels", self.get_guild_channels),
            route("GET", rf"/guilds/{snow}/roles", self.get_guild_roles),
            route("GET", rf"/guilds/{snow}/members/{snow}", self.get_guild_member),
        ]

    async def get_me(self, req: Req) -> Json:
        """``GET /users/@me``: the bot user (the first call of a login)."""
        user = self.world.user_json(self.state.bot_user_id)
        user.update(
            {"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None, "bio": ""}
        )
        return user

    async def get_user(self, req: Req) -> Json:
        """``GET /users/{id}``."""
        uid = int(req.match[0])
        guilds = self.world.guilds.values()
        if uid not in self.world.users and not any(uid in g.members for g in guilds):
            raise unknown("User", 10013)
        return self.world.user_json(uid)

    async def create_dm(self, req: Req) -> Json:
        """``POST /users/@me/channels``: the DM channel with a user."""
        payload = req.payload()
        try:
            uid = int(payload["recipient_id"])
        except (KeyError, TypeError, ValueError):
            raise form_error(
                ["recipient_id"], "BASE_TYPE_REQUIRED", "This field is required"
            ) from None
        self.world.dm_channel_id(uid)
        return self.world.channel_json(self.world.dm_channels[uid])

    def application_json(self) -> Json:
        """The application, as login's second call gets it."""
        state = self.state
        return {
            "id": str(state.application_id),
            "name": state.bot_name,
            "icon": None,
            "description": "Image generation bot (test double)",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": state.application_flags,
            "owner": self.world.user_json(state.owner_user_id),
            "team": None,
            "bot": self.world.user_json(state.bot_user_id),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.world.guilds),
            "integration_types_config": {"0": {}, "1": {}},
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        }

    async def get_application(self, req: Req) -> Json:
        """``GET /oauth2/applications/@me``."""
        return self.application_json()

    async def get_gateway(self, req: Req) -> Json:
        """``GET /gateway``."""
        return {"url": self.state.gateway_url}

    async def get_gateway_bot(self, req: Req) -> Json:
        """``GET /gateway/bot``: the URL and the recommended shard count."""
        return {
            "url": self.state.gateway_url,
            "shards": self.state.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def get_guild(self, req: Req) -> Json:
        """``GET /guilds/{id}``: GUILD_CREATE's data without members, channels and the like."""
        data = self.world.guild_create_json(self.world.guild(req.match[0]))
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
        ):
            data.pop(key, None)
        return data

    async def get_guild_channels(self, req: Req) -> list[Json]:
        """``GET /guilds/{id}/channels``."""
        channels = self.world.guild(req.match[0]).channels.values()
        return [self.world.channel_json(ch) for ch in channels]

    async def get_guild_roles(self, req: Req) -> list[Json]:
        """``GET /guilds/{id}/roles``."""
        return [r.to_json() for r in self.world.guild(req.match[0]).roles.values()]

    async def get_guild_member(self, req: Req) -> Json:
        """``GET /guilds/{id}/members/{user_id}``."""
        g = self.world.guild(req.match[0])
        uid = int(req.match[1])
        if uid not in g.members:
            raise unknown("Member", 10007)
        return self.world.member_json(g, uid)

    async def get_channel(self, req: Req) -> Json:
        """``GET /channels/{id}``."""
        return self.world.channel_json(self.world.text_channel(req.match[0]))

    async def typing(self, req: Req) -> None:
        """``POST /channels/{id}/typing``."""
        self.world.text_channel(req.match[0])
