"""Tax records at the origin area: validate, commit with fresh salts, vault, batch.

One call takes one record or a bulk of them and is all-or-nothing: every record is validated
(errors name the record's index and the field path) before anything is written; then the vault
rows, the tax-record rows (public case headers) and the batch leaves are written in the
caller's transaction. The record's case header and Merkle proof are served once its batch is
sealed; the batch root reaches the ledger through the outbox. A batch whose anchoring the
contract refused is rebuilt here (`rebuild_refused`): its records are committed again under
fresh salts, each into a new vault record, and anchored in a new batch.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from clients.bindings import MemberKind, MemberStatus, member_id
from clients.commitments.document import Commitment, CommitmentError, commit
from clients.commitments.ids import case_id as make_case_id
from clients.commitments.ledger_leaves import CaseHeader, payment_leaf
from clients.errors import LedgerError
from clients.records import (
    DocType,
    RecordValidationError,
    canonical,
    declared_pieces,
    parse_record,
)
from clients.verify import case_anchor
from node_gateway.errors import (
    DuplicatePayment,
    DuplicateRecord,
    InvalidRecord,
    NotAnchored,
    NotFound,
    PaymentMismatch,
    TooManyRecords,
    UnknownInventoryList,
    UnknownMember,
    WrongArea,
)
from node_gateway.pipeline.anchoring import add_to_batches, rebuild, refused_anchorings
from node_gateway.services.context import AreaContext
from node_gateway.store import Vault, batches, records, transaction

TAX_DOC = DocType.TAX_ASSESSMENT.value


# Absent and not visible answer alike, without the id asked about (DESIGN §4: a pseudonymous
# id stays with the parties of its case).
NO_TAX_RECORD = "no tax record of such a case here for this key"
NO_INVENTORY_LIST = "no such inventory list here for this key"


def vault_id(case_id: str) -> str:
    """The vault record id of a case's tax assessment."""
    return f"tax_assessment:{case_id}"


def salts_json(salts: dict[str, bytes]) -> dict[str, str]:
    """Salts as stored in the vault (hex)."""
    return {path: salt.hex() for path, salt in salts.items()}


def _platform_ok(ctx: AreaContext, label: str, cache: dict[str, bool]) -> bool:
    if label not in cache:
        try:
            member = member_id(label)
        except ValueError:
            cache[label] = False
            return False
        try:
            kind, status, _ = ctx.ledger.member(member)
        except LedgerError:
            # The node is down: go by the last reading, so released lists are still accepted
            # into the outbox; a platform never read before cannot be checked (503).
            known = ctx.ledger.last_known_member(member)
            if known is None:
                raise
            kind, status, _ = known
        cache[label] = kind == MemberKind.PLATFORM and status == MemberStatus.ACTIVE
    return cache[label]


def invalid_record(errors: list[dict[str, Any]]) -> InvalidRecord:
    """The InvalidRecord for some record problems (`{path, rule, message}`), the first few
    in its detail."""
    shown = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:3])
    return InvalidRecord(f"{len(errors)} problem(s): {shown}", errors=errors)


