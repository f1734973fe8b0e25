"""The crash and outage harness: a workload that keeps the gateways busy the way customs systems
would (bulk tax-record ingest at an origin, returns applied, arrived and inspected at the centre,
recognised and settled by the origin on its own), a crash plan that SIGKILLs gateway processes at
chosen moments, and an audit that compares everything the API accepted with the stores and the
ledger afterwards.

Clients behave as the SDK's users should: every write carries an Idempotency-Key, and a write
whose answer was lost (the gateway died, the node was down) is retried with the *same* key until
it is answered. A write counts as accepted once a 2xx answer came back.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from clients.applications import application_body
from clients.bindings import attach_contracts, rpc_web3
from clients.commitments.merkle import verify_proof
from clients.errors import GatewayUnreachable, ServiceUnavailable
from clients.http import GatewayClient, new_idempotency_key
from clients.records import canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_return_application,
)
from clients.verify import LedgerView
from node_gateway import failpoints
from node_gateway.deploy.manifest import Manifest
from tests.utils.anvil import PLATFORM, key_of
from tests.utils.anvil_network import AnvilNetwork, wait_for
from tests.utils.gateway import DAY, tax_assessment, tax_item

T = TypeVar("T")
CENTRE, ORIGIN = "2900", "3100"
AREAS = {CENTRE: ("return_centre", "officer"), ORIGIN: ("origin", "automatic")}
TRANSIENT = (GatewayUnreachable, ServiceUnavailable)
# The events each step of a return leaves on the ledger, exactly once.
STEP_EVENTS = {
    "apply": "ReturnApplied",
    "arrival": "ArrivalRecorded",
    "inspection": "InspectionRecorded",
    "recognition": "ReturnRecognized",
    "settlement": "LinesSettled",
}


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


class Stopped(Exception):
    """The workload was told to stop while waiting."""


# ---------------------------------------------------------------------- workload


@dataclass
class Workload:
    """Bulk ingest and returns from two client threads, retrying through crashes and outages."""

    net: AnvilNetwork
    records_per_request: int = 10
    pause_s: float = 0.2
    accepted_cases: dict[str, str] = field(default_factory=dict)  # caseId -> invtNo
    steps: dict[str, list[str]] = field(default_factory=dict)  # returnId -> accepted steps
    retried: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _used: set[str] = field(default_factory=set)
    _assessments: dict[str, Any] = field(default_factory=dict)  # invtNo -> TaxAssessment

    def start(self) -> None:
        """Start the ingest and the returns threads."""
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._guard, args=(self._ingest,), daemon=True),
            threading.Thread(target=self._guard, args=(self._returns,), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Stop both threads (a write in flight is finished or abandoned unanswered)."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=180)
            assert not t.is_alive(), "a workload thread did not stop"

    def counts(self) -> dict[str, int]:
        """Accepted records and steps so far."""
        with self._lock:
            return {
                "records": len(self.accepted_cases),
                "steps": sum(len(s) for s in self.steps.values()),
                "returns": len(self.steps),
            }

    # ------------------------------------------------------------ plumbing

    def _guard(self, body: Callable[[], None]) -> None:
        try:
            body()
        except Stopped:
            pass
        except Exception as exc:  # reported by the test, never swallowed
            self.errors.append(f"{body.__name__}: {type(exc).__name__}: {exc}")

    def _retry(self, call: Callable[[], T], what: str, timeout: float = 180) -> T:
        """`call` until it answers; transient failures (gateway or node away) retried."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return call()
            except TRANSIENT:
                with self._lock:
                    self.retried += 1
                if time.monotonic() > deadline:
                    raise
                if self._stop.is_set() and what != "write":
                    raise Stopped() from None
                time.sleep(0.3)

    def _write(self, call: Callable[[str], T]) -> T:
        """A write under one Idempotency-Key, repeated with that key until answered."""
        key = new_idempotency_key()
        return self._retry(lambda: call(key), "write")

    # ------------------------------------------------------------ the two clients

    def _ingest(self) -> None:
        with self.net.client(ORIGIN, "system", retries=1, timeout=30) as system:
            while not self._stop.is_set():
                released = time.time() - DAY
                items = [
                    tax_assessment(ORIGIN, int(released)) for _ in range(self.records_per_request)
                ]
                body = [tax_item(a, PLATFORM[0]) for a in items]
                answer = self._write(partial(system.submit_tax_records, body))
                accepted = answer["accepted"]
                assert len(accepted) == len(items), answer
                with self._lock:
                    for a, row in zip(items, accepted, strict=True):
                        self._assessments[a.invt_no] = a
                        self.accepted_cases[row["caseId"]] = a.invt_no
                time.sleep(self.pause_s)

    def _returns(self) -> None:
        platform_key = key_of(PLATFORM[0])
        with (
            self.net.client(ORIGIN, "platform", retries=1) as origin,
            self.net.client(CENTRE, "platform", retries=1) as centre,
            self.net.client(CENTRE, "officer", retries=1) as officer,
        ):
            centre_member = self._retry(centre.whoami, "read")["gateway"]["memberId"]
            while not self._stop.is_set():
                case = self._next_anchored_case(origin)
                if case is None:
                    time.sleep(0.3)
                    continue
                self._one_return(case, origin, centre, officer, centre_member, platform_key)

    def _next_anchored_case(self, origin: GatewayClient) -> dict[str, Any] | None:
        with self._lock:
            candidates = [c for c in self.accepted_cases if c not in self._used]
        for case_id in candidates[:5]:
            header = self._retry(partial(origin.case_header, case_id), "read")
            if header["anchorStatus"] == "anchored":
                self._used.add(case_id)
                return header
        return None

    def _one_return(
        self,
        case: dict[str, Any],
        origin: GatewayClient,
        centre: GatewayClient,
        officer: GatewayClient,
        centre_member: str,
        platform_key: bytes,
    ) -> None:
        with self._lock:
            assessment = self._assessments[self.accepted_cases[case["header"]["caseId"]]]
        record = sample_return_application(assessment, gnums=[1, 2]).model_copy(
            update={"applied_time": _when(time.time())}
        )
        body = application_body(case, record, centre_member, platform_key, int(time.time()) + DAY)
        rid = str(self._write(lambda key: centre.apply(body, key))["returnId"])
        self._accept(rid, "apply")
        self._wait_state(centre, rid, "applied")
        arrival = sample_arrival_record(record, rid).model_copy(
            update={"arrived_time": _when(time.time())}
        )
        self._write(lambda key: officer.step(rid, "arrival", canonical(arrival), key))
        self._accept(rid, "arrival")
        self._wait_state(centre, rid, "arrived")
        report = sample_inspection_report(rid, [1, 2], accepted=[1])
        self._write(lambda key: officer.step(rid, "inspection", canonical(report), key))
        self._accept(rid, "inspection")

    def _accept(self, rid: str, step: str) -> None:
        with self._lock:
            self.steps.setdefault(rid, []).append(step)

    def _wait_state(self, client: GatewayClient, rid: str, state: str) -> None:
        deadline = time.monotonic() + 180
        while True:
            if self._stop.is_set():
                raise Stopped()
            try:
                view = client.get_return(rid)
                if (view.get("ledger") or {}).get("state") == state:
                    return
            except TRANSIENT:
                pass
            except Exception as exc:
                if getattr(exc, "status", None) != 404:  # 404: not indexed yet
                    raise
            assert time.monotonic() < deadline, f"return {rid} never reached {state}"
            time.sleep(0.2)


