"""Safety end to end, at LOG_LEVEL=DEBUG with 25 models of 100 characters: no token, key or
webhook URL in the bot's output, even when a follow-up's connection fails; prompts shown
with no live link in the result and the mod log; refusals that list every model still fit
one message; job ids of 128 bits in the buttons."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, running_bot
from tests.e2e.steps import MESSAGE, as_owner
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.image_api import FakeImageAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: The most GROK_MODELS may hold: 25 names of 100 characters.
MODELS = tuple(f"grok-imagine-{i:02d}-".ljust(100, "x") for i in range(25))
PROMPT = "a [x](y) [Claim Nitro](https://evil.example) # fox <@123> ||hidden|| `code`"
EN = CATALOG["en"]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake_api() -> AsyncIterator[FakeImageAPI]:
    server = FakeImageAPI(models=MODELS)
    await server.start()
    yield server
    await server.close()


@pytest.fixture(scope="module")
def modlog(fake_discord: FakeDiscord) -> int:
    return fake_discord.add_channel("mod-log")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path, modlog: int
) -> AsyncIterator[BotProcess]:
    extra = {"LOG_LEVEL": "DEBUG", "GROK_MODELS": ",".join(MODELS), "COOLDOWN_SECONDS": "0"}
    async with running_bot(fake_discord, fake_api, workdir, extra=extra, synced=True) as process:
        yield process


async def admin(discord: FakeDiscord, options: dict[str, object]) -> str:
    """Run an /imagine-admin command as the owner; its private answer."""
    interaction = await as_owner(discord, options)
    callback = await interaction.wait_for_callback()
    assert callback["type"] == MESSAGE, callback
    assert not interaction.rejected(), interaction.rejected()
    return str(callback["data"].get("content") or callback["data"].get("embeds"))


def live_links(text: str) -> list[str]:
    """Masked links and URLs Discord would render in ``text`` (escaped characters show as
    text, so they are taken out first)."""
    bare = re.sub(r"\\.", "", text)
    return re.findall(r"\[[^\]]*\]\([^)]*\)", bare) + re.findall(r"\w+://\S+", bare)


def job_entries(discord: FakeDiscord, modlog: int) -> list[FakeMessage]:
    return [
        m
        for m in discord.channel_messages
        if m.channel_id == modlog and m.embeds and m.embeds[0].get("title", "").startswith("Job ")
    ]


async def test_a_prompt_with_masked_links_shows_no_live_link(
    bot: BotProcess, fake_discord: FakeDiscord, modlog: int
) -> None:
    await admin(fake_discord, {"modlog": {"set": {"channel": modlog}}})
    user = fresh_user()
    interaction = await fake_discord.send_slash_command("imagine", {"prompt": PROMPT}, user_id=user)
    [result, *_] = await interaction.wait_for_messages(1)
    await bot.wait_for_job(user)
    await fake_discord.wait_for(lambda: job_entries(fake_discord, modlog), 15, "a mod-log entry")
    [entry] = job_entries(fake_discord, modlog)
    for shown in (result.embeds[0]["description"], entry.embeds[0]["description"]):
        assert "Claim Nitro" in shown
        assert live_links(shown) == [], shown
        assert "<@" not in re.sub(r"\\.", "", shown), shown  # no live mention either
    # Without the escapes the reader sees the prompt as typed.
    assert live_links(PROMPT)


async def test_result_buttons_carry_128_bit_job_ids(
    bot: BotProcess, fake_discord: FakeDiscord
) -> None:
    interaction = await fake_discord.send_slash_command(
        "imagine", {"prompt": "a calm sea"}, user_id=fresh_user()
    )
    [result, *_] = await interaction.wait_for_messages(1)
    for custom_id in result.custom_ids():
        assert re.fullmatch(r"imagine:(reroll|delete|edit):[0-9a-f]{32}", custom_id), custom_id
        assert len(custom_id) <= 100


async def test_refusals_and_admin_answers_listing_25_long_models_fit(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    calls = len(fake_api.requests)
    invalid = await fake_discord.send_slash_command(
        "imagine", {"prompt": "a fox", "model": "no-such-model"}, user_id=fresh_user()
    )
    callback = await invalid.wait_for_callback()
    assert callback["type"] == MESSAGE
    content = callback["data"]["content"]
    assert len(content) <= 2000
    assert MODELS[0] in content
    assert "more" in content
    # A server allows 24 of them: each confirmation lists them, and so does the refusal
    # of the 25th.
    for model in MODELS[:24]:
        confirmation = await admin(fake_discord, {"models": {"add": {"model": model}}})
        assert len(confirmation) <= 2000
    refused = await fake_discord.send_slash_command(
        "imagine", {"prompt": "a fox", "model": MODELS[24]}, user_id=fresh_user()
    )
    callback = await refused.wait_for_callback()
    assert callback["type"] == MESSAGE
    content = callback["data"]["content"]
    assert content.startswith(EN["rule_model"].split("{")[0])
    assert "more" in content
    assert len(fake_api.requests) == calls
    shown = await admin(fake_discord, {"show": {}})
    assert MODELS[0] in shown
    await admin(fake_discord, {"models": {"clear": {}}})


async def test_no_token_key_or_webhook_url_reaches_the_debug_log(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    # The result's follow-up loses its connection: the job fails, the member is told.
    fake_discord.drop_connection(path_contains="/webhooks/")
    user = fresh_user()
    failed = await fake_discord.send_slash_command("imagine", {"prompt": "a boat"}, user_id=user)
    line = await bot.wait_for_job(user, outcome="delivery_failed")
    job_id = re.search(r"job=(\w+)", line)
    assert job_id is not None, line
    told = EN["delivery_failed"].format(job_id=job_id[1])
    await fake_discord.wait_for(
        lambda: any(m.content == told for m in failed.messages), 15, "the failure told"
    )
    output = bot.output()
    assert "/webhooks/" in output  # discord.py did log the webhook URLs, redacted
    assert "[redacted]" in output
    assert "INTERACTION_CREATE" in output  # and the gateway payloads
    assert fake_discord.token not in output
    assert fake_api.api_key not in output
    tokens = [interaction.token for interaction in fake_discord.interactions]
    assert len(tokens) > 3
    leaked = [token for token in tokens if token in output]
    assert leaked == []
    assert "Traceback" not in output
