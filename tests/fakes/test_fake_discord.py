"""Self-test of the fake Discord: the real discord.py, in-process, must accept it.

Each test starts a :class:`FakeDiscord`, points discord.py at it (``Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``, restored afterwards) and runs a small
``commands.Bot`` against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import pytest_asyncio
import yarl
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord, guild_id_for_shard

pytestmark = pytest.mark.asyncio

TOKEN = "self-test-token"


def make_png(width: int, height: int) -> bytes:
    """A valid grey PNG, built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class SelfTestBot(commands.Bot):
    def __init__(self, *, sync: bool = True, **options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0.1,
            **options,
        )
        self.sync_commands = sync
        self.seen: list[discord.Interaction] = []
        self.errors: list[BaseException] = []

    async def setup_hook(self) -> None:
        if self.sync_commands:
            await self.tree.sync()


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, *bots: SelfTestBot) -> AsyncIterator[None]:
    """Point discord.py at the fake, run the bots until they are ready, then clean up."""
    saved_base = discord.http.Route.BASE
    saved_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.rest_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    tasks = [asyncio.create_task(bot.start(fake.token)) for bot in bots]
    try:
        ready = asyncio.create_task(fake.wait_until_ready(timeout=10, count=len(bots)))
        done, _ = await asyncio.wait([ready, *tasks], return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            for task in done:
                task.result()  # raise what stopped the bot
            raise AssertionError("a bot stopped before it was ready")
        ready.result()
        yield
    finally:
        for bot in bots:
            await bot.close()
        for task in tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
        discord.http.Route.BASE = saved_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved_gateway


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(token=TOKEN)
    await server.start()
    yield server
    await server.close()
    assert not server.server_errors


async def test_defer_then_follow_up_with_embed_and_two_files(fake: FakeDiscord) -> None:
    bot = SelfTestBot()
    png = make_png(4, 3)
    sent: dict[str, Any] = {}

    @bot.tree.command(name="imagine", description="Generate an image")
    async def imagine(
        interaction: discord.Interaction, prompt: str, steps: app_commands.Range[int, 1, 50] = 20
    ) -> None:
        bot.seen.append(interaction)
        sent["options"] = (prompt, steps)
        await interaction.response.defer(thinking=True)
        embed = discord.Embed(title="Result", description=prompt)
        embed.set_image(url="attachment://image-1.png")
        files = [
            discord.File(io.BytesIO(png), "image-1.png"),
            discord.File(io.BytesIO(b"second file"), "notes.txt"),
        ]
        message = await interaction.followup.send(
            embed=embed, files=files, allowed_mentions=discord.AllowedMentions.none(), wait=True
        )
        sent["message_id"] = message.id
        sent["downloaded"] = await message.attachments[0].read()
        await interaction.followup.send("only for you", ephemeral=True)

    async with running(fake, bot):
        await fake.wait_for_command_sync()
        assert fake.command_sync_count == 1
        [command] = fake.global_commands
        assert command["name"] == "imagine"
        assert [(o["name"], o["type"]) for o in command["options"]] == [
            ("prompt", 3),
            ("steps", 4),
        ]
        assert fake.identifies[0]["token"] == TOKEN
        assert fake.identifies[0]["intents"] == discord.Intents.default().value
        login = [r for r in fake.requests if r.route == "/users/@me"]
        assert login[0].headers["Authorization"] == f"Bot {TOKEN}"

        interaction = await fake.send_slash_command("imagine", {"prompt": "a fox", "steps": 7})
        callback = await interaction.wait_for_callback()
        assert callback["type"] == 5
        assert callback["time"] - interaction.created < 1.0
        first, second = await interaction.wait_for_messages(2)

    # The first follow-up replaced "thinking…": it is the @original message, public.
    assert first is interaction.original
    assert sent["message_id"] == first.id
    assert not first.ephemeral
    assert not first.loading
    assert first.embeds[0]["title"] == "Result"
    assert first.embeds[0]["image"]["url"] == "attachment://image-1.png"
    assert first.filenames == ["image-1.png", "notes.txt"]
    assert first.attachments[0].content_type == "image/png"
    assert first.attachments[0].data == png
    assert first.attachments[1].size == len(b"second file")
    assert first.allowed_mentions == {"parse": []}
    assert sent["downloaded"] == png
    assert second.ephemeral
    assert second.content == "only for you"
    assert sent["options"] == ("a fox", 7)
    received = bot.seen[0]
    assert received.filesize_limit == fake.attachment_size_limit
    assert received.guild_id == fake.guild_id
    assert received.channel is not None
    assert received.channel.id == fake.channel_id
    assert isinstance(received.user, discord.Member)
    assert not interaction.rejected()


async def test_oversize_file_is_refused_with_413(fake: FakeDiscord) -> None:
    bot = SelfTestBot()
    outcome: dict[str, Any] = {}

    @bot.tree.command(name="big", description="Send a big file")
    async def big(interaction: discord.Interaction) -> None:
        outcome["limit"] = interaction.filesize_limit
        await interaction.response.defer()
        try:
            await interaction.followup.send(file=discord.File(io.BytesIO(b"x" * 2048), "big.png"))
        except discord.HTTPException as error:
            outcome["error"] = (error.status, error.code)
            await interaction.followup.send("that file was too large")

    async with running(fake, bot):
        await fake.wait_for_command_sync()
        interaction = await fake.send_slash_command("big", attachment_size_limit=1024)
        [message] = await interaction.wait_for_messages(1)

    assert outcome == {"limit": 1024, "error": (413, 40005)}
    assert message.content == "that file was too large"
    assert not message.attachments
    [rejected] = interaction.rejected()
    assert rejected.status == 413
    assert rejected.error_code == 40005


async def test_a_late_defer_gets_10062() -> None:
    fake = FakeDiscord(token=TOKEN, defer_deadline=0.2)
    await fake.start()
    bot = SelfTestBot()
    outcome: dict[str, Any] = {}
    finished = asyncio.Event()

    @bot.tree.command(name="slow", description="Too slow to answer")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.35)
        try:
            await interaction.response.defer()
        except discord.NotFound as error:
            outcome["code"] = error.code
        finally:
            finished.set()

    try:
        async with running(fake, bot):
            await fake.wait_for_command_sync()
            interaction = await fake.send_slash_command("slow")
            await asyncio.wait_for(finished.wait(), 5)
    finally:
        await fake.close()
    assert outcome == {"code": 10062}
    assert not interaction.callbacks
    assert [r.error_code for r in interaction.rejected()] == [10062]


