"""report.html in a real browser: every chart loads, nothing errors, every section is there.

Needs Debian's chromium (`.ci/run` installs it). Without it the test is skipped on a
developer's machine but fails under CI=true: the browser check is never silently lost.
"""

from __future__ import annotations

from pathlib import Path

from replenish.pipeline import Outcome, write
from replenish.report import SECTIONS, write_report
from tests.browser import render


def test_the_report_renders_with_every_chart(
    chromium: str, outcome: Outcome, tmp_path: Path
) -> None:
    out = write(outcome, tmp_path / "run", write_report)
    seen = render(out / "report.html", tmp_path / "shot.png")
    assert len(seen.images) >= 5 and all(seen.images)  # no broken image
    assert seen.errors == []
    assert seen.sections == [key for key, _ in SECTIONS]
    assert (tmp_path / "shot.png").read_bytes()[:4] == b"\x89PNG"
