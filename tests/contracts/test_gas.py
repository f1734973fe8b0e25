"""Gas budgets of DESIGN §5/§6, checked on the gas report's own measurements (gas, not time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scripts.gas_report import ANCHOR_BUDGET, LIFECYCLE_BUDGET

ROOT = Path(__file__).resolve().parents[2]


def test_gas_report_lifecycle_and_anchor_within_budget() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gas_report.py"), "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    gas: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    lifecycle = [
        "openCaseAndApply",
        "recordArrival",
        "recordInspection",
        "recordRecognition",
        "settleNotLevied",
    ]
    assert gas["lifecycle total (open+apply .. settle)"] == sum(gas[k] for k in lifecycle)
    assert gas["lifecycle total (open+apply .. settle)"] <= LIFECYCLE_BUDGET
    # A line settled in two parts: the second settlement completes the return.
    assert {"settleRefunded (part of a line)", "settleRefunded (the rest: return settled)"} <= set(
        gas
    )
    anchors = {k: v for k, v in gas.items() if k.startswith("anchor (")}
    assert len(anchors) == 4
    assert all(v <= ANCHOR_BUDGET for v in anchors.values()), anchors
    # Anchoring cost does not grow with the batch: 8 and 1,000,000 records within a few gas.
    small, large = gas["anchor (8-record batch)"], gas["anchor (1,000,000-record batch)"]
    assert abs(large - small) < 100
