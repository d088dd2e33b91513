"""A server's rules for ``/imagine``: blocked terms and where, by whom and how it may run.

Terms match on whole words (a phrase on consecutive words), case-insensitively, after the
text is normalised so that look-alike spellings meet: full-width and other compatibility
forms become plain letters (NFKC), accents and enclosing marks are dropped, zero-width and
other invisible format characters are removed, and anything that is not a letter or a digit
separates words. Characters that show as a blank without being a space (the Hangul fillers,
the Braille blank) are read both ways: as nothing, and as a space. Letters spelled out one
by one ("b a d", "b.a.d") are joined back as well. Chinese, Japanese and Thai text has no
spaces between words, so each of their characters counts as a word and a term written in
them matches wherever its characters stand together.

Letters of other scripts that look like Latin ones (the Cyrillic a ``U+0430``, the Greek
omicron ``U+03BF``…) are folded to the letters they look like, from Unicode's confusables
data (TR39's prototypes, as the ``confusable-homoglyphs`` package ships them), on both
sides, but only where a word is plainly disguised: a word mixing scripts, a Latin word
with look-alike letters, or a word written wholly in look-alikes of a script that the
rest of a prompt in Latin letters does not use. A Russian or Greek word in a Russian or
Greek prompt, or alone, keeps its own letters, so it never matches an English term merely
because each of its letters looks like a Latin one. Plain ASCII is never folded.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from confusable_homoglyphs import categories, confusables

from core.guild_settings import MAX_TERM_LENGTH, GuildSettings

#: Scripts written without spaces between words: every character is a word of its own.
_UNSPACED = (
    "\u0e00-\u0e7f"  # Thai
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B to G
)
_WORDS = re.compile(rf"[{_UNSPACED}]|[^\W_{_UNSPACED}]+")
_SPELLED_OUT_MIN = 2
#: Categories of characters that show nothing of their own: format characters (zero-width
#: spaces and joiners), combining marks (accents) and enclosing marks (a circle around a
#: letter).
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
#: Characters that are letters or symbols to Unicode but show as a blank: the Hangul
#: fillers (NFKC turns U+3164 and U+FFA0 into U+1160) and the Braille blank. Unlike a
#: zero-width space they take room, so they are read both as nothing and as a space.
_BLANKS = "\u115f\u1160\u3164\uffa0\u2800"
_BLANK_AS_SPACE = str.maketrans(dict.fromkeys(_BLANKS, " "))
_BLANK_AS_NOTHING = str.maketrans(dict.fromkeys(_BLANKS))
#: Scripts that do not make a word "of a script": shared punctuation, digits and marks.
_NEUTRAL_SCRIPTS = frozenset({"COMMON", "INHERITED", "Unknown"})
_LATIN = "LATIN"


def _lookalike_table() -> dict[int, str]:
    """Each character that Unicode's confusables data says looks like plain Latin letters
    or digits, and those letters (its TR39 prototype): the data pairs a character with
    its prototype, and a prototype with the characters that look like it; a non-ASCII
    character whose one partner is plain ASCII is the former."""
    table: dict[int, str] = {}
    for source, partners in confusables.confusables_data.items():
        if len(source) != 1 or source.isascii() or len(partners) != 1:
            continue
        target = "".join(ch for ch in partners[0]["c"] if unicodedata.category(ch) != "Cf")
        if target.isascii() and target.isalnum():
            table[ord(source)] = target.casefold()
    return table


#: Built once, when the module is imported (about 1,500 characters).
_LOOKALIKES = _lookalike_table()


@functools.lru_cache(maxsize=8192)
def _script(ch: str) -> str:
    """The script of a letter (``LATIN``, ``CYRILLIC``…), as the confusables data names it."""
    return str(categories.alias(ch))


def _visible(text: str) -> str:
    """``text`` with compatibility forms folded (NFKC), and without invisible characters,
    accents and enclosing marks, or blanks that take room; its case kept."""
    text = unicodedata.normalize("NFKC", text).translate(_BLANK_AS_NOTHING)
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    return unicodedata.normalize("NFC", text)


@functools.lru_cache(maxsize=8192)
def _fold_case(text: str) -> str:
    """Visible text (see :func:`_visible`) without case (a few letters gain an accent in
    their folded form, dropped too)."""
    folded = text.casefold()
    return folded if folded.isascii() else _visible(folded)


def normalise(text: str) -> str:
    """The text as terms are compared: compatibility forms folded, no case, no accents,
    no invisible characters (a blank that takes room is removed too: see
    :func:`_readings` for the other reading)."""
    return _fold_case(_visible(text))


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    return _WORDS.findall(normalise(text))


def _readings(text: str) -> list[str]:
    """The ways to read ``text``: as it is, and with each blank that takes room read as a
    space (only when it has one)."""
    spaced = text.translate(_BLANK_AS_SPACE)
    return [text] if spaced == text else [text, spaced]


def skeleton(word: str) -> str:
    """``word`` (visible, with its case: a capital may look Latin where its small letter
    does not) with each look-alike of a Latin letter or digit folded to it, without case."""
    return _fold_case(word.translate(_LOOKALIKES))


def _scripts(word: str) -> set[str]:
    """The scripts of the letters of a normalised word (not of digits or marks)."""
    scripts = {_LATIN if ch.isascii() else _script(ch) for ch in word if ch.isalpha()}
    return scripts - _NEUTRAL_SCRIPTS


def _scripts_used(tokens: Iterable[str]) -> set[str]:
    """The scripts a text is really written in: Latin if it has a plain Latin letter, and
    the scripts of its letters that look like no Latin letter (``U+043B`` Cyrillic el,
    ``U+03BB`` Greek lambda…)."""
    used: set[str] = set()
    for token in tokens:
        if token.isascii():
            if not token.isdigit():
                used.add(_LATIN)
            continue
        for ch in token:
            if ch.isalpha() and ord(ch) not in _LOOKALIKES:
                used.add(_script(ch))
    return used - _NEUTRAL_SCRIPTS


def _disguised(word: str, used: set[str]) -> str | None:
    """The skeleton of a word that is a disguise, or None for a word to take as written.

    A word is a disguise when folding changes it and it mixes scripts ("bad" with a
    Cyrillic a), or it is Latin with look-alike letters (a Latin alpha for the a), or it is
    written wholly in look-alikes of a script the rest of the text does not use, in a text
    written in Latin letters (Cyrillic "cop" in an English prompt; in a Russian one, or
    alone, it is the Russian word for litter).
    """
    if word.isascii():
        return None
    folded = skeleton(word)
    if folded == _fold_case(word):
        return None
    scripts = _scripts(word)
    if len(scripts) > 1 or scripts == {_LATIN}:
        return folded
    whole = len(word) >= _SPELLED_OUT_MIN and folded.isascii()
    if whole and _LATIN in used and scripts.isdisjoint(used):
        return folded
    return None


def _term_word(word: str) -> str:
    """A word of a term as it is compared: a term written with look-alikes mixed in means
    the letters they look like; one written wholly in another script is that script's
    word (its skeleton is kept apart, for disguised words of prompts)."""
    scripts = _scripts(word)
    return skeleton(word) if len(scripts) > 1 or scripts == {_LATIN} else _fold_case(word)


def _spelled_out_runs(tokens: Sequence[str]) -> Iterable[str]:
    """Runs of single characters joined back together ("b", "a", "d" → "bad")."""
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        if len(run) >= _SPELLED_OUT_MIN:
            yield "".join(run)
        run = []


@dataclass(frozen=True, slots=True)
class _Term:
    """A blocked term, ready to compare: its words, and their skeletons."""

    text: str
    words: tuple[str, ...]
    folded: tuple[str, ...]
    #: The words joined, to find spelled out (empty when too short to be spelled out).
    joined: str
    joined_folded: str

    @classmethod
    def of(cls, text: str) -> _Term | None:
        visible = _WORDS.findall(_visible(text))
        if not visible:
            return None
        plain = tuple(_term_word(word) for word in visible)
        folded = tuple(skeleton(word) for word in visible)
        spelled = len("".join(plain)) >= _SPELLED_OUT_MIN
        joined, joined_folded = ("".join(plain), "".join(folded)) if spelled else ("", "")
        return cls(text, plain, folded, joined, joined_folded)


@dataclass(frozen=True, slots=True)
class _Reading:
    """One reading of a prompt: its words, the skeleton of each disguised one (None for
    a word taken as written), where each word and skeleton stands, and the runs of
    spelled-out letters, and the skeletons of the disguised ones (each set joined by line
    breaks, which no term holds, so that one search covers them all)."""

    words: list[str]
    disguised: list[str | None]
    starts: dict[str, list[int]]
    runs: str
    disguised_runs: str

    @classmethod
    def of(cls, prompt: str) -> _Reading:
        visible = _WORDS.findall(_visible(prompt))
        tokens = [_fold_case(word) for word in visible]
        used = _scripts_used(visible)
        disguised = [_disguised(word, used) for word in visible]
        starts: dict[str, list[int]] = {}
        for place, (token, folded) in enumerate(zip(tokens, disguised, strict=True)):
            starts.setdefault(token, []).append(place)
            if folded is not None and folded != token:
                starts.setdefault(folded, []).append(place)
        runs = list(_spelled_out_runs(visible))
        folded_runs = (_disguised(run, used) for run in runs)
        return cls(
            tokens,
            disguised,
            starts,
            "\n".join(map(_fold_case, runs)),
            "\n".join(run for run in folded_runs if run is not None),
        )

    def _word_is(self, place: int, term: _Term, index: int) -> bool:
        return self.words[place] == term.words[index] or self.disguised[place] == term.folded[index]

    def has(self, term: _Term) -> bool:
        """Whether the term's words stand here one after another, or spelled out."""
        size, total = len(term.words), len(self.words)
        for start in {*self.starts.get(term.words[0], ()), *self.starts.get(term.folded[0], ())}:
            if start + size <= total and all(
                self._word_is(start + index, term, index) for index in range(size)
            ):
                return True
        if not term.joined:
            return False
        return term.joined in self.runs or term.joined_folded in self.disguised_runs


