"""Spend in money end to end: the ceilings reached exactly by crowds, the spend shown.

The fake image API reports $0.02 an image (``COST_TICKS_PER_IMAGE``), the bot's default
price for the default model too. One bot serves the module with no bot-wide ceiling; the
bot-wide ceiling's test starts a bot of its own (its own fake Discord and database), since
reaching it stops every server for the day.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, running_bot, start_bot
from tests.e2e.steps import DEFER, EPHEMERAL, MESSAGE
from tests.e2e.test_operations import Http, free_port, value
from tests.fakes.discord import DEFAULT_GUILD_ID, FakeDiscord, FakeInteraction, guild_id_for_shard
from tests.fakes.image_api import COST_TICKS_PER_IMAGE, FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]
SERVERS = [guild_id_for_shard(0, 1, index) for index in range(1, 4)]
#: What the crowd tests leave room for: five images at $0.02.
LIMIT_USD = 0.1
PER_IMAGE_USD = COST_TICKS_PER_IMAGE / 1e10
#: The module's bot serves /metrics here.
PORT = free_port()


def usd(amount: float) -> str:
    return EN["spend_value"].format(usd=amount)


#: The mod-log channel of each server, made before the bot starts.
MODLOGS: dict[int, int] = {}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    discord = FakeDiscord(guild_ids=[DEFAULT_GUILD_ID, *SERVERS])
    await discord.start()
    for guild_id in SERVERS:
        MODLOGS[guild_id] = discord.add_channel("mod-log", guild_id=guild_id)
    yield discord
    await discord.close()


def crowd_settings(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Room for a crowd: no image quota, a long cooldown (one job per member)."""
    return {
        "COOLDOWN_SECONDS": "600",
        "DAILY_USER_QUOTA": "0",
        "DAILY_GUILD_BUDGET": "0",
        "MAX_CONCURRENT_JOBS": "4",
        "MAX_QUEUED_JOBS": "60",
        "MAX_QUEUED_PER_GUILD": "60",
        **(extra or {}),
    }


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path
) -> AsyncIterator[BotProcess]:
    extra = crowd_settings({"HTTP_PORT": str(PORT)})
    async with running_bot(fake_discord, fake_api, workdir, extra=extra, synced=True) as process:
        yield process


async def imagine(discord: FakeDiscord, guild_id: int, user_id: int) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine", {"prompt": "a lighthouse"}, user_id=user_id, guild_id=guild_id
    )


async def admin(discord: FakeDiscord, guild_id: int, options: dict[str, object]) -> Any:
    interaction = await discord.send_slash_command(
        "imagine-admin", options, guild_id=guild_id, user_id=discord.owner_user_id
    )
    callback = await interaction.wait_for_callback()
    assert callback["type"] == MESSAGE
    return callback["data"]


async def crowd(
    discord: FakeDiscord, api: FakeImageAPI, guild_ids: list[int], size: int = 50
) -> tuple[list[FakeInteraction], list[str]]:
    """``size`` members at once, spread over ``guild_ids``: the accepted interactions, and
    the refusals' texts (each private)."""
    sent = await asyncio.gather(
        *(imagine(discord, guild_ids[i % len(guild_ids)], fresh_user()) for i in range(size))
    )
    callbacks = await asyncio.gather(*(i.wait_for_callback() for i in sent))
    accepted = [i for i, c in zip(sent, callbacks, strict=True) if c["type"] == DEFER]
    refused = [c["data"] for c in callbacks if c["type"] == MESSAGE]
    assert all(data["flags"] & EPHEMERAL for data in refused)
    for interaction in accepted:
        await interaction._require_fake().wait_for(
            lambda i=interaction: any(m.attachments for m in i.messages), 30, "the image"
        )
    return accepted, [str(data["content"]) for data in refused]


