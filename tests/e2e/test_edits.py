"""Edits end to end: /imagine with pictures, against the fake Discord and image API.

The pictures are attachment options Discord resolves in the interaction payload and serves
from its CDN (the fake's); the bot fetches them, checks them and sends them as data URIs.
"""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import pytest
from PIL import Image

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess
from tests.e2e.steps import DEFER, MESSAGE, MODAL, as_owner, delivered, refused_privately
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.modals import text_inputs
from tests.fakes.image_api import FakeImageAPI, make_jpeg, make_png

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]
ZH = CATALOG["zh"]


async def edit(
    discord: FakeDiscord, user_id: int, prompt: str = "make it night", **pictures: object
) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine", {"prompt": prompt, **pictures}, user_id=user_id
    )


def inputs_of(body: dict[str, Any]) -> list[bytes]:
    """The pictures an edit call sent, decoded from their data URIs."""
    pictures = [body["image"]] if "image" in body else body["images"]
    out = []
    for picture in pictures:
        header, _, payload = picture["url"].partition(",")
        assert header.startswith("data:image/")
        assert header.endswith(";base64")
        out.append(base64.b64decode(payload))
    return out


async def test_the_command_offers_three_picture_options(
    bot: BotProcess, fake_discord: FakeDiscord
) -> None:
    await fake_discord.wait_for_command_sync()
    commands = {c["name"]: c for c in fake_discord.global_commands}
    options = {o["name"]: o for o in commands["imagine"]["options"]}
    for name in ("image", "image2", "image3"):
        assert options[name]["type"] == 11
        assert not options[name].get("required", False)
        assert 1 <= len(options[name]["description"]) <= 100
        assert set(options[name]["description_localizations"]) == {"zh-CN"}


async def admin(discord: FakeDiscord, options: dict[str, Any]) -> str:
    """Run an /imagine-admin command in the default server as its owner; its answer."""
    return await refused_privately(await as_owner(discord, options))