def report(name: str, figures: dict[str, Any]) -> None:
    """Write a soak run's figures where scripts/soak.py collects them (CROSSRETURN_SOAK_REPORT)."""
    where = os.environ.get("CROSSRETURN_SOAK_REPORT")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / f"{name}.json").write_text(json.dumps(figures, indent=2))


# ---------------------------------------------------------------------- crash plan


@dataclass(frozen=True)
class Kill:
    """One planned kill: of `code`'s gateway, at failpoint `point` reached for the `nth` time
    after its (re)start, or from outside (`point` None) after `after_s` seconds."""

    code: str
    point: str | None = None
    nth: int = 1
    after_s: float = 1.0

    def describe(self) -> str:
        """How this kill happens, for the report."""
        return f"{self.code}@{self.point}#{self.nth}" if self.point else f"{self.code}@external"


def plan(kills: int, seed: int) -> list[Kill]:
    """`kills` kills cycling through every failpoint and an external SIGKILL at a random
    moment, the victim alternating between the origin's and the centre's gateway (an odd
    number of moments: over two cycles each moment hits both), except batch sealing, which
    only the origin does. The n-th passage of a failpoint and the external delay are random."""
    rng = random.Random(seed)
    moments: list[str | None] = [
        failpoints.TX_SENT,
        failpoints.INDEXING,
        None,
        failpoints.BATCH_SEAL,
        failpoints.VAULT_WRITE,
    ]
    out = []
    for i in range(kills):
        point = moments[i % len(moments)]
        code = ORIGIN if point == failpoints.BATCH_SEAL else (ORIGIN, CENTRE)[i % 2]
        out.append(Kill(code, point, rng.randint(1, 4), rng.uniform(0.5, 4.0)))
    return out


