"""/imagine's command permissions for buttons: read from Discord, kept briefly, dropped on
Discord's update event, and refused when unknown."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from cogs.imagine import access as access_module
from cogs.imagine.access import CommandAccess, overwrites_of
from core.command_permissions import Access, Overwrite, TargetType
from tests.cogs.imagine.test_port import http_error

APP = 77
GUILD = 1_000_000
CHANNEL = 500
COMMAND = 88
DEV_COMMAND = 89
ANIMATE = 90
USER = 42


def entry(target: int, *items: tuple[int, int, bool]) -> dict[str, Any]:
    return {
        "id": str(target),
        "application_id": str(APP),
        "guild_id": str(GUILD),
        "permissions": [
            {"id": str(i), "type": kind, "permission": allow} for i, kind, allow in items
        ],
    }


class FakeHttp:
    def __init__(self) -> None:
        self.answer: list[dict[str, Any]] | Exception = []
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def get_guild_application_command_permissions(
        self, application_id: int, guild_id: int
    ) -> list[dict[str, Any]]:
        assert (application_id, guild_id) == (APP, GUILD)
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class FakeTree:
    def __init__(self) -> None:
        self.fetches: list[int | None] = []
        self.fail = False

    async def fetch_commands(self, *, guild: discord.abc.Snowflake | None = None) -> list[Any]:
        self.fetches.append(None if guild is None else guild.id)
        if self.fail:
            raise http_error(503, 0)
        command_id = COMMAND if guild is None else DEV_COMMAND
        chat = discord.AppCommandType.chat_input
        return [
            SimpleNamespace(
                id=command_id, name="imagine", type=chat, default_member_permissions=None
            ),
            SimpleNamespace(id=5, name="imagine-quota", type=chat, default_member_permissions=None),
            SimpleNamespace(id=ANIMATE, name="animate", type=chat, default_member_permissions=None),
        ]


def make_access(*, dev_guild_id: int | None = None) -> tuple[CommandAccess, FakeHttp, FakeTree]:
    http, tree = FakeHttp(), FakeTree()
    client = SimpleNamespace(application_id=APP, http=http, tree=tree)
    return CommandAccess(cast(Any, client), dev_guild_id=dev_guild_id), http, tree


def pressed(*, channel_id: int = CHANNEL, permissions: int = 0) -> discord.Interaction:
    interaction = SimpleNamespace(
        guild_id=GUILD,
        channel_id=channel_id,
        channel=None,
        user=SimpleNamespace(id=USER),
        permissions=discord.Permissions(permissions),
    )
    return cast(discord.Interaction, interaction)


def test_overwrites_by_command_and_application() -> None:
    payload = [
        entry(COMMAND, (CHANNEL, 3, False), (USER, 2, True)),
        entry(APP, (GUILD, 1, False), (9, 4, True)),  # a type from the future is left out
    ]
    assert overwrites_of(payload) == {
        COMMAND: [
            Overwrite(CHANNEL, TargetType.CHANNEL, False),
            Overwrite(USER, TargetType.USER, True),
        ],
        APP: [Overwrite(GUILD, TargetType.ROLE, False)],
    }


@pytest.mark.asyncio
async def test_read_once_kept_and_dropped_on_the_update_event() -> None:
    access, http, tree = make_access()
    http.answer = [entry(COMMAND, (CHANNEL, 3, False))]
    assert await access.check(pressed()) is Access.CHANNEL_DENIED
    assert await access.check(pressed(channel_id=CHANNEL + 1)) is Access.ALLOWED
    assert http.reads == 1
    assert tree.fetches == [None]  # the command's id, read once
    access.forget(GUILD)
    http.answer = []
    assert await access.check(pressed()) is Access.ALLOWED
    assert http.reads == 2
    assert tree.fetches == [None]


@pytest.mark.asyncio
async def test_each_command_has_its_own_permissions_on_one_read() -> None:
    """Animate follows /animate's overwrites, Re-roll /imagine's: one read serves both."""
    access, http, tree = make_access()
    http.answer = [entry(ANIMATE, (CHANNEL, 3, False))]
    assert await access.check(pressed(), "animate") is Access.CHANNEL_DENIED
    assert await access.check(pressed()) is Access.ALLOWED
    http.answer = [entry(COMMAND, (CHANNEL, 3, False))]
    access.forget(GUILD)
    assert await access.check(pressed(), "animate") is Access.ALLOWED
    assert await access.check(pressed(), "imagine") is Access.CHANNEL_DENIED
    assert http.reads == 2
    # Each command's ids are read once.
    assert tree.fetches == [None, None]


@pytest.mark.asyncio
async def test_kept_only_for_a_short_while(monkeypatch: pytest.MonkeyPatch) -> None:
    access, http, _ = make_access()
    clock = [1000.0]
    monkeypatch.setattr(access_module.time, "monotonic", lambda: clock[0])
    await access.check(pressed())
    clock[0] += access_module.FRESH_SECONDS + 1
    await access.check(pressed())
    assert http.reads == 2


@pytest.mark.asyncio
async def test_a_failed_read_uses_the_last_one_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    access, http, _ = make_access()
    clock = [1000.0]
    monkeypatch.setattr(access_module.time, "monotonic", lambda: clock[0])
    http.answer = [entry(COMMAND, (CHANNEL, 3, False))]
    assert await access.check(pressed()) is Access.CHANNEL_DENIED
    http.answer = http_error(503, 0)
    clock[0] += access_module.FRESH_SECONDS + 1
    assert await access.check(pressed()) is Access.CHANNEL_DENIED
    clock[0] += access_module.STALE_SECONDS
    assert await access.check(pressed()) is None


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", [http_error(403, 50001), http_error(500, 0), TimeoutError()])
async def test_without_any_read_the_answer_is_unknown(failure: Exception) -> None:
    access, http, _ = make_access()
    http.answer = failure
    assert await access.check(pressed()) is None
    http.answer = []
    assert await access.check(pressed()) is Access.ALLOWED


@pytest.mark.asyncio
async def test_a_read_begun_before_a_change_is_not_kept() -> None:
    access, http, _ = make_access()
    http.answer = [entry(COMMAND, (CHANNEL, 3, False))]
    http.gate = asyncio.Event()
    reading = asyncio.create_task(access.check(pressed()))
    await asyncio.sleep(0)
    access.forget(GUILD)  # the update event arrives while the read is under way
    http.gate.set()
    assert await reading is Access.CHANNEL_DENIED
    http.gate = None
    http.answer = []
    assert await access.check(pressed()) is Access.ALLOWED
    assert http.reads == 2


@pytest.mark.asyncio
async def test_presses_at_once_read_once() -> None:
    access, http, _ = make_access()
    http.gate = asyncio.Event()
    presses = [asyncio.create_task(access.check(pressed())) for _ in range(5)]
    await asyncio.sleep(0)
    http.gate.set()
    assert await asyncio.gather(*presses) == [Access.ALLOWED] * 5
    assert http.reads == 1


@pytest.mark.asyncio
async def test_administrators_and_the_development_servers_own_command() -> None:
    access, http, tree = make_access(dev_guild_id=GUILD)
    http.answer = [entry(COMMAND, (USER, 2, False))]
    # The development server has its own /imagine too, which nothing denies.
    assert await access.check(pressed()) is Access.ALLOWED
    assert sorted(i for i in tree.fetches if i is not None) == [GUILD]
    access_only_global, http2, _ = make_access()
    http2.answer = http.answer
    assert await access_only_global.check(pressed()) is Access.MEMBER_DENIED
    assert await access_only_global.check(pressed(permissions=8)) is Access.ALLOWED


@pytest.mark.asyncio
async def test_unknown_command_ids_leave_the_application_level_to_decide() -> None:
    access, http, tree = make_access()
    tree.fail = True
    http.answer = [entry(APP, (GUILD, 1, False))]
    assert await access.check(pressed()) is Access.MEMBER_DENIED
    tree.fail = False
    assert await access.check(pressed()) is Access.MEMBER_DENIED
    assert tree.fetches == [None, None]  # a failed fetch is not kept


@pytest.mark.asyncio
async def test_outside_servers_nothing_applies() -> None:
    access, http, _ = make_access()
    interaction = cast(discord.Interaction, SimpleNamespace(guild_id=None, channel_id=1))
    assert await access.check(interaction) is Access.ALLOWED
    assert http.reads == 0
