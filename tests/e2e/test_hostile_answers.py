"""Hostile answers from the image API, end to end: the API sits behind a third-party
gateway, so what it answers is untrusted input.

One bot process serves the whole module, in URL mode (``GROK_RESPONSE_FORMAT=url``): the
fake API serves the images from its own loopback origin, which the bot trusts as the
operator's gateway; every other URL must be a public address on port 443.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, running_bot
from tests.e2e.steps import image_count, images_delivered
from tests.e2e.test_faults import calls, failed_with, imagine
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.image_api import FakeImageAPI, Scripted, make_animated_png
from tests.fakes.trap import Trap

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Discord allows 3 seconds to acknowledge an interaction; a loop stalled by another
#: member's answer would show here.
PROMPT_ACK_SECONDS = 1.5


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def trap() -> AsyncIterator[Trap]:
    server = Trap()
    await server.start()
    yield server
    await server.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path
) -> AsyncIterator[BotProcess]:
    extra = {
        "COOLDOWN_SECONDS": "600",
        "GROK_RESPONSE_FORMAT": "url",
        "DAILY_USER_QUOTA": "0",
        "DAILY_GUILD_BUDGET": "0",
    }
    async with running_bot(fake_discord, fake_api, workdir, extra=extra, synced=True) as process:
        yield process


# -- too many items --------------------------------------------------------------------


async def test_a_million_items_are_refused_and_others_are_still_acknowledged(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    lines_before = len(bot.output().splitlines())
    downloads_before = len(fake_api.downloads)
    before = calls(fake_api)
    # About 2 MB: one real item, then a million zeros.
    fake_api.script(Scripted(junk_items=1_000_000))
    hostile = await imagine(fake_discord, user)
    await fake_discord.wait_for(lambda: calls(fake_api) > before, 10, "the hostile call")

    # While that answer is handled, other members keep coming: each is acknowledged well
    # inside Discord's 3 seconds.
    others: list[FakeInteraction] = []
    while not others or f"user={user} " not in bot.output():
        other = await imagine(fake_discord, fresh_user())
        await other.wait_for_callback()
        others.append(other)
        await asyncio.sleep(0.2)
    for other in others:
        assert other.callback_latency is not None
        assert other.callback_latency < PROMPT_ACK_SECONDS, other.callback_latency

    await failed_with(hostile, "nothing usable")
    line = await bot.wait_for_job(user, outcome="bad_response")
    for other in others:
        await images_delivered(other)
    output = bot.output().splitlines()[lines_before:]
    # One line says why; not a line per item.
    assert sum("too many JSON values" in entry for entry in output) == 1, line
    assert len(output) < 20 + 5 * len(others)
    # Only the others' images were fetched: the junk never reached a download.
    assert len(fake_api.downloads) == downloads_before + len(others)


async def test_more_items_than_asked_post_only_what_was_asked(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    downloads_before = len(fake_api.downloads)
    fake_api.script(Scripted(count=5))
    interaction = await imagine(fake_discord, user, n=2)
    messages = await images_delivered(interaction, images=2)
    await bot.wait_for_job(user)
    await asyncio.sleep(0.3)
    assert image_count(messages) == 2
    assert len(fake_api.downloads) == downloads_before + 2
    assert "Image API answered 5 items for 2 asked; using the first 2" in bot.output()


# -- URL mode: nothing but public addresses --------------------------------------------


async def test_urls_into_the_bots_network_are_never_fetched(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, trap: Trap
) -> None:
    urls = [
        f"https://127.0.0.1:{trap.port}/a.jpg",  # loopback, another port
        f"https://[::ffff:127.0.0.1]:{trap.port}/b.jpg",
        f"https://0x7f000001:{trap.port}/c.jpg",
        f"https://localhost:{trap.port}/d.jpg",
        "https://10.0.0.1/e.jpg",  # a private address
        "https://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
    ]
    user = fresh_user()
    refusals_before = bot.output().count("Refusing image URL")
    fake_api.script(Scripted(urls=urls))
    interaction = await imagine(fake_discord, user, n=len(urls))
    await failed_with(interaction, "nothing usable")
    line = await bot.wait_for_job(user, outcome="bad_response")
    assert f"{len(urls)} unusable" in bot.output(), line
    assert bot.output().count("Refusing image URL") - refusals_before == len(urls)
    assert trap.connections == 0


async def test_a_redirect_into_loopback_is_not_followed(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, trap: Trap
) -> None:
    user = fresh_user()
    downloads_before = len(fake_api.downloads)
    # The API's own file (allowed) answers 302 to a loopback service.
    fake_api.script(Scripted(redirect_to=f"https://127.0.0.1:{trap.port}/latest"))
    interaction = await imagine(fake_discord, user)
    await failed_with(interaction, "nothing usable")
    await bot.wait_for_job(user, outcome="bad_response")
    assert len(fake_api.downloads) == downloads_before + 1
    assert trap.connections == 0


# -- animated images -------------------------------------------------------------------


async def test_a_good_animated_image_is_delivered_as_it_came(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    animated = make_animated_png(256, 192, 4)
    fake_api.script(Scripted(images=[animated]))
    user = fresh_user()
    messages = await images_delivered(await imagine(fake_discord, user))
    [attachment] = [a for m in messages for a in m.attachments]
    assert attachment.filename.endswith(".png")
    assert attachment.data == animated


async def test_an_animated_image_with_a_corrupt_later_frame_is_unusable(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    fake_api.script(Scripted(images=[make_animated_png(256, 192, 4, corrupt_frame=2)]))
    user = fresh_user()
    await failed_with(await imagine(fake_discord, user), "nothing usable")
    await bot.wait_for_job(user, outcome="bad_response")
