"""The origin's settlement of accepted lines: tax not levied (or refunded), with amounts that
are the pro-rata share of the assessed tax, never refunding more than was paid."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clients.bindings import ReturnState
from clients.records import DocType, TaxAssessment, canonical, settlement_for
from clients.records.lines import lines_of, mask_and_pieces
from node_gateway.errors import (
    LinesMismatch,
    RefundExceedsPayment,
    SettlementKindMismatch,
    SettlementMismatch,
)
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.services.returns.write import hex_of, step_record, write
from node_gateway.services.tax_payments import paid_tax, payment_proof
from node_gateway.services.tax_records import assessment
from node_gateway.store import Vault, index, outbox, records

MONEY_FIELDS = ("customsDuty", "vat", "consumptionTax", "amount")


def check_refund(ctx: AreaContext, conn: sqlite3.Connection, case_id: str, total: Decimal) -> None:
    """Refuse a refund of `total` that would take the case's refunds (on the ledger or on their
    way) beyond the tax its withholding agent paid."""
    paid = paid_tax(ctx, conn, case_id)
    if paid is None:
        return  # settle_kind_mismatch says why
    vault, before = Vault(conn, ctx.keyring), Decimal("0.00")
    for d in records.documents(conn, case_id=case_id):
        if d["docType"] != DocType.SETTLEMENT.value:
            continue
        op = outbox.get(conn, d["operation"]) if d["operation"] is not None else None
        if op is not None and op.status == "failed":
            continue  # never reached the ledger
        record = vault.get(d["recordId"])["record"]
        if record["kind"] == "refunded":
            before += Decimal(str(record["total"]))
    if before + total > paid:
        raise RefundExceedsPayment(
            f"refunding {total:.2f} after {before:.2f} would exceed the {paid:.2f} paid",
            paid=f"{paid:.2f}",
            refunded=f"{before:.2f}",
        )


def amount_mismatches(doc: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Where a settlement record's amounts differ from the expected one's (JSON pointers with
    both figures); both canonical, lines in the same gnum order."""
    wrong: list[str] = []

    def differ(path: str, mine: Any, theirs: Any) -> None:
        if Decimal(str(mine)) != Decimal(str(theirs)):
            wrong.append(f"{path} is {mine}, the pro-rata share is {theirs}")

    by_gnum = {line["gnum"]: line for line in expected["lines"]}
    for i, line in enumerate(doc["lines"]):
        for name in MONEY_FIELDS:
            differ(f"/lines/{i}/{name}", line[name], by_gnum[line["gnum"]][name])
    differ("/total", doc["total"], expected["total"])
    differ("/quota/amount", doc["quota"]["amount"], expected["quota"]["amount"])
    return wrong


def settled_before(conn: sqlite3.Connection, case_id: str) -> dict[int, int]:
    """{gnum: pieces} of a case settled by earlier settlements: on the ledger (indexed) and on
    their way there from this gateway's outbox. A part's amounts depend on them (pro_rata)."""
    total = index.case_settled_pieces(conn, case_id)
    subjects = [r["returnId"] for r in index.returns_of_case(conn, case_id)]
    for payload in outbox.open_payloads(
        conn, (OutboxKind.SETTLE_NOT_LEVIED, OutboxKind.SETTLE_REFUNDED), subjects=subjects
    ):
        lines = lines_of(int(payload["lineMask"]))
        for gnum, n in zip(lines, payload["pieces"], strict=True):
            total[gnum] = total.get(gnum, 0) + int(n)
    return total


def settle(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    return_id: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """The origin settles accepted lines: tax not levied (or refunded), quota adjusted."""
    r, doc = step_record(
        ctx, conn, return_id, {ReturnState.RECOGNIZED}, "origin", DocType.SETTLEMENT, record
    )
    pieces = {int(line["gnum"]): int(line["qty"]) for line in doc["lines"]}
    for gnum, n in sorted(pieces.items()):
        left = r.accepted_pieces.get(gnum, 0) - r.settled_pieces.get(gnum, 0)
        if n > left:
            raise LinesMismatch(
                f"line {gnum}: {n} pieces to settle, {left} accepted and not yet settled",
                gnum=gnum,
            )
    expected = settlement_for(
        TaxAssessment.model_validate(assessment(ctx, conn, hex_of(r.case_id))["record"]),
        hex_of(r.return_id),
        pieces,
        doc["kind"],
        datetime.now(UTC),  # only the amounts are compared
        settled_before(conn, hex_of(r.case_id)),
    )
    wrong = amount_mismatches(doc, canonical(expected))
    if wrong:
        raise SettlementMismatch(
            "the settlement's amounts are not the pro-rata share of the assessed tax: "
            + "; ".join(wrong[:3]),
            errors=[{"path": p, "rule": "settlement_amount", "message": p} for p in wrong],
        )
    mask, counts = mask_and_pieces(pieces)
    if doc["kind"] == "refunded":
        check_refund(ctx, conn, hex_of(r.case_id), Decimal(str(doc["total"])))
    paid = payment_proof(conn, hex_of(r.case_id))
    if doc["kind"] == "refunded" and paid is None:
        raise SettlementKindMismatch("no tax payment of this case is recorded: settle not_levied")
    if doc["kind"] == "not_levied" and paid is not None:
        raise SettlementKindMismatch("the tax of this case was paid: settle refunded")
    fields: dict[str, Any] = {
        "lineMask": mask,
        "pieces": list(counts),
        "quotaAdjusted": doc.get("quota") is not None,
    }
    if paid is None:
        return write(ctx, conn, principal, r, doc, OutboxKind.SETTLE_NOT_LEVIED, fields)
    return write(
        ctx, conn, principal, r, doc, OutboxKind.SETTLE_REFUNDED, {**fields, "payment": paid}
    )
