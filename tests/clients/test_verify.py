"""The standalone verifier against the contracts on eth-tester: every check, passing and failing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.bindings import BatchKind
from clients.commitments.document import Commitment, DisclosedDocument, RevealedField, commit
from clients.commitments.ledger_leaves import CaseHeader, payment_leaf
from clients.commitments.merkle import MerkleTree, merkle_root
from clients.records.lines import mask_of
from clients.verify import (
    CHECKS,
    LedgerView,
    VerificationResult,
    Verifier,
    case_anchor,
    payment_anchor,
    return_anchor,
)
from clients.verify.revealed import revealed_lines
from tests.utils.chain import NB, PLATFORM_A, ZZ, World, random32


def assessment_doc(lines: int = 3) -> dict[str, Any]:
    """A canonical tax assessment (shape only; schemas are tested elsewhere)."""
    return {
        "docType": "tax_assessment",
        "invtNo": "310020261000000001",
        "customsCode": "3100",
        "buyer": {"name": "李四", "idNumber": "330102199001011234"},
        "lines": [
            {"gnum": g, "gcode": "3304990099", "qty": 1, "price": "10.00"}
            for g in range(1, lines + 1)
        ],
    }


@dataclass
class Anchored:
    """A committed assessment, its header and its place in an anchored batch."""

    commitment: Commitment
    header: CaseHeader
    tree: MerkleTree

    def disclosed(self, keep: list[str] | None = None) -> DisclosedDocument:
        doc = self.commitment.disclose(keep if keep is not None else ["/lines"])
        leaf = self.header.leaf()
        return doc.with_anchor(case_anchor(self.header, self.tree.root, self.tree.proof(leaf)))


def anchor_assessment(world: World, origin: bytes = NB, account: str | None = None) -> Anchored:
    """Commit an assessment and anchor its case header in a batch with filler leaves."""
    c = commit(assessment_doc())
    header = CaseHeader(random32(), origin, PLATFORM_A, world.now(), 3, c.digest, (2, 1, 1))
    tree = MerkleTree([header.leaf(), random32(), random32(), random32()])
    fn = world.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, 4)
    world.send(fn, account or world.area_accounts[origin])
    return Anchored(c, header, tree)


def verify(world: World, doc: DisclosedDocument) -> VerificationResult:
    return Verifier(LedgerView(world.c)).verify(doc)


def failed(result: VerificationResult) -> dict[str, str]:
    return {c.name: c.detail for c in result.failed()}


# ---------------------------------------------------------------- tax assessment


def test_verify_anchored_assessment_passes_every_check(world: World) -> None:
    a = anchor_assessment(world)
    result = verify(world, a.disclosed())
    assert [c.name for c in result.checks] == list(CHECKS)
    assert result.ok, result.to_json()
    assert "not opened" in result.checks[-1].detail


def test_verify_assessment_after_case_opened_compares_header(world: World) -> None:
    a = anchor_assessment(world)
    terms = world.terms(a.header.case_id, mask_of([1]))
    fn = world.c.return_ledger.functions.openCaseAndApply(
        a.header.as_tuple(),
        a.tree.root,
        a.tree.proof(a.header.leaf()),
        terms.as_tuple(),
        world.sign(terms, world.platform_a_key),
    )
    world.send(fn, world.hz)
    result = verify(world, a.disclosed())
    assert result.ok and "case open" in result.checks[-1].detail


def test_verify_tampered_value_fails_integrity_only(world: World) -> None:
    a = anchor_assessment(world)
    doc = a.disclosed()
    fields = [
        RevealedField(f.path, 2 if f.path == "/lines/0/qty" else f.value, f.salt)
        for f in doc.revealed
    ]
    result = verify(world, replace(doc, revealed=fields))
    assert list(failed(result)) == ["integrity"]


def test_verify_wrong_proof_fails_anchored(world: World) -> None:
    a = anchor_assessment(world)
    doc = a.disclosed()
    anchor = dict(doc.anchor, proof=list(reversed(doc.anchor["proof"])))
    assert "anchored" in failed(verify(world, doc.with_anchor(anchor)))


def test_verify_header_with_other_digest_fails_anchored(world: World) -> None:
    a = anchor_assessment(world)
    other = anchor_assessment(world)
    doc = other.disclosed().with_anchor(a.disclosed().anchor)
    assert "recordDigest" in failed(verify(world, doc))["anchored"]


def test_verify_root_never_anchored_fails_anchored(world: World) -> None:
    c = commit(assessment_doc())
    header = CaseHeader(random32(), NB, PLATFORM_A, world.now(), 3, c.digest, (2, 1, 1))
    doc = c.disclose(["/lines"]).with_anchor(case_anchor(header, header.leaf(), []))
    assert "never anchored" in failed(verify(world, doc))["anchored"]


def test_verify_header_anchored_by_other_area_fails_anchored(world: World) -> None:
    a = anchor_assessment(world, origin=NB, account=world.zz)  # Zhengzhou anchors a Ningbo header
    assert "never anchored by the origin 3100" in failed(verify(world, a.disclosed()))["anchored"]


def test_verify_root_copied_by_other_area_first_checks_the_origins_anchoring(
    world: World,
) -> None:
    # Zhengzhou anchors Ningbo's root first; Ningbo's own anchoring is the one the verifier reads.
    a = anchor_assessment(world, origin=NB, account=world.zz)
    world.send(world.c.tax_anchor.functions.anchor(a.tree.root, BatchKind.ASSESSMENT, 4), world.nb)
    assert verify(world, a.disclosed()).ok
    # Zhengzhou revoking its copy changes nothing for Ningbo's record ...
    world.send(world.c.tax_anchor.functions.revokeRoot(a.tree.root, 3), world.zz)
    assert verify(world, a.disclosed()).ok
    # ... and Ningbo's own revocation is what the verifier reports.
    world.send(world.c.tax_anchor.functions.revokeRoot(a.tree.root, 8), world.nb)
    assert "reason 8" in failed(verify(world, a.disclosed()))["not_revoked"]


def test_verify_revoked_root_fails_not_revoked(world: World) -> None:
    a = anchor_assessment(world)
    world.send(world.c.tax_anchor.functions.revokeRoot(a.tree.root, 5), world.nb)
    assert failed(verify(world, a.disclosed())) == {
        "not_revoked": "the batch root was revoked (reason 5)"
    }


def test_verify_revoked_leaf_fails_not_revoked(world: World) -> None:
    a = anchor_assessment(world)
    leaf = a.header.leaf()
    fn = world.c.tax_anchor.functions.revokeLeaf(a.tree.root, leaf, a.tree.proof(leaf), 6)
    world.send(fn, world.nb)
    assert "revoked by 3100 (reason 6)" in failed(verify(world, a.disclosed()))["not_revoked"]


def test_verify_suspended_origin_fails_issuer(world: World) -> None:
    a = anchor_assessment(world)
    world.send(world.c.consortium.functions.proposeSuspension(NB), world.hz)
    world.send(world.c.consortium.functions.vote(0), world.zz)
    assert failed(verify(world, a.disclosed())) == {"issuer": "the origin area is suspended"}


def test_verify_revealed_customs_code_of_other_area_fails_ledger_state(world: World) -> None:
    a = anchor_assessment(world, origin=ZZ)  # the document says 3100, the header 4600
    result = verify(world, a.disclosed(["/customsCode"]))
    assert "customsCode" in failed(result)["ledger_state"]


def test_verify_missing_evidence_fails_named_checks(world: World) -> None:
    doc = commit(assessment_doc()).disclose(["/lines"])
    result = verify(world, doc)
    assert [c.name for c in result.checks] == list(CHECKS)
    assert set(failed(result)) == {"anchored", "not_revoked", "issuer", "ledger_state"}
    assert "caseHeader is missing" in failed(result)["anchored"]


def test_verify_unknown_document_type_fails_every_ledger_check(world: World) -> None:
    doc = commit({"docType": "invoice", "n": 1}).disclose([])
    assert set(failed(verify(world, doc))) == set(CHECKS[1:])


def test_verify_doc_type_not_revealed_fails_integrity(world: World) -> None:
    doc = anchor_assessment(world).disclosed()
    assert doc.revealed[0].path == "/docType"
    hidden = replace(
        doc, revealed=doc.revealed[1:], withheld=sorted([*doc.withheld, doc.revealed[0].leaf()])
    )
    assert failed(verify(world, hidden)) == {
        "integrity": "/docType is not revealed, so the document type is unproven"
    }


def test_verify_wrapper_doc_type_other_than_revealed_fails_integrity(world: World) -> None:
    doc = anchor_assessment(world).disclosed()
    result = verify(world, replace(doc, doc_type="tax_payment"))
    assert failed(result)["integrity"] == (
        "the revealed /docType 'tax_assessment' is not the document's type 'tax_payment'"
    )


def test_verify_duplicate_revealed_path_fails_integrity(world: World) -> None:
    doc = anchor_assessment(world).disclosed()
    twice = replace(doc, revealed=[*doc.revealed, doc.revealed[1]])
    assert failed(verify(world, twice)) == {
        "integrity": f"{doc.revealed[1].path} is revealed twice"
    }


def test_verify_two_committed_doc_types_fail_integrity(world: World) -> None:
    # A committer who hashes two /docType leaves must not get both past the verifier.
    fields = [
        RevealedField("/docType", "tax_assessment", b"\x01" * 32),
        RevealedField("/docType", "tax_payment", b"\x02" * 32),
        RevealedField("/total", "1.00", b"\x03" * 32),
    ]
    digest = merkle_root(f.leaf() for f in fields)
    doc = DisclosedDocument("tax_payment", digest, fields, [])
    assert doc.compute_digest() == digest
    assert failed(verify(world, doc))["integrity"] == "/docType is revealed twice"


# ---------------------------------------------------------------- hypothesis: tampering


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    target=st.sampled_from(["value", "salt", "withheld", "proof", "root"]),
    index=st.integers(min_value=0, max_value=1000),
    byte=st.integers(min_value=0, max_value=31),
)
def test_verify_any_tampering_fails_and_names_the_check(
    base_world: World, target: str, index: int, byte: int
) -> None:
    doc = _HYPOTHESIS_DOC.get("doc")
    if doc is None:
        doc = _HYPOTHESIS_DOC["doc"] = anchor_assessment(base_world).disclosed()
    assert verify(base_world, doc).ok

    def flip(hex_or_bytes: Any) -> Any:
        raw = bytearray(
            bytes.fromhex(hex_or_bytes[2:]) if isinstance(hex_or_bytes, str) else hex_or_bytes
        )
        raw[byte] ^= 0x80
        return "0x" + raw.hex() if isinstance(hex_or_bytes, str) else bytes(raw)

    fields, withheld, anchor = list(doc.revealed), list(doc.withheld), dict(doc.anchor)
    i = index % len(fields)
    if target == "value":
        v = fields[i].value
        new = v + 1 if isinstance(v, int) else f"{v}x"
        fields[i] = RevealedField(fields[i].path, new, fields[i].salt)
        expected = "integrity"
    elif target == "salt":
        fields[i] = RevealedField(fields[i].path, fields[i].value, flip(fields[i].salt))
        expected = "integrity"
    elif target == "withheld":
        j = index % len(withheld)
        withheld[j] = flip(withheld[j])
        expected = "integrity"
    elif target == "proof":
        proof = list(anchor["proof"])
        proof[index % len(proof)] = flip(proof[index % len(proof)])
        anchor["proof"] = proof
        expected = "anchored"
    else:
        anchor["root"] = flip(anchor["root"])
        expected = "anchored"
    tampered = DisclosedDocument(doc.doc_type, doc.digest, fields, withheld, anchor)
    result = verify(base_world, tampered)
    assert not result.ok
    assert expected in failed(result)


_HYPOTHESIS_DOC: dict[str, DisclosedDocument] = {}


# ---------------------------------------------------------------- tax payment


def test_verify_payment_record_under_payment_root(world: World) -> None:
    case_id = random32()
    c = commit({"docType": "tax_payment", "taxNo": "T1", "total": "12.00"})
    leaf = payment_leaf(case_id, 3100, c.digest)
    tree = MerkleTree([leaf, random32()])
    world.send(world.c.tax_anchor.functions.anchor(tree.root, BatchKind.PAYMENT, 2), world.nb)
    doc = c.disclose(["/total"]).with_anchor(
        payment_anchor(case_id, 3100, tree.root, tree.proof(leaf))
    )
    assert verify(world, doc).ok, verify(world, doc).to_json()
    wrong_area = doc.with_anchor(payment_anchor(case_id, 4600, tree.root, tree.proof(leaf)))
    assert "anchored" in failed(verify(world, wrong_area))


# ---------------------------------------------------------------- return steps


@dataclass
class Lifecycle:
    """One return taken through every step, each step's document committed and anchored."""

    docs: dict[str, Commitment]
    return_id: bytes


