"""What members and moderators see of a busy bot, its spend ceilings and a pause, end to end.

A job closed because it could not start in time has an outcome of its own
(``waited_too_long``): in its job line, its mod-log entry, ``/imagine-admin stats`` and
the metrics. A spend ceiling that turns members away is told once to the server's mod log,
not once a member. ``/imagine-quota`` tells a paused member until when, and shows the
spend left today under each ceiling. Each test starts a bot of its own with the settings
it needs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import fake_discord_per_test, start_bot
from tests.e2e.steps import MESSAGE, images_of, owner_sets
from tests.e2e.test_operations import Http, free_port, value
from tests.fakes.discord import DEFAULT_GUILD_ID, FakeDiscord
from tests.fakes.image_api import COST_TICKS_PER_IMAGE, FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]
PER_IMAGE_USD = COST_TICKS_PER_IMAGE / 1e10

# Each test starts a bot of its own: a fake Discord of its own, so each bot is ready anew.
fake_discord = fake_discord_per_test


def usd(amount: float) -> str:
    return EN["spend_value"].format(usd=amount)


async def admin(discord: FakeDiscord, options: dict[str, object]) -> Any:
    callback = await owner_sets(discord, options, guild_id=DEFAULT_GUILD_ID)
    assert callback["type"] == MESSAGE, callback
    return callback["data"]


def modlog_entries(discord: FakeDiscord, channel_id: int) -> list[str]:
    return [str(m.embeds) for m in discord.channel_messages if m.channel_id == channel_id]


async def test_a_job_that_could_not_start_in_time_is_counted_as_such_not_as_interrupted(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    port = free_port()
    extra = {
        "MAX_CONCURRENT_JOBS": "1",
        "COOLDOWN_SECONDS": "600",
        "MAX_WAIT_SECONDS": "1",
        "HTTP_PORT": str(port),
    }
    # Made before the bot starts, so that it knows the channel.
    modlog = fake_discord.add_channel("mod-log-busy", guild_id=DEFAULT_GUILD_ID)
    bot = await start_bot(fake_discord, fake_api, tmp_path, extra=extra)
    try:
        await fake_discord.wait_for_command_sync()
        await admin(fake_discord, {"modlog": {"set": {"channel": modlog}}})
        fake_api.script(Scripted(delay=4.0))
        calls_before = len(fake_api.generation_calls)
        busy = await fake_discord.send_slash_command(
            "imagine", {"prompt": "a long one"}, user_id=fresh_user()
        )
        await fake_discord.wait_for(
            lambda: len(fake_api.generation_calls) > calls_before, 10, "the job at the API"
        )
        user = fresh_user()
        late = await fake_discord.send_slash_command(
            "imagine", {"prompt": "a late one"}, user_id=user
        )
        line = await bot.wait_for_job(user, "waited_too_long")
        assert "images=0 " in line
        notice = EN["waited_too_long"].format(job_id="")[:40]
        await fake_discord.wait_for(
            lambda: any(notice in m.content for m in late.messages), 10, "the notice"
        )
        await fake_discord.wait_for(lambda: images_of(busy) == 1, 10, "the long one")
        # The mod log names it for what it is, not as failed nor as cut short by a restart.
        title = EN["modlog_job"].format(job_id="", outcome=EN["outcome_waited_too_long"])
        title = title.split(": ", 1)[1]
        await fake_discord.wait_for(
            lambda: any(title in e for e in modlog_entries(fake_discord, modlog)),
            10,
            "the mod-log entry",
        )
        entries = modlog_entries(fake_discord, modlog)
        assert not any(EN["outcome_interrupted"] in e for e in entries), entries
        # The stats count it apart; nothing failed and nothing was cut short.
        data = await admin(fake_discord, {"stats": {}})
        today = {f["name"]: f["value"] for f in data["embeds"][0]["fields"]}[EN["stats_today"]]
        assert EN["stats_waited_too_long"].format(count=1) in today, today
        assert EN["stats_interrupted"].format(count=0) in today, today
        assert "Requests failed: 0\n" in today, today
        # The metrics label it with its own outcome.
        samples = await Http(port).samples()
        labels = {"kind": "generation"}
        assert value(samples, "imagine_jobs_total", outcome="waited_too_long", **labels) == 1
        assert value(samples, "imagine_jobs_total", outcome="interrupted", **labels) == 0
    finally:
        assert await bot.stop() == 0
    assert "Traceback" not in bot.output()


async def test_a_spend_ceiling_turning_a_crowd_away_makes_one_mod_log_entry(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    modlog = fake_discord.add_channel("mod-log-spend", guild_id=DEFAULT_GUILD_ID)
    extra = {"COOLDOWN_SECONDS": "600", "DAILY_USER_QUOTA": "0", "DAILY_GUILD_BUDGET": "0"}
    bot = await start_bot(fake_discord, fake_api, tmp_path, extra=extra)
    try:
        await fake_discord.wait_for_command_sync()
        await admin(fake_discord, {"modlog": {"set": {"channel": modlog}}})
        # Less than one image costs: every request is turned away.
        limit = PER_IMAGE_USD / 2
        await admin(fake_discord, {"spend-limit": {"usd": limit}})
        before = len(modlog_entries(fake_discord, modlog))
        crowd = [
            await fake_discord.send_slash_command(
                "imagine", {"prompt": "a lighthouse"}, user_id=fresh_user()
            )
            for _ in range(5)
        ]
        for interaction in crowd:
            callback = await interaction.wait_for_callback()
            assert callback["type"] == MESSAGE, callback
        title = EN["modlog_spend_reached"]
        detail = EN["modlog_spend_guild"].format(limit=usd(limit), left=usd(limit), when="{when}")
        await fake_discord.wait_for(
            lambda: any(title in e for e in modlog_entries(fake_discord, modlog)),
            10,
            "the mod-log entry",
        )
        # Room for more entries to arrive, were the crowd not throttled.
        await asyncio.sleep(1.0)
        entries = modlog_entries(fake_discord, modlog)[before:]
        spend_entries = [e for e in entries if title in e]
        assert len(spend_entries) == 1, entries
        assert detail.split("{when}")[0] in spend_entries[0], spend_entries
    finally:
        assert await bot.stop() == 0
    assert "Traceback" not in bot.output()


async def quota_of(discord: FakeDiscord, user_id: int) -> str:
    interaction = await discord.send_slash_command(
        "imagine-quota", {}, guild_id=DEFAULT_GUILD_ID, user_id=user_id
    )
    callback = await interaction.wait_for_callback()
    assert callback["type"] == MESSAGE, callback
    return str(callback["data"]["content"])


async def test_imagine_quota_shows_a_pause_and_the_spend_left(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    extra = {"BLOCKED_ATTEMPTS_LIMIT": "2", "DAILY_SPEND_LIMIT_USD": "1"}
    bot = await start_bot(fake_discord, fake_api, tmp_path, extra=extra)
    try:
        await fake_discord.wait_for_command_sync()
        guild_limit = 5 * PER_IMAGE_USD
        await admin(fake_discord, {"spend-limit": {"usd": guild_limit}})
        # One image made: the spend left under both ceilings goes down by its cost.
        maker = fresh_user()
        await fake_discord.send_slash_command("imagine", {"prompt": "a harbour"}, user_id=maker)
        await bot.wait_for_job(maker)
        content = await quota_of(fake_discord, maker)
        bot_line = EN["quota_spend_bot_line"].format(left=usd(1 - PER_IMAGE_USD), limit=usd(1))
        guild_line = EN["quota_spend_guild_line"].format(
            left=usd(guild_limit - PER_IMAGE_USD), limit=usd(guild_limit)
        )
        assert bot_line in content, content
        assert guild_line in content, content
        # A server's ceiling that is used up is said to be reached.
        await admin(fake_discord, {"spend-limit": {"usd": PER_IMAGE_USD}})
        content = await quota_of(fake_discord, maker)
        reached = EN["quota_spend_guild_reached"].format(limit=usd(PER_IMAGE_USD))
        assert reached in content, content
        # A member who sent too many blocked prompts is told until when they are paused.
        await admin(fake_discord, {"terms": {"add": {"term": "forbidden"}}})
        prober = fresh_user()
        assert EN["quota_paused"].split("{when}")[0] not in await quota_of(fake_discord, prober)
        for attempt in range(2):
            blocked = await fake_discord.send_slash_command(
                "imagine", {"prompt": f"forbidden {attempt}"}, user_id=prober
            )
            await blocked.wait_for_callback()
        content = await quota_of(fake_discord, prober)
        head = EN["quota_paused"].split("{when}")[0]
        assert head in content, content
        assert "<t:" in content.split(head, 1)[1]
        # Another member is not paused.
        assert head not in await quota_of(fake_discord, maker)
    finally:
        assert await bot.stop() == 0
    assert "Traceback" not in bot.output()
