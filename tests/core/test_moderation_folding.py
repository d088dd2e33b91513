"""Blocked terms against evasions that show the same word: invisible and blank characters,
enclosing marks, and look-alike letters of other scripts; innocent text that must not
match; and the count of blocked prompts that pauses a member who probes the list."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.moderation import (
    AttemptLimit,
    BlockedAttempts,
    find_blocked_term,
    matcher_for,
    note_attempt,
    skeleton,
)

CYRILLIC_A = "\u0430"
CYRILLIC_ES, CYRILLIC_O, CYRILLIC_ER = "\u0441", "\u043e", "\u0440"
GREEK_OMICRON = "\u03bf"
#: "cop" written wholly in Cyrillic letters: the Russian word for litter.
RUSSIAN_LITTER = CYRILLIC_ES + CYRILLIC_O + CYRILLIC_ER


@pytest.mark.parametrize(
    "prompt",
    [
        "b\u20ddad",  # combining enclosing circle
        "b\u20dfad luck",  # combining enclosing diamond
        "b\u3164ad",  # Hangul filler
        "b\u115fad",  # Hangul choseong filler
        "b\u1160ad",  # Hangul jungseong filler
        "b\uffa0ad",  # half-width Hangul filler
        "b\u2800ad",  # Braille blank
        "bad\u2800weather",  # the Braille blank also reads as a space
        "a b\u3164a\u3164d day",
        f"b{CYRILLIC_A}d",  # Cyrillic a
        f"B{CYRILLIC_A.upper()}D",  # Cyrillic capital A
        f"a b{CYRILLIC_A}d dream",
        "\u0412\u0410D",  # Cyrillic capital ve and a: only the capital ve looks like B
        "b\u0251d",  # Latin alpha
        f"b {CYRILLIC_A} d",  # spelled out, with a look-alike
        f"\u0432{CYRILLIC_A}d".replace("\u0432", "b"),
        "b\u0430\u20ddd",  # a look-alike and an enclosing mark together
    ],
)
def test_evasions_of_a_blocked_word_are_caught(prompt: str) -> None:
    assert find_blocked_term(prompt, ["bad"]) == "bad"


@pytest.mark.parametrize(
    "prompt",
    [
        f"n{GREEK_OMICRON}pe",  # Greek omicron
        f"N{GREEK_OMICRON.upper()}PE",  # Greek capital omicron
        f"n{CYRILLIC_O}p\u0435",  # Cyrillic o and e
        "\u0578\u03bfpe",  # Armenian vo for the n
    ],
)
def test_look_alikes_of_other_scripts_are_folded(prompt: str) -> None:
    assert find_blocked_term(prompt, ["nope"]) == "nope"


def test_a_phrase_with_a_disguised_word_matches() -> None:
    assert find_blocked_term(f"very b{CYRILLIC_A}d thing", ["very bad thing"]) == "very bad thing"


def test_a_word_wholly_in_look_alikes_in_an_english_prompt_is_a_disguise() -> None:
    assert find_blocked_term(f"the {RUSSIAN_LITTER} came", ["cop"]) == "cop"


@pytest.mark.parametrize(
    "prompt",
    [
        f"{RUSSIAN_LITTER} \u043d\u0430 \u043f\u043e\u043b\u0443",  # "litter on the floor"
        RUSSIAN_LITTER,  # alone, it is the Russian word
        f"\u0431\u043e\u043b\u044c\u0448\u043e\u0439 {RUSSIAN_LITTER}",  # "a big litter"
    ],
)
def test_russian_text_does_not_match_an_english_term(prompt: str) -> None:
    assert find_blocked_term(prompt, ["cop"]) is None


def test_greek_text_does_not_match_an_english_term() -> None:
    # "and the victory": every letter of "oi" (Greek omicron iota) looks Latin.
    greek = "\u03ba\u03b1\u03b9 \u03bf\u03b9 \u03bd\u03b9\u03ba\u03b7"
    assert find_blocked_term(greek, ["oi", "kai"]) is None


def test_a_russian_term_matches_russian_text_and_its_disguises_only() -> None:
    terms = [RUSSIAN_LITTER]
    assert find_blocked_term(f"{RUSSIAN_LITTER} \u043d\u0430", terms) == RUSSIAN_LITTER
    mixed = CYRILLIC_ES + "o" + CYRILLIC_ER  # a Latin o in the Russian word
    assert find_blocked_term(mixed, terms) == RUSSIAN_LITTER
    assert find_blocked_term("a cop show", terms) is None


def test_a_term_written_with_look_alikes_means_the_letters_they_look_like() -> None:
    assert find_blocked_term("a bad day", [f"b{CYRILLIC_A}d"]) == f"b{CYRILLIC_A}d"


@pytest.mark.parametrize(
    "prompt", ["a badge of honour", "b ad", "ba d", "b\u20dd ad", "a \u0431\u0430\u0434 word"]
)
def test_folding_keeps_whole_words(prompt: str) -> None:
    assert find_blocked_term(prompt, ["bad"]) is None


def test_plain_ascii_is_never_folded() -> None:
    # Digits and rn are left alone: "100" is not "loo", "corn" is not "com".
    assert find_blocked_term("100 cats", ["loo"]) is None
    assert find_blocked_term("\u0661\u0660\u0660 cats", ["loo"]) is None  # Arabic-Indic 100
    assert find_blocked_term("corn field", ["com"]) is None


def test_chinese_terms_still_match_without_spaces() -> None:
    term = "\u574f\u4eba"
    assert find_blocked_term(f"\u4e00\u4e2a{term}\u7684\u6545\u4e8b", [term]) == term
    assert find_blocked_term("\u4e00\u4e2a\u574f\u7684\u4eba", [term]) is None
    assert find_blocked_term(f"{term}\u2800", [term]) == term


def test_the_matcher_of_a_term_list_is_kept() -> None:
    terms = ("bad", "ugly")
    assert matcher_for(terms) is matcher_for(("bad", "ugly"))


#: Look-alikes of each ASCII letter, as the confusables data gives them (from skeleton),
#: among the Greek, Cyrillic and Armenian letters that compatibility folding keeps.
LOOK_ALIKES: dict[str, list[str]] = {}
for code in range(0x370, 0x530):
    letter = chr(code)
    if unicodedata.normalize("NFKC", letter) != letter:
        continue
    folded = skeleton(letter)
    if folded != letter.casefold() and len(folded) == 1 and folded.isascii() and folded.isalpha():
        LOOK_ALIKES.setdefault(folded, []).append(letter)


@given(
    st.text(alphabet=sorted(LOOK_ALIKES), min_size=2, max_size=12),
    st.data(),
)
def test_any_mix_of_look_alikes_in_an_english_prompt_is_caught(
    word: str, data: st.DataObject
) -> None:
    disguised = "".join(
        data.draw(st.sampled_from([letter, *LOOK_ALIKES[letter]])) for letter in word
    )
    assert find_blocked_term(f"a picture of {disguised} today", [word]) == word


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12),
    st.lists(st.sampled_from(["\u200b", "\u20dd", "\u3164", "\u2800", "\u00ad"]), min_size=1),
    st.data(),
)
def test_invisible_characters_anywhere_in_a_word_are_caught(
    word: str, hidden: list[str], data: st.DataObject
) -> None:
    letters = list(word)
    for character in hidden:
        letters.insert(data.draw(st.integers(1, len(letters) - 1)), character)
    assert find_blocked_term(f"so {''.join(letters)} here", [word]) == word


# -- the count of blocked prompts -------------------------------------------------------

LIMIT = AttemptLimit(limit=3, window_seconds=600, pause_seconds=1800)


def test_attempts_within_the_window_add_up_to_a_pause() -> None:
    kept, noted = note_attempt([], 100.0, 0.0, LIMIT)
    assert (kept, noted) == ([100.0], BlockedAttempts(1))
    kept, noted = note_attempt([*kept, 200.0], 300.0, 0.0, LIMIT)
    assert noted == BlockedAttempts(3, 2100.0, paused_now=True)
    assert kept == []


def test_a_paused_member_counts_nothing_and_old_attempts_drop() -> None:
    assert note_attempt([5.0], 100.0, 500.0, LIMIT) == ([5.0], BlockedAttempts(0, 500.0))
    assert note_attempt([1.0, 2.0], 700.0, 0.0, LIMIT) == ([700.0], BlockedAttempts(1))
    assert not AttemptLimit(limit=0).enabled


@given(st.lists(st.floats(0, 10_000), max_size=20), st.floats(0, 10_000))
def test_what_is_kept_stays_small(times: list[float], now: float) -> None:
    kept, noted = note_attempt(times, now, 0.0, LIMIT)
    assert len(kept) < LIMIT.limit
    assert all(now - time < LIMIT.window_seconds for time in kept)
    assert noted.paused_now == (noted.attempts >= LIMIT.limit)


RUSSIAN_LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
GREEK_LETTERS = "αβγδεζηθικλμνξοπρστυφχψω"


@given(
    st.sampled_from([(RUSSIAN_LETTERS, "\u043b"), (GREEK_LETTERS, "\u03bb")]).flatmap(
        lambda alphabet: st.tuples(
            st.lists(st.text(alphabet=alphabet[0], min_size=1, max_size=8), min_size=1),
            st.just(alphabet[1]),
        )
    )
)
def test_russian_and_greek_words_never_match_the_english_words_they_look_like(
    drawn: tuple[list[str], str],
) -> None:
    text, native = drawn
    # Each word's look-alike in Latin letters, as an English term.
    terms = [skeleton(word) for word in text if skeleton(word).isascii()]
    # A prompt in that language (it has a letter that looks like no Latin one), or one
    # word alone.
    for prompt in (" ".join([*text, native]), text[0]):
        assert find_blocked_term(prompt, terms) is None