def run_lifecycle(
    world: World,
    accepted: list[int],
    dispute: bool = False,
    settle: list[int] | None = None,
    reported: list[int] | None = None,
    inspected: tuple[int, ...] = (1, 2),
    kind: str = "not_levied",
) -> Lifecycle:
    """Take one return (lines 1 and 2 applied for) through every step. The inspection report
    lists the `inspected` lines and says `reported` ones were accepted; the settlement lists the
    `accepted` lines as `kind`; the ledger records `accepted` and settles `settle` (defaults: the
    same lines) not levied, so tests can anchor documents that disagree."""
    reported = accepted if reported is None else reported
    a = anchor_assessment(world)
    rid = random32()
    rid_hex = "0x" + rid.hex()
    docs = {
        "return_application": commit(
            {
                "docType": "return_application",
                "lines": [{"gnum": 1, "qty": 1}, {"gnum": 2, "qty": 1}],
            }
        ),
        "arrival": commit({"docType": "arrival", "returnId": rid_hex, "packageCount": 1}),
        "inspection_report": commit(
            {
                "docType": "inspection_report",
                "returnId": rid_hex,
                "lines": [
                    {"gnum": g, "result": "accepted" if g in reported else "rejected"}
                    for g in inspected
                ],
            }
        ),
        "recognition": commit(
            {"docType": "recognition", "returnId": rid_hex, "decision": "recognized"}
        ),
        "settlement": commit(
            {
                "docType": "settlement",
                "returnId": rid_hex,
                "kind": kind,
                "lines": [{"gnum": g, "amount": "1.00"} for g in accepted],
            }
        ),
    }
    terms = world.terms(a.header.case_id, mask_of([1, 2]), return_id=rid)
    terms = replace(terms, application_digest=docs["return_application"].digest)
    rl = world.c.return_ledger.functions
    world.send(
        rl.openCaseAndApply(
            a.header.as_tuple(),
            a.tree.root,
            a.tree.proof(a.header.leaf()),
            terms.as_tuple(),
            world.sign(terms, world.platform_a_key),
        ),
        world.hz,
    )
    world.send(rl.recordArrival(rid, docs["arrival"].digest), world.hz)
    world.send(
        rl.recordInspection(
            rid, mask_of(accepted), [1] * len(accepted), docs["inspection_report"].digest
        ),
        world.hz,
    )
    if dispute:
        world.send(rl.recordDispute(rid, random32()), world.nb)
    world.send(rl.recordRecognition(rid, docs["recognition"].digest), world.nb)
    settled = accepted if settle is None else settle
    if settled:
        fn = rl.settleNotLevied(
            rid, mask_of(settled), [1] * len(settled), docs["settlement"].digest, True
        )
        world.send(fn, world.nb)
    return Lifecycle(docs, rid)


