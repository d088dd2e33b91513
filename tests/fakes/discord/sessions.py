"""Gateway connections and sessions, and sending events to the sessions that see them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import Json
from tests.fakes.discord.snowflakes import dumps, shard_for

log = logging.getLogger(__name__)

#: The close code a client sees when the connection drops with no close frame.
ABNORMAL_CLOSURE = 1006


class GatewayConnection:
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
        #: The TCP connection, to drop it without a close frame (the client sees 1006).
        self.transport: asyncio.BaseTransport | None = None

    async def send(self, payload: Json) -> bool:
        """Send one payload as a JSON text frame; False if the socket is gone."""
        if self.closed or self.ws.closed:
            return False
        try:
            async with self.lock:
                await self.ws.send_str(dumps(payload))
        except (ConnectionError, RuntimeError) as exc:
            log.debug("gateway send failed: %s", exc)
            self.closed = True
            return False
        return True

    async def close(self, code: int, message: str = "") -> None:
        """Close the socket with a gateway close code; 1006 (abnormal closure) drops the
        connection without a close frame, as a network failure does."""
        self.closed = True
        if code == ABNORMAL_CLOSURE and self.transport is not None:
            self.transport.abort()
            return
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
    conn: GatewayConnection | None = None
    seq: int = 0
    buffer: list[Json] = field(default_factory=list)
    ready: bool = False
    resumes: int = 0
    invalid: bool = False
    presence: Json | None = None
    events: list[tuple[float, str]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        """Whether a socket is attached and the session is still valid."""
        return self.conn is not None and not self.conn.closed and not self.invalid

    def owns(self, guild_id: int | None) -> bool:
        """Whether this session's shard is the one Discord routes the guild to."""
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


def session_for(sessions: list[GatewaySession], guild_id: int | None) -> GatewaySession:
    """The ready session that owns a guild (a live one first, then the newest)."""
    candidates = [s for s in sessions if s.ready and not s.invalid and s.owns(guild_id)]
    if not candidates:
        raise LookupError(
            f"no gateway session owns guild {guild_id} (is the bot connected and ready?)"
        )
    candidates.sort(key=lambda s: (s.live, s.identified), reverse=True)
    return candidates[0]


async def broadcast(
    sessions: list[GatewaySession], guild_id: int | None, event: str, data: Any, intent: int
) -> None:
    """Dispatch an event to every live, ready session that owns the guild and has the intent."""
    for session in sessions:
        if session.live and session.ready and session.owns(guild_id) and session.intents & intent:
            await session.dispatch(event, data)
