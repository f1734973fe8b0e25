"""A batch whose anchoring the contract refused for the batch itself is rebuilt: its records
committed again under fresh salts into new vault records (the old ones are kept), their cases
pointed at the new leaves, and a new root anchored (pipeline/anchoring.py `rebuild`)."""

from __future__ import annotations

import sqlite3
from typing import Any

from clients.bindings import member_id
from clients.commitments.document import Commitment, commit
from clients.commitments.ledger_leaves import CaseHeader, payment_leaf
from clients.errors import LedgerError
from clients.records import (
    DocType,
    declared_pieces,
)
from node_gateway.pipeline.anchoring import rebuild, refused_anchorings
from node_gateway.services.context import AreaContext
from node_gateway.services.tax_records import (
    TAX_DOC,
    salts_json,
    vault_id,
)
from node_gateway.store import Vault, records, transaction


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
