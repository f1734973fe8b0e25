"""The `anvil` group of scripts/bench.py: the ledger's own ceiling and the gateways' return
lifecycle, both on ONE fresh anvil (in memory, loopback) that the group starts and stops.

- `anvil_raw_tx_per_s`: one client, pipelined: N TaxAnchor.anchor calls of fresh random roots
  signed with the origin's key (3100) at consecutive nonces, all sent with
  eth_sendRawTransaction without waiting, then the receipts collected (the last one polled
  every 5 ms, `RpcNode.receipts`); signing included, gateways' workers held meanwhile.
- `anvil_lifecycle_events_per_s`: return steps (apply, arrival, inspection, recognition,
  settlement) through the three gateways' HTTP API until confirmed on the ledger: the gateway
  group's driver (`bench_gateway.bench_lifecycle`) on the demo consortium founded on the anvil
  (`Consortium.open(node=...)`, RpcNode backend, uvicorn on loopback in this process).
- `anvil_lifecycle_ratio` = lifecycle / raw, beside `goal_ratio`.

anvil slows down as its chain grows (LEDGER-FACTS), so the two are measured interleaved on the
same chain: raw burst, lifecycle round, raw burst, lifecycle round …; each figure is its total
work over its total time, and every round is reported with the block it started at.
Untimed: founding, the tax records anchored for the returns, a warm-up round, and the indexers
catching up with a raw burst's blocks before the next lifecycle round.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clients.bindings import BatchKind
from node_gateway.ledger.backends.anvil import DEV_KEY, AnvilNode
from node_gateway.ledger.backends.rpc_node import RpcNode
from node_gateway.run.local_consortium import Consortium, free_base_port
from scripts.bench_gateway import (
    BATCH_SIZE,
    LIFECYCLE_RATIO_GOAL,
    ORIGIN,
    Api,
    bench_anchor,
    bench_lifecycle,
    bulk_bodies,
    rate,
    tax_assessments,
)

RECEIPT_TIMEOUT_S = 120.0
WARMUP_RETURNS = 2


@dataclass(frozen=True)
class AnvilBenchConfig:
    """How much work the anvil group does: `rounds` times a raw burst of `raw_txs`
    transactions and a lifecycle round of `returns` returns (5 steps each)."""

    rounds: int = 4
    raw_txs: int = 500
    returns: int = 40
    base_port: int = 0  # 0: pick three consecutive free ports

    @classmethod
    def scaled(cls, scale: float, **overrides: int | None) -> AnvilBenchConfig:
        """The defaults times `scale` (with floors), then any explicit override."""
        base = cls()
        values: dict[str, int] = {
            "rounds": max(2, round(base.rounds * scale)),
            "raw_txs": max(20, round(base.raw_txs * scale)),
            "returns": max(4, round(base.returns * scale)),
            "base_port": 0,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        cfg = cls(**values)
        if cfg.rounds < 1 or cfg.raw_txs < 1 or cfg.returns < 1:
            raise ValueError("anvil bench sizes must be positive")
        return cfg


def _raw_burst(c: Consortium, node: RpcNode, count: int) -> dict[str, Any]:
    """Sign `count` anchors at consecutive nonces, send them all, then wait for every receipt."""
    ledger = c.gateways[ORIGIN].ledger
    anchor = ledger.contracts.tax_anchor.functions.anchor
    nonce, base_fee = ledger.next_nonce(), ledger.base_fee()
    t0 = time.perf_counter()
    signed = [
        ledger.sign(anchor(os.urandom(32), int(BatchKind.ASSESSMENT), 1), nonce + i, base_fee)
        for i in range(count)
    ]
    t1 = time.perf_counter()
    hashes = [node.send_only(tx.raw) for tx in signed]
    t2 = time.perf_counter()
    receipts = node.receipts(hashes, RECEIPT_TIMEOUT_S)
    t3 = time.perf_counter()
    if len(receipts) != count:
        raise SystemExit(f"anvil bench: {count - len(receipts)} raw anchors not mined")
    failed = [h for h, r in receipts.items() if r["status"] != 1]
    if failed:
        raise SystemExit(f"anvil bench: {len(failed)} raw anchors reverted, e.g. {failed[0]}")
    blocks = {int(r["blockNumber"]) for r in receipts.values()}
    return {
        "txs": count,
        "s": t3 - t0,
        "sign_s": t1 - t0,
        "send_s": t2 - t1,
        "receipts_s": t3 - t2,
        "blocks": len(blocks),
    }


def _ledger_txs(c: Consortium) -> int:
    """Transactions sent so far by the three areas' accounts (their mined nonces)."""
    return sum(gw.ledger.mined_nonce() for gw in c.gateways.values())


def _hold(c: Consortium) -> None:
    for gw in c.gateways.values():
        gw.pause()


def _release(c: Consortium) -> None:
    """Let the workers run again and catch up (indexing the raw blocks), off the clock."""
    for gw in c.gateways.values():
        gw.resume()
    c.drain()


