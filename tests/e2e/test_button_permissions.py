"""Result buttons end to end: Discord's command permissions, and the job they belong to.

Discord applies a server's command permissions (Integrations) to ``/imagine`` itself, not
to the buttons under its results, so the bot applies them to Re-roll. Every button also
acts only on its own job's messages in its own server. The real bot runs against the fake
Discord (which serves the permissions and announces their changes) and the fake image API;
each test takes a server of its own.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, ServerPool, running_bot, server_pool
from tests.e2e.steps import MODAL, UPDATE, as_owner, delivered, refused_privately
from tests.fakes.discord import (
    ALL_PERMISSIONS,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
)
from tests.fakes.image_api import FakeImageAPI, Scripted, VideoPlan

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROLE, USER, CHANNEL = 1, 2, 3
SERVERS = 14
EN = CATALOG["en"]
ZH = CATALOG["zh"]


@dataclass
class Server:
    id: int
    general: int
    art: int
    artists: int
    #: A thread under general.
    thread: int


World = ServerPool[Server]


def furnish(discord: FakeDiscord, guild_id: int) -> Server:
    """A server with an art channel, an artists role and a thread under general."""
    general, _ = discord.guild_channel_ids(guild_id)
    art = discord.add_channel("art", guild_id=guild_id)
    artists = discord.add_role("artists", guild_id=guild_id)
    thread = discord.add_thread("sketches", parent_id=general, guild_id=guild_id)
    return Server(guild_id, general, art, artists, thread)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world() -> AsyncIterator[World]:
    async with server_pool(SERVERS, furnish) as world:
        yield world


@pytest.fixture(scope="module")
def fake_discord(world: World) -> FakeDiscord:
    return world.discord


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path
) -> AsyncIterator[BotProcess]:
    # One API slot: a second job waits in line, with Cancel under its place.
    extra = {"COOLDOWN_SECONDS": "0", "MAX_CONCURRENT_JOBS": "1"}
    async with running_bot(fake_discord, fake_api, workdir, extra=extra, synced=True) as process:
        yield process


# -- helpers ---------------------------------------------------------------------------


def imagine_id(discord: FakeDiscord) -> int:
    command = discord.find_command("imagine")
    assert command is not None
    return int(command["id"])


def calls(api: FakeImageAPI) -> int:
    return len(api.generation_calls)


async def imagine(
    discord: FakeDiscord,
    server: Server,
    user_id: int,
    *,
    channel_id: int | None = None,
    **kwargs: Any,
) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine",
        {"prompt": "a lighthouse at dusk"},
        guild_id=server.id,
        channel_id=channel_id or server.general,
        user_id=user_id,
        **kwargs,
    )


def jobs_of(bot: BotProcess, user_id: int) -> int:
    """How many jobs of the user were delivered (their log lines)."""
    lines = bot.output().splitlines()
    return sum(1 for line in lines if f"user={user_id} " in line and "outcome=delivered " in line)


async def settled(
    bot: BotProcess, user_id: int, interaction: Awaitable[FakeInteraction]
) -> FakeMessage:
    """The result of a job that must succeed, once the job is closed (so the user may
    start the next one at once)."""
    before = jobs_of(bot, user_id)
    message = await delivered(await interaction)
    await bot.wait_for_job(user_id, nth=before + 1)
    return message


async def result(
    bot: BotProcess, discord: FakeDiscord, server: Server, user_id: int, **kwargs: Any
) -> FakeMessage:
    return await settled(bot, user_id, imagine(discord, server, user_id, **kwargs))


async def set_permissions(
    discord: FakeDiscord,
    bot: BotProcess,
    server: Server,
    command_id: int,
    overwrites: list[dict[str, Any]],
) -> None:
    """Change the server's command permissions, and wait until the bot heard of it."""
    needle = f"command permissions of guild {server.id} changed"
    seen = bot.output().count(needle)
    await discord.set_command_permissions(server.id, command_id, overwrites)
    for _ in range(200):
        if bot.output().count(needle) > seen:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"the bot did not hear of the change:\n{bot.output()}")


def copy_buttons(source: FakeMessage, onto: FakeMessage) -> None:
    """Put ``source``'s buttons on ``onto``: a button copied onto another message (Discord
    delivers a press only for a button the message carries)."""
    onto.components = copy.deepcopy(source.components)


