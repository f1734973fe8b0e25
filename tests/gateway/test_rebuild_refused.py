"""A batch whose anchoring the contract refused for the batch itself is not sent again: the
batcher commits its records again under fresh salts into a new batch with a new root, and every
record ends anchored and verifiable (services.rebuild.rebuild_refused)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from clients.bindings import member_id
from clients.commitments.document import DisclosedDocument, commit
from clients.commitments.ledger_leaves import CaseHeader
from clients.commitments.merkle import process_proof
from clients.records import canonical
from clients.records.samples import sample_tax_assessment
from node_gateway.pipeline import anchoring
from node_gateway.run.gateway import Gateway
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import rebuild, tax_records, views
from node_gateway.services.auth import Principal
from node_gateway.store import batches

OFFICER = Principal("customs-3100", "officer", "t")


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    c = Consortium.open(
        tmp_path_factory.mktemp("rebuild"),
        genesis_timestamp=int(time.time()) - 3 * 86400,
        batch_size=3,
    )
    yield c
    c.stop()


def _ingest(gateway: Gateway, first: int, count: int) -> list[str]:
    released = datetime.fromtimestamp(gateway.ledger.now() - 86400, UTC)
    lists = [
        sample_tax_assessment(n, "3100").model_copy(update={"release_time": released})
        for n in range(first, first + count)
    ]
    placed = tax_records.ingest(
        gateway.context,
        gateway.connections.get(),
        [{"platform": PLATFORM, "record": canonical(a)} for a in lists],
    )
    return [p["caseId"] for p in placed]


def _refuse_next_anchoring(gateway: Gateway, batch_id: str) -> None:
    """Make the contract refuse the batch's queued anchoring for the batch itself (EmptyBatch),
    as it would refuse any payload that can never succeed when sent again unchanged."""
    conn = gateway.connections.get()
    cur = conn.execute(
        "UPDATE outbox SET payload = json_set(payload, '$.leafCount', 0)"
        " WHERE kind = 'anchor' AND subject = ? AND status = 'pending'",
        (batch_id,),
    )
    assert cur.rowcount == 1
    conn.commit()


def _state(gateway: Gateway, case_id: str) -> dict[str, Any]:
    conn = gateway.connections.get()
    held = tax_records.assessment(gateway.context, conn, case_id)
    return {"header": tax_records.header_of(gateway.context, conn, case_id), "salts": held["salts"]}


def test_refused_anchoring_is_rebuilt_under_a_new_root_and_every_record_ends_anchored(
    consortium: Consortium,
) -> None:
    ningbo = consortium.gateways["3100"]
    ctx, conn = ningbo.context, ningbo.connections.get()
    cases = _ingest(ningbo, 501, 3)  # one full batch: sealed, its anchoring queued
    before = {cid: _state(ningbo, cid) for cid in cases}
    old_batch = before[cases[0]]["header"]["batchId"]
    old_root = before[cases[0]]["header"]["root"]
    assert {b["header"]["batchId"] for b in before.values()} == {old_batch}
    assert old_root is not None
    _refuse_next_anchoring(ningbo, old_batch)

    ningbo.drain()

    refused = conn.execute(
        "SELECT status, error FROM outbox WHERE kind = 'anchor' AND subject = ?", (old_batch,)
    ).fetchall()
    assert [(r["status"], r["error"]) for r in refused] == [
        ("failed", f"EmptyBatch(root={old_root})")
    ]
    new_batch = batches.rebuilt_as(conn, old_batch)
    assert new_batch is not None and new_batch != old_batch
    assert (
        conn.execute("SELECT status FROM batches WHERE batch_id = ?", (old_batch,)).fetchone()[0]
        == "rebuilt"
    )
    assert batches.failed_anchorings(conn) == []  # nothing left for the operator
    code = int(ctx.code)
    assert not ctx.ledger.root_anchored(code, bytes.fromhex(old_root[2:]))

    new_roots = set()
    for cid in cases:
        old, now = before[cid], _state(ningbo, cid)
        h = now["header"]
        assert (h["batchId"], h["anchorStatus"]) == (new_batch, "anchored")
        assert h["root"] != old_root and h["leaf"] != old["header"]["leaf"]
        new_roots.add(h["root"])
        # The vault holds the new salts: they give the new digest and leaf, under the new root.
        assert now["salts"] != old["salts"]
        held = tax_records.assessment(ctx, conn, cid)
        salts = {p: bytes.fromhex(s) for p, s in held["salts"].items()}
        digest = commit(held["record"], salts).digest
        assert "0x" + digest.hex() == h["header"]["recordDigest"]
        leaf = CaseHeader(
            bytes.fromhex(cid[2:]),
            ctx.member,
            member_id(PLATFORM),
            int(h["header"]["releaseTime"]),
            int(h["header"]["lineCount"]),
            digest,
            tuple(h["header"]["pieces"]),
        ).leaf()
        assert "0x" + leaf.hex() == h["leaf"]
        proof = [bytes.fromhex(p[2:]) for p in h["proof"]]
        root = bytes.fromhex(h["root"][2:])
        assert process_proof(leaf, proof) == root
        assert ctx.ledger.contracts.tax_anchor.functions.isActive(code, root, leaf, proof).call()
        # The SDK verifier accepts the document under its origin's root.
        doc = views.case_view(ctx, conn, OFFICER, cid)["taxAssessment"]["document"]
        result = ctx.ledger.verifier().verify(DisclosedDocument.from_json(doc))
        assert result.ok, [(c.name, c.detail) for c in result.failed()]
    assert len(new_roots) == 1
    assert ctx.ledger.root_anchored(code, bytes.fromhex(new_roots.pop()[2:]))


def test_a_refusal_about_the_area_is_not_rebuilt_but_left_to_the_operator(
    consortium: Consortium,
) -> None:
    ningbo = consortium.gateways["3100"]
    conn = ningbo.connections.get()
    cases = _ingest(ningbo, 601, 3)
    batch_id = tax_records.header_of(ningbo.context, conn, cases[0])["batchId"]
    row = conn.execute(
        "SELECT id FROM outbox WHERE kind = 'anchor' AND subject = ?", (batch_id,)
    ).fetchone()
    conn.execute(
        "UPDATE outbox SET status = 'failed', error = ? WHERE id = ?",
        ("MemberNotActive(memberId=0x01)", row["id"]),
    )
    conn.commit()
    assert rebuild.rebuild_refused(ningbo.context, conn) == 0
    assert [b["batchId"] for b in batches.failed_anchorings(conn)] == [batch_id]
    assert batches.rebuilt_as(conn, batch_id) is None
    assert anchoring.retry_failed_anchorings(conn) == [batch_id]  # sent again unchanged
    ningbo.drain()
    assert tax_records.header_of(ningbo.context, conn, cases[0])["anchorStatus"] == "anchored"
