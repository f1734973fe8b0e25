"""`crossreturn ledger head|dump` over an embedded ledger's data directory."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from node_gateway.cli.main import main
from tests.gateway.test_embedded_ledger import start_story


def test_ledger_head_matches_chain(tmp_path: Path) -> None:
    chain, _ = start_story(tmp_path)
    result = CliRunner().invoke(main, ["ledger", "head", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == chain.head()


def test_ledger_dump_lists_every_transaction_and_event(tmp_path: Path) -> None:
    chain, addresses = start_story(tmp_path)
    result = CliRunner().invoke(main, ["ledger", "dump", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    txs = [x for x in lines if x["type"] == "transaction"]
    events = [x for x in lines if x["type"] == "event"]
    travel_blocks = 1  # travel_to mines one empty block
    assert len(txs) == chain.head()["number"] - travel_blocks
    assert any(e["address"] == addresses["TaxAnchor"] for e in events)
    assert all(t["input"].startswith("0x") for t in txs)


def test_ledger_head_without_ledger_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ledger", "head", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "holds no embedded ledger" in result.output
    assert "Traceback" not in result.output


def test_bench_runs_the_checkout_benchmarks_and_ends_with_json() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "node_gateway", "bench", "--only", "commitments"]
        + ["--scale", "0.01"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last["commitments"]["commit_records_per_s"] > 0