def step_doc(life: Lifecycle, doc_type: str, keep: list[str] | None = None) -> DisclosedDocument:
    doc = life.docs[doc_type].disclose(keep if keep is not None else lambda p: True)
    return doc.with_anchor(return_anchor(life.return_id))


@pytest.mark.parametrize(
    "doc_type",
    ["return_application", "arrival", "inspection_report", "recognition", "settlement"],
)
def test_verify_each_step_document_passes(world: World, doc_type: str) -> None:
    life = run_lifecycle(world, accepted=[1])
    result = verify(world, step_doc(life, doc_type))
    assert result.ok, result.to_json()


def test_verify_inspection_report_disagreeing_with_ledger_fails_ledger_state(
    world: World,
) -> None:
    life = run_lifecycle(world, accepted=[1], reported=[1, 2])
    result = verify(world, step_doc(life, "inspection_report"))
    assert failed(result) == {"ledger_state": "line 2 is accepted here but rejected on the ledger"}


def test_verify_inspection_report_rejecting_unapplied_line_fails_ledger_state(
    world: World,
) -> None:
    life = run_lifecycle(world, accepted=[1], inspected=(1, 2, 3))
    result = verify(world, step_doc(life, "inspection_report"))
    assert failed(result) == {
        "ledger_state": "line 3 is in the report but not in the return on ReturnLedger"
    }


