"""A server's rules for ``/imagine``: blocked terms and where, by whom and how it may run.

Terms match on whole words (a phrase on consecutive words), case-insensitively, after the
text is normalised so that look-alike spellings meet: full-width and other compatibility
forms become plain letters (NFKC), accents are dropped, zero-width and other invisible
format characters are removed, and anything that is not a letter or a digit separates
words. Letters spelled out one by one ("b a d", "b.a.d") are joined back as well.
Chinese, Japanese and Thai text has no spaces between words, so each of their characters
counts as a word and a term written in them matches wherever its characters stand together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

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


def normalise(text: str) -> str:
    """The text as terms are compared: compatibility forms folded, no case, no accents,
    no invisible characters."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", text)


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    return _WORDS.findall(normalise(text))


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


def _contains(tokens: Sequence[str], term: tuple[str, ...]) -> bool:
    size = len(term)
    return any(tuple(tokens[i : i + size]) == term for i in range(len(tokens) - size + 1))


@dataclass(frozen=True, slots=True)
class TermMatcher:
    """Blocked terms, normalised once, to test prompts against."""

    terms: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, terms: Iterable[str]) -> TermMatcher:
        compiled = []
        for term in terms:
            tokens = tuple(words(term))
            if tokens:
                compiled.append((term, tokens))
        return cls(tuple(compiled))

    def find(self, prompt: str) -> str | None:
        """The first blocked term found in ``prompt`` (as the admins wrote it), or None."""
        if not self.terms:
            return None
        tokens = words(prompt)
        runs = list(_spelled_out_runs(tokens))
        for term, term_tokens in self.terms:
            if _contains(tokens, term_tokens):
                return term
            joined = "".join(term_tokens)
            if len(joined) >= _SPELLED_OUT_MIN and any(joined in run for run in runs):
                return term
        return None


def find_blocked_term(prompt: str, terms: Iterable[str]) -> str | None:
    """The first of ``terms`` that ``prompt`` contains, or None."""
    return TermMatcher.of(terms).find(prompt)


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
