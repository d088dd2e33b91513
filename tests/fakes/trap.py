"""A loopback server that only records whether anything connected to it.

Where a test must show that the bot never connects somewhere (an address it must refuse),
it points that address at a trap and checks :attr:`Trap.connections` stays 0.
"""

from __future__ import annotations

import asyncio


class Trap:
    """Listens on 127.0.0.1 (a free port); counts connections and closes each at once."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on a free loopback port."""

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self._server = await asyncio.start_server(accepted, "127.0.0.1", 0)

    @property
    def port(self) -> int:
        """The port the trap listens on."""
        assert self._server is not None, "the trap is not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
