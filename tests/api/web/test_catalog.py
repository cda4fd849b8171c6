"""Every string the app shows has its Simplified Chinese translation, with the same
placeholders; a new string without one fails here (run `make messages`, translate)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web.i18n import catalog_path, negotiate, translations

ROOT = Path(__file__).resolve().parents[3]
METHODS = [("api/web/**.py", "python"), ("api/web/templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _source_strings() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(ROOT, METHODS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_extraction_finds_the_app_strings() -> None:
    strings = _source_strings()
    assert {"Sign in", "Plans waiting for me", "draft", "Plan %(id)s"} <= strings
    assert len(strings) > 100


def test_every_string_has_a_chinese_translation_with_the_same_placeholders() -> None:
    with catalog_path("zh_CN").open("rb") as po:
        catalog = read_po(po, locale="zh_CN")
    translated = {m.id: m.string for m in catalog if m.id and not m.fuzzy}
    missing = sorted(s for s in _source_strings() if not translated.get(s))
    assert not missing, f"untranslated in zh_CN (run `make messages`): {missing}"
    for msgid, msgstr in translated.items():
        assert isinstance(msgid, str) and isinstance(msgstr, str)
        names = PLACEHOLDER.findall(msgid)
        assert sorted(names) == sorted(PLACEHOLDER.findall(msgstr)), msgid
        if names:  # formatted with |format: any other % would break the page
            values = dict.fromkeys(names, 1)
            assert "%" not in (msgid % values) + (msgstr % values) or "%%" in msgid, msgid


def test_the_compiled_catalog_is_what_the_pages_use() -> None:
    zh = translations("zh_CN")
    assert zh.gettext("Sign in") == "登录"
    assert zh.gettext("Plan %(id)s") % {"id": 7} == "计划 7"
    assert translations("en").gettext("Sign in") == "Sign in"


def test_the_language_follows_the_setting_then_the_browser() -> None:
    assert negotiate("zh_CN", "en-US") == "zh_CN"
    assert negotiate(None, "fr-FR, zh-CN;q=0.8, en;q=0.5") == "zh_CN"
    assert negotiate(None, "en;q=0.4, zh-Hans-CN;q=0.9") == "zh_CN"
    assert negotiate(None, "zh-TW, zh-HK") == "en"
    assert negotiate(None, "zh;q=0, en;q=0.1") == "en"
    assert negotiate("klingon", None) == "en"
    assert negotiate(None, "q=;;,,") == "en"


def test_route_code_translates_only_through_calls_the_extractor_sees() -> None:
    """`gettext_of(request)("...")` would show an English string in Chinese pages:
    the extractor only finds calls of `_`."""
    for source in (ROOT / "api" / "web").rglob("*.py"):
        assert not re.search(r"gettext_of\([^)]*\)\(", source.read_text()), source.name
