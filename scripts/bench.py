"""CrossReturn's performance benchmarks. The last line of output is one JSON object.

Groups (`--only NAME` runs one):
- commitments: `commit_records_per_s` (3-line tax assessments committed with a fresh salt per
  field, leaves and digest), `verify_integrity_per_s` (digests recomputed from disclosed
  documents), `verify_documents_per_s` (the full verifier over documents from 10 anchored
  batches on the embedded ledger, ledger answers cached per root).
- gateway: the three-gateway consortium over real HTTP (scripts/bench_gateway.py):
  `anchor_records_per_s` (bulk tax records until anchored; `ingest_records_per_s` for the HTTP
  part), `ledger_raw_tx_per_s` (signed contract calls one at a time on the same chain),
  `lifecycle_events_per_s` (return steps over the API until confirmed) and `lifecycle_ratio`
  (lifecycle / raw), each beside its goal. Sizes: `--gateway-*` flags, or `--scale 0.1`.
- anvil: one fresh anvil started and stopped by the group (scripts/bench_anvil.py):
  `anvil_raw_tx_per_s` (pipelined signed contract calls from one client),
  `anvil_lifecycle_events_per_s` (return steps over the gateways' API, gateways on RpcNode)
  and `anvil_lifecycle_ratio` beside `goal_ratio`, measured interleaved on the same chain
  (it slows as it grows), with `blocks_spanned`. Sizes: `--anvil-*` flags, or `--scale`.

Figures are measured in this run on this machine; goals live in README beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clients.commitments.document import DisclosedDocument, commit  # noqa: E402
from clients.commitments.keccak import keccak256  # noqa: E402
from clients.commitments.ledger_leaves import CaseHeader  # noqa: E402
from clients.commitments.merkle import MerkleTree  # noqa: E402
from clients.records import canonical  # noqa: E402
from clients.records.samples import sample_tax_assessment  # noqa: E402

GOODS = ("/lines/",)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _records(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [canonical(sample_tax_assessment(i + 1, lines=3, rng=rng)) for i in range(count)]


def bench_commitments(scale: float) -> dict[str, Any]:
    """The commitment and verification figures of the records/commitments issue."""
    docs = _records(max(200, int(2000 * scale)))
    fields = len(commit(docs[0]).leaves)
    data = b"\x01" * 96
    calls = 200_000
    _, seconds = _timed(lambda: [keccak256(data) for _ in range(calls)])
    floor_us = seconds / calls * 1e6
    commitments, seconds = _timed(lambda: [commit(d) for d in docs])
    out: dict[str, Any] = {
        "commit_records_per_s": _rate(len(docs), seconds),
        "fields_per_record": fields,
        # Committing hashes every field and every tree node: 2n-1 keccak calls per record.
        "keccak_call_us": round(floor_us, 3),
        "commit_keccak_floor_per_s": _rate(1, floor_us * 1e-6 * (2 * fields - 1)),
    }
    disclosed = [c.disclose(lambda p: p.startswith(GOODS)) for c in commitments]
    ok, seconds = _timed(
        lambda: sum(
            d.compute_digest() == c.digest for d, c in zip(disclosed, commitments, strict=True)
        )
    )
    if ok != len(disclosed):
        raise SystemExit("integrity benchmark: a disclosed document did not verify")
    out["verify_integrity_per_s"] = _rate(len(disclosed), seconds)
    out.update(_bench_verifier(docs, max(1, int(10 * scale)), 1000))
    return out


def _bench_verifier(docs: list[dict[str, Any]], batches: int, per_batch: int) -> dict[str, Any]:
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider, Web3

    from clients.bindings import (
        BatchKind,
        Founder,
        deploy_contracts,
        member_id,
        transact,
    )
    from clients.verify import LedgerView, Verifier, case_anchor

    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
    deployer, nb = list(w3.eth.accounts)[:2]
    origin, platform_id = member_id("customs-3100"), member_id("platform-a")
    contracts = deploy_contracts(w3, deployer, [Founder(origin, 3100, nb)], threshold=1)
    now = int(w3.eth.get_block("latest")["timestamp"])
    disclosed: list[DisclosedDocument] = []
    for batch in range(batches):
        committed = [commit(docs[(batch * per_batch + i) % len(docs)]) for i in range(per_batch)]
        headers = [
            CaseHeader(random.randbytes(32), origin, platform_id, now, 3, c.digest, (1, 1, 1))
            for c in committed
        ]
        tree = MerkleTree(h.leaf() for h in headers)
        transact(
            contracts.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, per_batch), nb
        )
        for c, header in zip(committed, headers, strict=True):
            doc = c.disclose(lambda p: p.startswith(GOODS))
            disclosed.append(
                doc.with_anchor(case_anchor(header, tree.root, tree.proof(header.leaf())))
            )
    verifier = Verifier(LedgerView(contracts))
    results, seconds = _timed(lambda: verifier.verify_all(disclosed))
    failures = [r for r in results if not r.ok]
    if failures:
        raise SystemExit(f"verifier benchmark: {len(failures)} documents failed: {failures[0]}")
    return {
        "verify_documents_per_s": _rate(len(disclosed), seconds),
        "verify_documents": len(disclosed),
        "verify_batches": batches,
    }


def _gateway(args: argparse.Namespace) -> dict[str, Any]:
    from scripts.bench_gateway import GatewayBenchConfig, bench_gateway

    try:
        cfg = GatewayBenchConfig.scaled(
            args.scale,
            records=args.gateway_records,
            bulk=args.gateway_bulk,
            returns=args.gateway_returns,
            raw_txs=args.gateway_raw_txs,
            base_port=args.gateway_port,
        )
    except ValueError as exc:
        raise SystemExit(f"gateway bench: {exc}") from exc
    return bench_gateway(cfg)


def _anvil(args: argparse.Namespace) -> dict[str, Any]:
    from node_gateway.ledger.backends.anvil import AnvilError
    from scripts.bench_anvil import AnvilBenchConfig, bench_anvil

    try:
        cfg = AnvilBenchConfig.scaled(
            args.scale,
            rounds=args.anvil_rounds,
            raw_txs=args.anvil_raw_txs,
            returns=args.anvil_returns,
            base_port=args.gateway_port,
        )
    except ValueError as exc:
        raise SystemExit(f"anvil bench: {exc}") from exc
    try:
        return bench_anvil(cfg)
    except AnvilError as exc:  # no anvil installed (`make anvil`), or it did not start
        raise SystemExit(f"anvil bench: {exc}") from exc


GROUPS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "commitments": lambda args: bench_commitments(args.scale),
    "gateway": _gateway,
    "anvil": _anvil,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(GROUPS), help="run one group")
    parser.add_argument("--scale", type=float, default=1.0, help="work multiplier (0.1 = quick)")
    gw = parser.add_argument_group("gateway group (defaults scale with --scale)")
    gw.add_argument("--gateway-records", type=int, help="tax records to anchor (10,000)")
    gw.add_argument("--gateway-bulk", type=int, help="records per bulk POST (1,000)")
    gw.add_argument("--gateway-returns", type=int, help="returns taken through 5 steps (40)")
    gw.add_argument("--gateway-raw-txs", type=int, help="raw signed ledger transactions (200)")
    gw.add_argument("--gateway-port", type=int, help="first of three ports (default: free ones)")
    an = parser.add_argument_group("anvil group (defaults scale with --scale; --gateway-port)")
    an.add_argument("--anvil-rounds", type=int, help="raw bursts and lifecycle rounds (4)")
    an.add_argument("--anvil-raw-txs", type=int, help="raw transactions per burst (500)")
    an.add_argument("--anvil-returns", type=int, help="returns per lifecycle round (40)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    figures: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()}
    }
    for name, run in GROUPS.items():
        if args.only and name != args.only:
            continue
        print(f"running {name} …", file=sys.stderr)
        figures[name] = run(args)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
