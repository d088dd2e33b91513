"""Every /imagine-admin change as a pure function: the change, each refusal, idempotence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from core import guild_changes as changes
from core import guild_settings as limits
from core.guild_changes import Refusal, SettingRefused
from core.guild_settings import GuildSettings
from core.options import MAX_IMAGES, RESOLUTIONS

MODELS = ("a", "b", "c")

Switch = Callable[[GuildSettings, bool], GuildSettings]


def refusal(change: changes.Change, settings: GuildSettings) -> SettingRefused:
    """The refusal ``change`` raises on ``settings``."""
    with pytest.raises(SettingRefused) as raised:
        change(settings)
    return raised.value


# -- switches --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (changes.set_enabled, "enabled"),
        (changes.set_nsfw_only, "nsfw_only"),
        (changes.set_spoilers, "spoilers"),
        (changes.set_reroll_open, "reroll_open"),
        (changes.set_edits, "edits"),
        (changes.set_edit_uploads, "edit_uploads"),
        (changes.set_video, "video"),
    ],
)
def test_switches_set_their_field_only(change: Switch, field: str) -> None:
    for on in (True, False):
        settings = change(GuildSettings(), on)
        assert getattr(settings, field) is on
        assert change(settings, on) == settings  # idempotent
        others = {name: getattr(GuildSettings(), name) for name in GuildSettings.__slots__}
        others[field] = on
        assert all(getattr(settings, name) == value for name, value in others.items())


def test_video_is_off_until_an_admin_turns_it_on() -> None:
    assert GuildSettings().video is False
    assert GuildSettings.from_json(GuildSettings().to_json()).video is False
    assert GuildSettings.from_json(changes.set_video(GuildSettings(), True).to_json()).video


def test_video_with_seconds_sets_them_under_the_operators_ceilings() -> None:
    on = changes.set_video(GuildSettings(), True, user_seconds=30, user_ceiling=60)
    assert (on.video, on.user_video_seconds, on.guild_video_seconds) == (True, 30, None)
    # Seconds left out stay as they were, whichever way video is switched.
    off = changes.set_video(on, False, guild_seconds=100, guild_ceiling=300)
    assert (off.video, off.user_video_seconds, off.guild_video_seconds) == (False, 30, 100)
    assert changes.set_video(off, True) == replace(off, video=True)
    refused = refusal(
        lambda s: changes.set_video(s, True, user_seconds=61, user_ceiling=60), GuildSettings()
    )
    assert (refused.reason, refused.limit) == (Refusal.USER_VIDEO_TOO_HIGH, 60)
    # No limit is past any ceiling; without a ceiling it may be set.
    refused = refusal(
        lambda s: changes.set_video(s, True, guild_seconds=0, guild_ceiling=300), GuildSettings()
    )
    assert (refused.reason, refused.limit) == (Refusal.GUILD_VIDEO_TOO_HIGH, 300)
    assert changes.set_video(GuildSettings(), True, guild_seconds=0).guild_video_seconds == 0
    stored = GuildSettings.from_json(on.to_json())
    assert stored.user_video_seconds == 30


# -- limits ----------------------------------------------------------------------------


def test_cooldown_is_clamped_and_none_means_the_default() -> None:
    assert changes.set_cooldown(GuildSettings(), 12).cooldown_seconds == 12.0
    assert changes.set_cooldown(GuildSettings(), -5).cooldown_seconds == 0.0
    longest = changes.set_cooldown(GuildSettings(), 10**9)
    assert longest.cooldown_seconds == limits.MAX_COOLDOWN_SECONDS
    assert changes.set_cooldown(GuildSettings(cooldown_seconds=3), None) == GuildSettings()


def test_max_n_is_clamped_to_the_commands_own_range() -> None:
    assert changes.set_max_n(GuildSettings(), 3).max_n == 3
    assert changes.set_max_n(GuildSettings(), 0).max_n == 1
    assert changes.set_max_n(GuildSettings(), 99).max_n == MAX_IMAGES
    assert changes.set_max_n(GuildSettings(max_n=2), None) == GuildSettings()


def test_daily_limits_are_clamped_and_zero_means_no_limit() -> None:
    assert changes.set_user_quota(GuildSettings(), 0).user_quota == 0
    assert changes.set_user_quota(GuildSettings(), 10**9).user_quota == limits.MAX_DAILY_IMAGES
    assert changes.set_user_quota(GuildSettings(user_quota=4), None) == GuildSettings()
    assert changes.set_guild_budget(GuildSettings(), 50).guild_budget == 50
    assert changes.set_guild_budget(GuildSettings(), -1).guild_budget == 0
    assert changes.set_guild_budget(GuildSettings(guild_budget=4), None) == GuildSettings()


def test_the_operators_ceilings_refuse_values_past_them_naming_the_bound() -> None:
    refused = refusal(lambda s: changes.set_user_quota(s, 21, ceiling=20), GuildSettings())
    assert (refused.reason, refused.limit) == (Refusal.USER_QUOTA_TOO_HIGH, 20)
    # No limit at all is past any ceiling.
    refused = refusal(lambda s: changes.set_guild_budget(s, 0, ceiling=100), GuildSettings())
    assert (refused.reason, refused.limit) == (Refusal.GUILD_BUDGET_TOO_HIGH, 100)
    refused = refusal(lambda s: changes.set_cooldown(s, 9, floor=10.5), GuildSettings())
    assert (refused.reason, refused.limit) == (Refusal.COOLDOWN_TOO_SHORT, 11)
    # Values within them, and going back to the bot's default, are taken.
    assert changes.set_user_quota(GuildSettings(), 20, ceiling=20).user_quota == 20
    assert changes.set_guild_budget(GuildSettings(), 1, ceiling=100).guild_budget == 1
    assert changes.set_cooldown(GuildSettings(), 11, floor=10.5).cooldown_seconds == 11.0
    assert changes.set_user_quota(GuildSettings(user_quota=0), None, ceiling=5) == GuildSettings()
    assert changes.set_cooldown(GuildSettings(cooldown_seconds=0), None, floor=60) == (
        GuildSettings()
    )


# -- channels --------------------------------------------------------------------------


def test_channels_add_in_order_once() -> None:
    settings = changes.add_channel(changes.add_channel(GuildSettings(), 5), 3)
    assert settings.channels == (5, 3)
    assert changes.add_channel(settings, 5) == settings


@pytest.mark.parametrize(
    ("add", "field", "most", "reason"),
    [
        (changes.add_channel, "channels", limits.MAX_CHANNELS, Refusal.CHANNELS_FULL),
        (changes.add_exempt_role, "exempt_roles", limits.MAX_EXEMPT_ROLES, Refusal.ROLES_FULL),
    ],
)
def test_a_full_id_list_refuses_a_new_one_but_not_a_listed_one(
    add: Callable[[GuildSettings, int], GuildSettings], field: str, most: int, reason: Refusal
) -> None:
    full = GuildSettings(**{field: tuple(range(most))})
    refused = refusal(lambda s: add(s, 10**6), full)
    assert (refused.reason, refused.limit) == (reason, most)
    assert add(full, 0) == full


def test_channels_remove_and_clear() -> None:
    settings = GuildSettings(channels=(1, 2))
    assert changes.remove_channel(settings, 1).channels == (2,)
    assert changes.remove_channel(settings, 9) == settings
    assert changes.clear_channels(settings) == GuildSettings()
    assert changes.clear_channels(GuildSettings()) == GuildSettings()


# -- blocked terms ---------------------------------------------------------------------


def test_a_term_is_added_trimmed() -> None:
    assert changes.add_term(GuildSettings(), "  bad word ").blocked_terms == ("bad word",)


def test_a_term_that_blocks_the_same_is_refused() -> None:
    settings = GuildSettings(blocked_terms=("Bad",))
    for same in ("bad", "ＢＡＤ", " bád "):
        assert refusal(lambda s, t=same: changes.add_term(s, t), settings).reason is (
            Refusal.TERM_EXISTS
        )


def test_empty_long_and_one_too_many_terms_are_refused() -> None:
    assert refusal(lambda s: changes.add_term(s, " !? "), GuildSettings()).reason is (
        Refusal.TERM_EMPTY
    )
    too_long = "x" * (limits.MAX_TERM_LENGTH + 1)
    long = refusal(lambda s: changes.add_term(s, too_long), GuildSettings())
    assert (long.reason, long.limit) == (Refusal.TERM_TOO_LONG, limits.MAX_TERM_LENGTH)
    assert changes.add_term(GuildSettings(), "x" * limits.MAX_TERM_LENGTH).blocked_terms
    full = GuildSettings(blocked_terms=tuple(f"t{i}" for i in range(limits.MAX_TERMS)))
    refused = refusal(lambda s: changes.add_term(s, "new"), full)
    assert (refused.reason, refused.limit) == (Refusal.TERMS_FULL, limits.MAX_TERMS)


def test_removing_a_term_removes_every_form_of_it() -> None:
    settings = GuildSettings(blocked_terms=("Bad", "worse"))
    assert changes.remove_term(settings, " BAD ").blocked_terms == ("worse",)
    assert refusal(lambda s: changes.remove_term(s, "nice"), settings).reason is (
        Refusal.TERM_MISSING
    )


# -- models and resolutions ------------------------------------------------------------


def test_adding_to_an_empty_list_allows_only_that_one() -> None:
    settings = changes.add_model(GuildSettings(), "b", MODELS)
    assert settings.models == ("b",)
    assert changes.add_model(settings, "a", MODELS).models == ("a", "b")  # configured order


def test_adding_an_unknown_or_present_value_changes_nothing() -> None:
    settings = GuildSettings(models=("b",))
    assert changes.add_model(settings, "zzz", MODELS) == settings
    assert changes.add_model(settings, "b", MODELS) == settings


def test_removing_from_no_list_keeps_the_others() -> None:
    assert changes.remove_model(GuildSettings(), "a", MODELS).models == ("b", "c")
    assert changes.remove_model(GuildSettings(models=("b",)), "a", MODELS).models == ("b",)


def test_removing_the_last_one_allows_everything_again() -> None:
    only = GuildSettings(resolutions=("2k",))
    assert changes.remove_resolution(only, "2k", ("1k", "2k")) == GuildSettings()


def test_resolutions_default_to_the_known_ones() -> None:
    first = RESOLUTIONS[0]
    assert changes.add_resolution(GuildSettings(), first).resolutions == (first,)
    assert changes.add_resolution(GuildSettings(), "8k") == GuildSettings()
    assert changes.remove_resolution(GuildSettings(), "8k") == GuildSettings()
    assert changes.remove_resolution(GuildSettings(), first).resolutions == RESOLUTIONS[1:]


def test_clearing_models_and_resolutions_allows_everything() -> None:
    assert changes.clear_models(GuildSettings(models=("a",))) == GuildSettings()
    assert changes.clear_resolutions(GuildSettings(resolutions=("1k",))) == GuildSettings()


# -- exempt roles and the mod log ------------------------------------------------------


def test_exempt_roles_add_once_and_remove() -> None:
    settings = changes.add_exempt_role(GuildSettings(), 7)
    assert settings.exempt_roles == (7,)
    assert changes.add_exempt_role(settings, 7) == settings
    assert changes.remove_exempt_role(settings, 7) == GuildSettings()
    assert changes.remove_exempt_role(settings, 8) == settings


def test_modlog_set_and_clear() -> None:
    settings = changes.set_modlog(GuildSettings(), 42)
    assert settings.modlog_channel == 42
    assert changes.set_modlog(settings, 42) == settings
    assert changes.clear_modlog(settings) == GuildSettings()


def test_changes_keep_what_a_newer_version_wrote() -> None:
    newer = GuildSettings(extra={"future": 1})
    assert changes.add_channel(newer, 1).extra == {"future": 1}
    assert changes.add_term(newer, "bad").extra == {"future": 1}
