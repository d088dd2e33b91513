"""Community servers end to end: server settings, quotas, result buttons, two languages.

The real bot runs against the fake Discord and the fake image API. Every test that
changes a server's settings takes a server of its own from a pool made before the bot
starts (each with a mod-log channel and an "artists" role), so tests never see each
other's settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, ServerPool, running_bot, server_pool, start_bot
from tests.e2e.steps import DEFER, EPHEMERAL, MESSAGE, delivered, refused_privately
from tests.fakes.discord import (
    ALL_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
)
from tests.fakes.image_api import COST_TICKS_PER_IMAGE, FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio(loop_scope="module")

MANAGE_GUILD = 1 << 5
MANAGE_MESSAGES = 1 << 13
SERVERS = 24
REFUSAL = Scripted(
    status=403, json={"code": "Forbidden", "error": "Content violates usage guidelines."}
)
EN = CATALOG["en"]
ZH = CATALOG["zh"]


@dataclass
class Server:
    id: int
    general: int
    nsfw: int
    modlog: int
    artists: int


World = ServerPool[Server]


def furnish(discord: FakeDiscord, guild_id: int) -> Server:
    """A server with a mod-log channel and an artists role."""
    general, nsfw = discord.guild_channel_ids(guild_id)
    modlog = discord.add_channel("mod-log", guild_id=guild_id)
    artists = discord.add_role("artists", guild_id=guild_id)
    return Server(guild_id, general, nsfw, modlog, artists)


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
    async with running_bot(
        fake_discord, fake_api, workdir, extra={"COOLDOWN_SECONDS": "0"}, synced=True
    ) as process:
        yield process


# -- helpers ---------------------------------------------------------------------------


async def admin(
    discord: FakeDiscord,
    server: Server,
    options: dict[str, Any],
    *,
    user_id: int | None = None,
    permissions: int | None = ALL_PERMISSIONS,
    locale: str = "en-US",
) -> dict[str, Any]:
    """Run an /imagine-admin command (as the owner by default); its callback."""
    interaction = await discord.send_slash_command(
        "imagine-admin",
        options,
        guild_id=server.id,
        user_id=discord.owner_user_id if user_id is None else user_id,
        permissions=permissions,
        locale=locale,
    )
    callback = await interaction.wait_for_callback()
    assert callback["type"] == MESSAGE
    assert callback["data"]["flags"] & EPHEMERAL
    return callback


async def imagine(
    discord: FakeDiscord,
    server: Server,
    user_id: int,
    prompt: str = "a lighthouse at dusk",
    *,
    channel_id: int | None = None,
    locale: str = "en-US",
    **options: object,
) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine",
        {"prompt": prompt, **options},
        guild_id=server.id,
        channel_id=channel_id or server.general,
        user_id=user_id,
        locale=locale,
    )


async def modlog_entries(
    discord: FakeDiscord, server: Server, count: int, timeout: float = 15
) -> list[FakeMessage]:
    def entries() -> list[FakeMessage]:
        return [m for m in discord.channel_messages if m.channel_id == server.modlog]

    await discord.wait_for(lambda: len(entries()) >= count, timeout, f"{count} mod-log entries")
    return entries()


def embed_text(message: FakeMessage) -> str:
    return str(message.embeds)


async def quota_text(discord: FakeDiscord, server: Server | None, user_id: int, **kw: Any) -> str:
    interaction = await discord.send_slash_command(
        "imagine-quota", {}, guild_id=None if server is None else server.id, user_id=user_id, **kw
    )
    return await refused_privately(interaction)


# -- the commands ----------------------------------------------------------------------


async def test_commands_are_registered_with_permissions_and_translations(
    bot: BotProcess, fake_discord: FakeDiscord
) -> None:
    commands = {c["name"]: c for c in fake_discord.global_commands}
    group = commands["imagine-admin"]
    assert int(group["default_member_permissions"]) == MANAGE_GUILD
    assert group["contexts"] == [0]
    subcommands = {o["name"]: o for o in group["options"]}
    assert len(subcommands) <= 25
    assert {
        "show", "enable", "disable", "channels", "terms", "nsfw-only", "spoilers", "cooldown",
        "max-n", "models", "resolutions", "exempt-roles", "modlog", "reroll-open",
        "user-quota", "server-budget", "stats", "edits", "edit-uploads", "spend-limit", "video",
    } == set(subcommands)  # fmt: skip
    assert commands["imagine-quota"]["contexts"] == [0]

    imagine_command = commands["imagine"]
    assert imagine_command["description_localizations"]["zh-CN"] == ZH["cmd_imagine"]
    assert "zh-TW" not in imagine_command["description_localizations"]
    prompt = imagine_command["options"][0]
    assert prompt["description_localizations"]["zh-CN"] == ZH["opt_prompt"]
    aspect = next(o for o in imagine_command["options"] if o["name"] == "aspect")
    square = next(c for c in aspect["choices"] if c["value"] == "1:1")
    assert square["name_localizations"]["zh-CN"] == ZH["aspect_1:1"]
    assert group["description_localizations"]["zh-CN"] == ZH["cmd_admin"]


async def test_a_member_without_manage_server_is_refused(
    bot: BotProcess, fake_discord: FakeDiscord, world: World
) -> None:
    server = world.server()
    member = fresh_user()
    for options in ({"disable": {}}, {"terms": {"list": {}}}, {"stats": {}}):
        callback = await admin(
            fake_discord, server, options, user_id=member, permissions=DEFAULT_MEMBER_PERMISSIONS
        )
        assert "Manage Server" in callback["data"]["content"]
    # Nothing changed: /imagine still works for the member.
    await delivered(await imagine(fake_discord, server, member))
    # Manage Server alone is enough.
    manager = await admin(
        fake_discord,
        server,
        {"enable": {}},
        user_id=fresh_user(),
        permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD,
    )
    assert "Manage Server" not in manager["data"]["content"]


# -- the server's rules ----------------------------------------------------------------


async def test_a_blocked_term_is_refused_privately_without_an_api_call(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    added = await admin(fake_discord, server, {"terms": {"add": {"term": "Bad"}}})
    assert "1 in all" in added["data"]["content"]
    user = fresh_user()
    calls_before = len(fake_api.requests)
    for prompt in ("a bad dog", "a \uff42\uff41\uff44 dog", "b\u200bad weather", "so b\u00e4d"):
        content = await refused_privately(await imagine(fake_discord, server, user, prompt))
        assert content == EN["rule_blocked"]
        assert "bad" not in content.lower()
    # Whole words only: "badge" is fine.
    await delivered(await imagine(fake_discord, server, user, "a shiny badge"))
    assert len(fake_api.requests) == calls_before + 1
    await bot.wait_for_job(user, outcome="blocked")

    listing = await admin(fake_discord, server, {"terms": {"list": {}}})
    assert "Bad" in listing["data"]["content"]
    duplicate = await admin(
        fake_discord, server, {"terms": {"add": {"term": "\uff42\uff41\uff44"}}}
    )
    assert duplicate["data"]["content"] == EN["term_exists"]
    await admin(fake_discord, server, {"terms": {"remove": {"term": "bad"}}})
    await delivered(await imagine(fake_discord, server, user, "a bad dog"))


async def test_evasions_are_blocked_and_probing_pauses_the_member(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    await admin(fake_discord, server, {"modlog": {"set": {"channel": server.modlog}}})
    await admin(fake_discord, server, {"terms": {"add": {"term": "bad"}}})
    await modlog_entries(fake_discord, server, 2)
    user, other = fresh_user(), fresh_user()
    calls_before = len(fake_api.requests)
    # An enclosing circle, a Hangul filler, the Braille blank, a Cyrillic a: four of the
    # five blocked prompts the member may send within ten minutes.
    for prompt in ("b\u20ddad", "a b\u3164ad day", "b\u2800ad", "so b\u0430d"):
        content = await refused_privately(await imagine(fake_discord, server, user, prompt))
        assert content == EN["rule_blocked"]
    # The fifth (a Greek capital alpha) pauses the member, who hears until when.
    wait = EN["blocked_paused"].split("{when}")[0]
    paused = await refused_privately(await imagine(fake_discord, server, user, "B\u0391D"))
    assert paused.startswith(wait)
    assert "<t:" in paused
    # Paused: any prompt of theirs is refused, blocked or not, with no API call.
    for prompt in ("a lighthouse at dusk", "bad"):
        content = await refused_privately(await imagine(fake_discord, server, user, prompt))
        assert content.startswith(wait)
    assert len(fake_api.requests) == calls_before
    # Another member is not paused.
    await delivered(await imagine(fake_discord, server, other, "a lighthouse at dusk"))
    await bot.wait_for_job(other, outcome="delivered")
    # The mod log: the two settings changes, four blocked jobs, one pause, one delivered job;
    # nothing for the refusals while paused.
    entries = await modlog_entries(fake_discord, server, 8)
    await asyncio.sleep(0.5)
    entries = [m for m in fake_discord.channel_messages if m.channel_id == server.modlog]
    assert len(entries) == 8
    titles = [e.embeds[0]["title"] for e in entries]
    assert sum(title.endswith("blocked by this server's terms") for title in titles) == 4
    [pause] = [e.embeds[0] for e in entries if e.embeds[0]["title"] == EN["modlog_paused"]]
    assert f"<@{user}> sent 5 blocked prompts within 10 minutes" in pause["description"]
    fields = {f["name"]: f["value"] for f in pause["fields"]}
    assert fields["Matched term"] == "||bad||"


async def test_only_listed_channels_and_disabled_servers(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    user = fresh_user()
    await admin(fake_discord, server, {"channels": {"add": {"channel": server.nsfw}}})
    calls_before = len(fake_api.requests)
    content = await refused_privately(await imagine(fake_discord, server, user))
    assert f"<#{server.nsfw}>" in content
    assert "can't be used in this channel" in content
    assert len(fake_api.requests) == calls_before
    await delivered(await imagine(fake_discord, server, user, channel_id=server.nsfw))

    await admin(fake_discord, server, {"channels": {"clear": {}}})
    await admin(fake_discord, server, {"disable": {}})
    content = await refused_privately(await imagine(fake_discord, server, user))
    assert content == EN["rule_disabled"]
    await admin(fake_discord, server, {"enable": {}})
    await delivered(await imagine(fake_discord, server, user))


async def test_age_restricted_policy_and_spoilers(
    bot: BotProcess, fake_discord: FakeDiscord, world: World
) -> None:
    server = world.server()
    user = fresh_user()
    await admin(fake_discord, server, {"nsfw-only": {"on": True}})
    await admin(fake_discord, server, {"spoilers": {"on": True}})
    content = await refused_privately(await imagine(fake_discord, server, user))
    assert content == EN["rule_nsfw_only"]

    result = await delivered(await imagine(fake_discord, server, user, channel_id=server.nsfw, n=2))
    assert len(result.attachments) == 2
    assert all(attachment.spoiler for attachment in result.attachments)
    assert result.embeds[0]["description"].startswith("||")

    await admin(fake_discord, server, {"spoilers": {"on": False}})
    plain = await delivered(await imagine(fake_discord, server, user, channel_id=server.nsfw))
    assert not any(attachment.spoiler for attachment in plain.attachments)


async def test_limits_on_n_models_resolutions_and_cooldown(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    user = fresh_user()
    await admin(fake_discord, server, {"max-n": {"count": 2}})
    content = await refused_privately(await imagine(fake_discord, server, user, n=3))
    assert "at most 2 images" in content

    await admin(fake_discord, server, {"models": {"add": {"model": "grok-imagine-image-pro"}}})
    content = await refused_privately(
        await imagine(fake_discord, server, user, model="grok-imagine-image")
    )
    assert "Allowed: grok-imagine-image-pro" in content
    await delivered(await imagine(fake_discord, server, user))  # no model picked
    assert fake_api.requests[-1].body["model"] == "grok-imagine-image-pro"

    await admin(fake_discord, server, {"resolutions": {"add": {"resolution": "2k"}}})
    content = await refused_privately(await imagine(fake_discord, server, user))
    assert "Allowed: 2k" in content
    await admin(fake_discord, server, {"resolutions": {"clear": {}}})

    await admin(fake_discord, server, {"cooldown": {"seconds": 600}})
    await delivered(await imagine(fake_discord, server, user))
    await bot.wait_for_job(user, nth=2)  # this job's line, not the first one's
    content = await refused_privately(await imagine(fake_discord, server, user))
    assert "cooldown" in content

    shown = await fake_discord.send_slash_command(
        "imagine-admin", {"show": {}}, guild_id=server.id, user_id=fake_discord.owner_user_id
    )
    callback = await shown.wait_for_callback()
    assert callback["data"]["flags"] & EPHEMERAL
    fields = {f["name"]: f["value"] for f in callback["data"]["embeds"][0]["fields"]}
    assert fields["Largest n"] == "2"
    assert fields["Models"] == "grok-imagine-image-pro"
    assert fields["Cooldown"] == "600 s"
    assert fields["Daily images per member"] == "50 (the bot's default)"


async def test_exempt_roles_skip_cooldown_and_member_quota(
    bot: BotProcess, fake_discord: FakeDiscord, world: World
) -> None:
    server = world.server()
    await admin(fake_discord, server, {"cooldown": {"seconds": 600}})
    await admin(fake_discord, server, {"user-quota": {"images": 1}})
    await admin(fake_discord, server, {"exempt-roles": {"add": {"role": server.artists}}})
    artist = fresh_user()
    fake_discord.add_member(artist, roles=[server.artists], guild_id=server.id)
    for _ in range(2):
        await delivered(await imagine(fake_discord, server, artist, n=2))
        await bot.wait_for_job(artist)
    assert "exempt" in await quota_text(fake_discord, server, artist)

    member = fresh_user()
    await delivered(await imagine(fake_discord, server, member))
    await bot.wait_for_job(member)
    assert "cooldown" in await refused_privately(await imagine(fake_discord, server, member))


# -- quotas ----------------------------------------------------------------------------


async def test_member_quota_runs_out_and_a_refusal_gives_images_back(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    await admin(fake_discord, server, {"user-quota": {"images": 2}})
    user = fresh_user()

    fake_api.script(REFUSAL)
    refused = await imagine(fake_discord, server, user, n=2)
    assert (await refused.wait_for_callback())["type"] == DEFER
    [message] = await refused.wait_for_messages(1)
    assert "content policy" in message.content
    await bot.wait_for_job(user, outcome="refused")
    assert "0 images made, 2 of 2 left" in await quota_text(fake_discord, server, user)

    await delivered(await imagine(fake_discord, server, user, n=2))
    await bot.wait_for_job(user)
    status = await quota_text(fake_discord, server, user)
    assert "2 images made, 0 of 2 left" in status
    assert "<t:" in status

    calls_before = len(fake_api.requests)
    content = await refused_privately(await imagine(fake_discord, server, user))
    assert "0 of your 2 daily images left" in content
    assert len(fake_api.requests) == calls_before
    # Another member of the same server still has their own quota.
    await delivered(await imagine(fake_discord, server, fresh_user(), n=2))


async def test_parallel_requests_never_overshoot_the_server_budget(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    await admin(fake_discord, server, {"server-budget": {"images": 3}})
    fake_api.script(Scripted(delay=0.5))
    interactions = await asyncio.gather(
        *(imagine(fake_discord, server, fresh_user(), n=2) for _ in range(4))
    )
    callbacks = await asyncio.gather(*(i.wait_for_callback() for i in interactions))
    assert sorted(c["type"] for c in callbacks) == [MESSAGE, MESSAGE, MESSAGE, DEFER]
    for callback in callbacks:
        if callback["type"] == MESSAGE:
            assert "This server has 1 of its 3 daily images left" in callback["data"]["content"]
    winner = next(i for i, c in zip(interactions, callbacks, strict=True) if c["type"] == DEFER)
    await winner.wait_for_messages(1)


# -- the mod log -----------------------------------------------------------------------


async def test_the_mod_log_records_jobs_and_settings_changes(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    await admin(fake_discord, server, {"modlog": {"set": {"channel": server.modlog}}})
    [first] = await modlog_entries(fake_discord, server, 1)
    assert "Settings changed" in embed_text(first)
    assert f"<#{server.modlog}>" in embed_text(first)
    assert first.allowed_mentions == {"parse": []}

    await admin(fake_discord, server, {"terms": {"add": {"term": "forbidden"}}})
    user = fresh_user()
    interaction = await imagine(fake_discord, server, user, "a quiet harbour", n=2, aspect="16:9")
    result = await delivered(interaction)
    await refused_privately(await imagine(fake_discord, server, user, "something forbidden"))
    fake_api.script(REFUSAL)
    await (await imagine(fake_discord, server, user, "a refused picture")).wait_for_messages(1)
    await bot.wait_for_job(user, outcome="refused")
    fake_api.script(Scripted(status=400, json={"error": {"message": "bad", "type": "x"}}))
    await (await imagine(fake_discord, server, user, "a broken request")).wait_for_messages(1)
    entries = await modlog_entries(fake_discord, server, 6)

    jobs = [e.embeds[0] for e in entries if e.embeds[0]["title"].startswith("Job ")]
    by_outcome = {embed["title"].split(": ", 1)[1]: embed for embed in jobs}
    assert set(by_outcome) == {
        "delivered",
        "blocked by this server's terms",
        "refused by the image service",
        "failed",
    }
    done = by_outcome["delivered"]
    fields = {f["name"]: f["value"] for f in done["fields"]}
    assert done["description"] == "a quiet harbour"
    assert fields["User"] == f"<@{user}>"
    assert fields["Channel"] == f"<#{server.general}>"
    assert "grok-imagine-image" in fields["Parameters"]
    assert "n=2" in fields["Parameters"]
    assert "16:9" in fields["Parameters"]
    assert fields["Images"] == "2"
    assert fields["Cost"] == f"${2 * COST_TICKS_PER_IMAGE / 1e10:.2f}"
    assert f"/{server.id}/{server.general}/{result.id})" in fields["Result"]
    blocked = {
        f["name"]: f["value"] for f in by_outcome["blocked by this server's terms"]["fields"]
    }
    assert blocked["Matched term"] == "||forbidden||"
    failed = {f["name"]: f["value"] for f in by_outcome["failed"]["fields"]}
    assert failed["Reason"] == "invalid_request"


async def test_a_mod_log_failure_never_breaks_a_job(
    bot: BotProcess, fake_discord: FakeDiscord, world: World
) -> None:
    server = world.server()

    def missing_permissions() -> None:
        fake_discord.inject_failure(
            path_contains=f"/channels/{server.modlog}/messages",
            status=403,
            json={"message": "Missing Permissions", "code": 50013},
        )

    missing_permissions()
    setting = await fake_discord.send_slash_command(
        "imagine-admin",
        {"modlog": {"set": {"channel": server.modlog}}},
        guild_id=server.id,
        user_id=fake_discord.owner_user_id,
    )
    confirmed, warning = await setting.wait_for_messages(2)
    assert confirmed.content == EN["set_modlog"].format(channel=f"<#{server.modlog}>")
    assert warning.ephemeral
    assert "couldn't post" in warning.content

    missing_permissions()
    warned_before = bot.output().count("could not post to mod-log channel")
    user = fresh_user()
    await delivered(await imagine(fake_discord, server, user))
    await bot.wait_for_job(user)
    await fake_discord.wait_for(
        lambda: bot.output().count("could not post to mod-log channel") > warned_before,
        10,
        "the mod-log warning",
    )


# -- result buttons --------------------------------------------------------------------


async def test_result_buttons_for_the_requester_and_for_others(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    owner, other = fresh_user(), fresh_user()
    result = await delivered(
        await imagine(fake_discord, server, owner, "a paper boat", n=2, aspect="4:3")
    )
    reroll_id, delete_id, edit_id = result.custom_ids()
    assert edit_id.startswith("imagine:edit:")
    assert reroll_id.startswith("imagine:reroll:")
    assert delete_id.startswith("imagine:delete:")
    calls_before = len(fake_api.requests)

    pressed = await fake_discord.press_button(result, reroll_id, user_id=other)
    assert await refused_privately(pressed) == EN["reroll_not_yours"]
    pressed = await fake_discord.press_button(result, delete_id, user_id=other)
    assert await refused_privately(pressed) == EN["delete_not_yours"]
    assert len(fake_api.requests) == calls_before
    assert not result.deleted

    again = await fake_discord.press_button(result, reroll_id, user_id=owner)
    rerolled = await delivered(again)
    body = fake_api.requests[-1].body
    assert (body["prompt"], body["n"], body["aspect_ratio"]) == ("a paper boat", 2, "4:3")
    fields = {f["name"]: f["value"] for f in rerolled.embeds[0]["fields"]}
    assert fields["Requested by"] == f"<@{owner}>"

    await admin(fake_discord, server, {"reroll-open": {"on": True}})
    by_other = await delivered(await fake_discord.press_button(result, reroll_id, user_id=other))
    assert f"<@{other}>" in embed_text(by_other)  # the presser is the new requester

    moderator = fresh_user()
    pressed = await fake_discord.press_button(
        rerolled,
        rerolled.custom_ids()[1],
        user_id=moderator,
        permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_MESSAGES,
    )
    callback = await pressed.wait_for_callback()
    assert callback["data"]["flags"] & EPHEMERAL
    await fake_discord.wait_for(lambda: rerolled.deleted, 10, "the re-rolled result deleted")
    [answer] = await pressed.wait_for_messages(1)
    assert answer.content == EN["deleted"]


async def test_a_rerolled_job_goes_through_the_pressers_rules(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    user = fresh_user()
    result = await delivered(await imagine(fake_discord, server, user, "a red kite"))
    await admin(fake_discord, server, {"terms": {"add": {"term": "kite"}}})
    calls_before = len(fake_api.requests)
    pressed = await fake_discord.press_button(result, result.custom_ids()[0], user_id=user)
    assert await refused_privately(pressed) == EN["rule_blocked"]
    assert len(fake_api.requests) == calls_before


async def test_buttons_keep_working_after_a_restart(tmp_path: Path, fake_api: FakeImageAPI) -> None:
    discord = FakeDiscord()
    await discord.start()
    try:
        user = fresh_user()
        extra = {"COOLDOWN_SECONDS": "0"}
        first = await start_bot(discord, fake_api, tmp_path, extra=extra)
        try:
            result = await delivered(
                await discord.send_slash_command("imagine", {"prompt": "a mill"}, user_id=user)
            )
            await first.wait_for_job(user)
        finally:
            assert await first.stop() == 0
        await discord.disconnect_all()

        second = await start_bot(discord, fake_api, tmp_path, extra=extra, sessions=2)
        try:
            reroll_id, delete_id, edit_id = result.custom_ids()
            assert edit_id.startswith("imagine:edit:")
            rerolled = await delivered(await discord.press_button(result, reroll_id, user_id=user))
            assert fake_api.requests[-1].body["prompt"] == "a mill"
            await second.wait_for_job(user)
            pressed = await discord.press_button(result, delete_id, user_id=user)
            await discord.wait_for(lambda: result.deleted, 10, "the old result deleted")
            [answer] = await pressed.wait_for_messages(1)
            assert answer.ephemeral
            assert not rerolled.deleted
            assert "Traceback" not in second.output()
        finally:
            assert await second.stop() == 0
    finally:
        await discord.close()


# -- languages -------------------------------------------------------------------------


async def test_a_chinese_user_gets_chinese(
    bot: BotProcess, fake_discord: FakeDiscord, world: World
) -> None:
    server = world.server()
    await admin(fake_discord, server, {"terms": {"add": {"term": "\u574f\u4eba"}}})
    user = fresh_user()
    content = await refused_privately(
        await imagine(fake_discord, server, user, "\u4e00\u4e2a\u574f\u4eba", locale="zh-CN")
    )
    assert content == ZH["rule_blocked"]

    result = await delivered(await imagine(fake_discord, server, user, "a cat", locale="zh-CN"))
    names = [f["name"] for f in result.embeds[0]["fields"]]
    assert ZH["field_model"] in names
    labels = [c["label"] for row in result.components for c in row["components"]]
    assert labels == [ZH["button_reroll"], ZH["button_delete"], ZH["button_edit"]]
    assert ZH["quota_title"] in await quota_text(fake_discord, server, user, locale="zh-CN")
    refused = await admin(
        fake_discord,
        server,
        {"enable": {}},
        user_id=user,
        permissions=DEFAULT_MEMBER_PERMISSIONS,
        locale="zh-CN",
    )
    assert refused["data"]["content"] == ZH["admin_needs_manage"]
    # Traditional Chinese is not translated: English.
    tw = await imagine(fake_discord, server, fresh_user(), "\u574f\u4eba", locale="zh-TW")
    assert await refused_privately(tw) == EN["rule_blocked"]


# -- usage figures ---------------------------------------------------------------------


async def test_stats_count_generated_refused_blocked_failed_and_spend(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    await admin(fake_discord, server, {"terms": {"add": {"term": "nope"}}})
    user = fresh_user()
    await delivered(await imagine(fake_discord, server, user, n=3))
    await bot.wait_for_job(user)
    await refused_privately(await imagine(fake_discord, server, user, "nope"))
    fake_api.script(REFUSAL)
    await (await imagine(fake_discord, server, user)).wait_for_messages(1)
    await bot.wait_for_job(user, outcome="refused")
    fake_api.script(Scripted(status=400, json={"error": {"message": "bad", "type": "x"}}))
    await (await imagine(fake_discord, server, user)).wait_for_messages(1)
    await bot.wait_for_job(user, outcome="invalid_request")

    callback = await admin(fake_discord, server, {"stats": {}})
    fields = {f["name"]: f["value"] for f in callback["data"]["embeds"][0]["fields"]}
    spend = f"${3 * COST_TICKS_PER_IMAGE / 1e10:.2f}"
    for period in ("Today (UTC)", "Last 7 days"):
        assert fields[period] == "\n".join(
            (
                EN["stats_lines"].format(images=3, refused=1, blocked=1, failed=1, spend=spend),
                EN["stats_cancelled"].format(count=0),
                EN["stats_interrupted"].format(count=0),
                EN["stats_waited_too_long"].format(count=0),
            )
        )


# -- direct messages -------------------------------------------------------------------


async def test_direct_messages_are_refused_by_default(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    calls_before = len(fake_api.requests)
    interaction = await fake_discord.send_slash_command(
        "imagine", {"prompt": "a fox"}, guild_id=None, user_id=fresh_user()
    )
    assert await refused_privately(interaction) == EN["dm_off"]
    assert len(fake_api.requests) == calls_before


async def test_direct_messages_when_the_operator_allows_them(
    tmp_path: Path, fake_api: FakeImageAPI
) -> None:
    discord = FakeDiscord()
    await discord.start()
    extra = {"ALLOW_DMS": "1", "DAILY_USER_QUOTA": "1", "COOLDOWN_SECONDS": "0"}
    bot = await start_bot(discord, fake_api, tmp_path, extra=extra)
    try:
        await discord.wait_for_command_sync()
        commands = {c["name"]: c for c in discord.global_commands}
        assert commands["imagine"]["contexts"] == [0, 1]
        user = fresh_user()
        result = await delivered(
            await discord.send_slash_command(
                "imagine", {"prompt": "a fox"}, guild_id=None, user_id=user
            )
        )
        assert result.guild_id is None
        await bot.wait_for_job(user)
        # The bot's own limits apply in direct messages.
        again = await discord.send_slash_command(
            "imagine", {"prompt": "a fox"}, guild_id=None, user_id=user
        )
        assert "daily images" in await refused_privately(again)
        assert "Traceback" not in bot.output()
    finally:
        assert await bot.stop() == 0
        await discord.close()


async def test_the_mod_log_entry_of_an_edit_shows_its_inputs_and_re_roll_edits_again(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, world: World
) -> None:
    server = world.server()
    await admin(fake_discord, server, {"modlog": {"set": {"channel": server.modlog}}})
    await modlog_entries(fake_discord, server, 1)
    user = fresh_user()
    made = await delivered(await imagine(fake_discord, server, user, "a quiet harbour"))
    edit_id = next(c for c in made.custom_ids() if c.startswith("imagine:edit:"))
    await bot.wait_for_job(user)
    opened = await fake_discord.press_button(made, edit_id, user_id=user)
    assert (await opened.wait_for_callback())["type"] == 9
    assert opened.modal is not None
    [change] = [row["components"][0]["custom_id"] for row in opened.modal["components"]]
    edited = await delivered(await fake_discord.submit_modal(opened, {change: "at night"}))
    await bot.wait_for_job(user, nth=2)
    # The bot's own result may be edited with edits of uploads off (the default).
    entries = await modlog_entries(fake_discord, server, 3)
    [edit_entry] = [
        e.embeds[0]
        for e in entries
        if any(f["name"] == EN["field_edit_of"] for f in e.embeds[0].get("fields", []))
    ]
    fields = {f["name"]: f["value"] for f in edit_entry["fields"]}
    assert f"/{made.channel_id}/{made.id})" in fields[EN["field_edit_of"]]
    assert edit_entry["thumbnail"]["url"] == made.attachments[0].url

    # Re-roll of an edit runs the same edit again: the same picture, fetched again.
    first_edit = fake_api.edit_calls[-1]
    reroll_id = next(c for c in edited.custom_ids() if c.startswith("imagine:reroll:"))
    await delivered(await fake_discord.press_button(edited, reroll_id, user_id=user))
    again = fake_api.edit_calls[-1]
    assert again is not first_edit
    assert again.body["prompt"] == "at night"
    assert again.body["image"] == first_edit.body["image"]
