"""Where a job's messages go: dead tokens, permissions named in both languages."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest

from cogs.common.modlog import ModLog
from cogs.imagine.port import (
    RESULT_PERMISSIONS,
    DiscordPort,
    missing_permissions,
    permission_names,
    token_is_dead,
)
from core.jobs import Notice, Stage, Status, UploadRefused


class Response:
    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "test"


def http_error(status: int, code: int) -> discord.HTTPException:
    return discord.HTTPException(Response(status), {"code": code, "message": "x"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "code", "dead"),
    [
        (401, 50027, True),  # Invalid Webhook Token: past the 15 minutes
        (404, 10015, True),  # Unknown Webhook
        (401, 0, True),
        (404, 10008, False),  # Unknown Message: the token still works
        (413, 40005, False),
        (403, 50013, False),
        (500, 0, False),
    ],
)
def test_which_answers_mean_the_token_is_dead(status: int, code: int, dead: bool) -> None:
    assert token_is_dead(http_error(status, code)) is dead


def test_permissions_are_named_in_the_users_language() -> None:
    keys = [key for _, key in RESULT_PERMISSIONS]
    assert permission_names(keys, None) == (
        "View Channel, Send Messages, Embed Links, Attach Files"
    )
    assert "附加文件" in permission_names(["perm_attach_files"], "zh-CN")


class NoChannels:
    def get_channel(self, channel_id: int) -> Any:
        return None


def test_unknown_channels_leave_the_permissions_unknown() -> None:
    client: Any = NoChannels()
    assert missing_permissions(client, None) is None
    assert missing_permissions(client, 123) is None


TOKEN_URL = "http://127.0.0.1:1/api/v10/webhooks/1/interaction-token-secret?wait=true"


class FailingWebhook:
    """A webhook whose every call fails at the connection level, naming its URL."""

    type = discord.WebhookType.application

    def __init__(self, failure: BaseException) -> None:
        self.failure = failure

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        raise self.failure

    async def edit_message(self, *args: Any, **kwargs: Any) -> Any:
        raise self.failure


def failing_port(failure: BaseException) -> DiscordPort:
    client: Any = object()
    return DiscordPort(
        client,
        FailingWebhook(failure),  # type: ignore[arg-type]
        job_id="0" * 32,
        user_id=7,
        guild_id=None,
        channel_id=None,
        locale="en-US",
        filesize_limit=10 * 1024 * 1024,
        modlog=ModLog(client),
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "failure",
    [
        aiohttp.ClientConnectionError(f"Connection timeout to host {TOKEN_URL}"),
        aiohttp.ServerDisconnectedError(),
        TimeoutError(TOKEN_URL),
    ],
)
async def test_connection_failures_of_follow_ups_are_logged_by_type_only(
    failure: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    port = failing_port(failure)
    await port.say(Notice.of("suspended"))  # best effort: never raises
    await port.show_status(Status(Stage.STARTED))
    with pytest.raises(UploadRefused) as refused:
        await port.send([], None)
    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None or refused.value.__suppress_context__
    assert len(caplog.records) == 3
    for record in caplog.records:
        assert record.exc_info is None
        assert "interaction-token-secret" not in record.getMessage()
        assert type(failure).__name__ in record.getMessage()