def test_verify_inspection_report_listing_a_line_twice_fails_ledger_state(world: World) -> None:
    life = run_lifecycle(world, accepted=[1], inspected=(1, 2, 2))
    result = verify(world, step_doc(life, "inspection_report"))
    assert failed(result) == {"ledger_state": "line 2 appears twice in the document"}


def test_verify_inspection_report_with_more_lines_than_applied_fails_ledger_state(
    world: World,
) -> None:
    life = run_lifecycle(world, accepted=[1], inspected=(1, 2, 2))
    doc = step_doc(life, "inspection_report", ["/lines/2", "/returnId"])
    assert failed(verify(world, doc)) == {
        "ledger_state": "the document has line index 2 but the return has 2 lines"
    }


def test_verify_inspection_result_without_gnum_fails_ledger_state(world: World) -> None:
    life = run_lifecycle(world, accepted=[1])
    doc = step_doc(life, "inspection_report", ["/lines/0/result", "/returnId"])
    assert "without its gnum" in failed(verify(world, doc))["ledger_state"]


def test_verify_step_document_of_other_return_fails_anchored(world: World) -> None:
    first = run_lifecycle(world, accepted=[1])
    second = run_lifecycle(world, accepted=[2])
    doc = first.docs["arrival"].disclose([]).with_anchor(return_anchor(second.return_id))
    assert "no event of this return carries this digest" == failed(verify(world, doc))["anchored"]


