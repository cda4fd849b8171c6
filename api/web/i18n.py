"""The app's languages: gettext catalogs (Babel) and number, money and date formats.

English is the source language; Simplified Chinese comes from
`api/web/locale/zh_CN/LC_MESSAGES/messages.po`, compiled in memory when first used (no
compiled file to go stale beside its source). A user's language is their setting, else
the browser's Accept-Language, else English (runtime.catalogs compiles the catalog).
`make messages` extracts the strings of the templates and of this package and merges
them into the catalog; a test fails when one has no translation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from babel import Locale, dates, numbers
from babel.support import NullTranslations

from runtime.catalogs import LANGUAGES as LANGUAGES
from runtime.catalogs import compiled

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: Each language's name in itself, for the language switch.
NAMES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT = "en"


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def translations(language: str) -> NullTranslations:
    """The compiled catalog of `language` (English: the source strings themselves)."""
    return compiled(catalog_path(language), language)


def negotiate(setting: str | None, accept_language: str | None) -> str:
    """The user's setting if the app speaks it, else the first language of
    Accept-Language (by q-value) that it speaks, else English."""
    if setting in LANGUAGES:
        return setting
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower().replace("_", "-")))
    for _, _, tag in sorted(ranked):
        if tag == "en" or tag.startswith("en-"):
            return "en"
        # Simplified Chinese: zh, zh-CN, zh-SG, zh-Hans-*; not zh-TW / zh-HK / zh-Hant.
        if tag == "zh" or tag in ("zh-cn", "zh-sg") or tag.startswith("zh-hans"):
            return "zh_CN"
    return DEFAULT


@cache
def _symbols(language: str) -> tuple[str, str, str]:
    """The decimal point, thousands separator and percent sign of `language` (CLDR)."""
    locale = Locale.parse(language)
    return (
        numbers.get_decimal_symbol(locale),
        numbers.get_group_symbol(locale),
        locale.number_symbols["latn"]["percentSign"],
    )


@dataclass(frozen=True)
class Formats:
    """Numbers, money and dates written as `language` writes them.

    The symbols come from CLDR through Babel once per language; the digits are Python's
    own formatting (a page formats thousands of numbers, and Babel's general pattern
    engine costs about 100 µs for each)."""

    language: str

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None or value != value:  # None or NaN
            return "–"
        point, group, _ = _symbols(self.language)
        text = f"{value:,.{digits}f}"
        if text in ("-0", "-0." + "0" * digits):  # a tiny negative rounds to zero
            text = text[1:]
        return text.translate({ord(","): group, ord("."): point})

    def money(self, value: float | None) -> str:
        """Currency amounts with two decimals and thousands separators (the dataset
        carries no currency, so none is named)."""
        return self.number(value, 2)

    def percent(self, value: float | None, digits: int = 0) -> str:
        """`value` a fraction (0.25 is 25%)."""
        if value is None or value != value:
            return "–"
        return self.number(value * 100, digits) + _symbols(self.language)[2]

    def moment(self, value: datetime | None) -> str:
        if value is None:
            return "–"
        return dates.format_datetime(value, format="medium", locale=Locale.parse(self.language))
