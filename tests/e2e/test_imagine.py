"""/imagine end to end: the real bot, real discord.py, a fake Discord and a fake image API."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess
from tests.e2e.steps import DEFER, EPHEMERAL, MESSAGE
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.image_api import FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio(loop_scope="module")


def decode_all(messages: list[FakeMessage]) -> list[Image.Image]:
    images = []
    for message in messages:
        for attachment in message.attachments:
            with Image.open(io.BytesIO(attachment.data)) as picture:
                picture.load()
                images.append(picture.copy())
    return images


def attachments(messages: list[FakeMessage]) -> int:
    return sum(len(m.attachments) for m in messages)


async def api_calls_during(api: FakeImageAPI, action) -> int:  # type: ignore[no-untyped-def]
    before = len(api.requests)
    await action()
    return len(api.requests) - before


async def imagine(
    discord: FakeDiscord, user_id: int, prompt: str = "a red fox in fresh snow", **options: object
) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine", {"prompt": prompt, **options}, user_id=user_id
    )


async def test_registers_the_command_schema(bot: BotProcess, fake_discord: FakeDiscord) -> None:
    await fake_discord.wait_for_command_sync()
    commands = {c["name"]: c for c in fake_discord.global_commands}
    assert {"imagine", "imagine-quota", "imagine-admin"} <= set(commands)
    command = commands["imagine"]
    assert command["description"]
    assert command["contexts"] == [0]  # servers only unless ALLOW_DMS
    options = {o["name"]: o for o in command["options"]}
    assert list(options) == [
        "prompt",
        "model",
        "n",
        "aspect",
        "resolution",
        "image",
        "image2",
        "image3",
    ]
    for option in options.values():
        assert 1 <= len(option["description"]) <= 100
    assert options["prompt"]["type"] == 3
    assert options["prompt"]["required"] is True
    assert options["prompt"]["max_length"] == 1000
    assert [c["value"] for c in options["model"]["choices"]] == [
        "grok-imagine-image",
        "grok-imagine-image-pro",
    ]
    assert options["n"]["type"] == 4
    assert (options["n"]["min_value"], options["n"]["max_value"]) == (1, 10)
    assert [c["value"] for c in options["aspect"]["choices"]] == [
        "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "2:1", "1:2",
        "19.5:9", "9:19.5", "20:9", "9:20", "auto",
    ]  # fmt: skip
    assert [c["value"] for c in options["resolution"]["choices"]] == ["1k", "2k"]
    for name in ("model", "n", "aspect", "resolution"):
        assert not options[name].get("required", False)


async def test_delivers_images_after_a_prompt_defer(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    sent_before = len(fake_api.requests)
    interaction = await imagine(
        fake_discord, user, n=3, aspect="16:9", model="grok-imagine-image-pro"
    )
    callback = await interaction.wait_for_callback()
    assert callback["type"] == DEFER
    assert callback["time"] - interaction.created < 3.0
    messages = await interaction.wait_for_messages(1)
    images = decode_all(messages)
    assert len(images) == 3
    assert all(image.size == (1408, 768) for image in images)
    assert all(a.filename.endswith(".jpg") for m in messages for a in m.attachments)

    call = fake_api.requests[sent_before]
    assert call.body["user"] == str(user)
    assert call.body["model"] == "grok-imagine-image-pro"
    assert call.body["n"] == 3
    assert call.body["aspect_ratio"] == "16:9"
    assert call.body["response_format"] == "b64_json"
    assert "resolution" not in call.body
    assert call.headers["Authorization"] == f"Bearer {fake_api.api_key}"

    embed = messages[0].embeds[0]
    assert embed["description"] == "a red fox in fresh snow"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Model"] == "grok-imagine-image-pro"
    assert fields["Aspect"] == "16:9"
    assert fields["Images"] == "3"
    assert fields["Requested by"] == f"<@{user}>"
    assert not messages[0].ephemeral


async def test_cooldown_answers_privately_without_an_api_call(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    first = await imagine(fake_discord, user)
    await first.wait_for_messages(1)
    await bot.wait_for_job(user)
    calls_before = len(fake_api.requests)

    second = await imagine(fake_discord, user, prompt="another one")
    callback = await second.wait_for_callback()
    assert callback["type"] == MESSAGE
    assert callback["data"]["flags"] & EPHEMERAL
    assert "cooldown" in callback["data"]["content"]
    assert "<t:" in callback["data"]["content"]
    await asyncio.sleep(0.3)
    assert len(fake_api.requests) == calls_before


async def test_two_simultaneous_requests_run_once(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_api.script(Scripted(delay=1.0))
    calls_before = len(fake_api.requests)
    first, second = await asyncio.gather(
        imagine(fake_discord, user, prompt="one"), imagine(fake_discord, user, prompt="two")
    )
    callbacks = await asyncio.gather(first.wait_for_callback(), second.wait_for_callback())
    types = sorted(c["type"] for c in callbacks)
    assert types == [MESSAGE, DEFER]
    refused = next(c for c in callbacks if c["type"] == MESSAGE)
    assert refused["data"]["flags"] & EPHEMERAL
    winner = first if callbacks[0]["type"] == DEFER else second
    await winner.wait_for_messages(1)
    assert len(fake_api.requests) == calls_before + 1


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"prompt": "   "}, "empty"),
        ({"prompt": "x" * 1001}, "too long"),
        ({"n": 50}, "1 to 10"),
        ({"n": 0}, "1 to 10"),
        ({"aspect": "5:4"}, "aspect ratio"),
        ({"resolution": "8k"}, "1k or 2k"),
        ({"model": "some-other-model"}, "grok-imagine-image, grok-imagine-image-pro"),
    ],
)
async def test_invalid_values_from_a_buggy_client_are_refused(
    bot: BotProcess,
    fake_discord: FakeDiscord,
    fake_api: FakeImageAPI,
    options: dict[str, object],
    needle: str,
) -> None:
    calls_before = len(fake_api.requests)
    options = {"prompt": "a lighthouse", **options}
    interaction = await fake_discord.send_slash_command("imagine", options, user_id=fresh_user())
    callback = await interaction.wait_for_callback()
    assert callback["type"] == MESSAGE
    assert callback["data"]["flags"] & EPHEMERAL
    assert needle in callback["data"]["content"]
    await asyncio.sleep(0.2)
    assert len(fake_api.requests) == calls_before


async def test_refusal_is_explained_and_costs_no_cooldown(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_api.script(
        Scripted(
            status=403,
            json={"code": "Forbidden", "error": "Content violates usage guidelines."},
        )
    )
    calls_before = len(fake_api.requests)
    refused = await imagine(fake_discord, user, prompt="something not allowed")
    assert (await refused.wait_for_callback())["type"] == DEFER
    [message] = await refused.wait_for_messages(1)
    assert "content policy" in message.content
    assert not message.attachments
    assert len(fake_api.requests) == calls_before + 1  # a refusal is never retried
    await bot.wait_for_job(user, outcome="refused")

    again = await imagine(fake_discord, user, prompt="a friendly robot")
    assert (await again.wait_for_callback())["type"] == DEFER
    assert len(decode_all(await again.wait_for_messages(1))) == 1


@pytest.mark.parametrize(
    ("scripted", "needle", "calls"),
    [
        (
            [Scripted(status=400, json={"error": {"message": "bad aspect", "type": "x"}})],
            "rejected this request",
            1,
        ),
        (
            [
                Scripted(
                    status=429, json={"code": "x", "error": "You have used all available credits"}
                )
            ],
            "out of credits",
            1,
        ),
        ([Scripted(status=401, json={"code": "Unauthorized", "error": "bad key"})], "sign in", 1),
        (
            [Scripted(status=503, text="busy", headers={"Retry-After": "0"})] * 3,
            "didn't answer",
            3,
        ),
        ([Scripted(status=200, text="{not json")], "nothing usable", 1),
    ],
)
async def test_api_failures_become_messages_and_the_bot_keeps_serving(
    bot: BotProcess,
    fake_discord: FakeDiscord,
    fake_api: FakeImageAPI,
    scripted: list[Scripted],
    needle: str,
    calls: int,
) -> None:
    fake_api.script(*scripted)
    calls_before = len(fake_api.requests)
    failed = await imagine(fake_discord, fresh_user())
    [message] = await failed.wait_for_messages(1)
    assert needle in message.content
    assert len(message.content) < 2000
    assert fake_api.api_key not in message.content
    assert len(fake_api.requests) == calls_before + calls

    served = await imagine(fake_discord, fresh_user())
    assert len(decode_all(await served.wait_for_messages(1))) == 1


async def test_transient_failure_is_retried_to_success(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    fake_api.script(
        Scripted(status=429, json={"code": "x", "error": "temporarily at capacity"},
                 headers={"Retry-After": "0"}),
        Scripted(status=500, text="oops", headers={"Retry-After": "0"}),
    )  # fmt: skip
    calls_before = len(fake_api.requests)
    interaction = await imagine(fake_discord, fresh_user(), n=2)
    assert len(decode_all(await interaction.wait_for_messages(1))) == 2
    assert len(fake_api.requests) == calls_before + 3


async def test_withheld_images_are_reported_and_the_rest_delivered(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    fake_api.script(Scripted(withheld={1}))
    interaction = await imagine(fake_discord, fresh_user(), n=3)
    messages = await interaction.wait_for_messages(1)
    assert len(decode_all(messages)) == 2
    embed_text = str(messages[0].embeds[0])
    assert "1 of 3 images were withheld" in embed_text


async def test_ten_2k_images_all_arrive_within_discord_limits(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    interaction = await imagine(fake_discord, fresh_user(), n=10, resolution="2k", aspect="1:1")
    messages = await interaction.wait_for_messages(1, timeout=60)
    await asyncio.sleep(0.5)
    messages = interaction.messages
    images = decode_all(messages)
    assert len(images) == 10
    for message in messages:
        assert len(message.attachments) <= 10
        assert sum(a.size for a in message.attachments) <= 25 * 1024 * 1024
        for attachment in message.attachments:
            assert attachment.size <= 10 * 1024 * 1024
    assert all(image.size == (2048, 2048) for image in images)
    assert not interaction.rejected()


async def test_no_message_can_ping(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    prompt = "@everyone @here <@123456789012345678> <@&987654321098765432> look"
    interaction = await imagine(fake_discord, user, prompt=prompt)
    messages = await interaction.wait_for_messages(1)
    await bot.wait_for_job(user)
    cooldown = await imagine(fake_discord, user, prompt=prompt)
    await cooldown.wait_for_callback()
    for message in messages:
        assert message.allowed_mentions == {"parse": []}
    assert cooldown.callbacks[0]["data"]["allowed_mentions"] == {"parse": []}
    assert "@everyone" in messages[0].embeds[0]["description"]


async def test_secrets_never_reach_discord(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    fake_api.script(
        Scripted(status=401, json={"code": "x", "error": f"bad key {fake_api.api_key}"})
    )
    failed = await imagine(fake_discord, fresh_user())
    await failed.wait_for_messages(1)
    for request in fake_discord.requests:
        assert fake_api.api_key.encode() not in request.body
        assert fake_discord.token.encode() not in request.body
    assert fake_api.api_key not in bot.output()
    assert fake_discord.token not in bot.output()


async def test_one_log_line_per_job(bot: BotProcess, fake_discord: FakeDiscord) -> None:
    user = fresh_user()
    interaction = await imagine(fake_discord, user, n=2)
    await interaction.wait_for_messages(1)
    line = await bot.wait_for_job(user)
    assert all(key in line for key in ("job=", "guild=", "model=", "n=2", "api=", "total="))
    assert sum(f"user={user} " in other for other in bot.output().splitlines()) == 1