def ingest(
    ctx: AreaContext, conn: sqlite3.Connection, items: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Accept tax assessments `[{"platform": label, "record": {...}}]` of this area."""
    if len(items) > ctx.settings.max_bulk_records:
        raise TooManyRecords(
            f"{len(items)} records; at most {ctx.settings.max_bulk_records} per request"
        )
    prepared = _prepare(ctx, items)
    existing = records.existing_cases(conn, [p["caseId"] for p in prepared])
    if existing:
        first = sorted(existing)[0]
        raise DuplicateRecord(
            f"{len(existing)} record(s) already held, e.g. case {first}", caseId=first
        )
    rows = [_committed_row(ctx, p) for p in prepared]
    _store_assessments(ctx, conn, rows)
    ctx.wake.set()
    return [
        {
            "caseId": r["caseId"],
            "recordDigest": r["recordDigest"],
            "leaf": r["leaf"],
            "batchId": r["batchId"],
        }
        for r in rows
    ]


def _latest_release(ctx: AreaContext) -> int:
    """The latest release time a new record may have. A release after the batch's anchoring
    could never open a case (ReleaseAfterAnchoring); the batch is anchored at or after both
    clocks' "now"."""
    try:
        return max(ctx.ledger.now(), int(time.time()))
    except LedgerError:  # the node is down: its time is the wall clock's, near enough
        return int(time.time())


def _prepare(ctx: AreaContext, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item validated (record problems gathered, naming the item's index): its canonical
    record, case id, platform and parsed record."""
    errors: list[dict[str, Any]] = []
    prepared: list[dict[str, Any]] = []
    platforms: dict[str, bool] = {}
    seen: dict[str, int] = {}
    latest = _latest_release(ctx)
    for i, item in enumerate(items):
        where = f"/records/{i}"
        try:
            record = parse_record(TAX_DOC, item["record"])
        except RecordValidationError as exc:
            errors += [
                {"path": f"{where}/record{e.path}", "rule": e.rule, "message": e.message}
                for e in exc.errors
            ]
            continue
        doc = canonical(record)
        released_at = int(record.release_time.timestamp())  # type: ignore[attr-defined]
        if released_at > latest:
            errors.append(
                {
                    "path": f"{where}/record/releaseTime",
                    "rule": "release_in_future",
                    "message": f"released at {released_at}, after the ledger's time {latest}",
                }
            )
            continue
        if doc["customsCode"] != ctx.code:
            raise WrongArea(
                f"{where}: customs code {doc['customsCode']} is not this area's ({ctx.code})",
                path=f"{where}/record/customsCode",
            )
        label = item["platform"]
        if not _platform_ok(ctx, label, platforms):
            raise UnknownMember(f"{where}: {label!r} is not an active platform member")
        cid = "0x" + make_case_id(ctx.id_secret, ctx.code, doc["invtNo"]).hex()
        if cid in seen:
            raise DuplicateRecord(
                f"{where}: inventory list {doc['invtNo']} also at /records/{seen[cid]}",
                caseId=cid,
            )
        seen[cid] = i
        prepared.append({"doc": doc, "caseId": cid, "platform": label, "record": record})
    if errors:
        raise invalid_record(errors)
    return prepared


def _committed_row(ctx: AreaContext, p: dict[str, Any]) -> dict[str, Any]:
    """A prepared record committed under fresh salts: its tax-record row (case header fields
    and leaf) with the record and salts to vault."""
    try:
        c = commit(p["doc"])
    except CommitmentError as exc:  # the schema should make this impossible
        raise InvalidRecord(str(exc)) from exc
    released: datetime = p["record"].release_time
    header = CaseHeader(
        case_id=bytes.fromhex(p["caseId"][2:]),
        origin_area=ctx.member,
        platform=member_id(p["platform"]),
        release_time=int(released.timestamp()),
        line_count=len(p["doc"]["lines"]),
        record_digest=c.digest,
        pieces=declared_pieces(p["doc"]),
    )
    return {
        "caseId": p["caseId"],
        "recordId": vault_id(p["caseId"]),
        "platform": p["platform"],
        "releaseTime": header.release_time,
        "lineCount": header.line_count,
        "pieces": list(header.pieces),
        "recordDigest": "0x" + c.digest.hex(),
        "leaf": "0x" + header.leaf().hex(),
        "doc": p["doc"],
        "salts": salts_json(c.salts),
    }


def _store_assessments(
    ctx: AreaContext, conn: sqlite3.Connection, rows: list[dict[str, Any]]
) -> None:
    """Vault the records, place their leaves in batches (setting each row's `batchId`) and
    add their tax-record rows, in one transaction."""
    vault = Vault(conn, ctx.keyring)
    with transaction(conn):
        for r in rows:
            vault.put(r["recordId"], TAX_DOC, {"record": r["doc"], "salts": r["salts"]})
        placed = add_to_batches(
            conn,
            "assessment",
            [(r["recordId"], r["leaf"]) for r in rows],
            ctx.settings.batch_size,
        )
        for r, batch_id in zip(rows, placed, strict=True):
            r["batchId"] = batch_id
        records.insert_tax_records(conn, rows)


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


def header_of(ctx: AreaContext, conn: sqlite3.Connection, case_id: str) -> dict[str, Any]:
    """A case's public header with its batch root and Merkle proof (proof once sealed)."""
    row = records.tax_record(conn, case_id)
    if row is None:
        raise NotFound(NO_TAX_RECORD)
    anchor = batches.anchor_of(conn, row["recordId"]) or {}
    pieces = row["pieces"]
    if pieces is None:  # a record kept before piece counts were: read them from the record
        pieces = list(declared_pieces(assessment(ctx, conn, case_id)["record"]))
    return {
        "header": {
            "caseId": row["caseId"],
            "originArea": ctx.member_hex,
            "platform": "0x" + member_id(row["platform"]).hex(),
            "releaseTime": row["releaseTime"],
            "lineCount": row["lineCount"],
            "pieces": pieces,
            "recordDigest": row["recordDigest"],
        },
        "platform": row["platform"],
        "leaf": row["leaf"],
        "batchId": row["batchId"],
        "anchorStatus": anchor.get("status"),
        "root": anchor.get("root"),
        "proof": anchor.get("proof"),
        "eip712": {
            "chainId": ctx.ledger.chain_id,
            "verifyingContract": ctx.ledger.return_ledger_address,
        },
    }


def evidence_of(ctx: AreaContext, conn: sqlite3.Connection, case_id: str) -> dict[str, Any]:
    """The anchor evidence of a case's tax assessment (clients.verify.case_anchor): its header,
    root and proof; only `{"kind": "case"}` while its batch is not sealed."""
    h = header_of(ctx, conn, case_id)
    if not h["root"] or h["proof"] is None:
        return {"kind": "case"}
    head = h["header"]
    header = CaseHeader(
        bytes.fromhex(case_id[2:]),
        ctx.member,
        member_id(h["platform"]),
        int(head["releaseTime"]),
        int(head["lineCount"]),
        bytes.fromhex(head["recordDigest"][2:]),
        tuple(head["pieces"]),
    )
    return case_anchor(
        header, bytes.fromhex(h["root"][2:]), [bytes.fromhex(p[2:]) for p in h["proof"]]
    )


def case_id_of(ctx: AreaContext, invt_no: str) -> str:
    """The pseudonymous case id of an inventory list of this area."""
    return "0x" + make_case_id(ctx.id_secret, ctx.code, invt_no).hex()


def assessment(ctx: AreaContext, conn: sqlite3.Connection, case_id: str) -> dict[str, Any]:
    """The vaulted tax assessment of a case: {"record", "salts"}."""
    row = records.tax_record(conn, case_id)
    if row is None:
        raise NotFound(NO_TAX_RECORD)
    return Vault(conn, ctx.keyring).get(row["recordId"])


def _recommitted(vault: Vault, record_id: str) -> tuple[dict[str, Any], Commitment]:
    """A vaulted record committed again under fresh salts."""
    held = vault.get(record_id)
    c = commit(held["record"])
    return {"record": held["record"], "salts": salts_json(c.salts)}, c


def recommit(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    kind: str,
    batch_id: str,
    pairs: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """Commit the records behind a refused batch's (record_id, leaf) pairs again under fresh
    salts, each into a new vault record (the old one is kept: the vault never loses a record),
    and point their cases at the new record, digest and leaf in batch `batch_id`; returns the
    new (record_id, leaf) pairs. Joins the caller's transaction."""
    with transaction(conn):
        if kind == "assessment":
            return _recommit_assessments(ctx, conn, batch_id, pairs)
        return _recommit_payments(ctx, conn, batch_id, pairs)


def _recommit_assessments(
    ctx: AreaContext, conn: sqlite3.Connection, batch_id: str, pairs: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """recommit for tax assessments: one case, one header leaf per record."""
    vault = Vault(conn, ctx.keyring)
    fresh: list[tuple[str, str]] = []
    for record_id, _leaf in pairs:
        row = records.tax_record_of(conn, record_id)
        assert row is not None
        data, c = _recommitted(vault, record_id)
        new_id = f"{vault_id(row['caseId'])}:{c.digest.hex()}"
        vault.put(new_id, TAX_DOC, data)
        header = CaseHeader(
            bytes.fromhex(row["caseId"][2:]),
            ctx.member,
            member_id(row["platform"]),
            int(row["releaseTime"]),
            int(row["lineCount"]),
            c.digest,
            declared_pieces(data["record"]),
        )
        header_leaf = "0x" + header.leaf().hex()
        records.move_tax_record(
            conn, row["caseId"], new_id, "0x" + c.digest.hex(), header_leaf, batch_id
        )
        fresh.append((new_id, header_leaf))
    return fresh


def _recommit_payments(
    ctx: AreaContext, conn: sqlite3.Connection, batch_id: str, pairs: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """recommit for tax payments. A payment record has one leaf per case, possibly spread over
    several batches: only the cases of this batch move to the new record; the others keep the
    old one."""
    vault = Vault(conn, ctx.keyring)
    fresh: list[tuple[str, str]] = []
    by_record: dict[str, list[str]] = {}
    for record_id, old_leaf in pairs:
        by_record.setdefault(record_id, []).append(old_leaf)
    for record_id, leaves in by_record.items():
        data, c = _recommitted(vault, record_id)
        digest = "0x" + c.digest.hex()
        new_id = f"tax_payment:{digest}"
        vault.put(new_id, DocType.TAX_PAYMENT.value, data)
        for old_leaf in leaves:
            case_id = records.payment_case(conn, old_leaf)
            paid = payment_leaf(bytes.fromhex(case_id[2:]), int(ctx.code), c.digest)
            records.move_payment(conn, case_id, new_id, digest, "0x" + paid.hex(), batch_id)
            fresh.append((new_id, "0x" + paid.hex()))
    return fresh


def rebuild_refused(ctx: AreaContext, conn: sqlite3.Connection) -> int:
    """Rebuild every batch whose anchoring the contract refused for the batch itself, under
    fresh salts and a new root (services.batching); returns how many. A root the ledger holds
    as this area's after all (anchored, the refusal a late duplicate) is left to the indexer."""
    rebuilt = 0
    for stuck in refused_anchorings(conn):
        root = stuck["root"]
        try:
            if root and ctx.ledger.root_anchored(int(ctx.code), bytes.fromhex(root[2:])):
                continue
        except LedgerError:  # the node is down: the next round looks again
            break

        def again(
            conn: sqlite3.Connection, kind: str, batch_id: str, pairs: list[tuple[str, str]]
        ) -> list[tuple[str, str]]:
            return recommit(ctx, conn, kind, batch_id, pairs)

        if rebuild(conn, stuck["batchId"], stuck["kind"], again) is not None:
            rebuilt += 1
    if rebuilt:
        ctx.wake.set()
    return rebuilt
