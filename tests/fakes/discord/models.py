"""What the fake records: requests and their parts, attachments, messages, interactions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.fakes.discord.constants import BOT_USER_ID, FLAG_EPHEMERAL, Json
from tests.fakes.discord.snowflakes import dumps


class Server(Protocol):
    """What an interaction needs of the fake that sent it: its requests and a way to wait."""

    @property
    def requests(self) -> list[RecordedRequest]: ...

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float, what: str = "a condition"
    ) -> None: ...


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
        return [c["custom_id"] for c in walk_components(self.components) if "custom_id" in c]

    def find_component(self, custom_id: str) -> Json | None:
        for comp in walk_components(self.components):
            if comp.get("custom_id") == custom_id:
                return comp
        return None

    def snapshot(self, when: float) -> Json:
        return {
            "time": when,
            "content": self.content,
            "embeds": json.loads(dumps(self.embeds)),
            "components": json.loads(dumps(self.components)),
            "attachments": [a.filename for a in self.attachments],
            "flags": self.flags,
            "loading": self.loading,
        }


def walk_components(components: Sequence[Any]) -> Iterator[Json]:
    """Every component, nested ones (rows, sections' accessories) included, in order."""
    for comp in components:
        if not isinstance(comp, dict):
            continue
        yield comp
        children = comp.get("components")
        if isinstance(children, list):
            yield from walk_components(children)
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield from walk_components([accessory])


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
    #: The modal the bot answered with (response type 9), checked as Discord checks it.
    modal: Json | None = None
    shard_id: int = 0
    session_id: str | None = None
    delivered: bool = False
    _fake: Server | None = field(default=None, repr=False)

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

    def _require_fake(self) -> Server:
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
