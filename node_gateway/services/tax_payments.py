"""Tax payments of this origin area: the withholding agent's payment of a period's tax bills,
committed with one payment leaf per covered case and anchored in payment batches; what was
paid for a case and the proof a refund carries."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from clients.commitments.document import commit
from clients.commitments.ledger_leaves import payment_leaf
from clients.records import (
    DocType,
    RecordValidationError,
    canonical,
    parse_record,
)
from node_gateway.errors import (
    DuplicatePayment,
    NotAnchored,
    PaymentMismatch,
    UnknownInventoryList,
    WrongArea,
)
from node_gateway.pipeline.anchoring import add_to_batches
from node_gateway.services.context import AreaContext
from node_gateway.services.tax_records import (
    assessment,
    case_id_of,
    invalid_record,
    salts_json,
)
from node_gateway.store import Vault, batches, records, transaction


def _check_pays_assessment(
    ctx: AreaContext, conn: sqlite3.Connection, payment: dict[str, Any], i: int, case_id: str
) -> None:
    """A payment item pays exactly its list's assessed tax — the lines' sum, or the bill head's
    figure where it was declared (they may differ by rounding) — and comes from that list's
    withholding agent; a refund proves this payment, so a wrong one would refund a wrong sum."""
    item = payment["items"][i]
    assessed = assessment(ctx, conn, case_id)["record"]
    accepted = {Decimal(assessed["totals"]["taxTotal"])}
    if assessed.get("declaredTotals"):
        accepted.add(Decimal(assessed["declaredTotals"]["taxTotal"]))
    paid = Decimal(item["taxAmount"])
    if paid not in accepted:
        figures = " or ".join(f"{a:.2f}" for a in sorted(accepted))
        raise PaymentMismatch(
            f"/record/items/{i}/taxAmount: {item['invtNo']} pays {paid:.2f}, "
            f"its assessed tax is {figures}"
        )
    if payment["agentCode"] != assessed["agentCode"]:
        raise PaymentMismatch(
            f"/record/agentCode: {item['invtNo']} was withheld by agent {assessed['agentCode']}, "
            f"not {payment['agentCode']}"
        )


def ingest_payment(
    ctx: AreaContext, conn: sqlite3.Connection, data: dict[str, Any]
) -> dict[str, Any]:
    """Accept the withholding agent's payment of a period's tax bills: one vault record, one
    payment leaf per case (DESIGN §5), anchored in payment batches."""
    try:
        payment = canonical(parse_record(DocType.TAX_PAYMENT.value, data))
    except RecordValidationError as exc:
        errors = [
            {"path": f"/record{e.path}", "rule": e.rule, "message": e.message} for e in exc.errors
        ]
        raise invalid_record(errors) from exc
    if payment["customsCode"] != ctx.code:
        raise WrongArea(f"customs code {payment['customsCode']} is not this area's ({ctx.code})")
    cases: list[str] = []
    for i, item in enumerate(payment["items"]):
        cid = case_id_of(ctx, item["invtNo"])
        if records.tax_record(conn, cid) is None:
            raise UnknownInventoryList(
                f"/record/items/{i}/invtNo: no tax record of {item['invtNo']} in area {ctx.code}"
            )
        if records.payment_of(conn, cid) is not None or cid in cases:
            raise DuplicatePayment(f"/record/items/{i}: {item['invtNo']} is already paid")
        _check_pays_assessment(ctx, conn, payment, i, cid)
        cases.append(cid)
    c = commit(payment)
    digest = "0x" + c.digest.hex()
    record_id = f"tax_payment:{digest}"
    code = int(ctx.code)
    leaves = [
        (cid, "0x" + payment_leaf(bytes.fromhex(cid[2:]), code, c.digest).hex()) for cid in cases
    ]
    with transaction(conn):
        Vault(conn, ctx.keyring).put(
            record_id, DocType.TAX_PAYMENT.value, {"record": payment, "salts": salts_json(c.salts)}
        )
        placed = add_to_batches(
            conn, "payment", [(record_id, leaf) for _, leaf in leaves], ctx.settings.batch_size
        )
        records.insert_payments(
            conn,
            [
                {
                    "caseId": cid,
                    "recordId": record_id,
                    "paymentDigest": digest,
                    "leaf": leaf,
                    "batchId": batch,
                }
                for (cid, leaf), batch in zip(leaves, placed, strict=True)
            ],
        )
    ctx.wake.set()
    return {"paymentDigest": digest, "cases": cases, "batchIds": sorted(set(placed))}


def paid_tax(ctx: AreaContext, conn: sqlite3.Connection, case_id: str) -> Decimal | None:
    """The tax the withholding agent paid for a case (its payment item), None if unpaid."""
    paid = records.payment_of(conn, case_id)
    if paid is None:
        return None
    invt_no = assessment(ctx, conn, case_id)["record"]["invtNo"]
    payment = Vault(conn, ctx.keyring).get(paid["recordId"])["record"]
    return next(Decimal(i["taxAmount"]) for i in payment["items"] if i["invtNo"] == invt_no)


def payment_proof(conn: sqlite3.Connection, case_id: str) -> dict[str, Any] | None:
    """The anchored payment of a case as ReturnLedger.PaymentProof JSON, None if unpaid;
    raises NotAnchored while its batch is not on the ledger yet."""
    paid = records.payment_of(conn, case_id)
    if paid is None:
        return None
    where = batches.anchor_of(conn, leaf=paid["leaf"])
    if where is None or where["status"] != "anchored":
        raise NotAnchored(f"the tax payment of case {case_id} is not anchored yet")
    return {"root": where["root"], "paymentDigest": paid["paymentDigest"], "proof": where["proof"]}