async def test_two_shards_each_get_only_their_guilds() -> None:
    guild_0 = guild_id_for_shard(0, 2)
    guild_1 = guild_id_for_shard(1, 2)
    fake = FakeDiscord(token=TOKEN, guild_ids=[guild_0, guild_1])
    await fake.start()
    shard_0 = SelfTestBot(shard_id=0, shard_count=2)
    shard_1 = SelfTestBot(shard_id=1, shard_count=2, sync=False)

    def add_where(bot: SelfTestBot) -> None:
        @bot.tree.command(name="where", description="Which shard answers")
        async def where(interaction: discord.Interaction) -> None:
            bot.seen.append(interaction)
            await interaction.response.send_message(f"shard {bot.shard_id}")

    add_where(shard_0)
    add_where(shard_1)

    try:
        async with running(fake, shard_0, shard_1):
            await fake.wait_for_command_sync()
            assert sorted(i["shard"][0] for i in fake.identifies) == [0, 1]
            assert [g.id for g in shard_0.guilds] == [guild_0]
            assert [g.id for g in shard_1.guilds] == [guild_1]
            sent = [
                await fake.send_slash_command("where", guild_id=guild_0),
                await fake.send_slash_command("where", guild_id=guild_1),
                await fake.send_slash_command("where", guild_id=None),  # a DM: shard 0
            ]
            replies = [(await i.wait_for_messages(1))[0].content for i in sent]
    finally:
        await fake.close()
    assert replies == ["shard 0", "shard 1", "shard 0"]
    assert [i.guild_id for i in shard_0.seen] == [guild_0, None]
    assert [i.guild_id for i in shard_1.seen] == [guild_1]
    assert isinstance(shard_0.seen[1].user, discord.User)
    assert [i.shard_id for i in sent] == [0, 1, 0]


async def test_a_dropped_gateway_is_resumed(fake: FakeDiscord) -> None:
    bot = SelfTestBot()
    resumed = asyncio.Event()

    @bot.event
    async def on_resumed() -> None:
        resumed.set()

    @bot.tree.command(name="ping", description="Pong")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    async with running(fake, bot):
        await fake.wait_for_command_sync()
        await fake.disconnect_all()
        await asyncio.wait_for(resumed.wait(), 5)
        assert fake.sessions[0].resumes == 1
        interaction = await fake.send_slash_command("ping")
        [message] = await interaction.wait_for_messages(1)
    assert message.content == "pong"
    assert len(fake.identifies) == 1


