"""Batch anchoring (DESIGN §5): leaves accumulate in an open batch; at N leaves or T
milliseconds, whichever first, the batch is sealed — its Merkle tree built, every leaf's proof
stored — and one TaxAnchor root goes into the outbox.

A batch whose anchoring the contract refused for the batch itself (sending the same root again
can never succeed) is rebuilt: its records are committed again under fresh salts, which gives
new leaves and a new root, into a new batch that is sealed and queued at once. A refusal that
is about the area's standing (e.g. suspended) waits for the operator (`admin anchoring`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from clients.bindings import BatchKind
from clients.commitments.merkle import MerkleTree
from node_gateway import failpoints
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.store import batches, outbox, transaction

KIND_CODES = {"assessment": int(BatchKind.ASSESSMENT), "payment": int(BatchKind.PAYMENT)}

# TaxAnchor.anchor's refusals of the batch itself, as the sender records them ("Name(args)"):
# the same payload is refused again however often it is sent. A malformed payload is too.
REFUSALS = ("RootAlreadyAnchored(", "ZeroHash(", "InvalidBatchKind(", "EmptyBatch(", "malformed")

# Commits the records behind a refused batch's (record_id, leaf) pairs again under fresh salts,
# moving them to the new batch (its id given); returns the new (record_id, leaf) pairs.
Recommit = Callable[[sqlite3.Connection, str, str, list[tuple[str, str]]], list[tuple[str, str]]]


def is_refusal(error: str | None) -> bool:
    """Whether an anchoring's recorded error is a refusal of the batch itself."""
    return error is not None and error.startswith(REFUSALS)


def add_to_batches(
    conn: sqlite3.Connection, kind: str, leaves: list[tuple[str, str]], batch_size: int
) -> list[str]:
    """Add (record_id, leaf) pairs to open batches of `kind`, sealing each that reaches
    `batch_size`; returns the batch id of each leaf, in order. Joins the caller's transaction."""
    placed: list[str] = []
    with transaction(conn):
        rest = list(leaves)
        while rest:
            batch = batches.open_batch(conn, kind)
            room = batch_size - batch.leaf_count
            if room <= 0:
                seal(conn, batch.batch_id, kind)
                continue
            chunk, rest = rest[:room], rest[room:]
            batches.add_leaves(conn, batch.batch_id, chunk)
            placed.extend(batch.batch_id for _ in chunk)
            if len(chunk) == room:
                seal(conn, batch.batch_id, kind)
    return placed


def seal(conn: sqlite3.Connection, batch_id: str, kind: str) -> str | None:
    """Build the batch's tree, store proofs and root, queue its anchoring; returns the root, or
    None when the batch was no longer open. The API's ingest (a batch filling up) and the
    worker (a batch due) may both reach for one batch: whichever comes second does nothing, so
    a root is queued for anchoring once."""
    with transaction(conn):
        if not batches.is_open(conn, batch_id):
            return None
        pairs = batches.leaves(conn, batch_id)
        tree = MerkleTree(bytes.fromhex(leaf[2:]) for _, leaf in pairs)
        root = "0x" + tree.root.hex()
        proofs = {
            leaf: ["0x" + p.hex() for p in tree.proof(bytes.fromhex(leaf[2:]))] for _, leaf in pairs
        }
        batches.store_sealed(conn, batch_id, root, proofs)
        failpoints.reach(failpoints.BATCH_SEAL)
        outbox.enqueue(
            conn,
            OutboxKind.ANCHOR,
            {"root": root, "kind": KIND_CODES[kind], "leafCount": len(pairs), "batchId": batch_id},
            subject=batch_id,
        )
    return root


def seal_due(conn: sqlite3.Connection, batch_size: int, interval_ms: int) -> int:
    """Seal every open batch that is full or older than `interval_ms`; returns how many."""
    sealed = 0
    for batch in batches.open_batches(conn):
        if batch.leaf_count >= batch_size or batch.age_ms() >= interval_ms:
            if seal(conn, batch.batch_id, batch.kind) is not None:
                sealed += 1
    return sealed


def retry_failed_anchorings(
    conn: sqlite3.Connection, batch_ids: set[str] | None = None
) -> list[str]:
    """Queue the anchoring of each batch (of `batch_ids`, or all) whose anchoring failed —
    once the cause is mended, e.g. the area reinstated after a suspension; returns the batch
    ids queued. A batch already queued again, or anchored meanwhile, is left alone."""
    queued = []
    with transaction(conn):
        for stuck in batches.failed_anchorings(conn):
            if batch_ids is not None and stuck["batchId"] not in batch_ids:
                continue
            if is_refusal(stuck["error"]):  # sent unchanged it is refused again: rebuilt instead
                continue
            outbox.enqueue(conn, OutboxKind.ANCHOR, stuck["payload"], subject=stuck["batchId"])
            queued.append(stuck["batchId"])
    return queued


def refused_anchorings(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Sealed batches whose latest anchoring the contract refused for the batch itself."""
    return [b for b in batches.failed_anchorings(conn) if is_refusal(b["error"])]


def rebuild(conn: sqlite3.Connection, batch_id: str, kind: str, recommit: Recommit) -> str | None:
    """Retire a batch whose anchoring was refused and put its records, committed again by
    `recommit` under fresh salts, into a new batch, sealed and queued in the same transaction;
    returns the new batch id (None if the batch is no longer sealed, e.g. rebuilt already)."""
    with transaction(conn):
        if not batches.is_sealed(conn, batch_id):
            return None
        new_id = batches.new_batch(conn, kind)
        fresh = recommit(conn, kind, new_id, batches.leaves(conn, batch_id))
        if {leaf for _, leaf in fresh} & {leaf for _, leaf in batches.leaves(conn, batch_id)}:
            raise ValueError(f"recommitting batch {batch_id} gave a leaf it already held")
        batches.add_leaves(conn, new_id, fresh)
        batches.mark_rebuilt(conn, batch_id, new_id)
        if seal(conn, new_id, kind) is None:  # cannot happen: the batch is ours alone
            raise RuntimeError(f"batch {new_id} was sealed by someone else")
    return new_id
