"""Audit at a gateway: a case's trail with each step's verification, and period reports.

The computing is clients.audit's (the same code the auditor's command line runs against its
own ledger node); this service feeds it the index's events and the amounts this area holds —
an origin area's own tax assessments — and verifies the documents it holds against the ledger.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from clients import audit
from clients.bindings import ARRIVAL_WINDOW, MemberKind
from clients.commitments.document import CommitmentError, DisclosedDocument
from node_gateway.errors import InvalidRecord, NotSupported
from node_gateway.ledger.backends.read_only_rpc import RpcLimits, methods_for
from node_gateway.services import views
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.services.rate_limit import RateLimiter
from node_gateway.store import Vault, batches, index, records

MAX_PERIOD_S = 366 * audit.DAY
VALUES_NOTE = (
    "Values are those of the cases whose tax assessment this area holds (its own origin "
    "cases); other areas' amounts are disclosed to auditors by their origin gateways."
)


def _labels(ctx: AreaContext, members: set[str]) -> dict[str, str]:
    """Readable names of member ids: customs areas by code, others by kind."""
    out = {}
    for m in members:
        if not m.startswith("0x") or len(m) != 66:
            continue
        kind, _, code = ctx.ledger.member(bytes.fromhex(m[2:]))
        if kind == MemberKind.CUSTOMS:
            out[m] = f"customs {code:04d}"
        elif kind != MemberKind.NONE:
            out[m] = f"{kind.name.lower()} {m[:10]}…"
    return out


def _verification(ctx: AreaContext, document: dict[str, Any]) -> dict[str, Any]:
    try:
        result = ctx.ledger.verifier().verify(DisclosedDocument.from_json(document))
    except (CommitmentError, KeyError, TypeError, ValueError) as exc:
        return {"status": "failed", "failed": ["integrity"], "detail": str(exc)}
    return {
        "status": "verified" if result.ok else "failed",
        "failed": [c.name for c in result.failed()],
        "docType": document.get("docType"),
    }


def trail(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, case_id: str
) -> dict[str, Any]:
    """Every ledger step of a case in order — who, when, tx hash, block, digest — each with
    the verification of the document this area holds for it (`not_held` when it holds none),
    plus the anchoring of its tax record when this area holds it."""
    case_id = case_id.lower()
    view = views.case_view(ctx, conn, principal, case_id)  # visibility and existence
    held: dict[str, dict[str, Any]] = {}
    if view["taxAssessment"] is not None:
        doc = view["taxAssessment"]["document"]
        held[str(doc.get("digest", "")).lower()] = doc
    for r in view["returns"]:
        for d in views.return_view(ctx, conn, principal, r["returnId"])["documents"]:
            held[d["digest"].lower()] = d["document"]
    anchoring: list[dict[str, Any]] = []
    tax = records.tax_record(conn, case_id)
    if tax is not None:
        where = batches.anchor_of(conn, tax["recordId"])
        if where and where["root"]:
            anchoring = index.root_anchoring(conn, int(ctx.code), where["root"])
    steps = index.events_of(conn, case_id=case_id)
    checked: dict[str, dict[str, Any]] = {}
    for step in steps:
        field = audit.STEP_DIGESTS.get(step["event"])
        digest = str(step["args"].get(field, "")).lower() if field else ""
        if not digest:
            continue
        if digest not in checked:
            doc = held.get(digest)
            checked[digest] = {"status": "not_held"} if doc is None else _verification(ctx, doc)
        step["verification"] = checked[digest]
    members = {
        str(e["args"].get(k)) for e in steps for k in ("originArea", "platform", "returnCentre")
    }
    timeline = audit.timeline(steps, _labels(ctx, members), anchoring)
    for item in timeline:
        item.verification = checked.get((item.digest or "").lower())
    return {
        "caseId": case_id,
        "anchoring": [
            {"block": e["block"], "txHash": e["txHash"], "event": e["event"]} for e in anchoring
        ]
        or None,
        "steps": steps,
        "timeline": [item.to_json() for item in timeline],
        "returns": view["returns"],
    }


def report(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    from_ts: int,
    to_ts: int,
    area: str | None = None,
    recognition_days: int = audit.RECOGNITION_DAYS,
) -> dict[str, Any]:
    """Totals, report card, settlement times and anomalies of the returns applied for in
    [from_ts, to_ts), from this gateway's index and the amounts this area holds."""
    if to_ts <= from_ts:
        raise InvalidRecord("`to` must be after `from`")
    if to_ts - from_ts > MAX_PERIOD_S:
        raise InvalidRecord("a report covers at most 366 days")
    events = index.events_of_period(conn, from_ts, to_ts, int(area) if area else None)
    vault = Vault(conn, ctx.keyring)
    values: dict[str, dict[int, audit.LineValue]] = {}
    codes: dict[str, str] = {}
    for ev in events:
        if ev["event"] != "CaseOpened":
            continue
        case_id = ev["args"]["caseId"]
        case = index.case_row(conn, case_id)
        if case is not None:
            codes[str(ev["args"]["originArea"])] = case["originCode"]
        tax = records.tax_record(conn, case_id)
        if tax is not None:
            values[case_id] = audit.values_from_record(vault.get(tax["recordId"])["record"])
    window_days = max(1, ctx.ledger.parameter(ARRIVAL_WINDOW) // audit.DAY)
    out = audit.report(
        events,
        values,
        codes,
        from_ts,
        to_ts,
        now=ctx.ledger.now(),
        area=area,
        arrival_window_days=window_days,
        recognition_days=recognition_days,
    )
    return {**out, "ledgerBlock": index.checkpoint(conn), "valuesNote": VALUES_NOTE}


def ledger_info(ctx: AreaContext) -> dict[str, Any]:
    """What a member's own client needs to read the ledger itself: chain id, contract
    addresses, head, and this gateway's read-only JSON-RPC path (embedded ledger only)."""
    return {
        "chainId": ctx.ledger.chain_id,
        "addresses": ctx.ledger.contracts.addresses(),
        "head": ctx.ledger.head_block(),
        "rpc": "/v1/ledger/rpc" if ctx.ledger.read_only_rpc() is not None else None,
    }


def ledger_rpc(
    ctx: AreaContext,
    payload: Any,
    limiter: RateLimiter | None = None,
    key_id: str = "",
    role: str = "",
) -> Any:
    """Answer a read-only JSON-RPC request (or batch) from the embedded ledger, within the
    settings' limits and the methods `role` may call (ledger.rpc.methods_for: a platform gets
    the chain's coordinates only). A batch spends one more of `key_id`'s tokens per contract
    call or log query after the first (the request's own token was spent by the route's
    `Allow`), before any of it runs."""
    s = ctx.settings
    limits = RpcLimits(s.rpc_call_gas_cap, s.rpc_max_batch, s.rpc_time_budget_s)
    rpc = ctx.ledger.read_only_rpc(limits)
    if rpc is None:
        raise NotSupported("this gateway runs on a ledger node: read it at the node's own URL")

    def admit(weight: int) -> None:
        if limiter is not None and weight > 1:
            limiter.admit(key_id, cost=weight - 1)

    return rpc.handle(payload, admit, methods_for(role))
