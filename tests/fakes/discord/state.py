"""The state every part of the fake Discord shares: settings, records, registries, waiting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from tests.fakes.discord.constants import (
    APPLICATION_ID,
    BOT_USER_ID,
    DEFAULT_USER_ID,
    OWNER_USER_ID,
    Json,
)
from tests.fakes.discord.guilds import Channel, Guild
from tests.fakes.discord.models import (
    FakeAttachment,
    FakeInteraction,
    FakeMessage,
    RecordedRequest,
)
from tests.fakes.discord.sessions import GatewaySession
from tests.fakes.discord.snowflakes import SnowflakeSource

API_PREFIX: Final = "/api/v10"


class DiscordState:
    """Settings, everything recorded, and the registries the parts look things up in.

    The public attributes are what tests read (``requests``, ``interactions``,
    ``global_commands``...); the registries are the fake's own bookkeeping.  Every change a
    test may wait for ends with :meth:`notify`.
    """

    def __init__(
        self,
        *,
        token: str,
        attachment_size_limit: int,
        request_size_limit: int,
        token_lifetime: float,
        defer_deadline: float,
        heartbeat_ack_delay: float,
        allowed_intents: int | None,
        recommended_shards: int,
        message_events: bool,
        bot_name: str,
        application_flags: int,
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
        # The first guild and its channels (set once the guilds exist).
        self.guild_id: int = 0
        self.channel_id: int = 0
        self.nsfw_channel_id: int = 0

        # Recorded state.
        self.global_commands: list[Json] = []
        self.guild_commands: dict[int, list[Json]] = {}
        self.command_sync_count = 0
        self.command_syncs: list[tuple[float, int | None, list[Json]]] = []
        self.identifies: list[Json] = []
        self.requests: list[RecordedRequest] = []
        #: The ids of the attachments fetched from the CDN, in order.
        self.cdn_fetches: list[int] = []
        self.channel_messages: list[FakeMessage] = []
        self.interactions: list[FakeInteraction] = []
        self.sessions: list[GatewaySession] = []
        self.server_errors: list[str] = []
        self.ready_count = 0

        self.registry = Registry()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._snowflakes = SnowflakeSource(worker=3)
        self._port: int | None = None

    # ----------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        """The port the server listens on (once started)."""
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    @property
    def http_base(self) -> str:
        """``http://127.0.0.1:<port>``: the CDN and REST host."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_base(self) -> str:
        """The REST API's base URL (what ``discord.http.Route.BASE`` becomes)."""
        return f"{self.http_base}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The gateway's websocket URL."""
        return f"ws://127.0.0.1:{self.port}/"

    # ----------------------------------------------------------------- changes and waiting

    def notify(self) -> None:
        """Wake everything waiting in :meth:`wait_for` to re-check its condition."""
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

    # ----------------------------------------------------------------- ids and tasks

    def new_id(self) -> int:
        """A fresh snowflake, increasing."""
        return self._snowflakes.next()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine in the background (dropped when no loop runs, as at setup)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            return
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_tasks(self) -> None:
        """Cancel the background tasks and wait for them to end."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def interaction_by_id(self, interaction_id: int | None) -> FakeInteraction | None:
        """The newest interaction with this id, if any."""
        if interaction_id is None:
            return None
        for inter in reversed(self.interactions):
            if inter.id == interaction_id:
                return inter
        return None


@dataclass
class Registry:
    """What the fake looks things up in by id (or token)."""

    users: dict[int, Json] = field(default_factory=dict)
    guilds: dict[int, Guild] = field(default_factory=dict)
    dm_channels: dict[int, Channel] = field(default_factory=dict)  # by recipient id
    messages: dict[int, FakeMessage] = field(default_factory=dict)
    attachments: dict[int, FakeAttachment] = field(default_factory=dict)
    interactions_by_token: dict[str, FakeInteraction] = field(default_factory=dict)
    command_ids: dict[tuple[int | None, str, int], int] = field(default_factory=dict)
    #: Command permissions by guild, then by command id (or the application's id).
    command_permissions: dict[int, dict[int, list[Json]]] = field(default_factory=dict)
