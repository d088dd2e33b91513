"""Members' text shown literally: no markdown, link, mention or URL of it renders."""

from __future__ import annotations

import re

from hypothesis import assume, given
from hypothesis import strategies as st

from cogs.common.markdown import MARKDOWN_CHARACTERS, URL_BREAK, plain_text

#: What Discord shows: a backslash before punctuation is dropped, the URL break is invisible.
_SHOWN_RE = re.compile(r"\\([^0-9A-Za-z\s])")

markdownish = st.lists(
    st.sampled_from(
        [
            "[", "]", "(", ")", "<", ">", "@", "#", "-", "*", "_", "~", "`", "|", "||", "\\",
            "https://evil.example", "://", "\n", " ", "1.", "12. ", "-# ", "> ", "```", "<@1>",
            "<#2>", "<t:1:R>", "[Claim Nitro](https://evil.example)", "a", "fox", "雪", ":",
        ]
    )
    | st.text(max_size=5),
    max_size=40,
).map("".join)  # fmt: skip


def shown(text: str) -> str:
    """The text a reader sees once Discord has rendered the escapes."""
    return _SHOWN_RE.sub(r"\1", text.replace(URL_BREAK, "://"))


def unescaped_markdown(text: str) -> list[str]:
    """The markdown characters of ``text`` not escaped by a backslash."""
    found, escaped = [], False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in MARKDOWN_CHARACTERS:
            found.append(char)
    return found


@given(markdownish)
def test_no_markdown_character_is_left_live(prompt: str) -> None:
    assert unescaped_markdown(plain_text(prompt)) == []


@given(markdownish)
def test_the_reader_sees_the_prompt_itself(prompt: str) -> None:
    assume(URL_BREAK not in prompt)
    assert shown(plain_text(prompt)) == prompt


@given(markdownish)
def test_no_url_and_no_numbered_list_survives(prompt: str) -> None:
    plain = plain_text(prompt)
    assert "://" not in plain
    assert not re.search(r"(?m)^\s*\d+\.", plain)


def test_two_masked_links_on_one_line_are_both_dead() -> None:
    plain = plain_text("a [x](y) [Claim Nitro](https://evil.example)")
    assert plain == "a \\[x\\]\\(y\\) \\[Claim Nitro\\]\\(https:\u200b//evil.example\\)"


def test_mentions_headings_and_quotes_show_as_typed() -> None:
    assert plain_text("# big") == "\\# big"
    assert plain_text("> quote <@123> <#4>") == "\\> quote \\<@123\\> \\<\\#4\\>"
    assert plain_text("1. one") == "1\\. one"
    assert plain_text("||spoiler||") == "\\|\\|spoiler\\|\\|"
