"""Recovery in seconds, end to end: a bot killed mid-job, and a gateway that drops.

``kill -9`` leaves no time to hand anything back. On one host (SQLite) the bot started
again knows at once that the killed process is gone (its lock file is free) and resumes the
job through the interaction it answers, within seconds of its start. The gateway dropping
while a job runs (a network failure, a close with 4000, a session Discord forgot) loses
nothing and delivers nothing twice.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import (
    BotProcess,
    fake_discord_per_test,
    running_bot,
    start_bot,
    started_again,
)
from tests.e2e.steps import DEFER, images_of
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Every test restarts the bot: each has a fake Discord of its own.
fake_discord = fake_discord_per_test

EN = CATALOG["en"]
EXTRA = {"MAX_CONCURRENT_JOBS": "1", "COOLDOWN_SECONDS": "600"}
#: A restarted bot on one host resumes the jobs of the killed one within this long.
RESUME_WITHIN_SECONDS = 10.0


def job_rows(workdir: Path) -> list[tuple[str, str | None, str | None]]:
    with sqlite3.connect(workdir / "data" / "bot.sqlite3") as db:
        return list(db.execute("SELECT state, outcome, interaction_token FROM jobs"))


async def kill(bot: BotProcess) -> None:
    """SIGKILL: the process gets no chance to hand anything back."""
    assert bot.process is not None
    bot.process.kill()
    await bot.process.wait()


async def test_a_killed_bot_resumes_its_job_within_seconds_of_its_start(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    first = await start_bot(fake_discord, fake_api, tmp_path, extra=EXTRA)
    fake_api.script(Scripted(delay=60.0))  # the API holds its answer: the job is mid-way
    calls_before = len(fake_api.generation_calls)
    interaction = await fake_discord.send_slash_command(
        "imagine", {"prompt": "a harbour at dawn", "n": 2}, user_id=fresh_user()
    )
    await fake_discord.wait_for(
        lambda: len(fake_api.generation_calls) > calls_before, 10, "the job at the API"
    )
    await kill(first)
    assert [row[0] for row in job_rows(tmp_path)] == ["running"]
    await fake_discord.disconnect_all()

    started = time.monotonic()
    async with started_again(fake_discord, fake_api, tmp_path, extra=EXTRA) as second:
        await fake_discord.wait_for(
            lambda: images_of(interaction) == 2, RESUME_WITHIN_SECONDS, "the resumed job"
        )
        elapsed = time.monotonic() - started
        print(f"\nSQLite: from restart to delivery: {elapsed:.2f}s")
        assert elapsed < RESUME_WITHIN_SECONDS
        # Through the interaction's own token, into its first message, and only once.
        assert interaction.messages[0] is interaction.original
        assert len(fake_api.generation_calls) == calls_before + 2
        line = await second.wait_for_job(interaction.user_id)
        assert "images=2" in line
        assert "taken over from the journal (was running)" in second.output()
        assert job_rows(tmp_path) == [("done", "delivered", None)]
    # The killed process's lock file went with its jobs.
    assert list((tmp_path / "data" / "bot.sqlite3.owners").glob("*.lock")) == []


async def test_gateway_drops_mid_job_lose_nothing_and_deliver_once(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, fake_api, tmp_path, extra=EXTRA) as bot:
        await fake_discord.wait_for_command_sync()
        fake_api.script(Scripted(delay=6.0))
        calls_before = len(fake_api.generation_calls)
        running = await fake_discord.send_slash_command(
            "imagine", {"prompt": "a storm at sea", "n": 2}, user_id=fresh_user()
        )
        await fake_discord.wait_for(
            lambda: len(fake_api.generation_calls) > calls_before, 10, "the job at the API"
        )
        waiting = await fake_discord.send_slash_command(
            "imagine", {"prompt": "a calm sea"}, user_id=fresh_user()
        )
        await fake_discord.wait_for(
            lambda: waiting.original is not None and not waiting.original.loading, 10, "a place"
        )
        identifies = fake_discord.ready_count
        # A network failure (1006), a close Discord asks a RESUME after (4000), and a
        # session Discord forgot (a new IDENTIFY, READY, and a second on_ready).
        for code, invalidate in ((1006, False), (4000, False), (4000, True)):
            await fake_discord.disconnect_all(code=code, invalidate=invalidate)
            await fake_discord.wait_for(
                lambda: len(fake_discord.live_sessions()) == 1, 15, "the gateway back"
            )
        await fake_discord.wait_until_ready(count=identifies + 1)
        await fake_discord.wait_for(
            lambda: images_of(running) == 2 and images_of(waiting) == 1, 20, "both jobs"
        )
        await bot.wait_for_job(running.user_id)
        await bot.wait_for_job(waiting.user_id)
        # Nothing twice: one call each, one result each.
        assert len(fake_api.generation_calls) == calls_before + 2
        assert [len(m.attachments) for m in running.messages if m.attachments] == [2]
        assert [len(m.attachments) for m in waiting.messages if m.attachments] == [1]
        # And new requests are served on the new session.
        after = await fake_discord.send_slash_command(
            "imagine", {"prompt": "a rainbow"}, user_id=fresh_user()
        )
        await fake_discord.wait_for(lambda: images_of(after) == 1, 15, "a job after")
        # on_ready runs again for the new session (and may have run for the first one)...
        await fake_discord.wait_for(
            lambda: bot.output().count("ready as ") >= 2, 15, "on_ready after the new session"
        )
        output = bot.output()
        # The background loops started once, and the commands were not synced again.
        assert output.count("job journal: holding and looking for jobs") == 1
        assert fake_discord.command_sync_count == 1


async def test_a_job_that_cannot_start_in_time_is_closed_with_a_message(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    extra = {**EXTRA, "MAX_WAIT_SECONDS": "1"}
    async with running_bot(fake_discord, fake_api, tmp_path, extra=extra) as bot:
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
        waited_too_long = EN["waited_too_long"].format(job_id="")[:40]
        await fake_discord.wait_for(
            lambda: any(waited_too_long in m.content for m in late.messages), 10, "the notice"
        )
        await bot.wait_for_job(user, "waited_too_long")
        # Nothing was made or counted, and no cooldown started: the member may ask again.
        assert images_of(late) == 0
        await fake_discord.wait_for(lambda: images_of(busy) == 1, 10, "the long one")
        again = await fake_discord.send_slash_command("imagine", {"prompt": "again"}, user_id=user)
        assert (await again.wait_for_callback())["type"] == DEFER
        await fake_discord.wait_for(lambda: images_of(again) == 1, 10, "the second try")
        assert len(fake_api.generation_calls) == calls_before + 2
