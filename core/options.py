"""The options of ``/imagine`` and their validation, Discord-free.

Discord's client checks choices and ranges, but discord.py passes ``Range`` values through
unchecked and a proxy or a buggy client can send anything, so every value is checked
again here before any API call.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from core.errors import InvalidOption
from core.models import GenerationRequest

#: The longest prompt accepted. Long enough for a detailed description, short enough that
#: the result embed and every message quoting it stay well inside Discord's limits.
MAX_PROMPT_LENGTH = 1000
MIN_IMAGES = 1
MAX_IMAGES = 10
ASPECT_RATIOS = (
    "1:1",
    "16:9",
    "9:16",
    "4:3",
    "3:4",
    "3:2",
    "2:3",
    "2:1",
    "1:2",
    "19.5:9",
    "9:19.5",
    "20:9",
    "9:20",
    "auto",
)
RESOLUTIONS = ("1k", "2k")
RESPONSE_FORMATS = ("b64_json", "url")


def clean_prompt(prompt: object) -> str:
    """Normalise a prompt: NFC, control characters out, surrounding blanks stripped."""
    if not isinstance(prompt, str):
        raise InvalidOption("prompt", "prompt is not text")
    text = unicodedata.normalize("NFC", prompt)
    # Keep line breaks and tabs; drop other control and format characters that only hide text.
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )
    return text.strip()


def build_request(
    *,
    prompt: object,
    model: object,
    n: object,
    aspect: object,
    resolution: object,
    user_id: int | str,
    models: Sequence[str],
    default_model: str,
    response_format: str = "b64_json",
) -> GenerationRequest:
    """Validate raw option values and build the API request; raise InvalidOption if any is bad."""
    text = clean_prompt(prompt)
    if not text:
        raise InvalidOption("prompt", "blank prompt")
    if len(text) > MAX_PROMPT_LENGTH:
        raise InvalidOption("prompt", f"prompt of {len(text)} characters")

    chosen_model = default_model if model is None or model == "" else model
    if not isinstance(chosen_model, str) or chosen_model not in models:
        raise InvalidOption("model", "model not in the configured list")

    count = 1 if n is None else n
    # bool is an int subclass; a float like 2.0 is what some clients send for integers.
    if isinstance(count, float) and count.is_integer():
        count = int(count)
    if (
        isinstance(count, bool)
        or not isinstance(count, int)
        or not MIN_IMAGES <= count <= MAX_IMAGES
    ):
        raise InvalidOption("n", "n out of range")

    if aspect is not None and aspect not in ASPECT_RATIOS:
        raise InvalidOption("aspect", "unknown aspect ratio")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise InvalidOption("resolution", "unknown resolution")
    if response_format not in RESPONSE_FORMATS:
        raise InvalidOption("response_format", "unknown response format")

    return GenerationRequest(
        prompt=text,
        model=chosen_model,
        n=count,
        aspect_ratio=aspect if isinstance(aspect, str) else None,
        resolution=resolution if isinstance(resolution, str) else None,
        response_format=response_format,
        user=str(user_id),
    )
