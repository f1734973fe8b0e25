"""Crash recovery and ledger outage, on anvil with every gateway a `crossreturn serve` process
under load (tests/reliability/harness.py): gateways are SIGKILLed at the moments that matter and
the node is stopped for 10 s; afterwards every write the API accepted is in the vault and on the
ledger exactly once, every account's nonces run without a gap, every index equals the ledger.

`make test` runs 3 kills; `make soak` (CROSSRETURN_SOAK=1) runs CROSSRETURN_SOAK_KILLS (default
24) and writes the figures to CROSSRETURN_SOAK_REPORT, which scripts/soak.py prints.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.reliability.harness import (
    Audit,
    Workload,
    assert_clean,
    audit,
    audit_index,
    ledger_events,
    plan,
    quiesce,
    report,
    run_plan,
)
from tests.utils.anvil_network import AnvilNetwork, wait_for

SOAK = os.environ.get("CROSSRETURN_SOAK") == "1"
KILLS = int(os.environ.get("CROSSRETURN_SOAK_KILLS", "24")) if SOAK else 3
SEED = int(os.environ.get("CROSSRETURN_SOAK_SEED", "20261127"))
OUTAGE_S = 10.0

pytestmark = pytest.mark.timeout(3600 if SOAK else 600)


def test_sigkilled_gateways_lose_nothing_and_write_nothing_twice(
    net: AnvilNetwork, workload: Workload
) -> None:
    wait_for(lambda: workload.counts()["steps"] > 0, "the first return step", 120)
    kills = plan(KILLS, SEED)
    started = time.monotonic()
    run = run_plan(net, kills)
    # Load goes on a little after the last restart, then everything must catch up.
    time.sleep(2)
    workload.stop()
    assert workload.errors == []
    quiesce(net, workload)
    result = audit(net, workload)
    figures = {
        "kills": run.kills,
        "byMoment": dict(run.by_moment),
        "plan": [k.describe() for k in kills],
        "seed": SEED,
        "seconds": round(time.monotonic() - started, 1),
        "meanRestartS": round(sum(run.restart_s) / len(run.restart_s), 2),
        "retriedRequests": workload.retried,
        **result.summary(),
    }
    report("crash-recovery", figures)
    assert run.kills == KILLS
    assert_clean(result)
    workload.start()  # the outage test runs under load as well


def test_ledger_outage_of_ten_seconds_is_caught_up_with_nothing_lost(
    net: AnvilNetwork, workload: Workload
) -> None:
    before = workload.counts()
    wait_for(lambda: workload.counts()["records"] > before["records"] + 20, "load", 60)
    net.anvil.stop()
    stopped = time.monotonic()
    during = workload.counts()
    not_ready: set[str] = set()
    while time.monotonic() - stopped < OUTAGE_S:
        not_ready |= {code for code in net.areas if net.ready(code) == 503}
        time.sleep(0.2)
    accepted_during = workload.counts()["records"] - during["records"]
    net.anvil.restart()
    back = time.monotonic()
    for code in net.areas:
        net.wait_ready(code, timeout=120)
    time.sleep(2)
    workload.stop()
    assert workload.errors == []
    quiesce(net, workload)
    caught_up_s = time.monotonic() - back
    result = audit(net, workload)
    report(
        "ledger-outage",
        {
            "outageS": OUTAGE_S,
            "recordsAcceptedDuringOutage": accepted_during,
            "notReadyDuringOutage": sorted(not_ready),
            "caughtUpS": round(caught_up_s, 1),
            **result.summary(),
        },
    )
    assert not_ready == set(net.areas), f"only {sorted(not_ready)} reported not ready"
    assert accepted_during > 0, "no tax record was accepted while the node was down"
    assert_clean(result)


def test_the_audit_finds_a_lost_record_a_lost_step_and_a_stale_index(
    net: AnvilNetwork, workload: Workload
) -> None:
    """Positive controls: the audit above would have said so."""
    workload.stop()
    ghost = "0x" + "ee" * 32
    workload.accepted_cases[ghost] = "INVT-NEVER-STORED"
    workload.steps[ghost] = ["apply"]
    try:
        result = audit(net, workload)
    finally:
        del workload.accepted_cases[ghost], workload.steps[ghost]
    assert any("INVT-NEVER-STORED" in line for line in result.lost), result.lost
    assert any(ghost in line and "apply" in line for line in result.lost), result.lost
    events = ledger_events(net)
    upto = int(events[-1]["block"])  # the snapshot: newer blocks a gateway indexes are not compared
    behind, ahead = Audit(), Audit()
    audit_index(net, "2900", [*events, {**events[-1], "logIndex": 999}], behind, upto)
    audit_index(net, "2900", events[:-1], ahead, upto)
    assert behind.index_problems == ["2900: index has 0 event(s) the ledger has not, misses 1"]
    assert ahead.index_problems == ["2900: index has 1 event(s) the ledger has not, misses 0"]
