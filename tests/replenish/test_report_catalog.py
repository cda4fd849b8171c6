"""Every string of report.html has its Simplified Chinese translation, with the same
placeholders; a new string without one fails here (run `make messages`, translate)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from replenish.report import LOCALE

ROOT = Path(__file__).resolve().parents[2]
METHODS = [(f"replenish/{name}.py", "python") for name in ("report", "tables", "verdicts")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def test_every_report_string_is_translated_and_formats() -> None:
    found = {m if isinstance(m, str) else m[0] for _, _, m, _, _ in extract_from_dir(ROOT, METHODS)}
    assert {"What to order", "Reorder plan", "supplier", "net value"} <= found
    with (LOCALE / "zh_CN" / "LC_MESSAGES" / "report.po").open("rb") as po:
        translated = {m.id: m.string for m in read_po(po, locale="zh_CN") if m.id}
    missing = sorted(s for s in found if not translated.get(s))
    assert not missing, f"untranslated in the report's zh_CN catalog: {missing}"
    for msgid in found:
        msgstr = translated[msgid]
        assert isinstance(msgstr, str)
        names = PLACEHOLDER.findall(msgid)
        assert sorted(names) == sorted(PLACEHOLDER.findall(msgstr)), msgid
        if names:  # %-formatted: a bare % elsewhere would raise when the report is written
            values = dict.fromkeys(names, 1)
            msgid % values, msgstr % values
