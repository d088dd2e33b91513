"""The operator's ceilings end to end: a server cannot set past them, and what it stored
before a ceiling was lowered is held to it once the bot restarts with the new setting.

The bot first runs without ceilings (the server sets generous values), then again on the
same database with ``MAX_USER_DAILY_QUOTA``, ``MAX_GUILD_DAILY_BUDGET`` and
``MIN_COOLDOWN_SECONDS`` set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import start_bot
from tests.e2e.steps import DEFER, as_owner, private_callback
from tests.fakes.discord import DEFAULT_GUILD_ID, FakeDiscord
from tests.fakes.image_api import FakeImageAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]
CEILINGS = {
    "COOLDOWN_SECONDS": "30",
    "MAX_USER_DAILY_QUOTA": "20",
    "MAX_GUILD_DAILY_BUDGET": "100",
    "MIN_COOLDOWN_SECONDS": "60",
}


async def admin(discord: FakeDiscord, options: dict[str, Any]) -> dict[str, Any]:
    return await private_callback(await as_owner(discord, options, guild_id=DEFAULT_GUILD_ID))


async def shown(discord: FakeDiscord) -> dict[str, str]:
    """The fields of ``/imagine-admin show``."""
    data = await admin(discord, {"show": {}})
    return {f["name"]: f["value"] for f in data["embeds"][0]["fields"]}


async def test_ceilings_refuse_new_values_and_hold_stored_ones(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    first = await start_bot(fake_discord, fake_api, tmp_path, extra={"COOLDOWN_SECONDS": "30"})
    try:
        await fake_discord.wait_for_command_sync()
        # Without ceilings the server may set anything, in either direction.
        for options in (
            {"user-quota": {"images": 0}},
            {"server-budget": {"images": 5000}},
            {"cooldown": {"seconds": 0}},
        ):
            assert (await admin(fake_discord, options))["content"].startswith("✅")
    finally:
        assert await first.stop() == 0
    await fake_discord.disconnect_all()

    second = await start_bot(fake_discord, fake_api, tmp_path, extra=CEILINGS, sessions=2)
    try:
        # What the server stored is held to the new ceilings, and show says so.
        fields = await shown(fake_discord)
        assert fields["Daily images per member"] == EN["value_held"].format(
            limit="20", value=EN["value_none_limit"]
        )
        assert fields["Daily server budget"] == EN["value_held"].format(limit="100", value="5000")
        assert fields["Cooldown"] == EN["value_held"].format(limit="60 s", value="0 s")

        # A member sees the held limits, and they hold.
        user = fresh_user()
        quota = await fake_discord.send_slash_command(
            "imagine-quota", {}, guild_id=DEFAULT_GUILD_ID, user_id=user
        )
        content = (await private_callback(quota))["content"]
        assert EN["quota_user_line"].format(used=0, left=20, limit=20) in content
        assert EN["quota_guild_line"].format(left=100, limit=100) in content
        job = await fake_discord.send_slash_command(
            "imagine", {"prompt": "a quiet harbour"}, guild_id=DEFAULT_GUILD_ID, user_id=user
        )
        assert (await job.wait_for_callback())["type"] == DEFER
        await job.wait_for_messages(1)
        again = await fake_discord.send_slash_command(
            "imagine", {"prompt": "a quiet harbour"}, guild_id=DEFAULT_GUILD_ID, user_id=user
        )
        assert (await private_callback(again))["content"].startswith("⏳")  # the 60-second cooldown

        # New values past the ceilings are refused, saying the bound; nothing changes.
        refusals = {
            "user-quota": ({"images": 50}, EN["user_quota_above_max"].format(max=20)),
            "server-budget": ({"images": 0}, EN["guild_budget_above_max"].format(max=100)),
            "cooldown": ({"seconds": 10}, EN["cooldown_below_min"].format(max=60)),
        }
        for command, (options, words) in refusals.items():
            assert (await admin(fake_discord, {command: options}))["content"] == words
        assert await shown(fake_discord) == fields
        # Within them, a value is taken as usual.
        accepted = await admin(fake_discord, {"user-quota": {"images": 20}})
        assert accepted["content"] == EN["set_user_quota"].format(value="20")
    finally:
        assert await second.stop() == 0
    assert "Traceback" not in first.output() + second.output()
