"""Faults end to end: the image API and Discord misbehave, and crowds arrive at once.

One bot process serves the whole module (restarts have a module of their own). It runs
with a small queue, a short API timeout and a small answer cap so that every fault is cheap
to provoke: 4 jobs at once, 40 in line, 3-second attempts, 2 MiB answers.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, ServerPool, running_bot, server_pool
from tests.e2e.steps import DEFER, EPHEMERAL, MESSAGE, image_count, images_delivered
from tests.fakes.discord import (
    DEFAULT_GUILD_ID,
    DEFAULT_MEMBER_PERMISSIONS,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
)
from tests.fakes.image_api import FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]
MAX_CONCURRENT = 4
MAX_QUEUED = 40
ATTACH_FILES = 1 << 15
CAPACITY = {"code": "Too many requests", "error": "The service is temporarily at capacity."}
CREDITS = {"code": "x", "error": "You have used all available credits for this team."}


#: Servers of their own for the tests that change settings (made before the bot starts,
#: so that it sees them at its first connection).
SERVERS = 4


@dataclass
class Server:
    id: int
    general: int
    modlog: int


def furnish(discord: FakeDiscord, guild_id: int) -> Server:
    """A server with a mod-log channel."""
    general = discord.guild_channel_ids(guild_id)[0]
    return Server(guild_id, general, discord.add_channel("mod-log", guild_id=guild_id))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def servers() -> AsyncIterator[ServerPool[Server]]:
    async with server_pool(SERVERS, furnish, also=[DEFAULT_GUILD_ID]) as servers:
        yield servers


@pytest.fixture(scope="module")
def fake_discord(servers: ServerPool[Server]) -> FakeDiscord:
    return servers.discord


@pytest.fixture
def server(servers: ServerPool[Server]) -> Server:
    """A server no other test has touched."""
    return servers.server()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path
) -> AsyncIterator[BotProcess]:
    extra = {
        "COOLDOWN_SECONDS": "600",
        "MAX_CONCURRENT_JOBS": str(MAX_CONCURRENT),
        "MAX_QUEUED_JOBS": str(MAX_QUEUED),
        "GROK_TIMEOUT_SECONDS": "3",
        "GROK_MAX_RESPONSE_MB": "2",
        "DAILY_USER_QUOTA": "0",
        "DAILY_GUILD_BUDGET": "0",
    }
    async with running_bot(fake_discord, fake_api, workdir, extra=extra, synced=True) as process:
        yield process
    output = process.output()
    # The interaction token is a credential: it never reaches the log.
    for interaction in fake_discord.interactions:
        assert interaction.token not in output


async def imagine(
    discord: FakeDiscord,
    user_id: int,
    prompt: str = "a lighthouse in a storm",
    *,
    guild_id: int | None = None,
    **options: object,
) -> FakeInteraction:
    kwargs: dict[str, object] = {} if guild_id is None else {"guild_id": guild_id}
    return await discord.send_slash_command(
        "imagine", {"prompt": prompt, **options}, user_id=user_id, **kwargs
    )


async def admin(discord: FakeDiscord, guild_id: int, options: dict[str, object]) -> str:
    interaction = await discord.send_slash_command(
        "imagine-admin", options, guild_id=guild_id, user_id=discord.owner_user_id
    )
    callback = await interaction.wait_for_callback()
    assert callback["type"] == MESSAGE
    return str(callback["data"]["content"])


async def failed_with(interaction: FakeInteraction, needle: str) -> FakeMessage:
    [message] = await interaction.wait_for_messages(1)
    assert needle in message.content, message.content
    assert not message.attachments
    return message


def calls(api: FakeImageAPI) -> int:
    return len(api.generation_calls)


# -- the image API ---------------------------------------------------------------------


async def test_429_with_retry_after_is_retried(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    before = calls(fake_api)
    fake_api.script(Scripted(status=429, json=CAPACITY, headers={"Retry-After": "0"}))
    await images_delivered(await imagine(fake_discord, fresh_user()))
    assert calls(fake_api) == before + 2


async def test_429_without_retry_after_backs_off_then_succeeds(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    before = calls(fake_api)
    fake_api.script(Scripted(status=429, json=CAPACITY))
    await images_delivered(await imagine(fake_discord, fresh_user()))
    first, second = fake_api.generation_calls[before : before + 2]
    # No Retry-After: the bot's own backoff (at least half of a one-second step).
    assert second.time - first.time >= 0.45


async def test_out_of_credits_is_not_retried_and_the_mod_log_is_told(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, server: Server
) -> None:
    guild_id, modlog = server.id, server.modlog
    await admin(fake_discord, guild_id, {"modlog": {"set": {"channel": modlog}}})
    before = calls(fake_api)
    fake_api.script(Scripted(status=429, json=CREDITS, headers={"Retry-After": "0"}))
    user = fresh_user()
    await failed_with(await imagine(fake_discord, user, guild_id=guild_id), "out of credits")
    await bot.wait_for_job(user, outcome="out_of_credits")
    assert calls(fake_api) == before + 1

    def notices() -> list[FakeMessage]:
        return [
            m
            for m in fake_discord.channel_messages
            if m.channel_id == modlog and "run out of credits" in str(m.embeds)
        ]

    await fake_discord.wait_for(lambda: bool(notices()), 10, "the out-of-credits notice")
    # A second failure soon after does not repeat the notice.
    fake_api.script(Scripted(status=429, json=CREDITS))
    await failed_with(await imagine(fake_discord, fresh_user(), guild_id=guild_id), "credits")
    await asyncio.sleep(0.3)
    assert len(notices()) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, status: int
) -> None:
    before = calls(fake_api)
    fake_api.script(Scripted(status=status, text="upstream trouble", headers={"Retry-After": "0"}))
    await images_delivered(await imagine(fake_discord, fresh_user()))
    assert calls(fake_api) == before + 2


async def test_a_timeout_is_retried(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    before = calls(fake_api)
    # Longer than GROK_TIMEOUT_SECONDS (3): the attempt is abandoned and made again.
    fake_api.script(Scripted(delay=3.5))
    await images_delivered(await imagine(fake_discord, fresh_user()))
    assert calls(fake_api) == before + 2
    assert "no complete answer within 3s" in bot.output()


async def test_a_connection_reset_is_retried(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    before = calls(fake_api)
    fake_api.script(Scripted(drop_connection=True))
    await images_delivered(await imagine(fake_discord, fresh_user()))
    assert calls(fake_api) == before + 2


async def test_an_answer_cut_short_in_transit_is_retried(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    before = calls(fake_api)
    fake_api.script(Scripted(truncate=True))
    await images_delivered(await imagine(fake_discord, fresh_user()))
    assert calls(fake_api) == before + 2


async def test_truncated_json_is_a_clear_failure_and_not_retried(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    before = calls(fake_api)
    user = fresh_user()
    fake_api.script(Scripted(status=200, text='{"created": 1, "data": [{"b64_json": "/9j/4AA'))
    await failed_with(await imagine(fake_discord, user), "nothing usable")
    await bot.wait_for_job(user, outcome="bad_response")
    assert calls(fake_api) == before + 1


async def test_an_answer_over_the_cap_is_refused(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    before = calls(fake_api)
    user = fresh_user()
    # GROK_MAX_RESPONSE_MB is 2 here: a 3 MiB answer is dropped unread past the cap.
    huge = b'{"data": [{"b64_json": "' + b"A" * (3 * 1024 * 1024) + b'"}]}'
    fake_api.script(Scripted(status=200, body=huge, headers={"Content-Type": "application/json"}))
    await failed_with(await imagine(fake_discord, user), "nothing usable")
    await bot.wait_for_job(user, outcome="bad_response")
    assert calls(fake_api) == before + 1
    assert "exceeds the 2097152-byte limit" in bot.output()


# -- Discord ---------------------------------------------------------------------------


async def test_a_follow_up_refused_as_too_large_is_replanned(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    fake_discord.inject_failure(
        path_contains="/webhooks/",
        status=413,
        json={"code": 40005, "message": "Request entity too large"},
    )
    interaction = await imagine(fake_discord, fresh_user(), n=2)
    messages = await images_delivered(interaction, images=2)
    assert image_count(messages) == 2
    assert any(r.status == 413 for r in interaction.requests())


@pytest.mark.parametrize("status", [429, 500])
async def test_a_follow_up_answered_429_or_500_is_sent_again(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, status: int
) -> None:
    fake_discord.inject_failure(path_contains="/webhooks/", status=status)
    interaction = await imagine(fake_discord, fresh_user())
    await images_delivered(interaction)
    assert [r.status for r in interaction.requests() if r.method == "POST"][-2:] == [status, 200]


async def test_an_expired_token_falls_back_to_the_channel(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_discord.inject_failure(
        path_contains="/webhooks/",
        status=401,
        json={"code": 50027, "message": "Invalid Webhook Token"},
    )
    before = len(fake_discord.channel_messages)
    interaction = await imagine(fake_discord, user, n=2)
    assert (await interaction.wait_for_callback())["type"] == DEFER
    await fake_discord.wait_for_channel_messages(before + 1)
    posted = fake_discord.channel_messages[before]
    assert posted.channel_id == interaction.channel_id
    assert len(posted.attachments) == 2
    assert f"<@{user}>" in posted.content
    assert posted.allowed_mentions == {"parse": []}  # named, never pinged
    assert posted.embeds
    assert posted.custom_ids()
    line = await bot.wait_for_job(user)
    assert "images=2" in line


async def test_a_missing_permission_on_the_fallback_is_named(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, server: Server
) -> None:
    guild_id, general = server.id, server.general
    # The bot may not attach files anywhere in this server.
    without_files = DEFAULT_MEMBER_PERMISSIONS & ~ATTACH_FILES
    fake_discord.set_role_permissions(guild_id, without_files, guild_id=guild_id)
    fake_discord.set_role_permissions(
        fake_discord.bot_role_id(guild_id), without_files, guild_id=guild_id
    )
    await asyncio.sleep(0.3)  # the role updates reach the bot's cache
    fake_discord.inject_failure(
        path_contains="/webhooks/", status=401, json={"code": 50027, "message": "Invalid"}
    )
    fake_discord.inject_failure(
        path_contains=f"/channels/{general}/messages",
        status=403,
        json={"code": 50013, "message": "Missing Permissions"},
    )
    user = fresh_user()
    before = len(fake_discord.channel_messages)
    await imagine(fake_discord, user, guild_id=guild_id)
    await bot.wait_for_job(user, outcome="delivery_failed")
    await fake_discord.wait_for_channel_messages(before + 1)
    notice = fake_discord.channel_messages[before]
    assert notice.channel_id == general
    assert "Attach Files" in notice.content
    assert "Send Messages" not in notice.content
    assert "the bot needs the permission(s) Attach Files there" in bot.output()


# -- crowds ----------------------------------------------------------------------------


async def test_cancel_takes_a_waiting_job_out_and_costs_nothing(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    # The slots stay busy for 2.5 s (under the 3-second API timeout): time enough.
    fake_api.script(*[Scripted(delay=2.5)] * MAX_CONCURRENT)
    before = calls(fake_api)
    busy = [await imagine(fake_discord, fresh_user()) for _ in range(MAX_CONCURRENT)]
    await fake_discord.wait_for(
        lambda: calls(fake_api) == before + MAX_CONCURRENT, 10, "every slot busy"
    )
    user = fresh_user()
    before = calls(fake_api)
    waiting = await imagine(fake_discord, user)
    await fake_discord.wait_for(
        lambda: waiting.original is not None and not waiting.original.loading, 5, "a place"
    )
    original = waiting.original
    assert original is not None
    assert original.content == EN["queue_place"].format(place=1)
    cancel = f"imagine:cancel:{original.custom_ids()[0].rsplit(':', 1)[1]}"
    assert original.custom_ids() == [cancel]

    stranger = await fake_discord.press_button(original, cancel, user_id=fresh_user())
    assert EN["cancel_not_yours"] in (await stranger.wait_for_callback())["data"]["content"]
    pressed = await fake_discord.press_button(original, cancel, user_id=user)
    assert (await pressed.wait_for_callback())["type"] == 7
    assert original.content == EN["cancelled"]
    assert original.custom_ids() == []
    await bot.wait_for_job(user, outcome="cancelled")
    for interaction in busy:
        await images_delivered(interaction)
    assert calls(fake_api) == before  # the cancelled job never reached the API

    # No cooldown was started: the same user is served at once.
    await images_delivered(await imagine(fake_discord, user))


async def test_a_hundred_users_at_once(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    fake_api.max_in_flight = 0
    fake_api.latency = 0.5
    before = calls(fake_api)
    try:
        crowd = await asyncio.gather(*(imagine(fake_discord, fresh_user()) for _ in range(100)))
        callbacks = await asyncio.gather(*(i.wait_for_callback() for i in crowd))
        # Everyone hears back within Discord's 3 seconds: a deferral or a refusal.
        assert all(i.callback_latency is not None and i.callback_latency < 3 for i in crowd)
        refused = [i for i, c in zip(crowd, callbacks, strict=True) if c["type"] == MESSAGE]
        accepted = [i for i, c in zip(crowd, callbacks, strict=True) if c["type"] == DEFER]
        for interaction in refused:
            callback = interaction.callbacks[0]
            assert callback["data"]["flags"] & EPHEMERAL
            assert callback["data"]["content"] == EN["queue_full"]
        # The slots and the line took exactly what they hold; nobody else got in.
        assert len(accepted) == MAX_CONCURRENT + MAX_QUEUED
        for interaction in accepted:
            await images_delivered(interaction)
    finally:
        fake_api.latency = 0.0
    assert calls(fake_api) == before + len(accepted)
    assert fake_api.max_in_flight <= MAX_CONCURRENT
    # Places in line moved, but each message was edited at most once every 3 seconds.
    places = [
        snapshot["time"]
        for interaction in accepted
        if interaction.original is not None
        for snapshot in interaction.original.history
        if snapshot["content"].startswith("⏳ You're number")
    ]
    assert places, "nobody was shown a place in line"
    for interaction in accepted:
        assert interaction.original is not None
        times = [
            s["time"]
            for s in interaction.original.history
            if s["content"].startswith("⏳ You're number")
        ]
        assert all(later - earlier >= 2.9 for earlier, later in itertools.pairwise(times))


async def test_fifty_users_against_a_budget_of_five_images(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, server: Server
) -> None:
    guild_id = server.id
    await admin(fake_discord, guild_id, {"server-budget": {"images": 5}})
    before = calls(fake_api)
    crowd = await asyncio.gather(
        *(imagine(fake_discord, fresh_user(), guild_id=guild_id) for _ in range(50))
    )
    callbacks = await asyncio.gather(*(i.wait_for_callback() for i in crowd))
    accepted = [i for i, c in zip(crowd, callbacks, strict=True) if c["type"] == DEFER]
    refused = [c for c in callbacks if c["type"] == MESSAGE]
    assert len(accepted) == 5
    assert len(refused) == 45
    for callback in refused:
        assert callback["data"]["flags"] & EPHEMERAL
        assert "This server has 0 of its 5 daily images left" in callback["data"]["content"]
    for interaction in accepted:
        await images_delivered(interaction)
    await asyncio.sleep(0.3)
    assert sum(image_count(i.messages) for i in crowd) == 5
    assert calls(fake_api) == before + 5
