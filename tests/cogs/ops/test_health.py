"""Readiness decisions and the store probe."""

from __future__ import annotations

import asyncio
import socket

import pytest

from cogs.ops import health
from cogs.ops.health import Probe, readiness, store_answers


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        (Probe(True, True, False), (True, "ready")),
        (Probe(False, True, False), (False, "gateway not connected")),
        (Probe(True, False, False), (False, "store not answering")),
        (Probe(True, True, True), (False, "draining")),
        (Probe(False, False, True), (False, "draining")),
    ],
)
def test_readiness(probe: Probe, expected: tuple[bool, str]) -> None:
    assert readiness(probe) == expected


@pytest.mark.asyncio
async def test_store_answers_when_the_ping_returns() -> None:
    async def ping() -> None:
        return None

    assert await store_answers(ping)


@pytest.mark.asyncio
async def test_store_does_not_answer_when_the_ping_fails() -> None:
    async def ping() -> None:
        raise ConnectionError("refused")

    assert not await store_answers(ping)


@pytest.mark.asyncio
async def test_store_does_not_answer_when_the_ping_hangs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "STORE_PROBE_SECONDS", 0.05)

    async def ping() -> None:
        await asyncio.sleep(10)

    assert not await store_answers(ping)


@pytest.mark.asyncio
async def test_a_taken_port_is_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    async def probe() -> Probe:
        return Probe(True, True, False)

    first = health.HealthServer(
        host="127.0.0.1", port=0, probe=probe, metrics=lambda: b"", content_type="text/plain"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        first.port = int(taken.getsockname()[1])
        with pytest.raises(OSError, match="address"):
            await first.start()
    assert "(HTTP_HOST, HTTP_PORT)" in caplog.text
