"""Every message users see, in one catalog, looked up by key and locale.

A user-facing string is written here once and nowhere else. Locales fall back to English.
"""

from __future__ import annotations

from typing import Any

from core.options import MAX_PROMPT_LENGTH

FALLBACK_LOCALE = "en"

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "cooldown": "⏳ You're on cooldown. You can use /imagine again {when}.",
        "already_running": (
            "⏳ You already have images on the way. Wait for them before asking for more."
        ),
        "invalid_prompt_blank": "✏️ The prompt is empty. Describe the image you want.",
        "invalid_prompt_long": (
            f"✏️ The prompt is too long: keep it to {MAX_PROMPT_LENGTH:,} characters."
        ),
        "invalid_prompt": "✏️ The prompt can't be used. Write it as plain text.",
        "invalid_model": "⚙️ That model isn't available here. Pick one from the list: {choices}.",
        "invalid_n": "⚙️ The number of images must be a whole number from 1 to 10.",
        "invalid_aspect": "⚙️ That aspect ratio isn't supported. Pick one from the list.",
        "invalid_resolution": "⚙️ The resolution must be 1k or 2k.",
        "invalid_option": "⚙️ One of the options is not valid. Pick values from the lists.",
        "content_refused": (
            "🚫 The image service refused this prompt under its content policy. "
            "Try describing it differently."
        ),
        "invalid_request": (
            "⚠️ The image service rejected this request. Try other options; if it keeps "
            "happening, tell the server's admins."
        ),
        "auth_failed": (
            "⚠️ The bot can't sign in to the image service right now. "
            "Please tell the server's admins (job `{job_id}`)."
        ),
        "quota_exceeded": (
            "⚠️ The bot's image service account has run out of credits. "
            "Please tell the server's admins; try again later."
        ),
        "rate_limited": "⌛ The image service is very busy right now. Try again in a minute.",
        "transient": (
            "⌛ The image service didn't answer in time. Try again in a moment "
            "(your cooldown was not used)."
        ),
        "bad_response": (
            "⚠️ The image service sent back nothing usable. Try again (your cooldown was not used)."
        ),
        "delivery_failed": (
            "⚠️ Your images were made, but Discord would not take the upload (job `{job_id}`)."
        ),
        "internal": (
            "⚠️ Something went wrong on our side. Try again; the operator can look up "
            "job `{job_id}`."
        ),
        "withheld": "🚫 {count} of {total} images were withheld by the image service's moderation.",
        "unusable": "⚠️ {count} of {total} images came back broken and were left out.",
        "undeliverable": (
            "⚠️ {count} of {total} images were too large for Discord and were left out."
        ),
        "result_title": "🎨 /imagine",
        "field_model": "Model",
        "field_aspect": "Aspect",
        "field_resolution": "Resolution",
        "field_images": "Images",
        "field_requester": "Requested by",
        "field_time": "Time",
        "model_picks": "model's choice",
        "api_default": "default",
        "seconds": "{value:.1f} s",
        "more_images": "Images {first}–{last} of {total}",
        "footer": "job {job_id}",
        # Command and option descriptions (at most 100 characters each).
        "cmd_imagine": "Create images from a text prompt with Grok Imagine.",
        "opt_prompt": "What the image should show.",
        "opt_model": "Which image model to use.",
        "opt_n": "How many images to make (1–10).",
        "opt_aspect": "The shape of the images; left out, the model picks.",
        "opt_resolution": "1k or 2k; left out, the service's default (1k).",
    },
}


def language_of(locale: str | None) -> str:
    """The catalog language for a Discord locale such as ``en-US`` or ``zh-CN``."""
    if not locale:
        return FALLBACK_LOCALE
    if locale in CATALOG:
        return locale
    base = locale.split("-", 1)[0]
    return base if base in CATALOG else FALLBACK_LOCALE


def text(key: str, locale: str | None = None, **values: Any) -> str:
    """The message ``key`` in the user's language, with ``values`` filled in."""
    table = CATALOG[language_of(locale)]
    template = table.get(key) or CATALOG[FALLBACK_LOCALE][key]
    return template.format(**values) if values else template
