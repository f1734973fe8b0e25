"""The benchmark runs and prints its figures as one JSON object on its last line (no timing
assertions: the figures are read by people, in README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_commitments_prints_all_figures() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench.py"),
            "--only",
            "commitments",
            "--scale",
            "0.05",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])["commitments"]
    for key in ("commit_records_per_s", "verify_integrity_per_s", "verify_documents_per_s"):
        assert figures[key] > 0
    assert figures["verify_documents"] == figures["verify_batches"] * 1000


def test_bench_rejects_bad_scale() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--scale", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--scale must be positive" in result.stderr


def test_bench_anvil_prints_all_figures() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--only", "anvil", "--scale", "0.05"],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])["anvil"]
    for key in ("anvil_raw_tx_per_s", "anvil_lifecycle_events_per_s", "anvil_lifecycle_ratio"):
        assert figures[key] > 0
    assert figures["goal_ratio"] == 0.8
    sizes, blocks = figures["sizes"], figures["blocks_spanned"]
    assert sizes["raw_txs"] == sizes["rounds"] * sizes["raw_txs_per_round"] > 0
    assert sizes["lifecycle_events"] == sizes["rounds"] * sizes["returns_per_round"] * 5 > 0
    assert len(figures["rounds"]) == sizes["rounds"]
    # Every raw transaction and every lifecycle write was mined within the blocks reported.
    assert blocks["last"] - blocks["first"] >= sizes["raw_txs"]
    assert figures["anvil_lifecycle_ledger_txs"] >= sizes["lifecycle_events"]