@dataclass(frozen=True, slots=True)
class TermMatcher:
    """Blocked terms, normalised once, to test prompts against."""

    terms: tuple[_Term, ...]

    @classmethod
    def of(cls, terms: Iterable[str]) -> TermMatcher:
        compiled = (_Term.of(term) for term in terms)
        return cls(tuple(term for term in compiled if term is not None))

    def find(self, prompt: str) -> str | None:
        """The first blocked term found in ``prompt`` (as the admins wrote it), or None."""
        if not self.terms:
            return None
        for reading in map(_Reading.of, _readings(prompt)):
            for term in self.terms:
                if reading.has(term):
                    return term.text
        return None


@functools.lru_cache(maxsize=256)
def matcher_for(terms: tuple[str, ...]) -> TermMatcher:
    """The matcher of a server's terms, kept for as long as its list does not change: the
    terms are folded once, not on every request."""
    return TermMatcher.of(terms)


def find_blocked_term(prompt: str, terms: Iterable[str]) -> str | None:
    """The first of ``terms`` that ``prompt`` contains, or None."""
    return matcher_for(tuple(terms)).find(prompt)


class TermProblem(Enum):
    """Why a term cannot be added."""

    EMPTY = "empty"
    TOO_LONG = "too_long"


def check_term(term: str) -> TermProblem | None:
    """None when ``term`` can be blocked: it must hold a letter or digit, and fit."""
    if len(term) > MAX_TERM_LENGTH:
        return TermProblem.TOO_LONG
    if not words(term):
        return TermProblem.EMPTY
    return None


