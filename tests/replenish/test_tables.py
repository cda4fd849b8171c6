"""Report tables read as a buyer would write them, not as pandas prints them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replenish.tables import html_table, money, percent


def test_a_table_for_people() -> None:
    frame = pd.DataFrame(
        {
            "budget": [6832.135, 13664.27],
            "fill_A": [0.963, 1.0],
            "value_lost": [1234.5, np.nan],
            "lead_days": [7.25, 10.0],  # a column the table does not know
        }
    ).set_index("budget")
    page = html_table(frame)
    head, body = page.split("</thead>")
    assert head.count("<tr") == 1  # the index name is no row of its own
    headers = [h.split("</th>")[0] for h in head.split("<th>")[1:]]
    assert headers == ["budget", "fill rate A", "value lost to stockouts", "lead days"]
    cells = [c.split("</td>")[0] for c in body.split("<td>")[1:]]
    assert cells == ["6,832", "96.3%", "1,234", "7.2", "13,664", "100.0%", "—", "10.0"]
    assert "6832.135" not in page and "0.963" not in page


def test_formats_say_what_they_are() -> None:
    assert money(1234567.891) == "1,234,568"
    assert percent(0.5) == "50.0%"
    assert money(float("nan")) == "—" and money(None) == "—"
    # Text is escaped: a SKU id cannot inject markup into the report.
    assert "&lt;b&gt;" in html_table(pd.DataFrame({"sku_id": ["<b>x</b>"]}))
