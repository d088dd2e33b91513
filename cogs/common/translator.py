"""Command, option and choice descriptions in every catalog language.

Descriptions are written as ``localized("key")``: the English text from the catalog, which
Discord shows by default, tagged with its catalog key. ``CatalogTranslator`` gives Discord
the other languages' texts for the same key when the commands are synced.
"""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.common.catalog import CATALOG, FALLBACK_LOCALE, language_of, text


def localized(key: str) -> app_commands.locale_str:
    """The English text of ``key``, translatable by ``CatalogTranslator``."""
    return app_commands.locale_str(text(key), key=key)


class CatalogTranslator(app_commands.Translator):
    """Translates ``localized`` strings from the message catalog."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        language = language_of(locale.value)
        if not isinstance(key, str) or language == FALLBACK_LOCALE:
            # English is the default text already; other locales fall back to it.
            return None
        return CATALOG[language].get(key)
