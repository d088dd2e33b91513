"""The bot's class and store follow the settings: sharded or not, SQLite or Redis."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from discord.ext import commands

from bot import (
    ImagineBot,
    ShardedImagineBot,
    build_bot,
    check_database,
    discord_unreachable,
)
from config import load_settings
from core.storage import RedisStore, SqliteStore, StoreUnavailable
from tests.config.test_settings import ALL_VARIABLES


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_without_shard_count_the_bot_is_a_plain_bot_on_sqlite(tmp_path: Path) -> None:
    settings = load_settings(
        discord_token="tok", grok_api_key="key", database_path=tmp_path / "db.sqlite3"
    )
    bot = build_bot(settings)
    assert type(bot) is ImagineBot
    assert not isinstance(bot, commands.AutoShardedBot)
    assert isinstance(bot.store, SqliteStore)


def test_with_shard_count_the_bot_is_sharded_and_on_redis() -> None:
    settings = load_settings(
        discord_token="tok",
        grok_api_key="key",
        redis_url="redis://:hunter2@127.0.0.1:1/0",
        shard_count=4,
        shard_ids="2,3",
    )
    bot = build_bot(settings)
    assert isinstance(bot, ShardedImagineBot)
    assert isinstance(bot, commands.AutoShardedBot)
    assert (bot.shard_count, bot.shard_ids) == (4, [2, 3])
    assert isinstance(bot.store, RedisStore)
    assert "hunter2" not in repr(bot.store)


def test_all_shards_when_no_ids_are_given() -> None:
    settings = load_settings(discord_token="tok", grok_api_key="key", shard_count=2)
    bot = build_bot(settings)
    assert isinstance(bot, ShardedImagineBot)
    assert (bot.shard_count, bot.shard_ids) == (2, None)


def test_the_event_loop_is_uvloop_unless_turned_off() -> None:
    import asyncio

    import uvloop

    from bot import loop_factory

    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("uvloop") is uvloop.new_event_loop
    assert loop_factory("asyncio") is asyncio.new_event_loop


def test_asking_for_uvloop_where_it_is_missing_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio
    import sys

    from bot import loop_factory
    from config import SettingsError

    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed
    assert loop_factory("auto") is asyncio.new_event_loop
    with pytest.raises(SettingsError, match="EVENT_LOOP"):
        loop_factory("uvloop")


def test_an_unwritable_database_is_one_line_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file")
    path = tmp_path / "data" / "bot.sqlite3"
    with pytest.raises(StoreUnavailable) as error:
        check_database(path)
    assert str(error.value) == (
        f"could not open the database at DATABASE_PATH ({path}): {tmp_path / 'data'} is a "
        "file, not a folder"
    )
    (tmp_path / "folder").mkdir()
    with pytest.raises(StoreUnavailable, match="unable to open database file"):
        check_database(tmp_path / "folder")
    check_database(tmp_path / "ok" / "bot.sqlite3")  # created, and writable
    assert (tmp_path / "ok" / "bot.sqlite3").exists()


def test_discord_out_of_reach_is_named_by_host_never_by_url() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("discord.com", 443, True, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
    assert discord_unreachable(refused).startswith(
        "could not reach Discord at discord.com:443: the connection was refused"
    )
    dns = aiohttp.ClientConnectorDNSError(key, OSError(-2, "Name or service not known"))
    assert "its name does not resolve (DNS)" in discord_unreachable(dns)
    timeout = aiohttp.ConnectionTimeoutError("Connection timeout to host https://x/webhooks/1/t")
    assert "webhooks" not in discord_unreachable(timeout)