def bench_anvil(cfg: AnvilBenchConfig) -> dict[str, Any]:
    """Raw pipelined ledger throughput and the API lifecycle, interleaved on one fresh anvil."""
    now = int(time.time())
    released = datetime.fromtimestamp(now - 86_400, UTC)
    base_port = cfg.base_port or free_base_port()
    needed = WARMUP_RETURNS + cfg.rounds * cfg.returns
    warmup = tax_assessments(3, 900_000_001, released)
    cases = tax_assessments(needed, 1, released)
    raw: list[dict[str, Any]] = []
    rounds: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="crossreturn-bench-anvil-") as tmp,
        AnvilNode() as anvil,
    ):
        node = RpcNode(anvil.url, receipt_timeout=RECEIPT_TIMEOUT_S)
        c = Consortium.open(
            Path(tmp),
            base_port=base_port,
            batch_size=BATCH_SIZE,
            batch_interval_ms=1000,
            recognition="officer",
            node=node,
            funder_key=DEV_KEY,
        )
        api: Api | None = None
        try:
            urls = dict(zip(c.gateways, c.serve("127.0.0.1"), strict=True))
            api = Api(urls, c.credentials)
            for body in bulk_bodies(warmup, BATCH_SIZE):
                api.post(ORIGIN, "system", "/v1/tax-records/bulk", body)
            c.drain()
            c.start()
            # The returns' tax records, anchored; then one small lifecycle round warms every
            # code path (HTTP clients, services, peer requests) before any clock starts.
            bench_anchor(api, cases, BATCH_SIZE, batches_before=1)
            bench_lifecycle(api, c, cases[:WARMUP_RETURNS], now)
            c.drain()
            first_block = node.head()["number"]
            for k in range(cfg.rounds):
                block = node.head()["number"]
                _hold(c)
                burst = _raw_burst(c, node, cfg.raw_txs)
                _release(c)
                raw.append(burst)
                start = WARMUP_RETURNS + k * cfg.returns
                txs_before = _ledger_txs(c)
                lifecycle = bench_lifecycle(api, c, cases[start : start + cfg.returns], now)
                c.drain()
                rounds.append(
                    {
                        "first_block": block,
                        "raw_tx_per_s": rate(burst["txs"], burst["s"]),
                        "raw_blocks": burst["blocks"],
                        "lifecycle_events_per_s": lifecycle["lifecycle_events_per_s"],
                        "lifecycle_s": lifecycle["lifecycle_s"],
                        "lifecycle_ledger_txs": _ledger_txs(c) - txs_before,
                        "lifecycle_post_share": lifecycle["lifecycle_post_share"],
                        "lifecycle_step_events_per_s": lifecycle["lifecycle_step_events_per_s"],
                    }
                )
            last_block = node.head()["number"]
        finally:
            if api is not None:
                api.close()
            c.stop()
    raw_txs = sum(b["txs"] for b in raw)
    raw_s = sum(b["s"] for b in raw)
    events = cfg.rounds * cfg.returns * 5
    lifecycle_s = sum(r["lifecycle_s"] for r in rounds)
    ledger_txs = sum(r["lifecycle_ledger_txs"] for r in rounds)
    raw_per_s = raw_txs / raw_s
    lifecycle_per_s = events / lifecycle_s
    ratio = lifecycle_per_s / raw_per_s
    return {
        "anvil_raw_tx_per_s": round(raw_per_s, 1),
        "anvil_lifecycle_events_per_s": round(lifecycle_per_s, 1),
        "anvil_lifecycle_ratio": round(ratio, 3),
        "goal_ratio": LIFECYCLE_RATIO_GOAL,
        "goal_met": ratio >= LIFECYCLE_RATIO_GOAL,
        # Ledger transactions the gateways sent for those steps (the apply step also logs the
        # centre's fetch of the declaration at the origin), and their rate.
        "anvil_lifecycle_ledger_txs": ledger_txs,
        "anvil_lifecycle_ledger_tx_per_s": rate(ledger_txs, lifecycle_s),
        "anvil_raw_sign_ms": round(sum(b["sign_s"] for b in raw) / raw_txs * 1e3, 3),
        "anvil_raw_send_ms": round(sum(b["send_s"] for b in raw) / raw_txs * 1e3, 3),
        "anvil_raw_receipts_ms": round(sum(b["receipts_s"] for b in raw) / raw_txs * 1e3, 3),
        "blocks_spanned": {"first": first_block, "last": last_block},
        "sizes": {
            "rounds": cfg.rounds,
            "raw_txs_per_round": cfg.raw_txs,
            "returns_per_round": cfg.returns,
            "raw_txs": raw_txs,
            "lifecycle_events": events,
        },
        "rounds": rounds,
        "node": f"anvil on {anvil.url} (in memory, auto-mining), RpcNode poll {node.poll_s} s",
        "http": f"uvicorn on 127.0.0.1:{base_port}..{base_port + 2}, httpx client in-process",
    }
