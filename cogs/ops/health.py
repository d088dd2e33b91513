"""``/healthz``, ``/readyz`` and ``/metrics`` on aiohttp's web server, in the bot's loop.

Liveness is the loop answering at all. Readiness is decided by :func:`readiness` from three
facts the caller gathers: every gateway connection of this process open, the store
answering, the bot not draining.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)

#: The store must answer a readiness probe within this long.
STORE_PROBE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Probe:
    """The facts readiness is decided on."""

    gateway_connected: bool
    store_answers: bool
    draining: bool


def readiness(probe: Probe) -> tuple[bool, str]:
    """Whether the bot is ready, and why not: draining first (it will not come back),
    then the gateway, then the store."""
    if probe.draining:
        return False, "draining"
    if not probe.gateway_connected:
        return False, "gateway not connected"
    if not probe.store_answers:
        return False, "store not answering"
    return True, "ready"


async def store_answers(ping: Callable[[], Awaitable[object]]) -> bool:
    """Whether ``ping()`` returns within :data:`STORE_PROBE_SECONDS` without raising."""
    try:
        async with asyncio.timeout(STORE_PROBE_SECONDS):
            await ping()
    except Exception as error:
        # The kind of failure only: a probe runs every few seconds, and a Redis error's
        # text is not needed to act (the store's own log lines say more).
        log.warning("readiness: the store did not answer (%s)", type(error).__name__)
        return False
    return True


class HealthServer:
    """The HTTP server; ``probe`` gathers the facts, ``metrics`` renders the text format."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        probe: Callable[[], Awaitable[Probe]],
        metrics: Callable[[], bytes],
        content_type: str,
    ) -> None:
        self.host = host
        self.port = port
        self._probe = probe
        self._metrics = metrics
        self._content_type = content_type
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on ``host:port``."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_page)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as error:
            # Most often the port is taken: say which setting to change.
            log.error(
                "could not serve health and metrics on %s:%d (HTTP_HOST, HTTP_PORT): %s",
                self.host,
                self.port,
                error.strerror or error,
            )
            await self.stop()
            raise
        log.info("health and metrics served on http://%s:%d/", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        ready, reason = readiness(await self._probe())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "reason": reason},
            status=200 if ready else 503,
        )

    async def _metrics_page(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._metrics(), headers={"Content-Type": self._content_type})
