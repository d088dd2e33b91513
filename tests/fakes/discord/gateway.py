"""The gateway: websocket connections, IDENTIFY and READY, RESUME, heartbeats, requests.

Plain JSON text frames (discord.py decompresses only binary ones); several shards and
sessions at once; a session outlives its socket so that RESUME can replay what it missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.constants import (
    HEARTBEAT_INTERVAL_MS,
    KNOWN_INTENTS,
    PRIVILEGED_INTENTS,
    Json,
)
from tests.fakes.discord.sessions import GatewayConnection, GatewaySession, session_for
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.world import World

log = logging.getLogger(__name__)

_TRACE = ['["fake-gateway",{"micros":1}]']


class Gateway:
    """Serves ``/`` as Discord's gateway."""

    def __init__(self, state: DiscordState, world: World) -> None:
        self.state = state
        self.world = world
        self.connections: set[GatewayConnection] = set()
        #: While set, the gateway is down: new connections get HTTP 503.
        self.refusing = False

    # ----------------------------------------------------------------- what tests do

    def live_sessions(self) -> list[GatewaySession]:
        """The sessions with an open socket."""
        return [s for s in self.state.sessions if s.live]

    async def dispatch_event(self, event: str, data: Any, *, guild_id: int | None = None) -> bool:
        """Send any DISPATCH event to the session that owns ``guild_id``."""
        return await session_for(self.state.sessions, guild_id).dispatch(event, data)

    async def disconnect_all(self, *, code: int = 4000, invalidate: bool = False) -> None:
        """Close every gateway socket (discord.py reconnects and RESUMEs).

        ``code`` 1006 drops the connections with no close frame, as a network failure
        does. With ``invalidate`` the sessions are forgotten, so a RESUME gets op 9 and the
        client has to IDENTIFY again.
        """
        for conn in list(self.connections):
            if invalidate and conn.session is not None:
                conn.session.invalid = True
            await conn.close(code, "disconnected by test")
        if invalidate:
            for session in self.state.sessions:
                session.invalid = True
        self.state.notify()

    async def close(self) -> None:
        """Close every socket as a server shutting down."""
        for conn in list(self.connections):
            await conn.close(1001, "server shutting down")

    # ----------------------------------------------------------------- the socket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One websocket connection, from HELLO to close."""
        if self.refusing:
            return web.Response(status=503, text="gateway down")
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0, autoping=True)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="expected a websocket")
        await ws.prepare(request)
        conn = GatewayConnection(ws, request.query)
        conn.transport = request.transport
        self.connections.add(conn)
        log.debug("gateway connection from %s query=%s", request.remote, conn.query)
        try:
            await conn.send(
                {"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}
            )
            await self._receive(ws, conn)
        finally:
            conn.closed = True
            self.connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
            self.state.notify()
        return ws

    async def _receive(self, ws: web.WebSocketResponse, conn: GatewayConnection) -> None:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await conn.close(4002, "Error while decoding payload.")
                    break
                await self._on_payload(conn, payload)
            elif msg.type == WSMsgType.BINARY:
                await conn.close(4002, "Error while decoding payload.")
                break
            if conn.closed:
                break

    async def _on_payload(self, conn: GatewayConnection, payload: Any) -> None:
        if not isinstance(payload, dict):
            await conn.close(4002, "Error while decoding payload.")
            return
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            conn.heartbeats += 1
            conn.last_heartbeat = time.monotonic()
            self.state.spawn(self._ack_heartbeat(conn))
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

    async def _ack_heartbeat(self, conn: GatewayConnection) -> None:
        await asyncio.sleep(self.state.heartbeat_ack_delay)
        await conn.send({"op": 11, "s": None, "t": None, "d": None})

    # ----------------------------------------------------------------- IDENTIFY and RESUME

    async def _check_identify(self, conn: GatewayConnection, data: Json) -> tuple[int, int] | None:
        """Shard id and count of a valid IDENTIFY; else close the socket as Discord does."""
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return None
        self.state.identifies.append(data)
        if data.get("token") != self.state.token:
            await conn.close(4004, "Authentication failed.")
            return None
        shard = data.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            await conn.close(4010, "Invalid shard.")
            return None
        if shard_count < 1 or not 0 <= shard_id < shard_count:
            await conn.close(4010, "Invalid shard.")
            return None
        intents = data.get("intents")
        if not isinstance(intents, int) or intents & ~KNOWN_INTENTS:
            await conn.close(4013, "Invalid intent(s).")
            return None
        allowed = self.state.allowed_intents
        if allowed is not None and intents & PRIVILEGED_INTENTS & ~allowed:
            await conn.close(4014, "Disallowed intent(s).")
            return None
        return shard_id, shard_count

    def _ready_json(self, session: GatewaySession, guild_ids: list[int]) -> Json:
        state = self.state
        me = self.world.user_json(state.bot_user_id)
        me.update({"verified": True, "mfa_enabled": False, "email": None})
        ready: Json = {
            "v": 10,
            "user": me,
            "user_settings": {},
            "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": state.gateway_url,
            "application": {"id": str(state.application_id), "flags": state.application_flags},
            "geo_ordered_rtc_regions": ["local"],
            "guild_join_requests": [],
            "auth": {},
            "_trace": list(_TRACE),
        }
        if "shard" in session.identify:
            ready["shard"] = [session.shard_id, session.shard_count]
        return ready

    async def _identify(self, conn: GatewayConnection, data: Json) -> None:
        shard = await self._check_identify(conn, data)
        if shard is None:
            return
        shard_id, shard_count = shard
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            shard_id=shard_id,
            shard_count=shard_count,
            identify=data,
            intents=data["intents"],
            identified=time.monotonic(),
            conn=conn,
        )
        conn.session = session
        self.state.sessions.append(session)
        guilds = [g for g in self.world.guilds.values() if session.owns(g.id)]
        await session.dispatch("READY", self._ready_json(session, [g.id for g in guilds]))
        for g in guilds:
            await session.dispatch("GUILD_CREATE", self.world.guild_create_json(g))
        session.ready = True
        self.state.ready_count += 1
        log.info(
            "gateway session %s ready (shard %s/%s, %d guild(s))",
            session.session_id,
            shard_id,
            shard_count,
            len(guilds),
        )
        self.state.notify()

    async def _resume(self, conn: GatewayConnection, data: Json) -> None:
        sessions = self.state.sessions
        session = next((s for s in sessions if s.session_id == data.get("session_id")), None)
        if session is None or session.invalid or data.get("token") != self.state.token:
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
        await session.dispatch("RESUMED", {"_trace": list(_TRACE)})
        log.info("gateway session %s resumed from seq %s", session.session_id, seq)
        self.state.notify()

    # ----------------------------------------------------------------- requests

    async def _request_members(self, session: GatewaySession, data: Json) -> None:
        """Op 8: answer with one GUILD_MEMBERS_CHUNK (by ids, or by name prefix)."""
        try:
            g = self.world.guilds[int(data["guild_id"])]
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
            elif query and not str(
                self.world.users.get(uid, {}).get("username", "")
            ).lower().startswith(query):
                continue
            members.append(self.world.member_json(g, uid))
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
