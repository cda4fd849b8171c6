"""A tiny, hand-written, valid dataset that tests break one defect at a time (`edit`),
written to a folder by the `write_dataset` fixture (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

GOOD: dict[str, str] = {
    "suppliers": """supplier_id,name,lead_time_days,lead_time_sd_days,review_period_days,min_order_value,order_cost
SUP1,Acme,7,1.5,7,100,25
SUP2,Bolt,14,,,,
""",
    "skus": """sku_id,name,category,supplier_id,unit_cost,unit_price,pack_size,moq,unit_volume,lead_time_days,substitutes
A1,Apple juice,Drinks,SUP1,1.20,2.50,6,12,0.001,,B2
B2,Berry juice,Drinks,SUP1,1.30,2.70,6,0,0.001,5,
C3,Cable,Hardware,SUP2,4.00,9.90,,,,,
""",
    "customers": """customer_id,since,strategic,reputation
K1,2023-01-15,0.8,0.9
K2,2024-06-01,,
K3,2024-02-29,0.1,0.5
""",
    "orders": """order_id,date,customer_id,sku_id,quantity,unit_price,quantity_short
O1,2025-01-03,K1,A1,12,2.40,0
O1,2025-01-03,K1,C3,1,9.90,0
O2,2025-01-04,K2,A1,0,,6
O3,2025-01-05,,B2,2,2.70,
O4,2025-01-06,K3,C3,3,9.90,1
""",
    "inventory": """sku_id,on_hand,on_order,as_of
A1,30,12,2025-01-07
B2,0,,2025-01-07
C3,5,10,2025-01-07
""",
    "stock_history": """sku_id,date,on_hand
A1,2025-01-03,12
A1,2025-01-04,0
B2,2025-01-04,3
""",
}

WriteDataset = Callable[..., Path]


def edit(table: str, old: str, new: str) -> str:
    """The good CSV text of `table` with one substring replaced (which must be there)."""
    text = GOOD[table]
    assert old in text, f"{old!r} not in {table}"
    return text.replace(old, new, 1)