def same_term(first: str, second: str) -> bool:
    """Whether two terms block the same thing (``"Bad"`` and its full-width form do)."""
    return words(first) == words(second)


# -- the rules ---------------------------------------------------------------------------


class Rule(Enum):
    """The outcome of checking a request against a server's rules."""

    ALLOWED = "allowed"
    DISABLED = "disabled"
    CHANNEL = "channel"
    NSFW_ONLY = "nsfw_only"
    BLOCKED = "blocked"
    MAX_N = "max_n"
    MODEL = "model"
    RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Where and what a member asked for."""

    channel_id: int | None
    #: The parent channel of a thread (a thread is allowed where its parent is).
    parent_id: int | None
    channel_nsfw: bool
    prompt: str
    model: str
    n: int
    #: The resolution sent to the API; None means the API's default, 1k.
    resolution: str | None
    #: The category the channel (or the thread's parent) is in; listing it allows its channels.
    category_id: int | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: Rule
    #: The blocked term that matched (for the mod log only, never shown to the user).
    term: str | None = None

    @property
    def allowed(self) -> bool:
        return self.rule is Rule.ALLOWED


#: What the API uses when no resolution is sent.
API_DEFAULT_RESOLUTION = "1k"


def check_rules(
    settings: GuildSettings,
    context: RuleContext,
    *,
    models: tuple[str, ...],
    resolutions: tuple[str, ...],
) -> Verdict:
    """Whether a server's rules let this request run, and if not, which rule stops it.

    Where the request may run is checked first, then the prompt, then the limits, so a
    member in the wrong channel learns that before anything about the prompt.
    """
    if not settings.enabled:
        return Verdict(Rule.DISABLED)
    places = {context.channel_id, context.parent_id, context.category_id} - {None}
    if settings.channels and places.isdisjoint(settings.channels):
        return Verdict(Rule.CHANNEL)
    if settings.nsfw_only and not context.channel_nsfw:
        return Verdict(Rule.NSFW_ONLY)
    term = find_blocked_term(context.prompt, settings.blocked_terms)
    if term is not None:
        return Verdict(Rule.BLOCKED, term=term)
    if settings.max_n is not None and context.n > settings.max_n:
        return Verdict(Rule.MAX_N)
    if context.model not in settings.effective_models(models):
        return Verdict(Rule.MODEL)
    resolution = context.resolution or API_DEFAULT_RESOLUTION
    if resolution not in settings.effective_resolutions(resolutions):
        return Verdict(Rule.RESOLUTION)
    return Verdict(Rule.ALLOWED)


def default_model_for(settings: GuildSettings, models: tuple[str, ...], default: str) -> str:
    """The model used when a member picks none: the bot's default if allowed here, else
    the first allowed one."""
    allowed = settings.effective_models(models)
    return default if default in allowed else allowed[0]


def is_exempt(settings: GuildSettings, role_ids: Iterable[int]) -> bool:
    """Whether a member with these roles skips the cooldown and the per-user quota."""
    return bool(settings.exempt_roles) and not set(settings.exempt_roles).isdisjoint(role_ids)


# -- probing the blocked terms ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptLimit:
    """How many blocked prompts a member may send in a server within a window before they
    are paused there (``BLOCKED_ATTEMPTS_LIMIT``, ``BLOCKED_ATTEMPTS_WINDOW_SECONDS``,
    ``BLOCKED_ATTEMPTS_PAUSE_SECONDS``): a blocked prompt costs nothing else, so without
    it one member could probe the list and flood the mod log. A limit of 0 is no limit."""

    limit: int = 5
    window_seconds: float = 600.0
    pause_seconds: float = 1800.0

    @property
    def enabled(self) -> bool:
        return self.limit > 0


@dataclass(frozen=True, slots=True)
class BlockedAttempts:
    """What a store found when it noted a member's blocked prompt (``Store.note_blocked``).

    ``attempts`` counts the blocked prompts within the window, this one included (0 when
    the member was paused already: then nothing was counted). ``paused_until`` is when the
    member's pause ends (0 when they are not paused); ``paused_now`` says this attempt
    started it, so that the mod log hears of the run once.
    """

    attempts: int
    paused_until: float = 0.0
    paused_now: bool = False

    @property
    def paused(self) -> bool:
        return self.paused_until > 0


def note_attempt(
    times: Sequence[float], now: float, paused_until: float, limit: AttemptLimit
) -> tuple[list[float], BlockedAttempts]:
    """A blocked prompt at ``now``, after the earlier ones at ``times`` (any order), for a
    member paused until ``paused_until`` (0: not paused): the attempt times to keep, and
    what came of it. Attempts older than the window are dropped and at most ``limit``
    kept, so what a store keeps per member stays small; a pause starts afresh after it."""
    if paused_until > now:
        return sorted(times), BlockedAttempts(0, paused_until)
    recent = sorted(t for t in times if now - t < limit.window_seconds)
    recent = [*recent, now][-limit.limit :]
    if len(recent) >= limit.limit:
        return [], BlockedAttempts(len(recent), now + limit.pause_seconds, paused_now=True)
    return recent, BlockedAttempts(len(recent))