def test_verify_revealed_return_id_mismatch_fails_anchored(world: World) -> None:
    first = run_lifecycle(world, accepted=[1])
    doc = step_doc(first, "arrival").with_anchor(return_anchor(random32()))
    assert "revealed returnId" in failed(verify(world, doc))["anchored"]


def test_verify_settlement_claiming_unsettled_line_fails_ledger_state(world: World) -> None:
    life = run_lifecycle(world, accepted=[1, 2], settle=[1])
    result = verify(world, step_doc(life, "settlement"))
    assert failed(result) == {
        "ledger_state": "line 2 is not settled by this document's LinesSettled event"
    }


def test_verify_settlement_listing_line_of_another_settlement_fails_ledger_state(
    world: World,
) -> None:
    # The document lists lines 1 and 2 but its own event settled line 1 only; line 2 was settled
    # later under another digest, so the return's overall settled mask covers both.
    life = run_lifecycle(world, accepted=[1, 2], settle=[1])
    fn = world.c.return_ledger.functions.settleNotLevied(
        life.return_id, mask_of([2]), [1], random32(), True
    )
    world.send(fn, world.nb)
    result = verify(world, step_doc(life, "settlement"))
    assert failed(result) == {
        "ledger_state": "line 2 is not settled by this document's LinesSettled event"
    }
    only_line_1 = step_doc(life, "settlement", ["/lines/0", "/returnId", "/kind"])
    assert verify(world, only_line_1).ok


