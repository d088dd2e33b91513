"""A fake Discord (REST API and gateway) that the real, unmodified discord.py talks to.

The end-to-end tests point the bot at this server through ``DISCORD_API_BASE_URL`` and
``DISCORD_GATEWAY_URL`` (``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``).  It listens on 127.0.0.1 only, on a
port chosen by the system, and serves on one aiohttp server:

* ``/api/v10/...``: the REST routes the bot uses (login, command sync, interaction callbacks,
  webhook follow-ups, channel messages) with Discord's error codes and limits;
* ``/``: the gateway websocket (HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats, RESUME,
  several shards and sessions at once), in plain JSON text frames;
* ``/attachments/...``: a small CDN serving the files the bot uploaded.

Tests drive it from the user's side (:meth:`FakeDiscord.send_slash_command`,
:meth:`FakeDiscord.press_button`) and inspect what the bot did: every REST request, every
interaction callback and every message, each with a ``time.monotonic()`` timestamp.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import json
import logging
import math
import mimetypes
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any, Final

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_APP_PERMISSIONS",
    "DEFAULT_MEMBER_PERMISSIONS",
    "DEFAULT_USER_ID",
    "FakeAttachment",
    "FakeDiscord",
    "FakeInteraction",
    "FakeMessage",
    "GatewaySession",
    "RecordedPart",
    "RecordedRequest",
    "guild_id_for_shard",
    "make_snowflake",
]

API_PREFIX: Final = "/api/v10"
DISCORD_EPOCH_MS: Final = 1_420_070_400_000

# Message flags.
FLAG_SUPPRESS_EMBEDS: Final = 1 << 2
FLAG_EPHEMERAL: Final = 1 << 6
FLAG_LOADING: Final = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS: Final = 1 << 12
FLAG_COMPONENTS_V2: Final = 1 << 15
_CREATE_FLAGS: Final = (
    FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2
)

# Gateway intents the fake looks at.
INTENT_GUILDS: Final = 1 << 0
INTENT_GUILD_MEMBERS: Final = 1 << 1
INTENT_GUILD_PRESENCES: Final = 1 << 8
INTENT_GUILD_MESSAGES: Final = 1 << 9
INTENT_DIRECT_MESSAGES: Final = 1 << 12
INTENT_MESSAGE_CONTENT: Final = 1 << 15
PRIVILEGED_INTENTS: Final = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
_KNOWN_INTENTS: Final = (1 << 26) - 1

# Permission bits.
_P_CREATE_INSTANT_INVITE: Final = 1 << 0
_P_ADMINISTRATOR: Final = 1 << 3
_P_ADD_REACTIONS: Final = 1 << 6
_P_VIEW_CHANNEL: Final = 1 << 10
_P_SEND_MESSAGES: Final = 1 << 11
_P_EMBED_LINKS: Final = 1 << 14
_P_ATTACH_FILES: Final = 1 << 15
_P_READ_MESSAGE_HISTORY: Final = 1 << 16
_P_USE_EXTERNAL_EMOJIS: Final = 1 << 18
_P_CONNECT: Final = 1 << 20
_P_SPEAK: Final = 1 << 21
_P_CHANGE_NICKNAME: Final = 1 << 26
_P_USE_APPLICATION_COMMANDS: Final = 1 << 31
_P_CREATE_PUBLIC_THREADS: Final = 1 << 35
_P_SEND_MESSAGES_IN_THREADS: Final = 1 << 38
_P_USE_EMBEDDED_ACTIVITIES: Final = 1 << 39

ALL_PERMISSIONS: Final = (1 << 51) - 1
#: What @everyone may do in a fresh server.
DEFAULT_MEMBER_PERMISSIONS: Final = (
    _P_CREATE_INSTANT_INVITE
    | _P_ADD_REACTIONS
    | _P_VIEW_CHANNEL
    | _P_SEND_MESSAGES
    | _P_EMBED_LINKS
    | _P_ATTACH_FILES
    | _P_READ_MESSAGE_HISTORY
    | _P_USE_EXTERNAL_EMOJIS
    | _P_CONNECT
    | _P_SPEAK
    | _P_CHANGE_NICKNAME
    | _P_USE_APPLICATION_COMMANDS
    | _P_CREATE_PUBLIC_THREADS
    | _P_SEND_MESSAGES_IN_THREADS
    | _P_USE_EMBEDDED_ACTIVITIES
)
#: What the bot may do (@everyone plus its managed role).
DEFAULT_APP_PERMISSIONS: Final = DEFAULT_MEMBER_PERMISSIONS

# Fixed snowflakes (all around 2022-08, well-formed).
APPLICATION_ID: Final = 1_010_000_000_000_000_001
BOT_USER_ID: Final = APPLICATION_ID
OWNER_USER_ID: Final = 1_010_000_000_000_000_300
DEFAULT_USER_ID: Final = 1_010_000_000_000_000_400
DEFAULT_GUILD_ID: Final = 1_010_000_000_000_000_100
DEFAULT_CHANNEL_ID: Final = 1_010_000_000_000_000_200
DEFAULT_NSFW_CHANNEL_ID: Final = 1_010_000_000_000_000_201
DEFAULT_BOT_ROLE_ID: Final = 1_010_000_000_000_000_150

HEARTBEAT_INTERVAL_MS: Final = 41_250
MAX_FILES: Final = 10
MAX_CONTENT: Final = 2000
MAX_EMBEDS: Final = 10
MAX_EMBED_TOTAL: Final = 6000
_EMBED_FIELD_LIMITS: Final = {"title": 256, "description": 4096}
_COMMAND_NAME_RE: Final = re.compile(r"^[-_'\w]{1,32}$")
_ID_IN_PATH: Final = re.compile(r"/(\d{15,}|[A-Za-z0-9_-]{40,})")

Json = dict[str, Any]


def make_snowflake(unix_ms: int, increment: int = 0, worker: int = 1) -> int:
    """Build a snowflake for a Unix time in milliseconds."""
    return ((unix_ms - DISCORD_EPOCH_MS) << 22) | ((worker & 0x1F) << 17) | (increment & 0xFFF)


def guild_id_for_shard(shard_id: int, shard_count: int, index: int = 0) -> int:
    """A guild id that Discord routes to ``shard_id`` of ``shard_count``.

    Discord's rule: ``(guild_id >> 22) % shard_count``.
    """
    if not 0 <= shard_id < shard_count:
        raise ValueError(f"shard_id {shard_id} out of range for {shard_count} shards")
    base = (DEFAULT_GUILD_ID >> 22) + 1000 + index * shard_count
    ms_since_epoch = base + (shard_id - base) % shard_count
    return (ms_since_epoch << 22) | (2 << 17) | (index & 0xFFF)


def shard_for(guild_id: int | None, shard_count: int) -> int:
    """The shard that owns a guild; direct messages go to shard 0."""
    if guild_id is None:
        return 0
    return (guild_id >> 22) % max(shard_count, 1)


def _iso(wall: float) -> str:
    return datetime.datetime.fromtimestamp(wall, datetime.UTC).isoformat()


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------------------
# Recorded data
# --------------------------------------------------------------------------------------


@dataclass
class RecordedPart:
    """One part of a multipart request body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    """One REST request, as received, and the status the fake answered."""

    method: str
    path: str  # full path, e.g. "/api/v10/interactions/1/tok/callback"
    route: str  # path without the API prefix
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    parts: list[RecordedPart]
    body: bytes
    time: float
    status: int = 0
    response: Any = None
    token: str | None = None  # interaction token if the route carries one
    injected: bool = False
    answered: float | None = None

    @property
    def body_size(self) -> int:
        return len(self.body)

    @property
    def error_code(self) -> int | None:
        if isinstance(self.response, dict):
            code = self.response.get("code")
            return code if isinstance(code, int) else None
        return None

    @property
    def files(self) -> list[RecordedPart]:
        return [p for p in self.parts if p.filename is not None]


@dataclass(eq=False)
class FakeAttachment:
    """A file the bot uploaded (or a user attached to an option)."""

    filename: str
    content_type: str | None
    data: bytes
    id: int = 0
    description: str | None = None
    declared_content_type: str | None = None
    url: str = ""

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def spoiler(self) -> bool:
        return self.filename.startswith("SPOILER_")

    def image_size(self) -> tuple[int, int] | None:
        """Width and height for PNG data (what Discord reports for images)."""
        d = self.data
        if len(d) >= 24 and d[:8] == b"\x89PNG\r\n\x1a\n":
            return int.from_bytes(d[16:20], "big"), int.from_bytes(d[20:24], "big")
        return None

    def to_json(self, *, ephemeral: bool = False) -> Json:
        out: Json = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url.replace("/attachments/", "/media-attachments/", 1),
        }
        if self.content_type:
            out["content_type"] = self.content_type
        if self.description is not None:
            out["description"] = self.description
        dims = self.image_size()
        if dims is not None:
            out["width"], out["height"] = dims
        if ephemeral:
            out["ephemeral"] = True
        return out


@dataclass(eq=False)
class FakeMessage:
    """A message the bot created: a channel message, an interaction reply or a follow-up.

    ``created`` is when the message became visible with content: for a deferred reply that
    is when the first follow-up (or edit) replaced "thinking…", not the defer itself
    (``deferred_at``).  ``history`` holds a snapshot of every version, the current one last.
    """

    id: int
    channel_id: int
    guild_id: int | None
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: Json | None = None
    attachments: list[FakeAttachment] = field(default_factory=list)
    interaction_id: int | None = None
    created: float = field(default_factory=time.monotonic)
    edits: int = 0
    deleted: bool = False
    loading: bool = False
    tts: bool = False
    type: int = 0
    webhook_id: int | None = None
    author_id: int = BOT_USER_ID
    message_reference: Json | None = None
    sticker_ids: list[str] = field(default_factory=list)
    poll: Json | None = None
    deferred_at: float | None = None
    edited: float | None = None
    deleted_at: float | None = None
    wall_created: float = field(default_factory=time.time)
    wall_edited: float | None = None
    history: list[Json] = field(default_factory=list)
    payloads: list[Json] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def filenames(self) -> list[str]:
        return [a.filename for a in self.attachments]

    def custom_ids(self) -> list[str]:
        """Every ``custom_id`` in the message's components, in order."""
        return [c["custom_id"] for c in _walk_components(self.components) if "custom_id" in c]

    def find_component(self, custom_id: str) -> Json | None:
        for comp in _walk_components(self.components):
            if comp.get("custom_id") == custom_id:
                return comp
        return None

    def snapshot(self, when: float) -> Json:
        return {
            "time": when,
            "content": self.content,
            "embeds": json.loads(_dumps(self.embeds)),
            "components": json.loads(_dumps(self.components)),
            "attachments": [a.filename for a in self.attachments],
            "flags": self.flags,
            "loading": self.loading,
        }


