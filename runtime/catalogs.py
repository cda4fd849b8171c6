"""gettext catalogs compiled in memory from their .po source (Babel), for the web app
(api/web/locale) and the report (replenish/locale): no compiled .mo file to go stale
beside the catalog people edit. English is the source language of both.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

#: Languages the product speaks, as gettext names them.
LANGUAGES = ("en", "zh_CN")
SOURCE = "en"


@cache
def compiled(po: Path, language: str) -> NullTranslations:
    """The catalog at `po` for `language`, compiled (the source language: the strings
    themselves)."""
    if language == SOURCE or language not in LANGUAGES:
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    out = io.BytesIO()
    write_mo(out, catalog)
    out.seek(0)
    return Translations(out)


def language_of(tag: str) -> str:
    """A language tag as given on a command line (`zh-CN`, `zh_CN`, `en`) as gettext
    names it; ValueError for one the product does not speak."""
    name = tag.strip().replace("-", "_")
    for known in LANGUAGES:
        if name.lower() == known.lower():
            return known
    raise ValueError(f"unknown language {tag!r}: choose en or zh-CN")
