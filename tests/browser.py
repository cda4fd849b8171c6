"""Rendering report.html in headless Chromium (Debian's `chromium`, driven by playwright).

Used by the browser test and by `make screenshot`; nothing is downloaded: playwright
drives the Chromium found on the machine (`REPLENISH_CHROMIUM` or `chromium` on PATH).

    python -m tests.browser REPORT.html OUT.png
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


def find_chromium() -> str | None:
    """Path of the Chromium to drive, or None when the machine has none."""
    given = os.environ.get("REPLENISH_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Rendered:
    """What the browser saw: every image's load state, console errors, section ids."""

    images: list[bool]
    errors: list[str]
    sections: list[str]


def render(page_path: Path, screenshot: Path | None = None) -> Rendered:
    """Open `page_path` offline in headless Chromium; optionally save a PNG of the top."""
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found (install Debian's chromium)")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
            )
            sections = page.evaluate(
                "Array.from(document.querySelectorAll('section')).map(s => s.id)"
            )
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    return Rendered([bool(i) for i in images], errors, [str(s) for s in sections])


if __name__ == "__main__":
    seen = render(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sum(seen.images)}/{len(seen.images)} images loaded, {len(seen.errors)} errors")