async def test_a_servers_spend_ceiling_is_reached_exactly_by_fifty_at_once(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    guild_id = SERVERS[0]
    said = await admin(fake_discord, guild_id, {"spend-limit": {"usd": LIMIT_USD}})
    assert said["content"] == EN["set_spend_limit"].format(value=usd(LIMIT_USD))
    before = len(fake_api.generation_calls)
    accepted, refused = await crowd(fake_discord, fake_api, [guild_id])
    assert len(accepted) == 5
    assert len(refused) == 45
    assert len(fake_api.generation_calls) == before + 5
    expected = EN["spend_limit_guild"].format(
        left=usd(0), limit=usd(LIMIT_USD), needed=usd(PER_IMAGE_USD), when="{when}"
    )
    head = expected.split("{when}")[0]
    assert all(text.startswith(head) for text in refused), refused[0]
    # Another server is not held by this one's ceiling.
    other = await imagine(fake_discord, SERVERS[1], fresh_user())
    assert (await other.wait_for_callback())["type"] == DEFER


async def test_stats_and_the_mod_log_show_the_spend_reported_or_estimated(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    guild_id = SERVERS[2]
    modlog = MODLOGS[guild_id]
    await admin(fake_discord, guild_id, {"modlog": {"set": {"channel": modlog}}})
    # One job the API reports the cost of, one it does not (the price table's estimate).
    for user, answer in ((fresh_user(), None), (fresh_user(), Scripted(extra={"usage": {}}))):
        if answer is not None:
            fake_api.script(answer)
        await imagine(fake_discord, guild_id, user)
        await bot.wait_for_job(user)

    def entries() -> list[str]:
        return [str(m.embeds) for m in fake_discord.channel_messages if m.channel_id == modlog]

    await fake_discord.wait_for(lambda: len(entries()) >= 3, 10, "the mod-log entries")
    texts = entries()
    reported = usd(PER_IMAGE_USD)
    assert any(f"'value': '{reported}'" in t for t in texts), texts
    estimated = EN["spend_estimated"].format(spend=reported)
    assert any(estimated in t for t in texts), texts
    data = await admin(fake_discord, guild_id, {"stats": {}})
    fields = {f["name"]: f["value"] for f in data["embeds"][0]["fields"]}
    split = EN["spend_split"].format(
        spend=usd(2 * PER_IMAGE_USD), reported=reported, estimated=reported
    )
    for period in ("stats_today", "stats_week"):
        assert f"Spend: {split}\n" in fields[EN[period]], fields
    # The metrics count every job's cost, this module's earlier jobs too.
    samples = await Http(PORT).samples()
    spent = value(samples, "imagine_spend_usd_total", kind="generation", model="grok-imagine-image")
    assert spent >= 2 * PER_IMAGE_USD
    jobs = sum(
        v for (name, labels), v in samples.items() if name == "imagine_images_delivered_total"
    )
    assert spent == pytest.approx(jobs * PER_IMAGE_USD)


async def test_the_bots_spend_ceiling_is_reached_exactly_by_fifty_at_once(
    fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    discord = FakeDiscord(guild_ids=[DEFAULT_GUILD_ID, *SERVERS])
    await discord.start()
    extra = crowd_settings({"DAILY_SPEND_LIMIT_USD": str(LIMIT_USD)})
    process = await start_bot(discord, fake_api, tmp_path, extra=extra)
    try:
        await discord.wait_for_command_sync()
        before = len(fake_api.generation_calls)
        accepted, refused = await crowd(discord, fake_api, SERVERS)
        assert len(accepted) == 5
        assert len(refused) == 45
        assert len(fake_api.generation_calls) == before + 5
        head = EN["spend_limit_bot"].format(limit=usd(LIMIT_USD), when="{when}")
        assert all(text.startswith(head.split("{when}")[0]) for text in refused), refused[0]
    finally:
        assert await process.stop() == 0
        await discord.close()
    assert "Traceback" not in process.output(), process.output()
