"""Blocked terms and server rules, as pure functions."""

from __future__ import annotations

import pytest

from core.guild_settings import GuildSettings
from core.moderation import (
    Rule,
    RuleContext,
    TermProblem,
    check_rules,
    check_term,
    default_model_for,
    find_blocked_term,
    is_exempt,
    normalise,
    same_term,
)

MODELS = ("grok-imagine-image", "grok-imagine-image-pro")
RESOLUTIONS = ("1k", "2k")


@pytest.mark.parametrize(
    "prompt",
    [
        "a bad idea",
        "BAD",
        "Bad.",
        "so-bad-it-hurts",
        "bad_dog",
        "\uff42\uff41\uff44 weather",  # full-width letters
        "\uff22\uff21\uff24",  # full-width capitals
        "b\u00e4d luck",  # precomposed accent
        "ba\u0308d luck",  # combining accent
        "b\u200bad",  # zero-width space
        "b\u200d\u200ca\u2060d",  # zero-width joiner, non-joiner, word joiner
        "\ufeffbad",  # byte order mark
        "b\u00adad",  # soft hyphen
        "b a d",
        "b.a.d",
        "b-a-d person",
        "\U0001d41b\U0001d41a\U0001d41d",  # mathematical bold letters
    ],
)
def test_evasions_of_a_blocked_word_are_caught(prompt: str) -> None:
    assert find_blocked_term(prompt, ["bad"]) == "bad"


@pytest.mark.parametrize(
    "prompt",
    ["a badge of honour", "badly drawn", "a sinbad story", "b ad", "ba d", "nothing here", ""],
)
def test_only_whole_words_match(prompt: str) -> None:
    assert find_blocked_term(prompt, ["bad"]) is None


def test_phrases_match_on_consecutive_words() -> None:
    terms = ["very bad thing"]
    assert find_blocked_term("a Very   BAD\tthing indeed", terms) == "very bad thing"
    assert find_blocked_term("very-bad-thing", terms) == "very bad thing"
    assert find_blocked_term("a very bad idea and a thing", terms) is None


def test_terms_are_normalised_too() -> None:
    assert find_blocked_term("caf\u00e9 au lait", ["CAF\u00c9"]) == "CAF\u00c9"
    assert find_blocked_term("cafe", ["\uff43\uff41\uff46\uff45"]) is not None


def test_the_first_matching_term_is_named_as_written() -> None:
    assert find_blocked_term("the Ugly truth", ["bad", "UGLY"]) == "UGLY"


def test_chinese_terms_match_without_spaces() -> None:
    assert find_blocked_term("\u4e00\u4e2a\u574f\u4eba\u7684\u6545\u4e8b", ["\u574f\u4eba"])
    assert find_blocked_term("\u4e00\u4e2a\u574f\u7684\u4eba", ["\u574f\u4eba"]) is None


def test_normalise_folds_case_width_and_accents() -> None:
    assert normalise("\uff21\u0301b\u200bC") == "abc"


@pytest.mark.parametrize(
    ("term", "problem"),
    [("bad", None), ("a phrase", None), ("!!!", TermProblem.EMPTY), ("\u200b", TermProblem.EMPTY),
     ("x" * 101, TermProblem.TOO_LONG)],
)  # fmt: skip
def test_terms_need_a_letter_and_must_fit(term: str, problem: TermProblem | None) -> None:
    assert check_term(term) is problem


def test_same_term_ignores_spelling_variants() -> None:
    assert same_term("Bad", "\uff42\uff41\uff44")
    assert not same_term("bad", "badge")


def context(**changes: object) -> RuleContext:
    values: dict[str, object] = {
        "channel_id": 10,
        "parent_id": None,
        "channel_nsfw": False,
        "prompt": "a red fox",
        "model": "grok-imagine-image",
        "n": 1,
        "resolution": None,
    }
    values.update(changes)
    return RuleContext(**values)  # type: ignore[arg-type]


def rule(settings: GuildSettings, **changes: object) -> Rule:
    return check_rules(settings, context(**changes), models=MODELS, resolutions=RESOLUTIONS).rule


def test_default_settings_allow_everything() -> None:
    assert rule(GuildSettings(), n=10, resolution="2k", model="grok-imagine-image-pro") is (
        Rule.ALLOWED
    )


def test_a_disabled_server_refuses_first() -> None:
    assert rule(GuildSettings(enabled=False, blocked_terms=("fox",))) is Rule.DISABLED


def test_channels_limit_where_it_runs_and_threads_follow_their_parent() -> None:
    settings = GuildSettings(channels=(10, 11))
    assert rule(settings, channel_id=11) is Rule.ALLOWED
    assert rule(settings, channel_id=12) is Rule.CHANNEL
    assert rule(settings, channel_id=99, parent_id=10) is Rule.ALLOWED


def test_nsfw_only_needs_an_age_restricted_channel() -> None:
    settings = GuildSettings(nsfw_only=True)
    assert rule(settings) is Rule.NSFW_ONLY
    assert rule(settings, channel_nsfw=True) is Rule.ALLOWED


def test_a_blocked_term_is_reported_with_the_term() -> None:
    verdict = check_rules(
        GuildSettings(blocked_terms=("fox",)), context(), models=MODELS, resolutions=RESOLUTIONS
    )
    assert (verdict.rule, verdict.term) == (Rule.BLOCKED, "fox")


def test_the_channel_is_checked_before_the_prompt() -> None:
    settings = GuildSettings(channels=(1,), blocked_terms=("fox",))
    assert rule(settings) is Rule.CHANNEL


def test_limits() -> None:
    assert rule(GuildSettings(max_n=2), n=3) is Rule.MAX_N
    assert rule(GuildSettings(max_n=2), n=2) is Rule.ALLOWED
    models = GuildSettings(models=("grok-imagine-image",))
    assert rule(models, model="grok-imagine-image-pro") is Rule.MODEL
    assert rule(models) is Rule.ALLOWED
    only_2k = GuildSettings(resolutions=("2k",))
    assert rule(only_2k) is Rule.RESOLUTION  # no resolution sent means the API's 1k
    assert rule(only_2k, resolution="2k") is Rule.ALLOWED


def test_models_no_longer_configured_fall_back_to_all() -> None:
    settings = GuildSettings(models=("retired-model",))
    assert settings.effective_models(MODELS) == MODELS


def test_default_model_follows_the_server_list() -> None:
    assert default_model_for(GuildSettings(), MODELS, MODELS[0]) == MODELS[0]
    pro_only = GuildSettings(models=(MODELS[1],))
    assert default_model_for(pro_only, MODELS, MODELS[0]) == MODELS[1]


def test_exempt_roles() -> None:
    assert not is_exempt(GuildSettings(), [1, 2])
    assert is_exempt(GuildSettings(exempt_roles=(2,)), [1, 2])
    assert not is_exempt(GuildSettings(exempt_roles=(3,)), [1, 2])


def test_a_listed_category_allows_its_channels() -> None:
    settings = GuildSettings(channels=(500,))
    assert rule(settings, category_id=500) is Rule.ALLOWED
    assert rule(settings, category_id=501) is Rule.CHANNEL


def test_limits_and_cooldown_fall_back_to_the_defaults() -> None:
    assert GuildSettings().user_quota_or(50) == 50
    assert GuildSettings(user_quota=0).user_quota_or(50) == 0
    assert GuildSettings(guild_budget=7).guild_budget_or(500) == 7
    assert GuildSettings().cooldown_or(30.0) == 30.0
    assert GuildSettings(cooldown_seconds=0).cooldown_or(30.0) == 0
