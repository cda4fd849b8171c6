"""Charts load matplotlib only when one is drawn: importing an engine never does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import importlib, pkgutil, sys
for package in ("contract", "runtime", "forecast", "optimize", "simulations"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(info.name)
print(sorted({name.split(".")[0] for name in sys.modules}))
"""


def test_no_engine_imports_matplotlib_when_it_is_imported() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    ).stdout
    assert "'numpy'" in loaded  # the script did import the engines
    assert "matplotlib" not in loaded


def test_a_chart_is_a_png_file(tmp_path: Path) -> None:
    from runtime.figures import pyplot, save_figure

    fig, ax = pyplot().subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "nested" / "chart.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not pyplot().get_fignums()  # closed after saving