@dataclass
class CrashRun:
    """What a crash plan did."""

    kills: int = 0
    by_moment: Counter[str] = field(default_factory=Counter)
    restart_s: list[float] = field(default_factory=list)


def run_plan(net: AnvilNetwork, kills: list[Kill], timeout_per_kill: float = 120) -> CrashRun:
    """Carry out `kills` in order. A failpoint kill restarts its gateway armed and waits for it to
    die there; an external kill SIGKILLs it after a while. Each victim is restarted unarmed and
    must be ready again before the next kill."""
    run = CrashRun()
    for kill in kills:
        if kill.point is not None:
            net.stop(kill.code)  # a clean stop, then a start armed at the failpoint
            proc = net.start(kill.code, env={failpoints.ENV: f"{kill.point}:{kill.nth}"})
            deadline = time.monotonic() + timeout_per_kill
            while proc.poll() is None:
                assert time.monotonic() < deadline, f"{kill.describe()} was never reached"
                time.sleep(0.05)
            assert proc.returncode == -9, f"{kill.describe()}: exit {proc.returncode}, not SIGKILL"
        else:
            time.sleep(kill.after_s)
            assert net.procs[kill.code].poll() is None, f"gateway {kill.code} died by itself"
            net.kill(kill.code)
        run.kills += 1
        run.by_moment[kill.point or "external"] += 1
        started = time.monotonic()
        net.start(kill.code)
        net.wait_ready(kill.code, timeout=120)
        run.restart_s.append(time.monotonic() - started)
    return run


# ---------------------------------------------------------------------- audit


def quiesce(net: AnvilNetwork, workload: Workload, timeout: float = 240) -> None:
    """Wait until every gateway has sent its outbox, anchored its batches, indexed the head, and
    every inspected return is settled by the origin."""
    w3 = rpc_web3(net.anvil.url)
    inspected = [rid for rid, s in workload.steps.items() if "inspection" in s]

    def settled() -> bool:
        for code in net.areas:
            with _read(net, code) as db:
                open_rows = db.execute(
                    "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sent')"
                ).fetchone()[0]
                unanchored = db.execute(
                    "SELECT count(*) FROM batches WHERE status <> 'anchored' AND leaf_count > 0"
                ).fetchone()[0]
                checkpoint = db.execute(
                    "SELECT coalesce(max(block_number), 0) FROM index_checkpoint"
                ).fetchone()[0]
            if open_rows or unanchored or checkpoint < int(w3.eth.block_number):
                return False
        with _read(net, ORIGIN) as db:
            done = {
                r[0]
                for r in db.execute("SELECT return_id FROM returns_view WHERE state = 'settled'")
            }
        return set(inspected) <= done

    wait_for(settled, "the gateways to catch up", timeout)