async def test_button_press_updates_the_message(fake: FakeDiscord) -> None:
    bot = SelfTestBot()

    class Confirm(discord.ui.View):
        @discord.ui.button(label="Again", custom_id="again")
        async def again(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
            await interaction.response.edit_message(content="pressed", view=None)

    @bot.tree.command(name="buttons", description="A message with a button")
    async def buttons(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("press it", view=Confirm())

    async with running(fake, bot):
        await fake.wait_for_command_sync()
        command = await fake.send_slash_command("buttons")
        [message] = await command.wait_for_messages(1)
        assert message.custom_ids() == ["again"]
        press = await fake.press_button(message, "again")
        callback = await press.wait_for_callback()
    assert callback["type"] == 7
    assert press.original is message
    assert message.content == "pressed"
    assert message.components == []
    assert message.edits == 1
    assert [h["content"] for h in message.history] == ["press it", "pressed"]


async def test_injected_rate_limit_is_waited_out(fake: FakeDiscord) -> None:
    bot = SelfTestBot()

    @bot.tree.command(name="ping", description="Pong")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    async with running(fake, bot):
        await fake.wait_for_command_sync()
        fake.inject_failure(path_contains="/callback", status=429)
        interaction = await fake.send_slash_command("ping")
        assert (await interaction.wait_for_callback())["type"] == 4
    [limited] = interaction.rejected()
    assert limited.status == 429
    assert limited.injected


async def test_rest_errors_and_headers_as_discord_sends_them() -> None:
    fake = FakeDiscord(token=TOKEN, request_size_limit=64 * 1024)
    await fake.start()
    bot = SelfTestBot()

    @bot.tree.command(name="silent", description="Never answers")
    async def silent(interaction: discord.Interaction) -> None:
        return None

    def multipart(payload: dict[str, Any], *files: tuple[str, bytes]) -> aiohttp.FormData:
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("payload_json", json.dumps(payload))
        for index, (name, data) in enumerate(files):
            form.add_field(f"files[{index}]", data, filename=name)
        return form

    try:
        async with running(fake, bot), aiohttp.ClientSession() as http:
            await fake.wait_for_command_sync()
            interaction = await fake.send_slash_command("silent")
            callback = (
                f"{fake.rest_base}/interactions/{interaction.id}/{interaction.token}/callback"
            )
            webhook = f"{fake.rest_base}/webhooks/{fake.application_id}/{interaction.token}"

            async def call(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
                async with http.request(method, url, **kwargs) as response:
                    if response.status == 204:
                        return 204, None
                    assert response.headers["Content-Type"] == "application/json"
                    assert "X-RateLimit-Bucket" in response.headers
                    body = await response.json()
                    return response.status, (body.get("code") if isinstance(body, dict) else body)

            assert await call("POST", webhook, json={"content": "early"}) == (404, 10015)
            assert await call("POST", callback, json={"type": 4, "data": {}}) == (400, 50006)
            too_long = {"type": 4, "data": {"content": "x" * 2001}}
            assert await call("POST", callback, json=too_long) == (400, 50035)
            eleven = [(f"{i}.txt", b"x") for i in range(11)]
            form = multipart({"type": 4, "data": {"content": "files"}}, *eleven)
            assert await call("POST", callback, data=form) == (400, 50035)
            form = multipart({"type": 4, "data": {"content": "huge"}}, ("a.bin", b"x" * 70_000))
            assert await call("POST", callback, data=form) == (413, 40005)
            status, _ = await call(
                "POST", callback, params={"with_response": "1"}, json={"type": 5}
            )
            assert status == 200
            assert await call("POST", callback, json={"type": 5}) == (400, 40060)
            status, _ = await call("POST", webhook, json={"content": "hello"})
            assert status == 204  # no ?wait=true
            assert interaction.messages[0].content == "hello"
            status, _ = await call("POST", webhook, params={"wait": "true"}, json={"content": "2"})
            assert status == 200
            assert len(interaction.messages) == 2
            unknown = f"{fake.rest_base}/nowhere"
            assert await call("GET", unknown, headers={"Authorization": f"Bot {TOKEN}"}) == (404, 0)
            assert await call("GET", f"{fake.rest_base}/users/@me") == (401, 0)
    finally:
        await fake.close()
    assert [r.status for r in interaction.rejected()] == [404, 400, 400, 400, 413, 400]


async def test_member_roles_permissions_and_nsfw_channel_reach_discord_py(
    fake: FakeDiscord,
) -> None:
    role = fake.add_role("artists", permissions=0)
    fake.add_member(4242, name="painter", roles=[role], permissions=8)
    bot = SelfTestBot()

    @bot.tree.command(name="who", description="Who is asking")
    async def who(interaction: discord.Interaction) -> None:
        bot.seen.append(interaction)
        await interaction.response.send_message("ok", ephemeral=True)

    async with running(fake, bot):
        await fake.wait_for_command_sync()
        interaction = await fake.send_slash_command("who", user_id=4242, nsfw_channel=True)
        [reply] = await interaction.wait_for_messages(1)
    received = bot.seen[0]
    assert isinstance(received.user, discord.Member)
    assert [r.name for r in received.user.roles] == ["@everyone", "artists"]
    assert received.permissions.administrator
    assert isinstance(received.channel, discord.TextChannel)
    assert received.channel.is_nsfw()
    assert received.channel.id == fake.nsfw_channel_id
    assert received.locale is discord.Locale.american_english
    assert reply.ephemeral


async def test_command_permissions_are_read_with_the_bot_token_and_announced(
    fake: FakeDiscord,
) -> None:
    bot = SelfTestBot()
    updates: list[discord.RawAppCommandPermissionsUpdateEvent] = []

    @bot.tree.command(name="paint", description="Paints")
    async def paint(interaction: discord.Interaction) -> None:
        return None

    async def on_raw_app_command_permissions_update(
        payload: discord.RawAppCommandPermissionsUpdateEvent,
    ) -> None:
        updates.append(payload)

    bot.add_listener(on_raw_app_command_permissions_update)
    async with running(fake, bot):
        await fake.wait_for_command_sync()
        command = fake.find_command("paint")
        assert command is not None
        command_id = int(command["id"])
        app_id = fake.application_id
        guild_id = fake.guild_id
        http = bot.http
        # Nothing set: an empty list for the guild, 404 10066 for the command.
        assert await http.get_guild_application_command_permissions(app_id, guild_id) == []
        with pytest.raises(discord.NotFound) as nothing:
            await http.get_application_command_permissions(app_id, guild_id, command_id)
        assert nothing.value.code == 10066
        with pytest.raises(discord.NotFound) as no_command:
            await http.get_application_command_permissions(app_id, guild_id, 12345678901234567)
        assert no_command.value.code == 10063

        deny_here = [{"id": str(fake.channel_id), "type": 3, "permission": False}]
        await fake.set_command_permissions(guild_id, command_id, deny_here)
        everyone_off = [{"id": str(guild_id), "type": 1, "permission": False}]
        await fake.set_command_permissions(guild_id, app_id, everyone_off)
        await fake.wait_for(lambda: len(updates) == 2, 5, "two permission updates")
        assert [u.target_id for u in updates] == [command_id, app_id]
        assert updates[0].permissions[0].type is discord.AppCommandPermissionType.channel
        assert updates[0].permissions[0].permission is False

        read = await http.get_guild_application_command_permissions(app_id, guild_id)
        assert {int(entry["id"]): entry["permissions"] for entry in read} == {
            command_id: deny_here,
            app_id: everyone_off,
        }
        [app_command] = await bot.tree.fetch_commands()
        fetched = await app_command.fetch_permissions(discord.Object(id=guild_id))
        assert [(p.id, p.permission) for p in fetched.permissions] == [(fake.channel_id, False)]

        # A bot may read but never change them; another guild or application is no access.
        with pytest.raises(discord.Forbidden) as refused:
            await http.edit_application_command_permissions(
                app_id, guild_id, command_id, {"permissions": []}
            )
        assert refused.value.code == 20001
        with pytest.raises(discord.Forbidden) as elsewhere:
            await http.get_guild_application_command_permissions(app_id, 12345678901234567)
        assert elsewhere.value.code == 50001

        await fake.set_command_permissions(guild_id, command_id, [])
        await fake.wait_for(lambda: len(updates) == 3, 5, "the removal announced")
        assert updates[2].permissions == []
        assert set(fake.command_permissions(guild_id)) == {app_id}
    with pytest.raises(ValueError, match="not an application command permission"):
        await fake.set_command_permissions(guild_id, command_id, [{"id": "1", "type": 4}])


async def test_threads_reach_discord_py_with_their_parent(fake: FakeDiscord) -> None:
    early = fake.add_thread("early", parent_id=fake.channel_id)
    bot = SelfTestBot()
    seen: list[discord.Interaction] = []

    @bot.tree.command(name="where", description="Says where")
    async def where(interaction: discord.Interaction) -> None:
        seen.append(interaction)
        await interaction.response.send_message("here")

    async with running(fake, bot):
        await fake.wait_for_command_sync()
        guild = bot.get_guild(fake.guild_id)
        assert guild is not None
        thread = guild.get_thread(early)
        assert thread is not None
        assert thread.parent_id == fake.channel_id
        late = fake.add_thread("late", parent_id=fake.channel_id)
        await fake.wait_for(lambda: guild.get_thread(late) is not None, 5, "THREAD_CREATE")
        interaction = await fake.send_slash_command("where", channel_id=late)
        await interaction.wait_for_callback()
        [pressed] = seen
        assert isinstance(pressed.channel, discord.Thread)
        assert pressed.channel.parent_id == fake.channel_id
        assert interaction.messages[0].channel_id == late
    with pytest.raises(ValueError, match="no text channel"):
        fake.add_thread("nested", parent_id=late)
