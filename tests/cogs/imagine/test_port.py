"""Where a job's messages go: dead tokens, permissions named in both languages."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from cogs.imagine.port import (
    RESULT_PERMISSIONS,
    missing_permissions,
    permission_names,
    token_is_dead,
)


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
