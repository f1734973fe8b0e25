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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clients.bindings import MemberKind, MemberStatus, member_id
from clients.commitments.document import CommitmentError, commit
from clients.commitments.ids import case_id as make_case_id
from clients.commitments.ledger_leaves import CaseHeader
from clients.errors import LedgerError
from clients.records import (
    DocType,
    RecordValidationError,
    canonical,
    declared_pieces,
    parse_record,
)
from clients.verify import case_anchor
from node_gateway.adapters import read_tax_assessments
from node_gateway.errors import (
    DuplicateRecord,
    InvalidRecord,
    NotFound,
    TooManyRecords,
    UnknownMember,
    WrongArea,
)
from node_gateway.pipeline.anchoring import add_to_batches
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


@dataclass(frozen=True)
class CebBatch:
    """The tax assessments read from a CEB621 message and its CEB816 tax bills, for one
    platform, in the CEB621's order."""

    platform: str
    records: list[dict[str, Any]]


def read_ceb(platform: str, ceb621: str, ceb816: str) -> CebBatch:
    """Read the messages (before any write transaction: a large message must not hold the
    store's lock); refusals are the adapters' (invalid_xml, unmatched_tax_bill, invalid_record)."""
    return CebBatch(platform, read_tax_assessments(ceb621, ceb816))


def ingest_ceb(ctx: AreaContext, conn: sqlite3.Connection, batch: CebBatch) -> dict[str, Any]:
    """Accept a CEB batch as the bulk route accepts records, all or nothing; each accepted
    record is answered with its `invtNo`."""
    items = [{"platform": batch.platform, "record": record} for record in batch.records]
    accepted = ingest(ctx, conn, items)
    return {
        "accepted": [
            {"invtNo": record["invtNo"], **result}
            for record, result in zip(batch.records, accepted, strict=True)
        ]
    }
