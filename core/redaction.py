"""Secrets out of log lines: the bot token, the API key, the Redis password and every
interaction token, whoever logs them (discord.py at DEBUG logs each webhook URL and each
gateway payload; an aiohttp timeout names the URL it was fetching).

:class:`RedactingFormatter` wraps the formatter of each root handler, so it sees the whole
line, the traceback included, once per handler. It runs on every record: substring tests
come first, and each pattern runs only on the lines that can hold what it looks for.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

REDACTED = "[redacted]"
#: Shorter values are not replaced as literals: they would blot out ordinary words.
MIN_SECRET_LENGTH = 8

# An interaction's token is the path segment after the application (webhooks) or the
# interaction id (callbacks): ``/webhooks/<app id>/<token>``, ``/interactions/<id>/<token>/``.
_PATH_TOKEN_RE = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?#\s'\"<>]+")
# ``"token": "..."`` in a JSON payload, ``'token': '...'`` in a logged dict (and ``*_token``).
_FIELD_TOKEN_RE = re.compile(r"""(['"]\w*token['"]\s*:\s*['"])[^'"]*""")
# The password of any URL with one: ``scheme://user:password@host``.
_URL_PASSWORD_RE = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")


def url_password(url: str | None) -> str | None:
    """The password in a URL (``redis://:password@host``), if it has one."""
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


class Redactor:
    """Replaces the known secrets, and anything shaped like an interaction token, in text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = tuple(
            sorted(
                {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH},
                key=len,
                reverse=True,  # a secret that contains another goes first
            )
        )

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[redacted]``."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        # Each pattern runs only on lines that hold what it looks for (most lines hold none).
        if "/webhooks/" in text or "/interactions/" in text:
            text = _PATH_TOKEN_RE.sub(rf"\1{REDACTED}", text)
        if "token" in text:
            text = _FIELD_TOKEN_RE.sub(rf"\1{REDACTED}", text)
        if "://" in text and "@" in text:
            text = _URL_PASSWORD_RE.sub(rf"\1{REDACTED}@", text)
        return text


class RedactingFormatter(logging.Formatter):
    """A handler's formatter, with the finished line (traceback included) redacted."""

    def __init__(self, inner: logging.Formatter, redact: Redactor) -> None:
        super().__init__()
        self.inner = inner
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


def redact_handlers(logger: logging.Logger, redact: Redactor) -> None:
    """Wrap the formatter of each of ``logger``'s handlers so its lines are redacted."""
    for handler in logger.handlers:
        inner = handler.formatter
        if isinstance(inner, RedactingFormatter):
            inner = inner.inner
        handler.setFormatter(RedactingFormatter(inner or logging.Formatter(), redact))
