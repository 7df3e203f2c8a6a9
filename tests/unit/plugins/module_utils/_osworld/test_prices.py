"""prices.py: the price table docs/costs.md shows is the one the code uses."""
from __future__ import annotations

import re
from pathlib import Path

from ansible_collections.osworld.aws.plugins.module_utils._osworld.prices import INSTANCE_USD_PER_HOUR, VM_OVERHEAD_USD_PER_HOUR

REPO = Path(__file__).resolve().parents[5]


def test_docs_costs_shows_the_price_table_the_code_uses() -> None:
    text = (REPO / "docs" / "costs.md").read_text()
    section = text.split("<!-- prices:start -->")[1].split("<!-- prices:end -->")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| instance type") and not line.startswith("|---")]
    header = next(line for line in section.splitlines() if line.startswith("| instance type"))
    regions = [cell.strip() for cell in header.strip("|").split("|")][1:]
    shown: dict[str, dict[str, float]] = {region: {} for region in regions}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for region, price in zip(regions, cells[1:]):
            shown[region][cells[0]] = float(price)
    assert shown == INSTANCE_USD_PER_HOUR
    assert re.search(rf"\$?{VM_OVERHEAD_USD_PER_HOUR}", section)