def ow(target: int, kind: int, allow: bool) -> dict[str, Any]:
    return {"id": str(target), "type": kind, "permission": allow}


async def reroll(
    discord: FakeDiscord, message: FakeMessage, user_id: int, **kwargs: Any
) -> FakeInteraction:
    return await discord.press_button(message, message.custom_ids()[0], user_id=user_id, **kwargs)


# -- command permissions ---------------------------------------------------------------


async def test_a_channel_denied_by_integrations_refuses_reroll_there_only(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, user = world.discord, world.server(), fresh_user()
    here = await result(bot, discord, server, user)
    there = await result(bot, discord, server, user, channel_id=server.art)
    deny_general = [ow(server.general, CHANNEL, False)]
    await set_permissions(discord, bot, server, imagine_id(discord), deny_general)

    before = calls(fake_api)
    assert await refused_privately(await reroll(discord, here, user)) == EN["reroll_forbidden"]
    pressed = await reroll(discord, here, user, locale="zh-CN")
    assert await refused_privately(pressed) == ZH["reroll_forbidden"]
    assert calls(fake_api) == before
    assert f"re-roll refused to user {user} in channel {server.general}: channel_denied" in (
        bot.output()
    )
    await delivered(await reroll(discord, there, user))
    assert calls(fake_api) == before + 1
    # The bot read them with its own token, from the batch endpoint.
    reads = [
        r for r in discord.requests if r.path.endswith(f"/guilds/{server.id}/commands/permissions")
    ]
    assert reads
    assert all(r.method == "GET" and r.status == 200 for r in reads)


async def test_a_thread_follows_its_channel(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, user = world.discord, world.server(), fresh_user()
    in_thread = await result(bot, discord, server, user, channel_id=server.thread)
    assert in_thread.channel_id == server.thread
    await set_permissions(
        discord, bot, server, imagine_id(discord), [ow(server.art, CHANNEL, False)]
    )
    # Another channel's setting says nothing of the thread.
    in_thread = await settled(bot, user, reroll(discord, in_thread, user))

    await set_permissions(
        discord, bot, server, imagine_id(discord), [ow(server.general, CHANNEL, False)]
    )
    before = calls(fake_api)
    pressed = await reroll(discord, in_thread, user)
    assert await refused_privately(pressed) == EN["reroll_forbidden"]
    assert f"in channel {server.thread}: channel_denied" in bot.output()
    assert calls(fake_api) == before


async def test_a_role_deny_and_a_user_allow(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server = world.discord, world.server()
    denied, allowed, plain = fresh_user(), fresh_user(), fresh_user()
    for member in (denied, allowed):
        discord.add_member(member, roles=[server.artists], guild_id=server.id)
    await asyncio.sleep(0.3)  # the members reach the bot's cache
    results = {
        member: await result(bot, discord, server, member) for member in (denied, allowed, plain)
    }
    overwrites = [ow(server.artists, ROLE, False), ow(allowed, USER, True)]
    await set_permissions(discord, bot, server, imagine_id(discord), overwrites)

    before = calls(fake_api)
    pressed = await reroll(discord, results[denied], denied)
    assert await refused_privately(pressed) == EN["reroll_forbidden"]
    assert calls(fake_api) == before
    await delivered(await reroll(discord, results[allowed], allowed))
    await delivered(await reroll(discord, results[plain], plain))
    assert calls(fake_api) == before + 2


async def test_an_application_level_deny_applies_to_reroll_but_not_to_admins(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, user = world.discord, world.server(), fresh_user()
    mine = await result(bot, discord, server, user)
    owners = await result(bot, discord, server, discord.owner_user_id, permissions=ALL_PERMISSIONS)
    everyone_off = [ow(server.id, ROLE, False)]
    await set_permissions(discord, bot, server, discord.application_id, everyone_off)

    before = calls(fake_api)
    assert await refused_privately(await reroll(discord, mine, user)) == EN["reroll_forbidden"]
    assert "member_denied" in bot.output()
    assert calls(fake_api) == before
    # Members with Administrator may use every command, whatever Integrations says.
    pressed = await reroll(discord, owners, discord.owner_user_id, permissions=ALL_PERMISSIONS)
    await delivered(pressed)
    assert calls(fake_api) == before + 1


async def test_a_change_of_permissions_applies_at_the_next_press(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, user = world.discord, world.server(), fresh_user()
    command_id = imagine_id(discord)
    first = await result(bot, discord, server, user)
    # Read once (nothing set), and kept: the next presses need the update event.
    second = await settled(bot, user, reroll(discord, first, user))

    await set_permissions(discord, bot, server, command_id, [ow(user, USER, False)])
    assert await refused_privately(await reroll(discord, second, user)) == EN["reroll_forbidden"]
    await set_permissions(discord, bot, server, command_id, [])
    await delivered(await reroll(discord, second, user))


async def test_when_discord_will_not_tell_the_permissions_reroll_waits(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, user = world.discord, world.server(), fresh_user()
    first = await result(bot, discord, server, user)
    discord.inject_failure(
        path_contains=f"/guilds/{server.id}/commands/permissions",
        method="GET",
        status=403,
        json={"message": "Missing Access", "code": 50001},
    )
    before = calls(fake_api)
    pressed = await reroll(discord, first, user)
    assert await refused_privately(pressed) == EN["permissions_unknown"]
    assert calls(fake_api) == before
    assert f"could not read the command permissions of guild {server.id}: HTTP 403" in (
        bot.output()
    )
    await delivered(await reroll(discord, first, user))


# -- the job a button belongs to -------------------------------------------------------


async def test_result_buttons_act_only_on_their_own_jobs_messages(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, other_server, user = (
        world.discord,
        world.server(),
        world.server(),
        fresh_user(),
    )
    owner_of_other = fresh_user()
    mine = await result(bot, discord, server, user)
    other = await result(bot, discord, server, owner_of_other)
    abroad = await result(bot, discord, other_server, fresh_user())
    mine_buttons = copy.deepcopy(mine.components)
    before = calls(fake_api)
    for message in (other, abroad):
        copy_buttons(message, onto=mine)
        for custom_id in message.custom_ids():
            pressed = await discord.press_button(mine, custom_id, user_id=user)
            assert await refused_privately(pressed) == EN["pressed_elsewhere"]
    pressed = await discord.press_button(mine, abroad.custom_ids()[0], user_id=user, locale="zh-CN")
    assert await refused_privately(pressed) == ZH["pressed_elsewhere"]
    assert calls(fake_api) == before
    assert not any(message.deleted for message in (mine, other, abroad))
    assert f"reroll pressed by user {user} on message {mine.id}" in bot.output()
    # On their own messages they work as before.
    mine.components = mine_buttons
    await delivered(await reroll(discord, mine, user))
    pressed = await discord.press_button(other, other.custom_ids()[1], user_id=owner_of_other)
    await discord.wait_for(lambda: other.deleted, 10, "the result deleted")
    assert not mine.deleted


async def test_cancel_acts_only_on_its_own_jobs_place_in_line(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, other_server = world.discord, world.server(), world.server()
    fake_api.script(Scripted(delay=2.0))
    before = calls(fake_api)
    busy = await imagine(discord, server, fresh_user())
    await discord.wait_for(lambda: calls(fake_api) == before + 1, 10, "the slot busy")
    first, second, abroad = fresh_user(), fresh_user(), fresh_user()
    waiting = [
        await imagine(discord, server, first),
        await imagine(discord, server, second),
        await imagine(discord, other_server, abroad),
    ]
    for interaction in waiting:
        await discord.wait_for(
            lambda i=interaction: i.original is not None and bool(i.original.custom_ids()),
            10,
            "a place in line",
        )
    places = [i.original for i in waiting]
    assert all(place is not None for place in places)
    mine, theirs, far = (place for place in places if place is not None)
    [cancel] = mine.custom_ids()
    # The Cancel of the first job pressed on the second's place, and in another server.
    for message in (theirs, far):
        copy_buttons(mine, onto=message)
        pressed = await discord.press_button(message, cancel, user_id=first)
        assert await refused_privately(pressed) == EN["pressed_elsewhere"]
    assert mine.custom_ids() == [cancel]
    pressed = await discord.press_button(mine, cancel, user_id=first)
    assert (await pressed.wait_for_callback())["type"] == UPDATE
    assert mine.content == EN["cancelled"]
    await bot.wait_for_job(first, outcome="cancelled")
    await delivered(busy)
    # The jobs whose places carried the copied button were not cancelled.
    await bot.wait_for_job(second)
    await bot.wait_for_job(abroad)


async def test_the_edit_button_follows_the_command_too(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    """Every button that makes a new job follows /imagine's permissions: Edit as Re-roll."""
    discord, server, user = world.discord, world.server(), fresh_user()
    here = await result(bot, discord, server, user)
    there = await result(bot, discord, server, user, channel_id=server.art)
    await set_permissions(
        discord, bot, server, imagine_id(discord), [ow(server.general, CHANNEL, False)]
    )
    [edit_id] = [c for c in here.custom_ids() if c.startswith("imagine:edit:")]
    pressed = await discord.press_button(here, edit_id, user_id=user)
    assert await refused_privately(pressed) == EN["reroll_forbidden"]
    assert f"edit refused to user {user} in channel {server.general}: channel_denied" in (
        bot.output()
    )
    [edit_there] = [c for c in there.custom_ids() if c.startswith("imagine:edit:")]
    opened = await discord.press_button(there, edit_there, user_id=user)
    assert (await opened.wait_for_callback())["type"] == MODAL


# -- Animate ---------------------------------------------------------------------------


def animate_ids(message: FakeMessage) -> list[str]:
    return [c for c in message.custom_ids() if c.startswith("imagine:animate:")]


async def set_video(discord: FakeDiscord, server: Server, on: bool) -> None:
    switch = await as_owner(
        discord, {"video": {"on": on}}, guild_id=server.id, channel_id=server.general
    )
    assert await refused_privately(switch) == EN["set_video_on" if on else "set_video_off"]


async def test_animate_is_offered_where_video_is_on_and_follows_animates_permissions(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, user = world.discord, world.server(), fresh_user()
    # Video is off in a server until an admin turns it on: no Animate under a result.
    before_video = await result(bot, discord, server, user)
    assert animate_ids(before_video) == []
    await set_video(discord, server, True)
    here = await result(bot, discord, server, user)
    there = await result(bot, discord, server, user, channel_id=server.art)
    [animate_here] = animate_ids(here)
    [animate_there] = animate_ids(there)
    fake_api.video_plans.append(VideoPlan(pending=0))
    made = jobs_of(bot, user)
    asked = await discord.send_slash_command(
        "animate", {"prompt": "waves"}, guild_id=server.id, channel_id=server.general, user_id=user
    )
    await discord.wait_for(lambda: any(m.attachments for m in asked.messages), 30, "the clip")
    [clip] = [m for m in asked.messages if m.attachments]
    await bot.wait_for_job(user, nth=made + 1)
    # A clip carries neither Edit nor Animate.
    assert clip.custom_ids() == [c for c in clip.custom_ids() if ":edit:" not in c]
    assert animate_ids(clip) == []

    # Animate follows /animate's permissions, not /imagine's.
    command = discord.find_command("animate")
    assert command is not None
    await set_permissions(
        discord, bot, server, int(command["id"]), [ow(server.general, CHANNEL, False)]
    )
    submissions = len(fake_api.video_submissions)
    pressed = await discord.press_button(here, animate_here, user_id=user)
    assert await refused_privately(pressed) == EN["animate_forbidden"]
    assert f"animate refused to user {user} in channel {server.general}: channel_denied" in (
        bot.output()
    )
    await delivered(await reroll(discord, here, user))
    # A clip's Re-roll follows /animate's permissions too.
    assert await refused_privately(await reroll(discord, clip, user)) == EN["animate_forbidden"]
    opened = await discord.press_button(there, animate_there, user_id=user)
    assert (await opened.wait_for_callback())["type"] == MODAL

    # Video turned off since the result was posted: the press is refused privately.
    await set_video(discord, server, False)
    pressed = await discord.press_button(there, animate_there, user_id=user)
    assert await refused_privately(pressed) == EN["rule_video"]
    assert len(fake_api.video_submissions) == submissions


async def test_animate_acts_only_on_its_own_jobs_messages(
    bot: BotProcess, world: World, fake_api: FakeImageAPI
) -> None:
    discord, server, user = world.discord, world.server(), fresh_user()
    await set_video(discord, server, True)
    first = await result(bot, discord, server, user)
    second = await result(bot, discord, server, user)
    copy_buttons(first, onto=second)
    pressed = await discord.press_button(second, animate_ids(second)[0], user_id=user)
    assert await refused_privately(pressed) == EN["pressed_elsewhere"]
