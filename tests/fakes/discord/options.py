"""Slash command options as a Discord client sends them, typed by the synced schema.

Users, roles, channels and attachments named by an option also go into the interaction's
``resolved`` data, as Discord sends them.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from typing import Any

from tests.fakes.discord.constants import ALL_PERMISSIONS, Json
from tests.fakes.discord.models import FakeAttachment
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.world import World


def _infer_type(value: object) -> int:
    """The option type a value suggests (for commands that were never synced)."""
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    if isinstance(value, (FakeAttachment, bytes, tuple)):
        return 11
    if isinstance(value, Mapping):
        return 1
    return 3


def _scalar_value(otype: int, value: object) -> Any:
    """A string, integer or boolean option as a client sends it."""
    if otype == 3:
        return value if isinstance(value, str) else str(value)
    if otype == 4:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        return value  # whatever a buggy client or proxy sends
    return bool(value)


class Options:
    """Builds the options (and their ``resolved`` data) of a slash command."""

    def __init__(self, state: DiscordState, world: World) -> None:
        self.state = state
        self.world = world

    def build(
        self,
        schema: list[Json] | None,
        given: Mapping[str, object],
        guild_id: int | None,
        resolved: Json,
        focused: str | None,
    ) -> list[Json]:
        """Options as Discord sends them, typed by the synced schema (or guessed without one)."""
        by_name = {o["name"]: o for o in schema or []}
        out: list[Json] = []
        for name, value in given.items():
            spec = by_name.get(name)
            if spec is None:
                if schema is not None:
                    raise ValueError(
                        f"option {name!r} is not in the synced command (have {sorted(by_name)})"
                    )
                otype = _infer_type(value)
            else:
                otype = int(spec["type"])
            if otype in (1, 2):
                sub_given = value if isinstance(value, Mapping) else {}
                sub = self.build(
                    spec.get("options") if spec else None, sub_given, guild_id, resolved, focused
                )
                out.append({"name": name, "type": otype, "options": sub})
                continue
            opt: Json = {
                "name": name,
                "type": otype,
                "value": self._option_value(otype, value, guild_id, resolved),
            }
            if focused == name:
                opt["focused"] = True
            out.append(opt)
        return out

    def _option_value(self, otype: int, value: object, guild_id: int | None, resolved: Json) -> Any:
        """An option's value; users, roles, channels and attachments also go in ``resolved``."""
        if otype in (3, 4, 5):
            return _scalar_value(otype, value)
        if (
            otype in (6, 9)
            and isinstance(value, int)
            and (otype == 6 or not self._is_role(value, guild_id))
        ):
            self._resolve_user(value, guild_id, resolved)
            return str(value)
        if otype in (8, 9) and isinstance(value, int) and guild_id is not None:
            role = self.world.guilds[guild_id].roles.get(value)
            if role is not None:
                resolved.setdefault("roles", {})[str(value)] = role.to_json()
            return str(value)
        if otype == 7 and isinstance(value, int):
            ch = self.world.channel(value)
            if ch is not None:
                data = self.world.channel_json(ch)
                data["permissions"] = str(ALL_PERMISSIONS)
                resolved.setdefault("channels", {})[str(value)] = data
            return str(value)
        if otype == 11:
            att = self._user_attachment(value)
            resolved.setdefault("attachments", {})[str(att.id)] = att.to_json(ephemeral=True)
            return str(att.id)
        return value

    def _resolve_user(self, user_id: int, guild_id: int | None, resolved: Json) -> None:
        resolved.setdefault("users", {})[str(user_id)] = self.world.user_json(user_id)
        if guild_id is not None:
            g = self.world.guilds[guild_id]
            if user_id in g.members:
                member = self.world.member_json(
                    g, user_id, permissions=self.world.member_permissions(user_id, guild_id)
                )
                member.pop("user")
                resolved.setdefault("members", {})[str(user_id)] = member

    def _is_role(self, value: int, guild_id: int | None) -> bool:
        return guild_id is not None and value in self.world.guilds[guild_id].roles

    def _user_attachment(self, value: object) -> FakeAttachment:
        """A file a user attached to an option, served by the fake's CDN."""
        if isinstance(value, FakeAttachment):
            att = value
        elif isinstance(value, bytes):
            att = FakeAttachment("file.bin", None, value)
        elif isinstance(value, tuple) and len(value) == 2:
            filename, data = value
            att = FakeAttachment(str(filename), mimetypes.guess_type(str(filename))[0], bytes(data))
        else:
            raise TypeError(
                f"attachment option needs FakeAttachment, bytes or (filename, bytes), not {value!r}"
            )
        if not att.id:
            att.id = self.state.new_id()
        if att.content_type is None:
            att.content_type = mimetypes.guess_type(att.filename)[0]
        att.url = (
            f"{self.state.http_base}/attachments/{self.state.channel_id}/{att.id}/{att.filename}"
        )
        self.state.registry.attachments[att.id] = att
        return att
