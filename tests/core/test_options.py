"""Option validation: every value is checked again before any API call."""

from __future__ import annotations

import pytest

from core.errors import InvalidOption
from core.options import ASPECT_RATIOS, MAX_PROMPT_LENGTH, build_request, clean_prompt

MODELS = ("grok-imagine-image", "grok-imagine-image-pro")


def make(**overrides: object):
    values: dict[str, object] = {
        "prompt": "a red fox in the snow",
        "model": None,
        "n": 1,
        "aspect": None,
        "resolution": None,
        "user_id": 1234,
        "models": MODELS,
        "default_model": MODELS[0],
    }
    values.update(overrides)
    return build_request(**values)  # type: ignore[arg-type]


def test_defaults_build_the_minimal_body() -> None:
    request = make()
    assert request.to_body() == {
        "prompt": "a red fox in the snow",
        "model": "grok-imagine-image",
        "n": 1,
        "response_format": "b64_json",
        "user": "1234",
    }


def test_every_option_reaches_the_body() -> None:
    request = make(model="grok-imagine-image-pro", n=4, aspect="16:9", resolution="2k")
    body = request.to_body()
    assert body["model"] == "grok-imagine-image-pro"
    assert body["n"] == 4
    assert body["aspect_ratio"] == "16:9"
    assert body["resolution"] == "2k"
    assert body["user"] == "1234"
    assert "size" not in body
    assert "style" not in body


@pytest.mark.parametrize("aspect", ASPECT_RATIOS)
def test_all_fourteen_aspect_ratios_pass(aspect: str) -> None:
    assert make(aspect=aspect).aspect_ratio == aspect


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   \n\t "}, "prompt"),
        ({"prompt": "\u200b\u200b"}, "prompt"),
        ({"prompt": "x" * (MAX_PROMPT_LENGTH + 1)}, "prompt"),
        ({"prompt": 42}, "prompt"),
        ({"model": "dall-e-3"}, "model"),
        ({"model": 7}, "model"),
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"n": -3}, "n"),
        ({"n": 2.5}, "n"),
        ({"n": "3"}, "n"),
        ({"n": True}, "n"),
        ({"aspect": "5:4"}, "aspect"),
        ({"aspect": ""}, "aspect"),
        ({"resolution": "4k"}, "resolution"),
        ({"resolution": "1K "}, "resolution"),
        ({"response_format": "png"}, "response_format"),
    ],
)
def test_invalid_values_are_refused(overrides: dict[str, object], option: str) -> None:
    with pytest.raises(InvalidOption) as caught:
        make(**overrides)
    assert caught.value.option == option


def test_prompt_at_the_limit_is_accepted() -> None:
    assert len(make(prompt="y" * MAX_PROMPT_LENGTH).prompt) == MAX_PROMPT_LENGTH


def test_integral_float_n_is_accepted() -> None:
    assert make(n=3.0).n == 3


def test_prompt_is_cleaned_of_hidden_characters() -> None:
    assert clean_prompt("  a\u200bcat\x00 on a\nmat  ") == "acat on a\nmat"
    assert clean_prompt("e\u0301") == "\u00e9"