@contextmanager
def _read(net: AnvilNetwork, code: str) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a gateway's database (it may be running: WAL readers are fine)."""
    conn = sqlite3.connect(f"file:{net.database(code)}?mode=ro", uri=True, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


@dataclass
class Audit:
    """Accepted writes compared with the vault, the outbox, the index and the ledger."""

    accepted_records: int = 0
    accepted_steps: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    nonce_problems: list[str] = field(default_factory=list)
    index_problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures a soak run prints."""
        return {
            "acceptedRecords": self.accepted_records,
            "acceptedSteps": self.accepted_steps,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "nonceProblems": len(self.nonce_problems),
            "indexProblems": len(self.index_problems),
        }

    def clean(self) -> bool:
        """Nothing lost, nothing twice, no nonce gap, every index equal to the ledger."""
        return not (self.lost or self.duplicated or self.nonce_problems or self.index_problems)


def assert_clean(result: Audit) -> None:
    """Fail naming what the audit found: something lost, twice, a nonce gap, a stale index."""
    assert result.accepted_records > 0 and result.accepted_steps > 0, result.summary()
    assert result.lost == [], result.lost[:10]
    assert result.duplicated == [], result.duplicated[:10]
    assert result.nonce_problems == [], result.nonce_problems
    assert result.index_problems == [], result.index_problems


def audit(net: AnvilNetwork, workload: Workload) -> Audit:
    """Check every accepted write against the stores and the ledger (gateways quiescent)."""
    w3 = rpc_web3(net.anvil.url)
    events, upto = ledger_snapshot(net)
    result = Audit(
        accepted_records=len(workload.accepted_cases),
        accepted_steps=sum(len(s) for s in workload.steps.values()),
    )
    _audit_records(net, workload, events, result)
    _audit_steps(workload, events, result)
    for code in net.areas:
        _audit_nonces(net, code, w3, result)
        audit_index(net, code, events, result, upto)
    return result


def ledger_events(net: AnvilNetwork) -> list[dict[str, Any]]:
    """Every CrossReturn event on the node, read by the auditor's own ledger view."""
    return ledger_snapshot(net)[0]


def ledger_snapshot(net: AnvilNetwork) -> tuple[list[dict[str, Any]], int]:
    """Every CrossReturn event up to the block the auditor's ledger view pinned, and that
    block: gateways may go on indexing newer blocks (retries, held disclosures)."""
    manifest = Manifest.load(net.manifest)
    view = LedgerView(attach_contracts(rpc_web3(net.anvil.url), manifest.addresses))
    return view.events(), view.block


def _audit_records(
    net: AnvilNetwork, workload: Workload, events: list[dict[str, Any]], result: Audit
) -> None:
    anchored = Counter(e["args"]["root"] for e in events if e["event"] == "RootAnchored")
    result.duplicated += [f"root {r} anchored {n} times" for r, n in anchored.items() if n > 1]
    with _read(net, ORIGIN) as db:
        for case_id, invt_no in workload.accepted_cases.items():
            row = db.execute(
                "SELECT t.record_id, t.leaf, v.record_id FROM tax_records t"
                " LEFT JOIN vault_records v ON v.record_id = t.record_id WHERE t.case_id = ?",
                (case_id,),
            ).fetchone()
            if row is None or row[2] is None:
                result.lost.append(f"record {invt_no} ({case_id}) not in the vault")
                continue
            places = db.execute(
                "SELECT b.root, b.status, l.proof FROM batch_leaves l"
                " JOIN batches b ON b.batch_id = l.batch_id WHERE l.leaf = ?",
                (row[1],),
            ).fetchall()
            if len(places) != 1:
                result.duplicated.append(f"record {invt_no} in {len(places)} batches")
                continue
            root, status, proof = places[0]
            if status != "anchored" or anchored[root] == 0:
                result.lost.append(f"record {invt_no}: batch {status}, root not on the ledger")
            elif not verify_proof(
                bytes.fromhex(root[2:]),
                bytes.fromhex(row[1][2:]),
                [bytes.fromhex(p[2:]) for p in json.loads(proof)],
            ):
                result.lost.append(f"record {invt_no}: its proof does not reach root {root}")
        ours = {r[0] for r in db.execute("SELECT root FROM batches WHERE status = 'anchored'")}
    origin_code = int(ORIGIN)
    on_ledger = {
        e["args"]["root"]
        for e in events
        if e["event"] == "RootAnchored" and int(e["args"]["areaCode"]) == origin_code
    }
    result.duplicated += [
        f"root {r} on the ledger, unknown to the origin" for r in on_ledger - ours
    ]


def _audit_steps(workload: Workload, events: list[dict[str, Any]], result: Audit) -> None:
    per_return: dict[str, Counter[str]] = {}
    for e in events:
        rid = e["args"].get("returnId")
        if rid is not None:
            per_return.setdefault(rid, Counter())[e["event"]] += 1
    for rid, steps in workload.steps.items():
        seen = per_return.get(rid, Counter())
        expected = list(steps)
        if "inspection" in steps:  # the origin recognises and settles by itself
            expected += ["recognition", "settlement"]
        for step in expected:
            n = seen[STEP_EVENTS[step]]
            if n == 0:
                result.lost.append(f"return {rid}: {step} not on the ledger")
            elif n > 1:
                result.duplicated.append(f"return {rid}: {step} {n} times on the ledger")
    for rid, seen in per_return.items():
        if rid not in workload.steps and seen["ReturnApplied"]:
            result.duplicated.append(f"return {rid} on the ledger, never accepted")


def _audit_nonces(net: AnvilNetwork, code: str, w3: Any, result: Audit) -> None:
    """Every transaction of the area's account is one outbox row (or its profile update at
    start-up), at consecutive nonces; none twice; nothing left in flight."""
    with _read(net, code) as db:
        rows = db.execute(
            "SELECT account, nonce, tx_hash, kind, payload, status FROM outbox"
            " WHERE nonce IS NOT NULL"
        ).fetchall()
        stuck = db.execute(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sent')"
        ).fetchone()[0]
    if stuck:
        result.nonce_problems.append(f"{code}: {stuck} outbox row(s) still in flight")
    if not rows:
        result.nonce_problems.append(f"{code}: no transaction sent")
        return
    account = rows[0][0]
    chain_count = int(w3.eth.get_transaction_count(account))
    by_nonce = {int(r[1]): r for r in rows}
    missing = [n for n in range(chain_count) if n not in by_nonce]
    # Nonces the outbox does not hold must be the area's founding votes (signed by its key
    # before its gateway ever ran) or its profile updates at start-up: Consortium calls.
    mined = _txs_of(w3, account) if missing else {}
    first = min(by_nonce)
    for n in missing:
        tx = mined.get(n)
        if tx is None or not _consortium_call(net, w3, tx, founding=n < first):
            result.nonce_problems.append(f"{code}: nonce {n} is not an outbox row")
    beyond = [n for n in by_nonce if n >= chain_count]
    result.nonce_problems += [f"{code}: outbox nonce {n} never mined" for n in beyond]
    for r in rows:
        if r[5] == "confirmed" and w3.eth.get_transaction_receipt(r[2]) is None:
            result.nonce_problems.append(f"{code}: confirmed row at nonce {r[1]} not on chain")
    # A disclosure is logged per answer: a peer that asks twice (its first answer lost in a
    # crash) was shown the fields twice, and both showings belong in the log.
    payloads = Counter((r[3], r[4]) for r in rows if r[3] not in ("nonce_filler", "disclose"))
    result.duplicated += [
        f"{code}: {kind} sent {n} times" for (kind, _), n in payloads.items() if n > 1
    ]


def _txs_of(w3: Any, account: str) -> dict[int, Any]:
    """Every mined transaction of `account`, by nonce."""
    found: dict[int, Any] = {}
    for number in range(int(w3.eth.block_number) + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if str(tx["from"]).lower() == account.lower():
                found[int(tx["nonce"])] = tx
    return found


def _consortium_call(net: AnvilNetwork, w3: Any, tx: Any, founding: bool) -> bool:
    """Whether `tx` is a Consortium call the gateway makes outside its outbox: a profile
    update; or, before its first outbox row, any founding call."""
    manifest = Manifest.load(net.manifest)
    consortium = attach_contracts(w3, manifest.addresses).consortium
    if str(tx["to"]).lower() != str(consortium.address).lower():
        return False
    fn, _ = consortium.decode_function_input(tx["input"])
    return founding or bool(fn.fn_name == "updateProfile")


def audit_index(
    net: AnvilNetwork, code: str, events: list[dict[str, Any]], result: Audit, upto: int
) -> None:
    """The gateway's index equals the ledger's events up to block `upto` (the ledger snapshot
    `events` was read at; a running gateway may have indexed newer blocks since), and it is not
    ahead of the ledger's head (blocks the node lost on a restart)."""
    on_ledger = {(e["block"], e["logIndex"], e["txHash"], e["event"]) for e in events}
    with _read(net, code) as db:
        indexed = {
            (int(r[0]), int(r[1]), r[2], r[3])
            for r in db.execute(
                "SELECT block_number, log_index, tx_hash, event FROM ledger_index"
                " WHERE block_number <= ?",
                (upto,),
            )
        }
        row = db.execute(
            "SELECT block_number FROM index_checkpoint WHERE name = 'indexer'"
        ).fetchone()
    checkpoint = -1 if row is None else int(row[0])
    head = int(rpc_web3(net.anvil.url).eth.block_number)  # read after the index: it only grows
    if checkpoint > head:
        result.index_problems.append(f"{code}: index at block {checkpoint}, ledger head {head}")
    if indexed != on_ledger:
        result.index_problems.append(
            f"{code}: index has {len(indexed - on_ledger)} event(s) the ledger has not, "
            f"misses {len(on_ledger - indexed)}"
        )
