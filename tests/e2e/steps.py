"""What a member sees of the bot's answers, checked the same way by every end-to-end test.

The interaction callback types and flags are Discord's numbers; the helpers wait for an
interaction's answer and assert the kind of answer a test expects.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord import ALL_PERMISSIONS, FakeDiscord, FakeInteraction, FakeMessage

#: CHANNEL_MESSAGE_WITH_SOURCE: an answer at once (a refusal, a setting shown).
MESSAGE = 4
#: DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: "thinking…", the job's messages follow.
DEFER = 5
#: UPDATE_MESSAGE: a button changed the message it sits under.
UPDATE = 7
#: MODAL: a button opened a form.
MODAL = 9
#: The message flag of an answer only its member sees.
EPHEMERAL = 64

#: The ``/imagine-admin`` options that turn video on in a server.
VIDEO_ON: dict[str, Any] = {"video": {"on": True}}


async def private_callback(interaction: FakeInteraction) -> dict[str, Any]:
    """The data of an answer only the member sees (asserting it is one)."""
    callback = await interaction.wait_for_callback()
    assert callback["type"] == MESSAGE, callback
    assert callback["data"]["flags"] & EPHEMERAL
    return dict(callback["data"])


async def private_answer(interaction: FakeInteraction) -> str:
    """The words of an answer only the member sees (asserting it is one, within Discord's
    2,000 characters)."""
    content: str = (await private_callback(interaction))["content"]
    assert 0 < len(content) < 2000
    return content


#: A refusal is a private answer: the same check, named for what the test expects.
refused_privately = private_answer


def image_count(messages: list[FakeMessage]) -> int:
    """How many files the messages carry."""
    return sum(len(message.attachments) for message in messages)


def images_of(interaction: FakeInteraction) -> int:
    """How many files the interaction's messages carry (images, or clips)."""
    return image_count(interaction.messages)


async def delivered(interaction: FakeInteraction) -> FakeMessage:
    """The first result message (with the buttons) of a job that must succeed."""
    callback = await interaction.wait_for_callback()
    assert callback["type"] == DEFER, callback
    [first, *_] = await interaction.wait_for_messages(1)
    assert first.attachments, first.content
    return first


async def images_delivered(
    interaction: FakeInteraction, images: int = 1, timeout: float = 30
) -> list[FakeMessage]:
    """The job's messages once ``images`` files arrived (after any status about its place
    in line)."""
    callback = await interaction.wait_for_callback()
    assert callback["type"] == DEFER, callback
    await interaction._require_fake().wait_for(
        lambda: image_count(interaction.messages) >= images, timeout, f"{images} image(s)"
    )
    return interaction.messages


async def told(discord: FakeDiscord, interaction: FakeInteraction, words: str) -> None:
    """The job was admitted, and its requester was told ``words`` in one of its messages."""
    callback = await interaction.wait_for_callback()
    assert callback["type"] == DEFER, callback
    await discord.wait_for(
        lambda: any(words in message.content for message in interaction.messages),
        30,
        f"the requester told {words!r}",
    )


async def as_owner(discord: FakeDiscord, options: dict[str, Any], **where: Any) -> FakeInteraction:
    """Send ``/imagine-admin`` with ``options`` as the server's owner (``where``: the
    server or channel, when not the default one)."""
    return await discord.send_slash_command(
        "imagine-admin",
        options,
        user_id=discord.owner_user_id,
        permissions=ALL_PERMISSIONS,
        **where,
    )


async def owner_sets(discord: FakeDiscord, options: dict[str, Any], **where: Any) -> dict[str, Any]:
    """Set ``/imagine-admin`` ``options`` as the server's owner; the answer's callback."""
    return await (await as_owner(discord, options, **where)).wait_for_callback()