async def test_uploads_are_edited_only_once_the_server_opts_in(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    """Also turns edits of uploads on for the rest of this module's tests."""
    user = fresh_user()
    before = len(fake_api.requests)
    content = await refused_privately(
        await edit(fake_discord, user, image=("a.png", make_png(8, 8)))
    )
    assert content == EN["input_uploads_off"]
    assert len(fake_api.requests) == before
    assert await admin(fake_discord, {"edit-uploads": {"on": True}}) == EN["set_edit_uploads_on"]
    await delivered(await edit(fake_discord, user, image=("a.png", make_png(8, 8))))
    await bot.wait_for_job(user)


async def test_one_picture_is_edited_as_a_data_uri(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    picture = make_png(96, 64)
    before = len(fake_api.edit_calls)
    message = await delivered(
        await edit(fake_discord, user, n=2, aspect="16:9", image=("photo.png", picture))
    )
    assert len(message.attachments) == 2
    [call] = fake_api.edit_calls[before:]
    assert call.status == 200
    assert inputs_of(call.body) == [picture]
    assert call.body["n"] == 2
    assert "aspect_ratio" not in call.body  # a single-picture edit keeps its aspect
    await bot.wait_for_job(user)


async def test_three_pictures_are_edited_together(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    pictures = [make_png(32, 32), make_jpeg(48, 32), make_png(40, 40, variant=1)]
    before = len(fake_api.edit_calls)
    await delivered(
        await edit(
            fake_discord,
            user,
            "put <IMAGE_0> and <IMAGE_1> in <IMAGE_2>",
            image=("a.png", pictures[0]),
            image2=("b.jpg", pictures[1]),
            image3=("c.png", pictures[2]),
            aspect="1:1",
        )
    )
    [call] = fake_api.edit_calls[before:]
    assert inputs_of(call.body) == pictures
    assert call.body["aspect_ratio"] == "1:1"
    await bot.wait_for_job(user)


@pytest.mark.parametrize(
    ("upload", "key"),
    [
        (("notes.png", b"just some text, not a picture"), "input_not_image"),
        (("broken.png", make_png(128, 128)[:300]), "input_corrupt"),
    ],
)
async def test_an_unusable_picture_is_refused_privately_before_anything(
    bot: BotProcess,
    fake_discord: FakeDiscord,
    fake_api: FakeImageAPI,
    upload: tuple[str, bytes],
    key: str,
) -> None:
    user = fresh_user()
    before = len(fake_api.requests)
    content = await refused_privately(
        await edit(fake_discord, user, image=("ok.png", make_png(8, 8)), image2=upload)
    )
    assert content == EN[key].format(index=2)
    assert len(fake_api.requests) == before
    # Nothing was reserved and no cooldown started: the member can go on at once.
    await delivered(await edit(fake_discord, user, image=("ok.png", make_png(8, 8))))


async def test_a_picture_with_too_many_pixels_is_scaled_down(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    huge = make_jpeg(6000, 3000, noise=0.0)
    before = len(fake_api.edit_calls)
    await delivered(await edit(fake_discord, user, image=("huge.jpg", huge)))
    [call] = fake_api.edit_calls[before:]
    [sent] = inputs_of(call.body)
    with Image.open(io.BytesIO(sent)) as img:
        width, height = img.size
    assert width * height <= 16_777_216
    assert abs(width / height - 2.0) < 0.01


async def test_a_picture_over_10_mib_is_scaled_to_fit(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    noise = Image.frombytes("RGB", (2200, 2000), os.urandom(2200 * 2000 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG", compress_level=1)
    big = out.getvalue()
    assert len(big) > 10 * 1024 * 1024
    user = fresh_user()
    before = len(fake_api.edit_calls)
    await delivered(await edit(fake_discord, user, image=("noise.png", big)))
    [call] = fake_api.edit_calls[before:]
    assert call.status == 200
    [sent] = inputs_of(call.body)
    assert len(sent) <= 10 * 1024 * 1024
    await bot.wait_for_job(user)


async def test_blocked_terms_apply_to_an_edits_prompt(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    added = await as_owner(fake_discord, {"terms": {"add": {"term": "forbiddenword"}}})
    assert (await added.wait_for_callback())["type"] == MESSAGE
    user = fresh_user()
    before = len(fake_api.requests)
    content = await refused_privately(
        await edit(fake_discord, user, "a FORBIDDENWORD sky", image=("a.png", make_png(8, 8)))
    )
    assert content == EN["rule_blocked"]
    assert len(fake_api.requests) == before
    await bot.wait_for_job(user, outcome="blocked")


def input_ids(opened: FakeInteraction) -> list[str]:
    assert opened.modal is not None
    return [component["custom_id"] for component in text_inputs(opened.modal)]


async def test_the_edit_button_edits_the_chosen_image_then_the_edit(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    made = await delivered(
        await fake_discord.send_slash_command(
            "imagine", {"prompt": "three boats", "n": 3}, user_id=fresh_user()
        )
    )
    assert len(made.attachments) == 3
    [edit_id] = [c for c in made.custom_ids() if c.startswith("imagine:edit:")]
    editor = fresh_user()
    opened = await fake_discord.press_button(made, edit_id, user_id=editor)
    callback = await opened.wait_for_callback()
    assert callback["type"] == MODAL, callback
    assert opened.modal is not None
    assert opened.modal["title"] == EN["modal_edit_title"]
    change, which = input_ids(opened)
    before = len(fake_api.edit_calls)
    submitted = await fake_discord.submit_modal(opened, {change: "make it snow", which: "2"})
    edited = await delivered(submitted)
    [call] = fake_api.edit_calls[before:]
    assert inputs_of(call.body) == [made.attachments[1].data]
    assert call.body["prompt"] == "make it snow"
    # The card says it is an edit, and links to the message the picture is in.
    fields = {f["name"]: f["value"] for f in edited.embeds[0]["fields"]}
    assert f"/{made.channel_id}/{made.id})" in fields[EN["field_edit_of"]]
    await bot.wait_for_job(editor)

    # An edit is edited the same way (one image: no question which).
    again = await fake_discord.press_button(
        edited,
        next(c for c in edited.custom_ids() if c.startswith("imagine:edit:")),
        user_id=fresh_user(),
    )
    assert (await again.wait_for_callback())["type"] == MODAL
    [only] = input_ids(again)
    await delivered(await fake_discord.submit_modal(again, {only: "and add a moon"}))
    assert inputs_of(fake_api.edit_calls[-1].body) == [edited.attachments[0].data]


async def test_a_wrong_image_number_is_answered_privately(
    bot: BotProcess, fake_discord: FakeDiscord
) -> None:
    made = await delivered(
        await fake_discord.send_slash_command(
            "imagine", {"prompt": "two kites", "n": 2}, user_id=fresh_user()
        )
    )
    edit_id = next(c for c in made.custom_ids() if c.startswith("imagine:edit:"))
    opened = await fake_discord.press_button(made, edit_id, user_id=fresh_user())
    await opened.wait_for_callback()
    change, which = input_ids(opened)
    content = await refused_privately(
        await fake_discord.submit_modal(opened, {change: "red kites", which: "7"})
    )
    assert content == EN["modal_edit_which_bad"].format(count=2)


async def test_the_message_commands_are_registered_in_both_languages(
    bot: BotProcess, fake_discord: FakeDiscord
) -> None:
    menus = {c["name"]: c for c in fake_discord.global_commands if c.get("type") == 3}
    assert set(menus) == {EN["ctx_edit"], EN["ctx_imagine"]}
    assert menus[EN["ctx_edit"]]["name_localizations"] == {"zh-CN": ZH["ctx_edit"]}
    assert menus[EN["ctx_imagine"]]["contexts"] == [0]


async def test_edit_with_grok_edits_a_messages_pictures(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    pictures = [make_png(24, 24, variant=3), make_jpeg(32, 24, variant=4)]
    posted = fake_discord.post_member_message(
        fresh_user(),
        content="my two drawings",
        files=[("one.png", pictures[0]), ("notes.txt", b"text"), ("two.jpg", pictures[1])],
    )
    user = fresh_user()
    opened = await fake_discord.send_message_command(EN["ctx_edit"], posted, user_id=user)
    assert (await opened.wait_for_callback())["type"] == MODAL
    [change] = input_ids(opened)
    before = len(fake_api.edit_calls)
    edited = await delivered(await fake_discord.submit_modal(opened, {change: "blend them"}))
    [call] = fake_api.edit_calls[before:]
    assert inputs_of(call.body) == pictures
    fields = {f["name"]: f["value"] for f in edited.embeds[0]["fields"]}
    assert f"/{posted.channel_id}/{posted.id})" in fields[EN["field_edit_of"]]
    await bot.wait_for_job(user)


async def test_edit_with_grok_on_a_message_without_pictures_is_answered_privately(
    bot: BotProcess, fake_discord: FakeDiscord
) -> None:
    posted = fake_discord.post_member_message(fresh_user(), content="just words")
    interaction = await fake_discord.send_message_command(
        EN["ctx_edit"], posted, user_id=fresh_user()
    )
    assert await refused_privately(interaction) == EN["input_none"]


async def test_imagine_from_message_offers_its_text_as_the_prompt(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    posted = fake_discord.post_member_message(fresh_user(), content="a castle in the clouds")
    user = fresh_user()
    opened = await fake_discord.send_message_command(EN["ctx_imagine"], posted, user_id=user)
    assert (await opened.wait_for_callback())["type"] == MODAL
    assert opened.modal is not None
    assert opened.modal["title"] == EN["modal_imagine_title"]
    [prompt] = list(text_inputs(opened.modal))
    assert prompt["value"] == "a castle in the clouds"
    before = len(fake_api.generation_calls)
    await delivered(
        await fake_discord.submit_modal(opened, {prompt["custom_id"]: "a castle at night"})
    )
    [call] = fake_api.generation_calls[before:]
    assert call.body["prompt"] == "a castle at night"
    await bot.wait_for_job(user)


async def test_edits_turned_off_in_a_server_are_refused(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    assert await admin(fake_discord, {"edits": {"on": False}}) == EN["set_edits_off"]
    try:
        user = fresh_user()
        before = len(fake_api.requests)
        content = await refused_privately(
            await edit(fake_discord, user, image=("a.png", make_png(8, 8)))
        )
        assert content == EN["rule_edits"]
        assert len(fake_api.requests) == before
        # Generation is not affected.
        await delivered(
            await fake_discord.send_slash_command("imagine", {"prompt": "a fox"}, user_id=user)
        )
    finally:
        assert await admin(fake_discord, {"edits": {"on": True}}) == EN["set_edits_on"]


async def test_a_gateway_without_edits_costs_nothing_and_generation_goes_on(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    """Runs last in this module: edits stay off in the bot for a while after it."""
    fake_api.edits_enabled = False
    try:
        user = fresh_user()
        first = await edit(fake_discord, user, image=("a.png", make_png(8, 8)))
        assert (await first.wait_for_callback())["type"] == DEFER
        [notice] = await first.wait_for_messages(1)
        assert notice.content == EN["edits_unavailable"]
        line = await bot.wait_for_job(user, outcome="edits_unavailable")
        assert " images=0 " in line
        # Not offered for a while: the next edit is answered at once, with no API call.
        before = len(fake_api.edit_calls)
        again = await refused_privately(
            await edit(fake_discord, fresh_user(), image=("a.png", make_png(8, 8)))
        )
        assert again == EN["edits_unavailable"]
        assert len(fake_api.edit_calls) == before
        # Generation works, with no cooldown and no images counted for the failed edit.
        await delivered(
            await fake_discord.send_slash_command("imagine", {"prompt": "a fox"}, user_id=user)
        )
        quota = await fake_discord.send_slash_command("imagine-quota", {}, user_id=user)
        assert EN["quota_user_line"].format(used=1, left=49, limit=50) in await refused_privately(
            quota
        )
    finally:
        fake_api.edits_enabled = True
