"""Fixtures for the end-to-end tests: both fakes and one bot process per module."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.harness import BotProcess, running_bot
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI

_user_ids = itertools.count(500_000_000_000_000_001)


def fresh_user() -> int:
    """A user id never used before in this run, so cooldowns never leak between tests."""
    return next(_user_ids)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake_api() -> AsyncIterator[FakeImageAPI]:
    async with FakeImageAPI() as server:
        yield server


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bot")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path
) -> AsyncIterator[BotProcess]:
    # Stopped cleanly, with no traceback: every failure the tests provoked was expected,
    # each must have become a message and a log line, never an unhandled exception.
    async with running_bot(
        fake_discord, fake_api, workdir, extra={"COOLDOWN_SECONDS": "600"}
    ) as process:
        yield process
