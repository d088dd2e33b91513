"""Server settings: one JSON document that round-trips and tolerates other versions."""

from __future__ import annotations

import json

from core.guild_settings import GuildSettings


def test_round_trip() -> None:
    settings = GuildSettings(
        enabled=False,
        channels=(1, 2),
        blocked_terms=("bad", "very bad"),
        nsfw_only=True,
        spoilers=True,
        cooldown_seconds=12.5,
        max_n=3,
        models=("m",),
        resolutions=("2k",),
        exempt_roles=(9,),
        modlog_channel=77,
        reroll_open=True,
        user_quota=0,
        guild_budget=100,
        edits=False,
        edit_uploads=True,
    )
    assert GuildSettings.from_json(settings.to_json()) == settings


def test_settings_stored_before_edits_load_with_edits_on_and_uploads_off() -> None:
    stored = json.dumps({"enabled": True, "max_n": 4, "reroll_open": True, "spoilers": False})
    settings = GuildSettings.from_json(stored)
    assert (settings.edits, settings.edit_uploads, settings.max_n) == (True, False, 4)


def test_missing_unknown_and_broken_documents() -> None:
    assert GuildSettings.from_json(None) == GuildSettings()
    assert GuildSettings.from_json("{not json") == GuildSettings()
    assert GuildSettings.from_json("[1, 2]") == GuildSettings()
    newer = GuildSettings.from_json(json.dumps({"max_n": 2, "future_setting": [1]}))
    assert newer.max_n == 2
    assert json.loads(newer.to_json())["future_setting"] == [1]