def _walk_components(components: Sequence[Any]) -> Iterator[Json]:
    for comp in components:
        if not isinstance(comp, dict):
            continue
        yield comp
        children = comp.get("components")
        if isinstance(children, list):
            yield from _walk_components(children)
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield from _walk_components([accessory])


@dataclass(eq=False)
class FakeInteraction:
    """One interaction sent to the bot, and everything the bot did with its token.

    ``messages`` holds, in order of becoming visible, the reply (``@original``) and the
    follow-ups.  A deferred reply joins it only when a follow-up or an edit gives it content;
    until then it is ``original`` with ``loading`` set.  For a component interaction answered
    with type 6 or 7, ``original`` is the message that carries the component (not in
    ``messages``: it was not created by this interaction).
    """

    id: int
    token: str
    application_id: int
    user_id: int
    guild_id: int | None
    channel_id: int
    created: float
    type: int = 2
    name: str | None = None
    custom_id: str | None = None
    payload: Json = field(default_factory=dict)
    attachment_size_limit: int = 10 * 1024 * 1024
    defer_deadline: float = 3.0
    token_lifetime: float = 15 * 60
    callbacks: list[Json] = field(default_factory=list)
    messages: list[FakeMessage] = field(default_factory=list)
    original: FakeMessage | None = None
    component_message: FakeMessage | None = None
    shard_id: int = 0
    session_id: str | None = None
    delivered: bool = False
    _fake: FakeDiscord | None = field(default=None, repr=False)

    @property
    def responded(self) -> bool:
        return bool(self.callbacks)

    @property
    def deferred(self) -> bool:
        return bool(self.callbacks) and self.callbacks[0]["type"] in (5, 6)

    @property
    def callback_latency(self) -> float | None:
        """Seconds from the event to the first accepted callback."""
        return self.callbacks[0]["time"] - self.created if self.callbacks else None

    @property
    def options(self) -> list[Json]:
        data = self.payload.get("data") or {}
        opts = data.get("options")
        return list(opts) if isinstance(opts, list) else []

    def _require_fake(self) -> FakeDiscord:
        if self._fake is None:
            raise RuntimeError("interaction is not attached to a FakeDiscord")
        return self._fake

    async def wait_for_callback(self, timeout: float = 10) -> Json:
        fake = self._require_fake()
        await fake.wait_for(
            lambda: bool(self.callbacks), timeout, f"a callback for interaction {self.id}"
        )
        return self.callbacks[0]

    async def wait_for_messages(self, count: int = 1, timeout: float = 30) -> list[FakeMessage]:
        fake = self._require_fake()
        await fake.wait_for(
            lambda: len(self.messages) >= count,
            timeout,
            f"{count} message(s) for interaction {self.id} (have {len(self.messages)})",
        )
        return list(self.messages)

    async def wait_for_edits(self, edits: int = 1, timeout: float = 30) -> FakeMessage:
        """Wait until ``original`` has been edited ``edits`` times."""
        fake = self._require_fake()

        def done() -> bool:
            return self.original is not None and self.original.edits >= edits

        await fake.wait_for(done, timeout, f"{edits} edit(s) of @original of interaction {self.id}")
        assert self.original is not None
        return self.original

    def requests(self) -> list[RecordedRequest]:
        """Every REST request that carried this interaction's token."""
        return [r for r in self._require_fake().requests if r.token == self.token]

    def rejected(self) -> list[RecordedRequest]:
        """Requests for this token that the fake answered with a 4xx error."""
        return [r for r in self.requests() if 400 <= r.status < 500]


# --------------------------------------------------------------------------------------
# Guild model
# --------------------------------------------------------------------------------------


@dataclass
class _Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    color: int = 0

    def to_json(self) -> Json:
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
class _Channel:
    id: int
    guild_id: int | None
    name: str
    type: int = 0
    nsfw: bool = False
    position: int = 0
    recipient_id: int | None = None

    def to_json(self, fake: FakeDiscord) -> Json:
        if self.guild_id is None:
            recipients = (
                [fake.user_json(self.recipient_id)] if self.recipient_id is not None else []
            )
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": recipients,
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": self.nsfw,
            "topic": None,
            "parent_id": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }


@dataclass
class _Member:
    user_id: int
    roles: list[int]
    permissions: int | None  # explicit override for interactions; None = computed
    nick: str | None = None
    joined_wall: float = field(default_factory=time.time)


@dataclass
class _Guild:
    id: int
    name: str
    owner_id: int
    channels: dict[int, _Channel] = field(default_factory=dict)
    roles: dict[int, _Role] = field(default_factory=dict)
    members: dict[int, _Member] = field(default_factory=dict)
    default_channel_id: int = 0
    nsfw_channel_id: int = 0
    locale: str = "en-US"


# --------------------------------------------------------------------------------------
# Gateway
# --------------------------------------------------------------------------------------


class _GatewayConnection:
    """One websocket connection (a session may span several through RESUME)."""

    def __init__(self, ws: web.WebSocketResponse, query: Mapping[str, str]) -> None:
        self.ws = ws
        self.query = dict(query)
        self.session: GatewaySession | None = None
        self.lock = asyncio.Lock()
        self.heartbeats = 0
        self.last_heartbeat: float | None = None
        self.opened = time.monotonic()
        self.closed = False

    async def send(self, payload: Json) -> bool:
        if self.closed or self.ws.closed:
            return False
        try:
            async with self.lock:
                await self.ws.send_str(_dumps(payload))
        except (ConnectionError, RuntimeError) as exc:
            log.debug("gateway send failed: %s", exc)
            self.closed = True
            return False
        return True

    async def close(self, code: int, message: str = "") -> None:
        self.closed = True
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError, asyncio.TimeoutError):
                await self.ws.close(code=code, message=message.encode())


