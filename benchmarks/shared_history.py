"""The real retailer's history shared beside the repository, found and sampled.

The UCI Online Retail export (order lines with an item master, suppliers and customers
beside them) lives in the workplace's shared folder, outside the repository:
`shared_history()` looks for it in the folder `REPLENISH_SHARED_DATA` names, else in
`shared/data/` of any folder above the repository. `sample` writes a sample of its
customers with all their lines (cancellations and returns included) and the side files
cut to them, as an export folder: the test suite imports and runs one committed
(tests/data/uci_sample, 5% of the customers).

    python -m benchmarks.shared_history sample tests/data/uci_sample --share 0.05
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

NAME = "uci-online-retail"
ENV = "REPLENISH_SHARED_DATA"


def shared_history() -> Path | None:
    """The shared history's folder (holding `export/` and `contract/`), or None."""
    named = os.environ.get(ENV)
    if named:
        path = Path(named)
        return path if (path / "export").is_dir() else (path / NAME if (path / NAME).is_dir()
                                                        else None)  # fmt: skip
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / NAME
        if (candidate / "export").is_dir():
            return candidate
    return None


def sample(export: Path, out: Path, share: float, seed: int = 0) -> dict[str, int]:
    """Write a sample of `share` of the export's customers (all their lines) and the item
    master, suppliers and customers cut to them into `out`; returns rows written."""
    orders = pd.read_csv(export / "orders_export.csv", dtype=str, keep_default_na=False)
    named = orders[orders["CustomerID"] != ""]
    customers = np.sort(named["CustomerID"].unique())
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(customers, size=max(1, round(share * customers.size)), replace=False))
    lines = named[named["CustomerID"].isin(chosen)]
    skus = set(lines["StockCode"])
    items = pd.read_csv(export / "item_master.csv", dtype=str, keep_default_na=False)
    items = items[items["sku_id"].isin(skus)]
    suppliers = pd.read_csv(export / "suppliers.csv", dtype=str, keep_default_na=False)
    suppliers = suppliers[suppliers["supplier_id"].isin(set(items["supplier_id"]))]
    people = pd.read_csv(export / "customers.csv", dtype=str, keep_default_na=False)
    ids = {c.removesuffix(".0") for c in chosen}
    people = people[people["customer_id"].isin(ids)]
    out.mkdir(parents=True, exist_ok=True)
    tables = {"orders_export.csv": lines, "item_master.csv": items,
              "suppliers.csv": suppliers, "customers.csv": people}  # fmt: skip
    for name, frame in tables.items():
        frame.to_csv(out / name, index=False)
    return {name: len(frame) for name, frame in tables.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("sample", help="write a customer sample as an export folder")
    make.add_argument("out", type=Path)
    make.add_argument("--share", type=float, default=0.05)
    make.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    found = shared_history()
    if found is None:
        raise SystemExit(f"the shared history was not found; set {ENV}")
    written = sample(found / "export", args.out, args.share, args.seed)
    print(", ".join(f"{name}: {n:,} rows" for name, n in written.items()))


if __name__ == "__main__":
    main()
