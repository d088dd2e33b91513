"""Text from members shown as it was typed: no markdown of it renders.

``discord.utils.escape_markdown`` is not enough for text others will read: it leaves the
second masked link of a line live (``a [x](y) [Claim Nitro](https://evil.example)``), and
does not touch headings, lists, mentions or bare URLs. :func:`plain_text` escapes every
character Discord's markdown gives a meaning to, so each shows as itself, and breaks every
``://`` so that no URL becomes a link or a preview.
"""

from __future__ import annotations

import re

#: Characters with a meaning in Discord's markdown: emphasis, strike, code, spoilers,
#: quotes, headings and subtext, lists, masked links, and ``<...>`` (mentions, custom emoji,
#: timestamps, suppressed links). Discord shows ``\\`` before any of them as the character.
MARKDOWN_CHARACTERS = frozenset("\\*_~`|>#-+[]()<")
_MARKDOWN_RE = re.compile(r"([\\*_~`|>#\-+\[\]()<])")
# A numbered list item: digits and a dot at the start of a line.
_NUMBERED_RE = re.compile(r"(?m)^(\s*\d+)\.")
#: What breaks ``scheme://``: a zero-width space, invisible, after the colon.
URL_BREAK = ":\u200b//"


def plain_text(text: str) -> str:
    """``text`` as Discord will show it literally: no link, heading, list, quote, code,
    spoiler, mention or emphasis of it renders, and no URL of it is clickable or
    previewed. What the reader sees is ``text`` itself (the escapes do not show)."""
    text = _MARKDOWN_RE.sub(r"\\\1", text)
    text = _NUMBERED_RE.sub(r"\1\\.", text)
    return text.replace("://", URL_BREAK)