@dataclass(eq=False)
class GatewaySession:
    """A gateway session: created by IDENTIFY, survives reconnects through RESUME."""

    session_id: str
    shard_id: int
    shard_count: int
    identify: Json
    intents: int
    identified: float
    conn: _GatewayConnection | None = None
    seq: int = 0
    buffer: list[Json] = field(default_factory=list)
    ready: bool = False
    resumes: int = 0
    invalid: bool = False
    presence: Json | None = None
    events: list[tuple[float, str]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.conn is not None and not self.conn.closed and not self.invalid

    def owns(self, guild_id: int | None) -> bool:
        return shard_for(guild_id, self.shard_count) == self.shard_id

    async def dispatch(self, event: str, data: Any) -> bool:
        """Send a DISPATCH (kept for RESUME replay); False if no live socket got it."""
        self.seq += 1
        payload = {"op": 0, "t": event, "s": self.seq, "d": data}
        self.buffer.append(payload)
        if len(self.buffer) > 5000:
            del self.buffer[:1000]
        self.events.append((time.monotonic(), event))
        if self.conn is None:
            return False
        return await self.conn.send(payload)


# --------------------------------------------------------------------------------------
# Errors and request parsing
# --------------------------------------------------------------------------------------


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: Json | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def body(self) -> Json:
        out: Json = {"message": self.message, "code": self.code}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def _form_error(path: Sequence[str | int], code: str, message: str) -> _ApiError:
    errors: Json = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return _ApiError(400, 50035, "Invalid Form Body", errors)


def _unknown(what: str, code: int) -> _ApiError:
    return _ApiError(404, code, f"Unknown {what}")


def _too_large() -> _ApiError:
    return _ApiError(413, 40005, "Request entity too large")


@dataclass
class _Upload:
    index: str
    filename: str
    data: bytes
    declared_content_type: str | None


_DISPOSITION_PARAM = re.compile(r';\s*([\w*]+)=("(?:[^"\\]|\\.)*"|[^;]*)')


def _parse_multipart(body: bytes, content_type: str) -> list[RecordedPart]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _ApiError(400, 50035, "Invalid Form Body")
    delimiter = b"--" + match.group(1).encode()
    parts: list[RecordedPart] = []
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params: dict[str, str] = {}
        disposition = headers.get("content-disposition", "").partition(";")[2]
        for key, raw in _DISPOSITION_PARAM.findall(";" + disposition):
            value = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
            params[key.lower()] = value
        filename = params.get("filename")
        if "filename*" in params:
            from urllib.parse import unquote

            filename = unquote(params["filename*"].split("''", 1)[-1])
        parts.append(
            RecordedPart(
                name=params.get("name", ""),
                filename=filename,
                content_type=headers.get("content-type"),
                data=data,
            )
        )
    return parts


@dataclass
class _Req:
    request: web.Request
    record: RecordedRequest
    match: tuple[str, ...]

    @property
    def json(self) -> Any:
        return self.record.json

    def uploads(self) -> list[_Upload]:
        out: list[_Upload] = []
        for part in self.record.parts:
            m = re.fullmatch(r"files?\[(\d+)\]|(file)", part.name)
            if m is None or part.filename is None:
                continue
            out.append(
                _Upload(m.group(1) or str(len(out)), part.filename, part.data, part.content_type)
            )
        return out

    def payload(self) -> Json:
        data = self.record.json
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise _ApiError(400, 50035, "Invalid Form Body")
        return data


# --------------------------------------------------------------------------------------
# Message validation
# --------------------------------------------------------------------------------------


@dataclass
class _MessageChange:
    content: str
    embeds: list[Json]
    components: list[Json]
    attachments: list[FakeAttachment]
    flags: int
    allowed_mentions: Json | None
    tts: bool
    sticker_ids: list[str]
    poll: Json | None
    message_reference: Json | None


def _embed_length(embed: Json) -> int:
    total = 0
    for key in ("title", "description"):
        value = embed.get(key)
        if isinstance(value, str):
            total += len(value)
    for key, sub in (("footer", "text"), ("author", "name")):
        obj = embed.get(key)
        if isinstance(obj, dict) and isinstance(obj.get(sub), str):
            total += len(obj[sub])
    for fld in embed.get("fields") or []:
        if isinstance(fld, dict):
            total += len(str(fld.get("name", ""))) + len(str(fld.get("value", "")))
    return total


def _validate_embeds(embeds: list[Any], prefix: list[str | int]) -> None:
    if len(embeds) > MAX_EMBEDS:
        raise _form_error(
            [*prefix, "embeds"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length."
        )
    total = 0
    for i, embed in enumerate(embeds):
        where: list[str | int] = [*prefix, "embeds", i]
        if not isinstance(embed, dict):
            raise _form_error(
                where, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
        for key, limit in _EMBED_FIELD_LIMITS.items():
            value = embed.get(key)
            if isinstance(value, str) and len(value) > limit:
                raise _form_error(
                    [*where, key], "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                )
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise _form_error(
                [*where, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for j, fld in enumerate(fields):
            if not isinstance(fld, dict):
                continue
            for key, limit in (("name", 256), ("value", 1024)):
                value = fld.get(key)
                if value is None or value == "":
                    raise _form_error(
                        [*where, "fields", j, key], "BASE_TYPE_REQUIRED", "This field is required"
                    )
                if len(str(value)) > limit:
                    raise _form_error(
                        [*where, "fields", j, key],
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
        for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
            obj = embed.get(key)
            if isinstance(obj, dict) and isinstance(obj.get(sub), str) and len(obj[sub]) > limit:
                raise _form_error(
                    [*where, key, sub],
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {limit} or fewer in length.",
                )
        total += _embed_length(embed)
    if total > MAX_EMBED_TOTAL:
        raise _form_error(
            [*prefix, "embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
        )


def _validate_components(components: list[Any], flags: int, prefix: list[str | int]) -> None:
    if flags & FLAG_COMPONENTS_V2:
        return  # layout components: not checked beyond custom_id uniqueness below
    if len(components) > 5:
        raise _form_error(
            [*prefix, "components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
        )
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != 1:
            raise _form_error(
                [*prefix, "components", i],
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "Top-level components must be action rows",
            )
        children = row.get("components") or []
        if not 1 <= len(children) <= 5:
            raise _form_error(
                [*prefix, "components", i, "components"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            )
        for j, child in enumerate(children):
            where: list[str | int] = [*prefix, "components", i, "components", j]
            if not isinstance(child, dict):
                raise _form_error(
                    where, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
            if child.get("type") == 2:
                style = child.get("style")
                if style == 5:
                    if not child.get("url"):
                        raise _form_error(
                            [*where, "url"], "BASE_TYPE_REQUIRED", "This field is required"
                        )
                elif style != 6 and not child.get("custom_id"):
                    raise _form_error(
                        [*where, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required"
                    )
                label = child.get("label")
                if isinstance(label, str) and len(label) > 80:
                    raise _form_error(
                        [*where, "label"], "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length."
                    )
            custom_id = child.get("custom_id")
            if isinstance(custom_id, str) and len(custom_id) > 100:
                raise _form_error(
                    [*where, "custom_id"], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."
                )
    seen: set[str] = set()
    for comp in _walk_components(components):
        cid = comp.get("custom_id")
        if isinstance(cid, str):
            if cid in seen:
                raise _form_error(
                    [*prefix, "components"],
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            seen.add(cid)


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------

_Handler = Callable[["_Req"], Any]


class FakeDiscord:
    """A local Discord: REST, gateway and CDN on one loopback aiohttp server."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        attachment_size_limit: int = 10 * 1024 * 1024,
        request_size_limit: int = 25 * 1024 * 1024,
        token_lifetime: float = 15 * 60,
        defer_deadline: float = 3.0,
        heartbeat_ack_delay: float = 0.03,
        guild_ids: Sequence[int] | None = None,
        allowed_intents: int | None = None,
        recommended_shards: int = 1,
        message_events: bool = True,
        bot_name: str = "ImagineBot",
        application_flags: int = 0,
    ) -> None:
        self.token = token
        self.attachment_size_limit = attachment_size_limit
        self.request_size_limit = request_size_limit
        self.token_lifetime = token_lifetime
        self.defer_deadline = defer_deadline
        self.heartbeat_ack_delay = heartbeat_ack_delay
        self.allowed_intents = allowed_intents
        self.recommended_shards = recommended_shards
        self.message_events = message_events
        self.bot_name = bot_name
        self.application_flags = application_flags

        self.application_id: int = APPLICATION_ID
        self.bot_user_id: int = BOT_USER_ID
        self.owner_user_id: int = OWNER_USER_ID
        self.default_user_id: int = DEFAULT_USER_ID

        # Recorded state.
        self.global_commands: list[Json] = []
        self.guild_commands: dict[int, list[Json]] = {}
        self.command_sync_count = 0
        self.command_syncs: list[tuple[float, int | None, list[Json]]] = []
        self.identifies: list[Json] = []
        self.requests: list[RecordedRequest] = []
        self.channel_messages: list[FakeMessage] = []
        self.interactions: list[FakeInteraction] = []
        self.sessions: list[GatewaySession] = []
        self.server_errors: list[str] = []
        self.ready_count = 0

        self._users: dict[int, Json] = {}
        self._guilds: dict[int, _Guild] = {}
        self._dm_channels: dict[int, _Channel] = {}  # by recipient id
        self._messages: dict[int, FakeMessage] = {}
        self._attachments: dict[int, FakeAttachment] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._failures: list[dict[str, Any]] = []
        self._connections: set[_GatewayConnection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._id_counter = 0
        self._last_ms = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self._add_user(self.bot_user_id, bot_name, bot=True)
        self._add_user(self.owner_user_id, "owner")
        ids = list(guild_ids) if guild_ids else [DEFAULT_GUILD_ID]
        for index, gid in enumerate(ids):
            self.add_guild(gid, name=f"Test Server {index + 1}" if index else "Test Server")
        self.guild_id: int = ids[0]
        self.channel_id: int = self._guilds[ids[0]].default_channel_id
        self.nsfw_channel_id: int = self._guilds[ids[0]].nsfw_channel_id
        self.add_member(self.default_user_id, name="tester")

        self._routes: list[tuple[str, re.Pattern[str], _Handler]] = []
        self._build_routes()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_rest)
        app.router.add_get("/attachments/{cid}/{aid}/{filename}", self._handle_cdn)
        app.router.add_get("/media-attachments/{cid}/{aid}/{filename}", self._handle_cdn)
        app.router.add_get("/", self._handle_gateway)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        log.info("fake Discord listening on 127.0.0.1:%s", self._port)

    async def close(self) -> None:
        for conn in list(self._connections):
            await conn.close(1001, "server shutting down")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_base(self) -> str:
        return f"{self.http_base}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        """Environment variables that point the bot at this server."""
        return {"DISCORD_API_BASE_URL": self.rest_base, "DISCORD_GATEWAY_URL": self.gateway_url}

    # ----------------------------------------------------------------- waiting

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        what: str = "a condition",
    ) -> None:
        """Wait until ``predicate()`` holds (re-checked whenever the fake's state changes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.5))

    async def wait_until_ready(self, timeout: float = 15, count: int = 1) -> None:
        """Until ``count`` sessions in total got READY and their GUILD_CREATEs.

        The count is cumulative (a restarted bot makes it 2) and counts IDENTIFYs only: a
        RESUME continues a session.
        """
        await self.wait_for(
            lambda: self.ready_count >= count, timeout, f"{count} ready gateway session(s)"
        )

    async def wait_for_command_sync(self, timeout: float = 15, count: int = 1) -> None:
        """Until ``count`` command PUTs (global or guild) arrived in total."""
        await self.wait_for(
            lambda: self.command_sync_count >= count, timeout, f"{count} command sync(s)"
        )

    async def wait_for_channel_messages(
        self,
        count: int = 1,
        timeout: float = 30,
    ) -> list[FakeMessage]:
        await self.wait_for(
            lambda: len(self.channel_messages) >= count, timeout, f"{count} channel message(s)"
        )
        return list(self.channel_messages)

    async def wait_for_request(
        self,
        method: str,
        path_contains: str,
        *,
        count: int = 1,
        timeout: float = 15,
    ) -> list[RecordedRequest]:
        def matching() -> list[RecordedRequest]:
            return [
                r
                for r in self.requests
                if r.method == method and path_contains in r.path and r.status
            ]

        await self.wait_for(
            lambda: len(matching()) >= count, timeout, f"{count} {method} *{path_contains}*"
        )
        return matching()

    # ----------------------------------------------------------------- ids, users, guilds

    def new_id(self) -> int:
        """A fresh snowflake, increasing."""
        now_ms = int(time.time() * 1000)
        if now_ms <= self._last_ms:
            self._id_counter += 1
            if self._id_counter > 0xFFF:
                self._last_ms += 1
                self._id_counter = 0
            now_ms = self._last_ms
        else:
            self._id_counter = 0
        self._last_ms = now_ms
        return make_snowflake(now_ms, self._id_counter, worker=3)

    def _add_user(self, user_id: int, name: str, *, bot: bool = False) -> Json:
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
        self._users[user_id] = user
        return user

    def user_json(self, user_id: int | None) -> Json:
        if user_id is None:
            raise KeyError("no user")
        if user_id not in self._users:
            self._add_user(user_id, f"user{user_id % 100000}")
        return dict(self._users[user_id])

    def add_guild(self, guild_id: int, *, name: str = "Test Server", locale: str = "en-US") -> int:
        """Add a guild (with @everyone, a bot role, a text channel and an NSFW text channel)."""
        guild = _Guild(id=guild_id, name=name, owner_id=self.owner_user_id, locale=locale)
        guild.roles[guild_id] = _Role(guild_id, "@everyone", DEFAULT_MEMBER_PERMISSIONS)
        bot_role = DEFAULT_BOT_ROLE_ID if guild_id == DEFAULT_GUILD_ID else self.new_id()
        guild.roles[bot_role] = _Role(
            bot_role, self.bot_name, DEFAULT_APP_PERMISSIONS, position=1, managed=True
        )
        if guild_id == DEFAULT_GUILD_ID:
            general, nsfw = DEFAULT_CHANNEL_ID, DEFAULT_NSFW_CHANNEL_ID
        else:
            general, nsfw = self.new_id(), self.new_id()
        guild.channels[general] = _Channel(general, guild_id, "general", position=0)
        guild.channels[nsfw] = _Channel(nsfw, guild_id, "nsfw", nsfw=True, position=1)
        guild.default_channel_id, guild.nsfw_channel_id = general, nsfw
        guild.members[self.bot_user_id] = _Member(self.bot_user_id, [bot_role], None)
        guild.members[self.owner_user_id] = _Member(self.owner_user_id, [], ALL_PERMISSIONS)
        self._guilds[guild_id] = guild
        return guild_id

    @property
    def guild_ids(self) -> list[int]:
        return list(self._guilds)

    def guild_channel_ids(self, guild_id: int) -> tuple[int, int]:
        """(default text channel, NSFW text channel) of a guild."""
        g = self._guilds[guild_id]
        return g.default_channel_id, g.nsfw_channel_id

    def add_channel(self, name: str, *, guild_id: int | None = None, nsfw: bool = False) -> int:
        g = self._guilds[guild_id or self.guild_id]
        cid = self.new_id()
        g.channels[cid] = _Channel(cid, g.id, name, nsfw=nsfw, position=len(g.channels))
        self._spawn(
            self._broadcast(g.id, "CHANNEL_CREATE", g.channels[cid].to_json(self), INTENT_GUILDS)
        )
        return cid

    def add_role(
        self,
        name: str,
        *,
        permissions: int = 0,
        guild_id: int | None = None,
        role_id: int | None = None,
    ) -> int:
        g = self._guilds[guild_id or self.guild_id]
        rid = role_id or self.new_id()
        g.roles[rid] = _Role(rid, name, permissions, position=len(g.roles))
        data = {"guild_id": str(g.id), "role": g.roles[rid].to_json()}
        self._spawn(self._broadcast(g.id, "GUILD_ROLE_CREATE", data, INTENT_GUILDS))
        return rid

    def bot_role_id(self, guild_id: int | None = None) -> int:
        """The id of the bot's own (managed) role in a guild."""
        g = self._guilds[guild_id or self.guild_id]
        return next(role.id for role in g.roles.values() if role.managed)

    def set_role_permissions(
        self, role_id: int, permissions: int, *, guild_id: int | None = None
    ) -> None:
        """Change a role's permissions (the guild's id is @everyone) and tell the bot."""
        g = self._guilds[guild_id or self.guild_id]
        role = g.roles[role_id]
        role.permissions = permissions
        data = {"guild_id": str(g.id), "role": role.to_json()}
        self._spawn(self._broadcast(g.id, "GUILD_ROLE_UPDATE", data, INTENT_GUILDS))

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
        g = self._guilds[guild_id or self.guild_id]
        if user_id not in self._users or name is not None:
            self._add_user(user_id, name or f"user{user_id % 100000}")
        for rid in roles:
            if rid not in g.roles:
                self.add_role(f"role-{rid % 10000}", guild_id=g.id, role_id=rid)
        existed = user_id in g.members
        g.members[user_id] = _Member(user_id, list(roles), permissions, nick=nick)
        data = self._member_json(g, user_id)
        event = "GUILD_MEMBER_UPDATE" if existed else "GUILD_MEMBER_ADD"
        self._spawn(
            self._broadcast(g.id, event, {**data, "guild_id": str(g.id)}, INTENT_GUILD_MEMBERS)
        )
        return data

    def member_permissions(self, user_id: int, guild_id: int | None = None) -> int:
        g = self._guilds[guild_id or self.guild_id]
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
        return ALL_PERMISSIONS if perms & _P_ADMINISTRATOR else perms

    def _member_json(self, g: _Guild, user_id: int, *, permissions: int | None = None) -> Json:
        member = g.members.get(user_id)
        if member is None:
            member = g.members[user_id] = _Member(user_id, [], None)
        data: Json = {
            "user": self.user_json(user_id),
            "roles": [str(r) for r in member.roles],
            "joined_at": _iso(member.joined_wall),
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

    def _channel(self, channel_id: int) -> _Channel | None:
        for g in self._guilds.values():
            if channel_id in g.channels:
                return g.channels[channel_id]
        for ch in self._dm_channels.values():
            if ch.id == channel_id:
                return ch
        return None

    def dm_channel_id(self, user_id: int) -> int:
        ch = self._dm_channels.get(user_id)
        if ch is None:
            ch = self._dm_channels[user_id] = _Channel(
                self.new_id(), None, "", type=1, recipient_id=user_id
            )
        return ch.id

    def _guild_create_json(self, g: _Guild) -> Json:
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
            "joined_at": _iso(time.time() - 86400),
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(g.members),
            "voice_states": [],
            "members": [self._member_json(g, uid) for uid in g.members],
            "channels": [
                {k: v for k, v in ch.to_json(self).items() if k != "guild_id"}
                for ch in g.channels.values()
            ],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "version": int(time.time() * 1000),
        }

    # ----------------------------------------------------------------- failures

    def inject_failure(
        self,
        *,
        path_contains: str,
        method: str = "POST",
        status: int,
        json: Json | None = None,
        headers: Mapping[str, str | None] | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` matching REST requests with this error (``method="*"``: any).

        A 429 gets ``retry_after`` 0.05 s, ``global`` false and a ``Via`` header unless given
        (``headers={"Via": None}`` drops it, as Cloudflare's own 429 would).
        """
        self._failures.append(
            {
                "path_contains": path_contains,
                "method": method.upper(),
                "status": status,
                "json": json,
                "headers": dict(headers or {}),
                "count": count,
            }
        )

    def _take_failure(self, method: str, path: str) -> dict[str, Any] | None:
        for failure in self._failures:
            if (
                failure["count"] > 0
                and failure["method"] in ("*", method)
                and failure["path_contains"] in path
            ):
                failure["count"] -= 1
                if failure["count"] <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _failure_response(self, failure: dict[str, Any]) -> tuple[int, Json, dict[str, str]]:
        status = int(failure["status"])
        body = failure["json"]
        headers: dict[str, str] = {}
        if status == 429:
            if body is None:
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": 0.05,
                    "global": False,
                    "code": 0,
                }
            retry = float(body.get("retry_after", 0.05)) if isinstance(body, dict) else 0.05
            headers.update(
                {
                    "Via": "1.1 google",
                    "Retry-After": str(max(1, math.ceil(retry))),
                    "X-RateLimit-Scope": "user",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": f"{retry:.3f}",
                }
            )
        elif body is None:
            reason = {
                500: "500: Internal Server Error",
                502: "502: Bad Gateway",
                503: "503: Service Unavailable",
            }
            body = {"message": reason.get(status, f"{status}: Error"), "code": 0}
        for key, value in failure["headers"].items():
            if value is None:
                headers.pop(key, None)
            else:
                headers[key] = value
        return status, body, headers

    # ----------------------------------------------------------------- REST plumbing

    def _build_routes(self) -> None:
        snow = r"(\d+)"
        tok = r"([^/]+)"
        r = self._route
        r("GET", r"/users/@me", self._get_me)
        r("GET", rf"/users/{snow}", self._get_user)
        r("POST", r"/users/@me/channels", self._create_dm)
        r("GET", r"/oauth2/applications/@me", self._get_application)
        r("GET", r"/applications/@me", self._get_application)
        r("GET", r"/gateway", self._get_gateway)
        r("GET", r"/gateway/bot", self._get_gateway_bot)
        r("GET", rf"/applications/{snow}/commands", self._get_global_commands)
        r("PUT", rf"/applications/{snow}/commands", self._put_global_commands)
        r("GET", rf"/applications/{snow}/guilds/{snow}/commands", self._get_guild_commands)
        r("PUT", rf"/applications/{snow}/guilds/{snow}/commands", self._put_guild_commands)
        r("POST", rf"/interactions/{snow}/{tok}/callback", self._interaction_callback)
        r("POST", rf"/webhooks/{snow}/{tok}", self._webhook_execute)
        r("GET", rf"/webhooks/{snow}/{tok}/messages/(@original|\d+)", self._webhook_get_message)
        r("PATCH", rf"/webhooks/{snow}/{tok}/messages/(@original|\d+)", self._webhook_edit_message)
        r(
            "DELETE",
            rf"/webhooks/{snow}/{tok}/messages/(@original|\d+)",
            self._webhook_delete_message,
        )
        r("GET", rf"/channels/{snow}", self._get_channel)
        r("POST", rf"/channels/{snow}/messages", self._create_channel_message)
        r("GET", rf"/channels/{snow}/messages/{snow}", self._get_channel_message)
        r("PATCH", rf"/channels/{snow}/messages/{snow}", self._edit_channel_message)
        r("DELETE", rf"/channels/{snow}/messages/{snow}", self._delete_channel_message)
        r("POST", rf"/channels/{snow}/typing", self._typing)
        r("GET", rf"/guilds/{snow}", self._get_guild)
        r("GET", rf"/guilds/{snow}/channels", self._get_guild_channels)
        r("GET", rf"/guilds/{snow}/roles", self._get_guild_roles)
        r("GET", rf"/guilds/{snow}/members/{snow}", self._get_guild_member)

    def _route(self, method: str, pattern: str, handler: _Handler) -> None:
        self._routes.append((method, re.compile(pattern + r"/?"), handler))

    def _headers(self, route_key: str) -> dict[str, str]:
        bucket = hashlib.md5(route_key.encode(), usedforsecurity=False).hexdigest()[:16]
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": bucket,
        }

    def _answer(
        self,
        record: RecordedRequest,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        record.status = status
        record.response = body
        record.answered = time.monotonic()
        out = dict(headers or {})
        if body is None:
            self._notify()
            return web.Response(status=status, headers=out)
        out["Content-Type"] = "application/json"
        self._notify()
        return web.Response(status=status, body=_dumps(body).encode(), headers=out)

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        route = path[len(API_PREFIX) :] or "/"
        record = RecordedRequest(
            method=request.method,
            path=path,
            route=route,
            query=dict(request.query),
            headers=dict(request.headers),
            json=None,
            parts=[],
            body=body,
            time=time.monotonic(),
        )
        m = re.match(r"/(?:interactions/\d+|webhooks/\d+)/([^/]+)", route)
        if m:
            record.token = m.group(1)
        self.requests.append(record)
        route_key = request.method + " " + _ID_IN_PATH.sub("/:id", route)
        rl_headers = self._headers(route_key)
        try:
            if len(body) > self.request_size_limit:
                raise _too_large()
            ctype = request.headers.get("Content-Type", "")
            if ctype.startswith("multipart/form-data"):
                record.parts = _parse_multipart(body, ctype)
                for part in record.parts:
                    if part.name == "payload_json":
                        record.json = self._loads(part.data)
            elif body:
                record.json = self._loads(body)
        except _ApiError as err:
            return self._answer(record, err.status, err.body(), {**rl_headers, **err.headers})

        failure = self._take_failure(request.method, path)
        if failure is not None:
            record.injected = True
            status, fbody, fheaders = self._failure_response(failure)
            log.info("injected %s for %s %s", status, request.method, path)
            return self._answer(record, status, fbody, {**rl_headers, **fheaders})

        handler: _Handler | None = None
        match: tuple[str, ...] = ()
        path_known = False
        for method, pattern, candidate in self._routes:
            found = pattern.fullmatch(route)
            if found is None:
                continue
            path_known = True
            if method == request.method:
                handler, match = candidate, tuple(found.groups())
                break
        if handler is None:
            if path_known:
                return self._answer(
                    record, 405, {"message": "405: Method Not Allowed", "code": 0}, rl_headers
                )
            log.warning("unknown route %s %s", request.method, path)
            return self._answer(record, 404, {"message": "404: Not Found", "code": 0}, rl_headers)

        webhookish = route.startswith(("/interactions/", "/webhooks/"))
        auth = request.headers.get("Authorization")
        if (not webhookish or auth is not None) and auth != f"Bot {self.token}":
            return self._answer(
                record, 401, {"message": "401: Unauthorized", "code": 0}, rl_headers
            )

        try:
            result = await handler(_Req(request, record, match))
        except _ApiError as err:
            return self._answer(record, err.status, err.body(), {**rl_headers, **err.headers})
        except Exception as exc:  # a bug in the fake: make it loud, not a retry storm
            log.exception("fake Discord failed on %s %s", request.method, path)
            self.server_errors.append(f"{request.method} {path}: {exc!r}")
            return self._answer(
                record, 400, {"message": f"fake Discord error: {exc!r}", "code": 0}, rl_headers
            )
        if isinstance(result, tuple):
            status, data = result
        else:
            status, data = (204, None) if result is None else (200, result)
        return self._answer(record, status, data, rl_headers)

    @staticmethod
    def _loads(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise _ApiError(400, 50109, "The request body contains invalid JSON.") from None

    async def _handle_cdn(self, request: web.Request) -> web.StreamResponse:
        try:
            att = self._attachments[int(request.match_info["aid"])]
        except (KeyError, ValueError):
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=att.data, content_type=att.content_type or "application/octet-stream"
        )

    # ----------------------------------------------------------------- simple routes

    async def _get_me(self, req: _Req) -> Json:
        user = self.user_json(self.bot_user_id)
        user.update(
            {"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None, "bio": ""}
        )
        return user

    async def _get_user(self, req: _Req) -> Json:
        uid = int(req.match[0])
        if uid not in self._users and not any(uid in g.members for g in self._guilds.values()):
            raise _unknown("User", 10013)
        return self.user_json(uid)

    async def _create_dm(self, req: _Req) -> Json:
        payload = req.payload()
        try:
            uid = int(payload["recipient_id"])
        except (KeyError, TypeError, ValueError):
            raise _form_error(
                ["recipient_id"], "BASE_TYPE_REQUIRED", "This field is required"
            ) from None
        self.dm_channel_id(uid)
        return self._dm_channels[uid].to_json(self)

    def application_json(self) -> Json:
        return {
            "id": str(self.application_id),
            "name": self.bot_name,
            "icon": None,
            "description": "Image generation bot (test double)",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": self.user_json(self.owner_user_id),
            "team": None,
            "bot": self.user_json(self.bot_user_id),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self._guilds),
            "integration_types_config": {"0": {}, "1": {}},
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        }

    async def _get_application(self, req: _Req) -> Json:
        return self.application_json()

    async def _get_gateway(self, req: _Req) -> Json:
        return {"url": self.gateway_url}

    async def _get_gateway_bot(self, req: _Req) -> Json:
        return {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise _ApiError(403, 50001, "Missing Access")

    def _guild(self, guild_id: str | int) -> _Guild:
        g = self._guilds.get(int(guild_id))
        if g is None:
            raise _unknown("Guild", 10004)
        return g

    async def _get_guild(self, req: _Req) -> Json:
        data = self._guild_create_json(self._guild(req.match[0]))
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

    async def _get_guild_channels(self, req: _Req) -> list[Json]:
        return [ch.to_json(self) for ch in self._guild(req.match[0]).channels.values()]

    async def _get_guild_roles(self, req: _Req) -> list[Json]:
        return [r.to_json() for r in self._guild(req.match[0]).roles.values()]

    async def _get_guild_member(self, req: _Req) -> Json:
        g = self._guild(req.match[0])
        uid = int(req.match[1])
        if uid not in g.members:
            raise _unknown("Member", 10007)
        return self._member_json(g, uid)

    async def _get_channel(self, req: _Req) -> Json:
        ch = self._channel(int(req.match[0]))
        if ch is None:
            raise _unknown("Channel", 10003)
        return ch.to_json(self)

    async def _typing(self, req: _Req) -> None:
        if self._channel(int(req.match[0])) is None:
            raise _unknown("Channel", 10003)

    # ----------------------------------------------------------------- commands

    def _validate_options(self, options: Any, where: list[str | int]) -> None:
        if options is None:
            return
        if not isinstance(options, list):
            raise _form_error(
                where, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
            )
        if len(options) > 25:
            raise _form_error(where, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        seen: set[str] = set()
        optional_seen = False
        for i, opt in enumerate(options):
            here: list[str | int] = [*where, i]
            if not isinstance(opt, dict):
                raise _form_error(
                    here, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
            name = opt.get("name")
            if (
                not isinstance(name, str)
                or not _COMMAND_NAME_RE.match(name)
                or name != name.lower()
            ):
                raise _form_error(
                    [*here, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                )
            if name in seen:
                raise _form_error(
                    here,
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option name already exists",
                )
            seen.add(name)
            desc = opt.get("description")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
                raise _form_error(
                    [*here, "description"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            otype = opt.get("type")
            if otype not in range(1, 12):
                raise _form_error(
                    [*here, "type"],
                    "BASE_TYPE_CHOICES",
                    f"Value must be one of {list(range(1, 12))}.",
                )
            if otype in (1, 2):
                self._validate_options(opt.get("options"), [*here, "options"])
                continue
            if opt.get("required"):
                if optional_seen:
                    raise _form_error(
                        here,
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                optional_seen = True
            choices = opt.get("choices")
            if choices is not None and len(choices) > 25:
                raise _form_error(
                    [*here, "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )

    def _store_commands(self, guild_id: int | None, body: Any) -> list[Json]:
        if not isinstance(body, list):
            raise _form_error([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        if len(body) > 100:
            raise _form_error([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        out: list[Json] = []
        seen: set[tuple[str, int]] = set()
        for i, cmd in enumerate(body):
            if not isinstance(cmd, dict):
                raise _form_error(
                    [i], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
            ctype = int(cmd.get("type", 1))
            name = cmd.get("name")
            if not isinstance(name, str) or not 1 <= len(name) <= 32:
                raise _form_error(
                    [i, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
                )
            if ctype == 1:
                if not _COMMAND_NAME_RE.match(name) or name != name.lower():
                    raise _form_error(
                        [i, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                    )
                desc = cmd.get("description")
                if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
                    raise _form_error(
                        [i, "description"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                self._validate_options(cmd.get("options"), [i, "options"])
            if (name, ctype) in seen:
                raise _form_error(
                    [i, "name"],
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique: {name}",
                )
            seen.add((name, ctype))
            key = (guild_id, name, ctype)
            cid = self._command_ids.get(key)
            if cid is None:
                cid = self._command_ids[key] = self.new_id()
            stored: Json = {
                "id": str(cid),
                "application_id": str(self.application_id),
                "version": str(self.new_id()),
                "default_member_permissions": cmd.get("default_member_permissions"),
                "type": ctype,
                "name": name,
                "name_localizations": cmd.get("name_localizations"),
                "description": cmd.get("description", ""),
                "description_localizations": cmd.get("description_localizations"),
                "dm_permission": cmd.get("dm_permission", True),
                "contexts": cmd.get("contexts"),
                "integration_types": cmd.get("integration_types", [0]),
                "nsfw": bool(cmd.get("nsfw", False)),
            }
            if cmd.get("options"):
                stored["options"] = cmd["options"]
            if guild_id is not None:
                stored["guild_id"] = str(guild_id)
            out.append(stored)
        self.command_sync_count += 1
        self.command_syncs.append((time.monotonic(), guild_id, out))
        return out

    async def _get_global_commands(self, req: _Req) -> list[Json]:
        self._check_app(req.match[0])
        return self.global_commands

    async def _put_global_commands(self, req: _Req) -> list[Json]:
        self._check_app(req.match[0])
        self.global_commands = self._store_commands(None, req.json)
        log.info("global commands synced: %s", [c["name"] for c in self.global_commands])
        return self.global_commands

    async def _get_guild_commands(self, req: _Req) -> list[Json]:
        self._check_app(req.match[0])
        return self.guild_commands.get(self._guild(req.match[1]).id, [])

    async def _put_guild_commands(self, req: _Req) -> list[Json]:
        self._check_app(req.match[0])
        gid = self._guild(req.match[1]).id
        self.guild_commands[gid] = self._store_commands(gid, req.json)
        return self.guild_commands[gid]

    def find_command(
        self, name: str, guild_id: int | None = None, command_type: int = 1
    ) -> Json | None:
        """The synced command a user would invoke: the guild's own first, then the global one."""
        lists = [self.guild_commands.get(guild_id, [])] if guild_id is not None else []
        lists.append(self.global_commands)
        for commands in lists:
            for cmd in commands:
                if cmd["name"] == name and cmd.get("type", 1) == command_type:
                    return cmd
        return None

    # ----------------------------------------------------------------- messages

    def _prepare(
        self,
        payload: Json,
        uploads: list[_Upload],
        *,
        size_limit: int,
        existing: FakeMessage | None,
        creating: bool,
        prefix: Sequence[str | int] = (),
    ) -> _MessageChange:
        """Check a create/edit against Discord's limits; the resulting message, not yet applied."""
        pre = list(prefix)
        if not isinstance(payload, dict):
            raise _form_error(
                pre, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
        base = existing if (existing is not None and not creating) else None

        new_atts: list[FakeAttachment] = []
        meta = {
            str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)
        }
        for up in uploads:
            info = meta.get(up.index, {})
            filename = str(info.get("filename") or up.filename)
            new_atts.append(
                FakeAttachment(
                    filename=filename,
                    content_type=mimetypes.guess_type(filename)[0],
                    data=up.data,
                    description=info.get("description"),
                    declared_content_type=up.declared_content_type,
                )
            )
        if base is None:
            kept: list[FakeAttachment] = []
        elif "attachments" in payload:
            keep_ids = {
                str(a.get("id")) for a in payload.get("attachments") or [] if isinstance(a, dict)
            }
            kept = [a for a in base.attachments if str(a.id) in keep_ids]
        else:
            kept = list(base.attachments)
        attachments = kept + new_atts
        if len(attachments) > MAX_FILES or len(uploads) > MAX_FILES:
            raise _form_error(
                [*pre, "attachments"],
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_FILES} or fewer in length.",
            )
        for att in new_atts:
            if att.size > size_limit:
                raise _too_large()

        def pick(key: str, default: Any) -> Any:
            if key in payload:
                return payload[key]
            return getattr(base, key) if base is not None else default

        content = pick("content", "")
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise _form_error(
                [*pre, "content"], "STRING_TYPE_CONVERT", "Could not interpret value as string."
            )
        if len(content) > MAX_CONTENT:
            raise _form_error(
                [*pre, "content"],
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_CONTENT} or fewer in length.",
            )

        embeds = pick("embeds", [])
        if "embed" in payload and "embeds" not in payload:
            embeds = [payload["embed"]] if payload["embed"] else []
        embeds = list(embeds or [])
        _validate_embeds(embeds, pre)

        if base is None:
            flags = int(payload.get("flags") or 0)
            if flags & ~_CREATE_FLAGS:
                raise _form_error([*pre, "flags"], "MESSAGE_FLAGS_INVALID", "Invalid message flags")
        else:
            flags = base.flags
            if "flags" in payload and payload["flags"] is not None:
                flags = (flags & ~FLAG_SUPPRESS_EMBEDS) | (
                    int(payload["flags"]) & FLAG_SUPPRESS_EMBEDS
                )

        components = list(pick("components", []) or [])
        _validate_components(components, flags, pre)

        sticker_ids = [str(s) for s in (pick("sticker_ids", []) or [])]
        poll = payload.get("poll") if base is None else base.poll
        empty = not content.strip() and not embeds and not attachments and not components
        if empty and not sticker_ids and poll is None:
            raise _ApiError(400, 50006, "Cannot send an empty message")
        return _MessageChange(
            content=content,
            embeds=embeds,
            components=components,
            attachments=attachments,
            flags=flags,
            allowed_mentions=pick("allowed_mentions", None),
            tts=bool(payload.get("tts", False)) if base is None else base.tts,
            sticker_ids=sticker_ids,
            poll=poll,
            message_reference=payload.get("message_reference")
            if base is None
            else base.message_reference,
        )

    def _apply(
        self, message: FakeMessage, change: _MessageChange, payload: Json, *, edit: bool
    ) -> None:
        now = time.monotonic()
        for att in change.attachments:
            if not att.id:
                att.id = self.new_id()
                att.url = (
                    f"{self.http_base}/attachments/{message.channel_id}/{att.id}/{att.filename}"
                )
                self._attachments[att.id] = att
        message.content = change.content
        message.embeds = change.embeds
        message.components = change.components
        message.attachments = change.attachments
        message.flags = change.flags
        message.allowed_mentions = change.allowed_mentions
        message.tts = change.tts
        message.sticker_ids = change.sticker_ids
        message.poll = change.poll
        message.message_reference = change.message_reference
        message.payloads.append(payload)
        if edit:
            message.edits += 1
            message.edited = now
            message.wall_edited = time.time()
        message.history.append(message.snapshot(now))

    def _new_message(
        self,
        channel_id: int,
        guild_id: int | None,
        *,
        interaction: FakeInteraction | None = None,
        mtype: int = 0,
    ) -> FakeMessage:
        message = FakeMessage(
            id=self.new_id(),
            channel_id=channel_id,
            guild_id=guild_id,
            type=mtype,
            interaction_id=interaction.id if interaction else None,
            webhook_id=self.application_id if interaction else None,
        )
        self._messages[message.id] = message
        return message

    def message_json(self, message: FakeMessage) -> Json:
        """The message as Discord returns it."""
        by_name = {a.filename: a for a in message.attachments}

        def resolve(url: Any) -> Any:
            if isinstance(url, str) and url.startswith("attachment://"):
                att = by_name.get(url.removeprefix("attachment://"))
                if att is not None:
                    return att.url
            return url

        embeds: list[Json] = []
        for raw in message.embeds:
            embed = json.loads(_dumps(raw))
            embed.setdefault("type", "rich")
            for key in ("image", "thumbnail"):
                if isinstance(embed.get(key), dict) and "url" in embed[key]:
                    embed[key]["url"] = resolve(embed[key]["url"])
                    embed[key]["proxy_url"] = embed[key]["url"]
            for key in ("author", "footer"):
                if isinstance(embed.get(key), dict) and "icon_url" in embed[key]:
                    embed[key]["icon_url"] = resolve(embed[key]["icon_url"])
            embeds.append(embed)
        data: Json = {
            "id": str(message.id),
            "type": message.type,
            "content": message.content,
            "channel_id": str(message.channel_id),
            "author": self.user_json(message.author_id),
            "attachments": [a.to_json(ephemeral=message.ephemeral) for a in message.attachments],
            "embeds": embeds,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": message.tts,
            "timestamp": _iso(message.wall_created),
            "edited_timestamp": _iso(message.wall_edited) if message.wall_edited else None,
            "flags": message.flags,
            "components": message.components,
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
            data["application_id"] = str(self.application_id)
        if message.message_reference is not None:
            data["message_reference"] = message.message_reference
        if message.sticker_ids:
            data["sticker_items"] = []
        if message.poll is not None:
            data["poll"] = message.poll
        inter = self._interaction_by_id(message.interaction_id)
        if inter is not None:
            user = self.user_json(inter.user_id)
            meta: Json = {
                "id": str(inter.id),
                "type": inter.type,
                "user": user,
                "authorizing_integration_owners": inter.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
            if inter.original is not None and inter.original is not message:
                meta["original_response_message_id"] = str(inter.original.id)
            if inter.component_message is not None:
                meta["interacted_message_id"] = str(inter.component_message.id)
            if inter.type == 2:
                meta["name"] = inter.name
                meta["command_type"] = 1
            data["interaction_metadata"] = meta
            data["interaction"] = {
                "id": str(inter.id),
                "type": inter.type,
                "name": inter.name or "",
                "user": user,
            }
        return data

    def _interaction_by_id(self, interaction_id: int | None) -> FakeInteraction | None:
        if interaction_id is None:
            return None
        for inter in reversed(self.interactions):
            if inter.id == interaction_id:
                return inter
        return None

    async def _message_event(self, message: FakeMessage, event: str) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE to the sessions that would see it (not if ephemeral)."""
        if not self.message_events or message.ephemeral:
            return
        if event == "MESSAGE_DELETE":
            data: Json = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
        else:
            data = self.message_json(message)
        intent = INTENT_GUILD_MESSAGES if message.guild_id is not None else INTENT_DIRECT_MESSAGES
        await self._broadcast(message.guild_id, event, data, intent)

    # ----------------------------------------------------------------- channel messages

    def _text_channel(self, channel_id: str) -> _Channel:
        ch = self._channel(int(channel_id))
        if ch is None:
            raise _unknown("Channel", 10003)
        return ch

    async def _create_channel_message(self, req: _Req) -> Json:
        ch = self._text_channel(req.match[0])
        payload = req.payload()
        change = self._prepare(
            payload,
            req.uploads(),
            size_limit=self.attachment_size_limit,
            existing=None,
            creating=True,
        )
        if change.flags & FLAG_EPHEMERAL:
            change.flags &= ~FLAG_EPHEMERAL  # only interaction replies can be ephemeral
        message = self._new_message(ch.id, ch.guild_id, mtype=19 if change.message_reference else 0)
        self._apply(message, change, payload, edit=False)
        self.channel_messages.append(message)
        self._notify()
        await self._message_event(message, "MESSAGE_CREATE")
        return self.message_json(message)

    def _channel_message(self, req: _Req) -> FakeMessage:
        self._text_channel(req.match[0])
        message = self._messages.get(int(req.match[1]))
        if (
            message is None
            or message.deleted
            or message.ephemeral
            or message.channel_id != int(req.match[0])
        ):
            raise _unknown("Message", 10008)
        return message

    async def _get_channel_message(self, req: _Req) -> Json:
        return self.message_json(self._channel_message(req))

    async def _edit_channel_message(self, req: _Req) -> Json:
        message = self._channel_message(req)
        payload = req.payload()
        change = self._prepare(
            payload,
            req.uploads(),
            size_limit=self.attachment_size_limit,
            existing=message,
            creating=False,
        )
        self._apply(message, change, payload, edit=True)
        self._notify()
        await self._message_event(message, "MESSAGE_UPDATE")
        return self.message_json(message)

    async def _delete_channel_message(self, req: _Req) -> None:
        message = self._channel_message(req)
        self._delete(message)
        await self._message_event(message, "MESSAGE_DELETE")

    def _delete(self, message: FakeMessage) -> None:
        message.deleted = True
        message.deleted_at = time.monotonic()
        self._notify()

    # ----------------------------------------------------------------- interactions (REST side)

    async def _interaction_callback(self, req: _Req) -> Json:
        inter = self._interactions_by_token.get(req.match[1])
        if inter is None or inter.id != int(req.match[0]):
            raise _unknown("interaction", 10062)
        if inter.callbacks:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        now = time.monotonic()
        if now - inter.created > inter.defer_deadline:
            raise _unknown("interaction", 10062)
        payload = req.payload()
        rtype = payload.get("type")
        data = payload.get("data")
        if data is not None and not isinstance(data, dict):
            raise _form_error(
                ["data"], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}.get(inter.type, set())
        if rtype not in allowed:
            raise _ApiError(
                400,
                40043 if rtype in range(1, 13) else 50035,
                "Interaction response type is invalid",
            )
        uploads = req.uploads()
        if uploads and rtype not in (4, 7):
            raise _form_error(
                ["data", "attachments"], "BASE_TYPE_MAX_LENGTH", "Must be 0 or fewer in length."
            )
        data = data or {}
        message: FakeMessage | None = None
        files: list[FakeAttachment] = []
        is_slash = inter.type == 2
        if rtype == 4:
            change = self._prepare(
                data,
                uploads,
                size_limit=inter.attachment_size_limit,
                existing=None,
                creating=True,
                prefix=["data"],
            )
            message = self._new_message(
                inter.channel_id, inter.guild_id, interaction=inter, mtype=20 if is_slash else 0
            )
            self._apply(message, change, data, edit=False)
            inter.original = message
            inter.messages.append(message)
            files = list(message.attachments)
        elif rtype == 5:
            flags = int(data.get("flags") or 0)
            message = self._new_message(
                inter.channel_id, inter.guild_id, interaction=inter, mtype=20 if is_slash else 0
            )
            message.loading = True
            message.flags = FLAG_LOADING | (flags & FLAG_EPHEMERAL)
            message.deferred_at = now
            message.history.append(message.snapshot(now))
            inter.original = message
        elif rtype == 6:
            inter.original = inter.component_message
        elif rtype == 7:
            target = inter.component_message
            if target is None or target.deleted:
                raise _unknown("Message", 10008)
            change = self._prepare(
                data,
                uploads,
                size_limit=inter.attachment_size_limit,
                existing=target,
                creating=False,
                prefix=["data"],
            )
            new_ids = {id(a) for a in change.attachments} - {id(a) for a in target.attachments}
            self._apply(target, change, data, edit=True)
            inter.original = message = target
            files = [a for a in target.attachments if id(a) in new_ids]
        inter.callbacks.append({"type": rtype, "data": data or None, "time": now, "files": files})
        log.debug(
            "interaction %s answered with type %s after %.3fs", inter.id, rtype, now - inter.created
        )
        self._notify()
        if message is not None and rtype in (4, 5, 7):
            await self._message_event(message, "MESSAGE_UPDATE" if rtype == 7 else "MESSAGE_CREATE")
        answer: Json = {"interaction": {"id": str(inter.id), "type": inter.type}}
        if message is not None and rtype in (4, 5, 7):
            answer["interaction"].update(
                {
                    "response_message_id": str(message.id),
                    "response_message_loading": rtype == 5,
                    "response_message_ephemeral": message.ephemeral,
                }
            )
            answer["resource"] = {"type": rtype, "message": self.message_json(message)}
        elif rtype == 9:
            answer["resource"] = {"type": 9}
        return answer

    def _webhook_interaction(self, req: _Req) -> FakeInteraction:
        inter = self._interactions_by_token.get(req.match[1])
        if inter is None or int(req.match[0]) != inter.application_id:
            raise _unknown("Webhook", 10015)
        if time.monotonic() - inter.created > inter.token_lifetime:
            raise _ApiError(401, 50027, "Invalid Webhook Token")
        if not inter.callbacks:
            raise _unknown("Webhook", 10015)
        return inter

    def _webhook_message(self, inter: FakeInteraction, which: str) -> FakeMessage:
        if which == "@original":
            message = inter.original
        else:
            message = next((m for m in inter.messages if m.id == int(which)), None)
            if message is None and inter.original is not None and inter.original.id == int(which):
                message = inter.original
        if message is None or message.deleted:
            raise _unknown("Message", 10008)
        return message

    async def _webhook_execute(self, req: _Req) -> Json | None:
        inter = self._webhook_interaction(req)
        payload = req.payload()
        wait = req.record.query.get("wait", "false").lower() in ("1", "true")
        original = inter.original
        if original is not None and original.loading and not original.deleted:
            # The first follow-up after a "thinking…" defer becomes the reply itself and
            # keeps the deferral's visibility; its own ephemeral flag does not count.
            change = self._prepare(
                payload,
                req.uploads(),
                size_limit=inter.attachment_size_limit,
                existing=None,
                creating=True,
            )
            change.flags = (original.flags & FLAG_EPHEMERAL) | (
                change.flags & ~(FLAG_EPHEMERAL | FLAG_LOADING)
            )
            self._fill_deferred(inter, original, change, payload)
            message = original
            event = "MESSAGE_UPDATE"
        else:
            change = self._prepare(
                payload,
                req.uploads(),
                size_limit=inter.attachment_size_limit,
                existing=None,
                creating=True,
            )
            message = self._new_message(inter.channel_id, inter.guild_id, interaction=inter)
            self._apply(message, change, payload, edit=False)
            inter.messages.append(message)
            event = "MESSAGE_CREATE"
        self._notify()
        await self._message_event(message, event)
        return self.message_json(message) if wait else None

    def _fill_deferred(
        self, inter: FakeInteraction, message: FakeMessage, change: _MessageChange, payload: Json
    ) -> None:
        message.loading = False
        self._apply(message, change, payload, edit=False)
        message.created = time.monotonic()
        message.wall_created = time.time()
        inter.messages.append(message)

    async def _webhook_get_message(self, req: _Req) -> Json:
        inter = self._webhook_interaction(req)
        return self.message_json(self._webhook_message(inter, req.match[2]))

    async def _webhook_edit_message(self, req: _Req) -> Json:
        inter = self._webhook_interaction(req)
        message = self._webhook_message(inter, req.match[2])
        payload = req.payload()
        change = self._prepare(
            payload,
            req.uploads(),
            size_limit=inter.attachment_size_limit,
            existing=message,
            creating=False,
        )
        if message.loading:
            change.flags &= ~FLAG_LOADING
            self._fill_deferred(inter, message, change, payload)
        else:
            self._apply(message, change, payload, edit=True)
        self._notify()
        await self._message_event(message, "MESSAGE_UPDATE")
        return self.message_json(message)

    async def _webhook_delete_message(self, req: _Req) -> None:
        inter = self._webhook_interaction(req)
        message = self._webhook_message(inter, req.match[2])
        self._delete(message)
        await self._message_event(message, "MESSAGE_DELETE")

    # ----------------------------------------------------------------- interactions (user side)

    def _build_options(
        self,
        schema: list[Json] | None,
        given: Mapping[str, object],
        guild_id: int | None,
        resolved: Json,
        focused: str | None,
    ) -> list[Json]:
        by_name = {o["name"]: o for o in schema or []}
        out: list[Json] = []
        for name, value in given.items():
            spec = by_name.get(name)
            if spec is None:
                if schema is not None:
                    raise ValueError(
                        f"option {name!r} is not in the synced command (have {sorted(by_name)})"
                    )
                otype = self._infer_type(value)
            else:
                otype = int(spec["type"])
            if otype in (1, 2):
                sub_given = value if isinstance(value, Mapping) else {}
                sub = self._build_options(
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

    @staticmethod
    def _infer_type(value: object) -> int:
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

    def _option_value(self, otype: int, value: object, guild_id: int | None, resolved: Json) -> Any:
        if otype == 3:
            return value if isinstance(value, str) else str(value)
        if otype == 4:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
                return int(value)
            return value  # whatever a buggy client or proxy sends
        if otype == 5:
            return bool(value)
        if (
            otype in (6, 9)
            and isinstance(value, int)
            and (otype == 6 or not self._is_role(value, guild_id))
        ):
            resolved.setdefault("users", {})[str(value)] = self.user_json(value)
            if guild_id is not None:
                g = self._guilds[guild_id]
                if value in g.members:
                    member = self._member_json(
                        g, value, permissions=self.member_permissions(value, guild_id)
                    )
                    member.pop("user")
                    resolved.setdefault("members", {})[str(value)] = member
            return str(value)
        if otype in (8, 9) and isinstance(value, int) and guild_id is not None:
            role = self._guilds[guild_id].roles.get(value)
            if role is not None:
                resolved.setdefault("roles", {})[str(value)] = role.to_json()
            return str(value)
        if otype == 7 and isinstance(value, int):
            ch = self._channel(value)
            if ch is not None:
                data = ch.to_json(self)
                data["permissions"] = str(ALL_PERMISSIONS)
                resolved.setdefault("channels", {})[str(value)] = data
            return str(value)
        if otype == 11:
            att = self._user_attachment(value)
            resolved.setdefault("attachments", {})[str(att.id)] = att.to_json(ephemeral=True)
            return str(att.id)
        return value

    def _is_role(self, value: int, guild_id: int | None) -> bool:
        return guild_id is not None and value in self._guilds[guild_id].roles

    def _user_attachment(self, value: object) -> FakeAttachment:
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
            att.id = self.new_id()
        if att.content_type is None:
            att.content_type = mimetypes.guess_type(att.filename)[0]
        att.url = f"{self.http_base}/attachments/{self.channel_id}/{att.id}/{att.filename}"
        self._attachments[att.id] = att
        return att

    def _new_token(self, interaction_id: int) -> str:
        raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(48)}".encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        while token in self._interactions_by_token:
            token = base64.urlsafe_b64encode(raw + secrets.token_bytes(4)).decode().rstrip("=")
        return token

    async def _create_interaction(
        self,
        itype: int,
        data: Json,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        locale: str,
        attachment_size_limit: int | None,
        permissions: int | None,
        nsfw_channel: bool,
        app_permissions: int | None,
        message: FakeMessage | None = None,
        name: str | None = None,
        custom_id: str | None = None,
    ) -> FakeInteraction:
        if guild_id is not None and guild_id not in self._guilds:
            raise ValueError(f"unknown guild {guild_id}")
        interaction_id = self.new_id()
        token = self._new_token(interaction_id)
        limit = (
            self.attachment_size_limit if attachment_size_limit is None else attachment_size_limit
        )
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": limit,
        }
        if guild_id is not None:
            g = self._guilds[guild_id]
            if channel_id is None:
                channel_id = g.nsfw_channel_id if nsfw_channel else g.default_channel_id
            ch = g.channels.get(channel_id)
            if user_id not in g.members:
                self.add_member(user_id, guild_id=guild_id)
            perms = (
                self.member_permissions(user_id, guild_id) if permissions is None else permissions
            )
            app_perms = (
                self.member_permissions(self.bot_user_id, guild_id)
                if app_permissions is None
                else app_permissions
            )
            channel: Json = {
                "id": str(channel_id),
                "type": ch.type if ch else 0,
                "guild_id": str(guild_id),
                "name": ch.name if ch else "channel",
                "position": ch.position if ch else 0,
                "parent_id": None,
                "topic": None,
                "nsfw": (ch.nsfw if ch else False) or nsfw_channel,
                "rate_limit_per_user": 0,
                "last_message_id": None,
                "flags": 0,
                "permissions": str(perms),
            }
            payload.update(
                {
                    "guild_id": str(guild_id),
                    "guild": {"id": str(guild_id), "locale": g.locale, "features": []},
                    "guild_locale": g.locale,
                    "channel_id": str(channel_id),
                    "channel": channel,
                    "member": self._member_json(g, user_id, permissions=perms),
                    "app_permissions": str(app_perms),
                    "authorizing_integration_owners": {"0": str(guild_id)},
                    "context": 0,
                }
            )
        else:
            if channel_id is None:
                channel_id = self.dm_channel_id(user_id)
            dm_perms = DEFAULT_APP_PERMISSIONS if app_permissions is None else app_permissions
            payload.update(
                {
                    "channel_id": str(channel_id),
                    "channel": {
                        "id": str(channel_id),
                        "type": 1,
                        "last_message_id": None,
                        "flags": 0,
                        "recipients": [self.user_json(user_id)],
                    },
                    "user": self.user_json(user_id),
                    "app_permissions": str(dm_perms),
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        if message is not None:
            payload["message"] = self.message_json(message)

        inter = FakeInteraction(
            id=interaction_id,
            token=token,
            application_id=self.application_id,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            created=time.monotonic(),
            type=itype,
            name=name,
            custom_id=custom_id,
            payload=payload,
            attachment_size_limit=limit,
            defer_deadline=self.defer_deadline,
            token_lifetime=self.token_lifetime,
            component_message=message,
            _fake=self,
        )
        session = self._session_for(guild_id)
        inter.shard_id = session.shard_id
        inter.session_id = session.session_id
        self.interactions.append(inter)
        self._interactions_by_token[token] = inter
        inter.created = time.monotonic()
        inter.delivered = await session.dispatch("INTERACTION_CREATE", payload)
        if not inter.delivered:
            log.warning(
                "interaction %s buffered: session %s has no live socket",
                inter.id,
                session.session_id,
            )
        self._notify()
        return inter

    async def send_slash_command(
        self,
        name: str,
        options: Mapping[str, object] | None = None,
        *,
        user_id: int = DEFAULT_USER_ID,
        guild_id: int | EllipsisType | None = ...,
        channel_id: int | None = None,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        permissions: int | None = None,
        nsfw_channel: bool = False,
        app_permissions: int | None = None,
        raw_options: list[Json] | None = None,
        autocomplete_focus: str | None = None,
    ) -> FakeInteraction:
        """Send a slash command (INTERACTION_CREATE type 2) as a user would, and return at once.

        Option types come from the synced command schema; ``guild_id=None`` is a DM with the
        bot.  ``raw_options`` replaces the built options verbatim (for values no Discord client
        would send).  With ``autocomplete_focus`` the interaction is an autocomplete (type 4).
        """
        gid: int | None = self.guild_id if isinstance(guild_id, EllipsisType) else guild_id
        command = self.find_command(name, gid)
        if command is None:
            log.warning("command %r is not synced; option types are guessed from the values", name)
            cmd_id = self._command_ids.setdefault((None, name, 1), self.new_id())
            schema: list[Json] | None = None
        else:
            cmd_id = int(command["id"])
            schema = command.get("options") or []
            contexts = command.get("contexts")
            if contexts is not None and (1 if gid is None else 0) not in contexts:
                log.warning(
                    "command %r is not offered in this context; Discord would not send it", name
                )
        resolved: Json = {}
        built = self._build_options(schema, options or {}, gid, resolved, autocomplete_focus)
        data: Json = {"id": str(cmd_id), "name": name, "type": 1}
        opts = raw_options if raw_options is not None else built
        if opts:
            data["options"] = opts
        if resolved:
            data["resolved"] = resolved
        if command is not None and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return await self._create_interaction(
            4 if autocomplete_focus else 2,
            data,
            user_id=user_id,
            guild_id=gid,
            channel_id=channel_id,
            locale=locale,
            attachment_size_limit=attachment_size_limit,
            permissions=permissions,
            nsfw_channel=nsfw_channel,
            app_permissions=app_permissions,
            name=name,
        )

    async def press_button(
        self,
        message: FakeMessage,
        custom_id: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        permissions: int | None = None,
        values: list[str] | None = None,
        component_type: int | None = None,
        check: bool = True,
    ) -> FakeInteraction:
        """Click a component of a message (INTERACTION_CREATE type 3 with the whole message).

        With ``check`` (the default) the component must exist, be enabled and the message
        must not be deleted, as only then can a user click it.  ``values`` makes it a select.
        """
        component = message.find_component(custom_id)
        if check:
            if message.deleted:
                raise ValueError(f"message {message.id} is deleted")
            if component is None:
                have = message.custom_ids()
                raise ValueError(
                    f"message {message.id} has no component {custom_id!r} (has {have})"
                )
            if component.get("disabled"):
                raise ValueError(f"component {custom_id!r} is disabled")
        ctype = component_type or (
            int(component["type"]) if component else (3 if values is not None else 2)
        )
        data: Json = {"custom_id": custom_id, "component_type": ctype}
        if values is not None:
            data["values"] = values
        if component is not None and "id" in component:
            data["id"] = component["id"]
        return await self._create_interaction(
            3,
            data,
            user_id=user_id,
            guild_id=message.guild_id,
            channel_id=message.channel_id,
            locale=locale,
            attachment_size_limit=attachment_size_limit,
            permissions=permissions,
            nsfw_channel=False,
            app_permissions=None,
            message=message,
            custom_id=custom_id,
        )

    def get_interaction(self, token_or_id: str | int) -> FakeInteraction:
        if isinstance(token_or_id, str) and token_or_id in self._interactions_by_token:
            return self._interactions_by_token[token_or_id]
        found = self._interaction_by_id(int(token_or_id))
        if found is None:
            raise KeyError(token_or_id)
        return found

    def get_message(self, message_id: int) -> FakeMessage:
        return self._messages[message_id]

    @property
    def all_messages(self) -> list[FakeMessage]:
        """Every message, in order of creation (deferred replies included, even while loading)."""
        return list(self._messages.values())

    # ----------------------------------------------------------------- gateway

    def _session_for(self, guild_id: int | None) -> GatewaySession:
        candidates = [s for s in self.sessions if s.ready and not s.invalid and s.owns(guild_id)]
        if not candidates:
            raise LookupError(
                f"no gateway session owns guild {guild_id} (is the bot connected and ready?)"
            )
        candidates.sort(key=lambda s: (s.live, s.identified), reverse=True)
        return candidates[0]

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions if s.live]

    async def dispatch_event(self, event: str, data: Any, *, guild_id: int | None = None) -> bool:
        """Send any DISPATCH event to the session that owns ``guild_id``."""
        return await self._session_for(guild_id).dispatch(event, data)

    async def _broadcast(self, guild_id: int | None, event: str, data: Any, intent: int) -> None:
        for session in self.sessions:
            if (
                session.live
                and session.ready
                and session.owns(guild_id)
                and session.intents & intent
            ):
                await session.dispatch(event, data)

    def _spawn(self, coro: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            return
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def disconnect_all(self, *, code: int = 4000, invalidate: bool = False) -> None:
        """Close every gateway socket (discord.py reconnects and RESUMEs).

        With ``invalidate`` the sessions are forgotten, so a RESUME gets op 9 and the client
        has to IDENTIFY again.
        """
        for conn in list(self._connections):
            if invalidate and conn.session is not None:
                conn.session.invalid = True
            await conn.close(code, "disconnected by test")
        if invalidate:
            for session in self.sessions:
                session.invalid = True
        self._notify()

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0, autoping=True)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="expected a websocket")
        await ws.prepare(request)
        conn = _GatewayConnection(ws, request.query)
        self._connections.add(conn)
        log.debug("gateway connection from %s query=%s", request.remote, conn.query)
        try:
            await conn.send(
                {"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        payload = json.loads(msg.data)
                    except ValueError:
                        await conn.close(4002, "Error while decoding payload.")
                        break
                    await self._on_gateway_payload(conn, payload)
                elif msg.type == WSMsgType.BINARY:
                    await conn.close(4002, "Error while decoding payload.")
                    break
                if conn.closed:
                    break
        finally:
            conn.closed = True
            self._connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
            self._notify()
        return ws

    async def _on_gateway_payload(self, conn: _GatewayConnection, payload: Any) -> None:
        if not isinstance(payload, dict):
            await conn.close(4002, "Error while decoding payload.")
            return
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            conn.heartbeats += 1
            conn.last_heartbeat = time.monotonic()
            self._spawn(self._ack_heartbeat(conn))
        elif op == 2:
            await self._identify(conn, data if isinstance(data, dict) else {})
        elif op == 6:
            await self._resume(conn, data if isinstance(data, dict) else {})
        elif conn.session is None:
            await conn.close(4003, "Not authenticated.")
        elif op == 3:
            conn.session.presence = data
        elif op == 4:
            pass  # voice state update: nothing to do without voice
        elif op == 8:
            await self._request_members(conn.session, data if isinstance(data, dict) else {})
        else:
            await conn.close(4001, "Unknown opcode.")

    async def _ack_heartbeat(self, conn: _GatewayConnection) -> None:
        await asyncio.sleep(self.heartbeat_ack_delay)
        await conn.send({"op": 11, "s": None, "t": None, "d": None})

    async def _identify(self, conn: _GatewayConnection, data: Json) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        self.identifies.append(data)
        if data.get("token") != self.token:
            await conn.close(4004, "Authentication failed.")
            return
        shard = data.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            await conn.close(4010, "Invalid shard.")
            return
        if shard_count < 1 or not 0 <= shard_id < shard_count:
            await conn.close(4010, "Invalid shard.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents & ~_KNOWN_INTENTS:
            await conn.close(4013, "Invalid intent(s).")
            return
        if (
            self.allowed_intents is not None
            and intents & PRIVILEGED_INTENTS & ~self.allowed_intents
        ):
            await conn.close(4014, "Disallowed intent(s).")
            return
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            shard_id=shard_id,
            shard_count=shard_count,
            identify=data,
            intents=intents,
            identified=time.monotonic(),
            conn=conn,
        )
        conn.session = session
        self.sessions.append(session)
        guilds = [g for g in self._guilds.values() if session.owns(g.id)]
        me = self.user_json(self.bot_user_id)
        me.update({"verified": True, "mfa_enabled": False, "email": None})
        ready: Json = {
            "v": 10,
            "user": me,
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "geo_ordered_rtc_regions": ["local"],
            "guild_join_requests": [],
            "auth": {},
            "_trace": ['["fake-gateway",{"micros":1}]'],
        }
        if "shard" in data:
            ready["shard"] = [shard_id, shard_count]
        await session.dispatch("READY", ready)
        for g in guilds:
            await session.dispatch("GUILD_CREATE", self._guild_create_json(g))
        session.ready = True
        self.ready_count += 1
        log.info(
            "gateway session %s ready (shard %s/%s, %d guild(s))",
            session.session_id,
            shard_id,
            shard_count,
            len(guilds),
        )
        self._notify()

    async def _resume(self, conn: _GatewayConnection, data: Json) -> None:
        session = next((s for s in self.sessions if s.session_id == data.get("session_id")), None)
        if session is None or session.invalid or data.get("token") != self.token:
            await asyncio.sleep(0.05)
            await conn.send({"op": 9, "s": None, "t": None, "d": False})
            return
        old = session.conn
        if old is not None and old is not conn:
            await old.close(4000, "session resumed elsewhere")
        session.conn = conn
        conn.session = session
        session.resumes += 1
        seq = data.get("seq") or 0
        for payload in [p for p in session.buffer if p["s"] > seq]:
            await conn.send(payload)
        await session.dispatch("RESUMED", {"_trace": ['["fake-gateway",{"micros":1}]']})
        log.info("gateway session %s resumed from seq %s", session.session_id, seq)
        self._notify()

    async def _request_members(self, session: GatewaySession, data: Json) -> None:
        try:
            g = self._guilds[int(data["guild_id"])]
        except (KeyError, TypeError, ValueError):
            return
        wanted = data.get("user_ids")
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        members = []
        for uid in g.members:
            if wanted is not None:
                ids = wanted if isinstance(wanted, list) else [wanted]
                if str(uid) not in {str(i) for i in ids}:
                    continue
            elif query and not str(self._users.get(uid, {}).get("username", "")).lower().startswith(
                query
            ):
                continue
            members.append(self._member_json(g, uid))
        if limit:
            members = members[:limit]
        chunk: Json = {
            "guild_id": str(g.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