def test_verify_settlement_of_other_kind_than_its_event_fails_ledger_state(world: World) -> None:
    life = run_lifecycle(world, accepted=[1], kind="refunded")
    result = verify(world, step_doc(life, "settlement"))
    assert failed(result) == {
        "ledger_state": "the document says refunded, its LinesSettled event not_levied"
    }


def test_verify_settlement_digest_anchoring_two_events_fails_ledger_state(world: World) -> None:
    life = run_lifecycle(world, accepted=[1, 2], settle=[1])
    digest = life.docs["settlement"].digest
    fn = world.c.return_ledger.functions.settleNotLevied(
        life.return_id, mask_of([2]), [1], digest, True
    )
    world.send(fn, world.nb)
    result = verify(world, step_doc(life, "settlement"))
    assert "2 LinesSettled events carry this digest" in failed(result)["ledger_state"]


def test_verify_recognition_after_dispute_passes(world: World) -> None:
    life = run_lifecycle(world, accepted=[1, 2], dispute=True)
    assert verify(world, step_doc(life, "recognition")).ok


def test_verify_application_after_platform_key_removed_fails_issuer(world: World) -> None:
    life = run_lifecycle(world, accepted=[1])
    old = world.platform_a_key.address
    world.add_own_account(PLATFORM_A, world.spare[0], old)
    world.remove_own_account(PLATFORM_A, old, world.spare[0])
    result = verify(world, step_doc(life, "return_application"))
    assert "no longer an account" in failed(result)["issuer"]


def test_verify_step_of_unknown_return_fails(world: World) -> None:
    doc = commit({"docType": "arrival", "n": 1}).disclose([]).with_anchor(return_anchor(random32()))
    result = verify(world, doc)
    assert set(failed(result)) == {"anchored", "not_revoked", "issuer", "ledger_state"}


def test_verify_sample_record_disclosed_by_class(world: World) -> None:
    from clients.records import DocType, FieldClass, canonical, of_classes
    from clients.records.samples import sample_tax_assessment

    record = sample_tax_assessment(9, lines=3)
    c = commit(canonical(record))
    header = CaseHeader(random32(), NB, PLATFORM_A, world.now(), 3, c.digest, (2, 1, 1))
    tree = MerkleTree([header.leaf(), random32()])
    world.send(world.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, 2), world.nb)
    goods = c.disclose(of_classes(DocType.TAX_ASSESSMENT, FieldClass.GOODS))
    doc = goods.with_anchor(case_anchor(header, tree.root, tree.proof(header.leaf())))
    result = verify(world, doc)
    assert result.ok, result.to_json()


def test_revealed_lines_reads_only_elements_of_the_lines_array() -> None:
    values = {
        "/lines/0/gnum": 1,
        "/lines/300/gnum": 7,  # out of range: kept, so the line-count checks can flag it
        "/lines/01/gnum": 2,  # not an RFC 6901 index
        "/lines/~20/gnum": 3,  # an object key "0", not an array element
        "/lines/0/a/b": 4,  # deeper than a line's own field
        "/lines/5": 5,
        "/other/0/gnum": 6,
    }
    assert revealed_lines(values) == {0: {"gnum": 1}, 300: {"gnum": 7}}
