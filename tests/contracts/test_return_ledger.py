"""ReturnLedger: every external function, its events and each revert with its arguments."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from clients.bindings import (
    BatchKind,
    LineState,
    ReturnState,
    SettlementKind,
    call,
    events,
)
from clients.commitments.keccak import keccak256
from clients.commitments.ledger_leaves import CaseHeader
from clients.commitments.merkle import MerkleTree
from clients.errors import ContractRevert
from clients.peer import requester_commitment
from clients.records.lines import mask_and_pieces, mask_of
from clients.signing import ReturnApplicationTerms, recover_applicant
from tests.utils.chain import (
    DAY,
    HZ,
    NB,
    PLATFORM_A,
    PLATFORM_B,
    ZZ,
    AnchoredCase,
    World,
    expect_revert,
    field_name,
    random32,
)

ALL3 = mask_of([1, 2, 3])


def ones(mask: int) -> list[int]:
    """One piece of each line in `mask` (the pieces of a one-piece-per-line case)."""
    return [1] * mask.bit_count()


@dataclass
class Applied:
    """An open case with one return applied for."""

    case: AnchoredCase
    terms: ReturnApplicationTerms


def apply_one(world: World, lines: int = ALL3, line_count: int = 3) -> Applied:
    """Anchor a Ningbo case of platform A and apply for `lines` at Hangzhou."""
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=line_count)
    terms = world.terms(case.header.case_id, lines)
    world.open_and_apply(case, terms, world.platform_a_key)
    return Applied(case, terms)


def rl(world: World) -> Any:
    """ReturnLedger's functions."""
    return world.c.return_ledger.functions


def through_inspection(world: World, accepted: int = ALL3, lines: int = ALL3) -> Applied:
    """A return that arrived and was inspected with `accepted` lines."""
    a = apply_one(world, lines)
    world.send(rl(world).recordArrival(a.terms.return_id, random32()), world.hz)
    inspect = rl(world).recordInspection(a.terms.return_id, accepted, ones(accepted), random32())
    world.send(inspect, world.hz)
    return a


def recognized(world: World, accepted: int = ALL3) -> Applied:
    """A return whose inspection the origin recognised."""
    a = through_inspection(world, accepted)
    world.send(rl(world).recordRecognition(a.terms.return_id, random32()), world.nb)
    return a


def get_return(world: World, return_id: bytes) -> Any:
    """The stored return."""
    return call(rl(world).getReturn(return_id))


# ---------------------------------------------------------------- open + apply


def test_open_case_and_apply_records_case_and_return(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=3, pieces=(2, 1, 5))
    mask, pieces = mask_and_pieces({1: 2, 3: 4})
    terms = world.terms(case.header.case_id, mask, pieces=pieces)
    receipt = world.open_and_apply(case, terms, world.platform_a_key)
    logged = events(receipt, world.c)
    assert [name for name, _ in logged] == ["CaseOpened", "ReturnApplied"]
    opened, applied = logged[0][1], logged[1][1]
    h = case.header
    assert opened == {
        "caseId": h.case_id,
        "originArea": NB,
        "platform": PLATFORM_A,
        "releaseTime": h.release_time,
        "lineCount": 3,
        "pieces": [2, 1, 5],
        "recordDigest": h.record_digest,
        "assessmentRoot": case.root,
    }
    assert applied == {
        "returnId": terms.return_id,
        "caseId": h.case_id,
        "returnCentre": HZ,
        "lineMask": mask_of([1, 3]),
        "pieces": [2, 4],
        "applicationDigest": terms.application_digest,
        "signer": world.platform_a_key.address,
    }
    stored_case = call(rl(world).getCase(h.case_id))
    assert stored_case == (PLATFORM_A, 3100, h.release_time, 3, 1, mask_of([1, 3]))
    stored = get_return(world, terms.return_id)
    block_time = world.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert stored == (h.case_id, 5, 0, 0, ReturnState.APPLIED, False, block_time, 0, 2900)
    assert call(rl(world).casePieces(h.case_id)) == [[2, 1, 5], [2, 0, 4]]
    assert call(rl(world).returnPieces(terms.return_id)) == [[2, 0, 4], [0, 0, 0], [0, 0, 0]]


def test_open_case_by_non_member_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    terms = world.terms(case.header.case_id, 1)
    with expect_revert("NotAMember", {"account": world.outsider}):
        world.open_and_apply(case, terms, world.platform_a_key, sender=world.outsider)


def test_open_case_with_other_case_in_application_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    other = random32()
    terms = world.terms(other, 1)
    with expect_revert(
        "CaseMismatch", {"headerCaseId": case.header.case_id, "applicationCaseId": other}
    ):
        world.open_and_apply(case, terms, world.platform_a_key)


def test_open_case_twice_reverts(world: World) -> None:
    a = apply_one(world, 1)
    terms = world.terms(a.case.header.case_id, 2)
    with expect_revert("CaseAlreadyOpen", {"caseId": a.case.header.case_id}):
        world.open_and_apply(a.case, terms, world.platform_a_key)


@pytest.mark.parametrize("line_count", [0, 100])
def test_open_case_with_invalid_line_count_reverts(world: World, line_count: int) -> None:
    pieces = (1,) * line_count
    header = CaseHeader(random32(), NB, PLATFORM_A, world.now(), line_count, random32(), pieces)
    case = anchor_headers(world, NB, [header])[0]
    terms = world.terms(header.case_id, 1)
    with expect_revert("InvalidLineCount", {"lineCount": line_count, "maxLines": 99}):
        world.open_and_apply(case, terms, world.platform_a_key)


def anchor_headers(world: World, area: bytes, headers: list[CaseHeader]) -> list[AnchoredCase]:
    """Anchor arbitrary headers (leaf computed by hand for out-of-range values) in one batch."""
    leaves = [call(rl(world).caseHeaderLeaf(h.as_tuple())) for h in headers] + [random32()]
    tree = MerkleTree(leaves)
    world.send(
        world.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, len(leaves)),
        world.area_accounts[area],
    )
    return [
        AnchoredCase(h, tree.root, tree.proof(leaf))
        for h, leaf in zip(headers, leaves, strict=False)
    ]


def test_open_case_released_in_future_reverts(world: World) -> None:
    future = world.now() + 10 * DAY
    header = CaseHeader(random32(), NB, PLATFORM_A, future, 2, random32(), (1, 1))
    (case,) = anchor_headers(world, NB, [header])
    terms = world.terms(header.case_id, 1)
    with pytest.raises(ContractRevert) as info:
        world.open_and_apply(case, terms, world.platform_a_key)
    assert info.value.name == "ReleaseInFuture"
    assert info.value.args_dict["releaseTime"] == future


@pytest.mark.parametrize(("after_anchoring", "ok"), [(0, True), (1, False)])
def test_open_case_released_after_anchoring(world: World, after_anchoring: int, ok: bool) -> None:
    # The batch is anchored at `anchored`; its header claims a release `after_anchoring` later.
    anchored = world.now() + 100
    release = anchored + after_anchoring
    header = CaseHeader(random32(), NB, PLATFORM_A, release, 2, random32(), (1, 1))
    world.travel_to(anchored)
    (case,) = anchor_headers(world, NB, [header])
    assert call(world.c.tax_anchor.functions.getRoot(3100, case.root))[2] == anchored
    world.travel_to(release + DAY)  # the release is past: ReleaseInFuture does not apply
    terms = world.terms(header.case_id, 1)
    if ok:
        world.open_and_apply(case, terms, world.platform_a_key)
        assert call(rl(world).getCase(header.case_id))[2] == release
    else:
        with expect_revert(
            "ReleaseAfterAnchoring", {"releaseTime": release, "anchoredAt": anchored}
        ):
            world.open_and_apply(case, terms, world.platform_a_key)
        assert call(rl(world).getCase(header.case_id))[2] == 0


def test_open_case_with_zero_digest_reverts(world: World) -> None:
    header = CaseHeader(random32(), NB, PLATFORM_A, world.now(), 2, b"\0" * 32, (1, 1))
    (case,) = anchor_headers(world, NB, [header])
    with expect_revert("ZeroValue", {"field": field_name("recordDigest")}):
        world.open_and_apply(case, world.terms(header.case_id, 1), world.platform_a_key)


def test_open_case_with_zero_case_id_reverts(world: World) -> None:
    header = CaseHeader(b"\0" * 32, NB, PLATFORM_A, world.now(), 2, random32(), (1, 1))
    (case,) = anchor_headers(world, NB, [header])
    with expect_revert("ZeroValue", {"field": field_name("caseId")}):
        world.open_and_apply(case, world.terms(header.case_id, 1), world.platform_a_key)


def test_apply_with_zero_return_id_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    terms = world.terms(case.header.case_id, 1, return_id=b"\0" * 32)
    with expect_revert("ZeroValue", {"field": field_name("returnId")}):
        world.open_and_apply(case, terms, world.platform_a_key)


def test_record_steps_with_zero_digest_name_the_field(world: World) -> None:
    a = apply_one(world)
    rid, zero = a.terms.return_id, b"\0" * 32
    world.send(rl(world).recordArrival(rid, random32()), world.hz)
    with expect_revert("ZeroValue", {"field": field_name("reportDigest")}):
        world.send(rl(world).recordInspection(rid, ALL3, ones(ALL3), zero), world.hz)
    world.send(rl(world).recordInspection(rid, ALL3, ones(ALL3), random32()), world.hz)
    with expect_revert("ZeroValue", {"field": field_name("decisionDigest")}):
        world.send(rl(world).recordRecognition(rid, zero), world.nb)
    world.send(rl(world).recordRecognition(rid, random32()), world.nb)
    with expect_revert("ZeroValue", {"field": field_name("settlementDigest")}):
        world.send(rl(world).settleNotLevied(rid, ALL3, ones(ALL3), zero, True), world.nb)


@pytest.mark.parametrize(
    "change",
    [{"line_count": 4, "pieces": (1, 1, 1, 1)}, {"pieces": (1, 1, 2)}],
    ids=["line-count", "declared-pieces"],
)
def test_open_case_with_tampered_header_reverts(world: World, change: dict[str, Any]) -> None:
    # The declared pieces are in the anchored leaf: a relay cannot raise them.
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=3)
    tampered = dataclasses.replace(case.header, **change)
    bad = AnchoredCase(tampered, case.root, case.proof)
    with expect_revert("InvalidProof", {"root": case.root, "leaf": tampered.leaf()}):
        world.open_and_apply(bad, world.terms(tampered.case_id, 1), world.platform_a_key)
    assert call(rl(world).getCase(tampered.case_id))[2] == 0


def test_open_case_under_other_areas_root_reverts(world: World) -> None:
    # A Ningbo header anchored by Zhengzhou: Zhengzhou cannot vouch for Ningbo's tax records.
    header = CaseHeader(random32(), NB, PLATFORM_A, world.now(), 2, random32(), (1, 1))
    (case,) = anchor_headers(world, ZZ, [header])
    with expect_revert(
        "RootOfAnotherArea", {"root": case.root, "anchoredBy": 4600, "expected": 3100}
    ):
        world.open_and_apply(case, world.terms(header.case_id, 1), world.platform_a_key)


def test_open_case_with_other_origin_header_reverts(world: World) -> None:
    # The attack: Zhengzhou, the return centre the platform named, relays an application the
    # platform signed for Ningbo's case, after anchoring a header of its own for the same case id
    # with itself as origin.
    (genuine,) = world.anchor_cases(NB, PLATFORM_A, line_count=3)
    h = genuine.header
    own = dataclasses.replace(h, origin_area=ZZ)
    (forged,) = anchor_headers(world, ZZ, [own])
    terms = world.terms(h.case_id, ALL3, return_centre=ZZ)
    assert terms.origin_area == NB
    signature = world.sign(terms, world.platform_a_key)
    open_case = rl(world).openCaseAndApply
    fn = open_case(own.as_tuple(), forged.root, forged.proof, terms.as_tuple(), signature)
    with expect_revert("OriginMismatch", {"headerOrigin": ZZ, "signedOrigin": NB}):
        world.send(fn, world.zz)
    # Rewriting the signed origin to match breaks the platform's signature instead.
    relayed = dataclasses.replace(terms, origin_area=ZZ)
    fn = open_case(own.as_tuple(), forged.root, forged.proof, relayed.as_tuple(), signature)
    with pytest.raises(ContractRevert) as info:
        world.send(fn, world.zz)
    assert info.value.name in {"NotAMember", "SignerNotPlatform"}
    assert info.value.args_dict.get("account", info.value.args_dict.get("signer")) != (
        world.platform_a_key.address
    )
    assert call(rl(world).getCase(h.case_id))[2] == 0  # still unopened
    # The genuine origin's header opens the case with the same signature.
    fn = open_case(h.as_tuple(), genuine.root, genuine.proof, terms.as_tuple(), signature)
    world.send(fn, world.zz)
    assert call(rl(world).getCase(h.case_id))[1] == 3100


def test_open_case_under_payment_root_reverts(world: World) -> None:
    header = CaseHeader(random32(), NB, PLATFORM_A, world.now(), 2, random32(), (1, 1))
    tree = MerkleTree([header.leaf(), random32()])
    world.send(world.c.tax_anchor.functions.anchor(tree.root, BatchKind.PAYMENT, 2), world.nb)
    case = AnchoredCase(header, tree.root, tree.proof(header.leaf()))
    with expect_revert(
        "WrongBatchKind",
        {"root": tree.root, "kind": BatchKind.PAYMENT, "expected": BatchKind.ASSESSMENT},
    ):
        world.open_and_apply(case, world.terms(header.case_id, 1), world.platform_a_key)


def test_open_case_with_revoked_leaf_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    leaf = case.header.leaf()
    world.send(world.c.tax_anchor.functions.revokeLeaf(case.root, leaf, case.proof, 7), world.nb)
    with expect_revert("RevokedLeaf", {"leaf": leaf, "reason": 7}):
        world.open_and_apply(case, world.terms(case.header.case_id, 1), world.platform_a_key)


def test_open_case_with_revoked_root_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    world.send(world.c.tax_anchor.functions.revokeRoot(case.root, 3), world.nb)
    with expect_revert("RevokedRoot", {"root": case.root, "reason": 3}):
        world.open_and_apply(case, world.terms(case.header.case_id, 1), world.platform_a_key)


def test_open_case_of_unknown_origin_reverts(world: World) -> None:
    stranger = random32()
    header = CaseHeader(random32(), stranger, PLATFORM_A, world.now(), 2, random32(), (1, 1))
    (case,) = anchor_headers(world, NB, [header])
    terms = world.terms(header.case_id, 1, origin_area=stranger)
    with expect_revert("UnknownMember", {"memberId": stranger}):
        world.open_and_apply(case, terms, world.platform_a_key)


def test_open_case_of_suspended_platform_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    world.send(world.c.consortium.functions.setPlatformActive(PLATFORM_A, False), world.nb)
    with expect_revert("MemberNotActive", {"memberId": PLATFORM_A}):
        world.open_and_apply(case, world.terms(case.header.case_id, 1), world.platform_a_key)


# ---------------------------------------------------------------- EIP-712


def test_python_typed_data_hash_matches_contract(world: World) -> None:
    terms = world.terms(random32(), mask_of([1, 99]))
    typed = terms.typed_data(world.w3.eth.chain_id, world.c.return_ledger.address)
    message = encode_typed_data(full_message=typed)
    expected = b"\x19\x01" + message.header + message.body
    assert call(rl(world).hashReturnApplication(terms.as_tuple())) == keccak256(expected)
    signature = world.sign(terms, world.platform_a_key)
    assert (
        recover_applicant(terms, signature, world.w3.eth.chain_id, world.c.return_ledger.address)
        == world.platform_a_key.address
    )


def test_apply_signed_by_stranger_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    stranger = Account.create()
    terms = world.terms(case.header.case_id, 1)
    with expect_revert("NotAMember", {"account": stranger.address}):
        world.open_and_apply(case, terms, stranger)


def test_apply_signed_by_other_platform_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    terms = world.terms(case.header.case_id, 1)
    with expect_revert(
        "SignerNotPlatform", {"signer": world.platform_b_key.address, "platform": PLATFORM_A}
    ):
        world.open_and_apply(case, terms, world.platform_b_key)


def test_apply_with_removed_account_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    fresh = Account.create()
    world.keys[fresh.address] = bytes(fresh.key)
    old = world.platform_a_key.address
    world.add_own_account(PLATFORM_A, fresh.address, old)
    world.remove_own_account(PLATFORM_A, old, fresh.address)
    terms = world.terms(case.header.case_id, 1)
    with expect_revert("NotAMember", {"account": world.platform_a_key.address}):
        world.open_and_apply(case, terms, world.platform_a_key)
    world.open_and_apply(case, terms, fresh)  # the rotated key works
    assert get_return(world, terms.return_id)[4] == ReturnState.APPLIED


@pytest.mark.parametrize(
    "field",
    ["return_id", "line_mask", "pieces", "application_digest", "return_centre", "deadline"],
)
def test_apply_with_tampered_field_reverts(world: World, field: str) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=3, pieces=(5, 5, 5))
    signed = world.terms(case.header.case_id, 1, pieces=(2,))
    signature = world.sign(signed, world.platform_a_key)
    changed: Any = {
        "return_id": random32(),
        "line_mask": 2,
        "pieces": (5,),
        "application_digest": random32(),
        "return_centre": ZZ,
        "deadline": signed.deadline + 1,
    }[field]
    relayed = dataclasses.replace(signed, **{field: changed})
    fn = rl(world).openCaseAndApply(
        case.header.as_tuple(), case.root, case.proof, relayed.as_tuple(), signature
    )
    with pytest.raises(ContractRevert) as info:
        world.send(fn, world.relay_of(relayed))  # the centre named in what is relayed
    # The signature now recovers to some unrelated address.
    assert info.value.name in {"NotAMember", "SignerNotPlatform"}
    assert info.value.args_dict.get("account", info.value.args_dict.get("signer")) != (
        world.platform_a_key.address
    )


def test_apply_with_malformed_signature_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    terms = world.terms(case.header.case_id, 1)
    fn = rl(world).openCaseAndApply(
        case.header.as_tuple(), case.root, case.proof, terms.as_tuple(), b"\x01" * 64
    )
    # OpenZeppelin's ECDSA.RecoverError.InvalidSignatureLength (2), with the length.
    with expect_revert("InvalidSignature", {"recoverError": 2, "errorArg": (64).to_bytes(32)}):
        world.send(fn, world.hz)


def test_apply_with_replayed_return_id_reverts(world: World) -> None:
    a = apply_one(world, 1)
    again = world.terms(a.case.header.case_id, 2, return_id=a.terms.return_id)
    fn = rl(world).applyForReturn(again.as_tuple(), world.sign(again, world.platform_a_key))
    with expect_revert("ReturnIdUsed", {"returnId": a.terms.return_id}):
        world.send(fn, world.hz)


def test_apply_with_expired_signature_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    deadline = world.now() + 100
    terms = world.terms(case.header.case_id, 1, deadline=deadline)
    world.travel_to(deadline + 1)
    with expect_revert("SignatureExpired", {"deadline": deadline, "nowTime": deadline + 1}):
        world.open_and_apply(case, terms, world.platform_a_key)


# ---------------------------------------------------------------- lines


def test_apply_partial_returns_over_disjoint_lines(world: World) -> None:
    a = apply_one(world, mask_of([1]))
    second = world.terms(a.case.header.case_id, mask_of([2, 3]))
    world.apply_for_return(second, world.platform_a_key)
    stored = call(rl(world).getCase(a.case.header.case_id))
    assert stored[4:] == (2, ALL3)  # returnCount, appliedMask


def test_apply_remaining_pieces_of_applied_line(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=3, pieces=(3, 2, 1))
    case_id = case.header.case_id
    mask, pieces = mask_and_pieces({1: 1, 2: 2})
    world.open_and_apply(case, world.terms(case_id, mask, pieces=pieces), world.platform_a_key)
    mask, pieces = mask_and_pieces({1: 2, 3: 1})  # line 1 again: its 2 pieces left
    second = world.terms(case_id, mask, pieces=pieces)
    world.apply_for_return(second, world.platform_a_key)
    assert call(rl(world).getCase(case_id))[4:] == (2, ALL3)
    assert call(rl(world).casePieces(case_id)) == [[3, 2, 1], [3, 2, 1]]
    assert call(rl(world).returnPieces(second.return_id))[0] == [2, 0, 1]


def test_apply_more_pieces_than_left_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=3, pieces=(3, 2, 1))
    case_id = case.header.case_id
    mask, pieces = mask_and_pieces({1: 1, 2: 2})
    world.open_and_apply(case, world.terms(case_id, mask, pieces=pieces), world.platform_a_key)
    mask, pieces = mask_and_pieces({1: 3, 3: 1})  # line 1 has 2 pieces left
    second = world.terms(case_id, mask, pieces=pieces)
    with expect_revert(
        "PiecesExceedDeclared", {"caseId": case_id, "gnum": 1, "requested": 3, "left": 2}
    ):
        world.apply_for_return(second, world.platform_a_key)
    mask, pieces = mask_and_pieces({2: 1, 3: 1})  # line 2 is used up
    third = world.terms(case_id, mask, pieces=pieces)
    with expect_revert(
        "PiecesExceedDeclared", {"caseId": case_id, "gnum": 2, "requested": 1, "left": 0}
    ):
        world.apply_for_return(third, world.platform_a_key)
    assert call(rl(world).casePieces(case_id)) == [[3, 2, 1], [1, 2, 0]]
    assert call(rl(world).getReturn(third.return_id))[4] == ReturnState.NONE


def test_apply_lines_beyond_line_count_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=3)
    terms = world.terms(case.header.case_id, mask_of([1, 4]))
    with expect_revert("LinesOutOfRange", {"lineMask": 9, "lineCount": 3}):
        world.open_and_apply(case, terms, world.platform_a_key)


def test_apply_empty_line_mask_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    terms = world.terms(case.header.case_id, 0)
    with expect_revert("EmptyLineMask", {"returnId": terms.return_id}):
        world.open_and_apply(case, terms, world.platform_a_key)


@pytest.mark.parametrize(
    ("signed_origin", "signed_code"),
    [(ZZ, 4600), (HZ, 2900), (PLATFORM_A, 0), (b"nobody".ljust(32, b"\0"), 0)],
    ids=["other-origin", "return-centre", "platform", "unknown"],
)
def test_apply_for_return_with_other_origin_reverts(
    world: World, signed_origin: bytes, signed_code: int
) -> None:
    a = apply_one(world, mask_of([1]))
    case_id = a.case.header.case_id
    second = world.terms(case_id, mask_of([2]), origin_area=signed_origin)
    fn = rl(world).applyForReturn(second.as_tuple(), world.sign(second, world.platform_a_key))
    with expect_revert(
        "ApplicationOriginMismatch",
        {
            "caseId": case_id,
            "signedOrigin": signed_origin,
            "signedCode": signed_code,
            "originCode": 3100,
        },
    ):
        world.send(fn, world.hz)
    assert call(rl(world).getCase(case_id))[4:] == (1, mask_of([1]))


def test_apply_for_return_after_origin_suspended(world: World) -> None:
    # A case stays with its origin: a suspended origin does not block later applications.
    a = apply_one(world, mask_of([1]))
    consortium = world.c.consortium.functions
    world.send(consortium.proposeSuspension(NB), world.hz)
    world.send(consortium.vote(0), world.zz)
    second = world.terms(a.case.header.case_id, mask_of([2]))
    fn = rl(world).applyForReturn(second.as_tuple(), world.sign(second, world.platform_a_key))
    world.send(fn, world.hz)
    assert get_return(world, second.return_id)[4] == ReturnState.APPLIED


def test_apply_for_unknown_case_reverts(world: World) -> None:
    terms = world.terms(random32(), 1)
    fn = rl(world).applyForReturn(terms.as_tuple(), world.sign(terms, world.platform_a_key))
    with expect_revert("UnknownCase", {"caseId": terms.case_id}):
        world.send(fn, world.hz)


def test_apply_to_non_customs_return_centre_reverts(world: World) -> None:
    # No customs account is a platform's: whoever relays, the named centre is not the relay.
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    terms = world.terms(case.header.case_id, 1, return_centre=PLATFORM_B)
    for relay, member in ((world.hz, HZ), (world.zz, ZZ)):
        with expect_revert("NotNamedReturnCentre", {"caller": member, "returnCentre": PLATFORM_B}):
            world.open_and_apply(case, terms, world.platform_a_key, sender=relay)
    assert call(rl(world).getCase(case.header.case_id))[2] == 0


@pytest.mark.parametrize("relay", ["nb", "zz"], ids=["origin", "third-area"])
def test_open_case_relayed_by_other_area_than_named_centre_reverts(
    world: World, relay: str
) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    terms = world.terms(case.header.case_id, 1)
    assert terms.return_centre == HZ
    caller = {"nb": NB, "zz": ZZ}[relay]
    with expect_revert("NotNamedReturnCentre", {"caller": caller, "returnCentre": HZ}):
        world.open_and_apply(case, terms, world.platform_a_key, sender=getattr(world, relay))
    assert call(rl(world).getCase(case.header.case_id))[2] == 0
    world.open_and_apply(case, terms, world.platform_a_key, sender=world.hz)
    assert get_return(world, terms.return_id)[4] == ReturnState.APPLIED


@pytest.mark.parametrize("relay", ["nb", "zz"], ids=["origin", "third-area"])
def test_apply_for_return_relayed_by_other_area_than_named_centre_reverts(
    world: World, relay: str
) -> None:
    a = apply_one(world, mask_of([1]))
    second = world.terms(a.case.header.case_id, mask_of([2]))
    caller = {"nb": NB, "zz": ZZ}[relay]
    with expect_revert("NotNamedReturnCentre", {"caller": caller, "returnCentre": HZ}):
        world.apply_for_return(second, world.platform_a_key, sender=getattr(world, relay))
    assert get_return(world, second.return_id)[4] == ReturnState.NONE
    world.apply_for_return(second, world.platform_a_key, sender=world.hz)
    assert get_return(world, second.return_id)[4] == ReturnState.APPLIED


def test_apply_relayed_by_platform_account_reverts(world: World) -> None:
    # The platform cannot bypass the gateways: only a customs account relays.
    a = apply_one(world, mask_of([1]))
    spare = world.spare[0]
    world.add_own_account(PLATFORM_A, spare, world.platform_a_key.address)
    second = world.terms(a.case.header.case_id, mask_of([2]))
    with expect_revert("WrongMemberKind", {"memberId": PLATFORM_A, "actual": 2}):
        world.apply_for_return(second, world.platform_a_key, sender=spare)
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    terms = world.terms(case.header.case_id, 1)
    with expect_revert("WrongMemberKind", {"memberId": PLATFORM_A, "actual": 2}):
        world.open_and_apply(case, terms, world.platform_a_key, sender=spare)


def test_apply_relayed_by_suspended_named_centre_reverts(world: World) -> None:
    a = apply_one(world, mask_of([1]))
    consortium = world.c.consortium.functions
    world.send(consortium.proposeSuspension(HZ), world.nb)
    world.send(consortium.vote(0), world.zz)
    second = world.terms(a.case.header.case_id, mask_of([2]))
    with expect_revert("MemberNotActive", {"memberId": HZ}):
        world.apply_for_return(second, world.platform_a_key)


def test_apply_for_99_line_list(world: World) -> None:
    # Every line's piece counts take storage: opening a 99-line list and applying for all of it
    # measured ~3.52 M gas, above the default 3 M of `transact`.
    pieces = tuple(range(1, 100))
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=99, pieces=pieces)
    terms = world.terms(case.header.case_id, (1 << 99) - 1, pieces=pieces)
    receipt = world.open_and_apply(case, terms, world.platform_a_key, gas=5_000_000)
    assert receipt["gasUsed"] < 4_000_000
    assert call(rl(world).lineState(terms.return_id, 99)) == LineState.APPLIED
    assert call(rl(world).lineState(terms.return_id, 100)) == LineState.NONE
    assert call(rl(world).casePieces(case.header.case_id)) == [list(pieces), list(pieces)]
    assert call(rl(world).returnPieces(terms.return_id))[0] == list(pieces)


# ---------------------------------------------------------------- windows


@pytest.mark.parametrize(("day", "ok"), [(29, True), (30, True), (31, False)])
def test_apply_window_days(world: World, day: int, ok: bool) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    release = case.header.release_time
    at = release + day * DAY
    terms = world.terms(case.header.case_id, 1, deadline=at + DAY)
    world.travel_to(at)
    if ok:
        world.open_and_apply(case, terms, world.platform_a_key)
        assert get_return(world, terms.return_id)[4] == ReturnState.APPLIED
    else:
        closed = {"caseId": case.header.case_id, "closedAt": release + 30 * DAY, "nowTime": at}
        with expect_revert("ApplyWindowClosed", closed):
            world.open_and_apply(case, terms, world.platform_a_key)


@pytest.mark.parametrize(("day", "late"), [(44, False), (45, False), (46, True)])
def test_arrival_window_days(world: World, day: int, late: bool) -> None:
    a = apply_one(world)
    world.travel_to(a.case.header.release_time + day * DAY)
    receipt = world.send(rl(world).recordArrival(a.terms.return_id, random32()), world.hz)
    ((name, args),) = events(receipt, world.c)
    assert (name, args["late"]) == ("ArrivalRecorded", late)
    stored = get_return(world, a.terms.return_id)
    assert stored[4:6] == (ReturnState.ARRIVED, late)
    inspect = rl(world).recordInspection
    if late:
        with expect_revert(
            "LateArrivalMustBeRejected", {"returnId": a.terms.return_id, "acceptedMask": 1}
        ):
            world.send(inspect(a.terms.return_id, 1, [1], random32()), world.hz)
        world.send(inspect(a.terms.return_id, 0, [], random32()), world.hz)
        assert call(rl(world).lineState(a.terms.return_id, 1)) == LineState.REJECTED
    else:
        world.send(inspect(a.terms.return_id, 1, [1], random32()), world.hz)
        assert call(rl(world).lineState(a.terms.return_id, 1)) == LineState.ACCEPTED


# ---------------------------------------------------------------- arrival and inspection


def test_record_arrival_by_other_area_reverts(world: World) -> None:
    a = apply_one(world)
    with expect_revert(
        "NotReturnCentre", {"returnId": a.terms.return_id, "callerCode": 3100, "centreCode": 2900}
    ):
        world.send(rl(world).recordArrival(a.terms.return_id, random32()), world.nb)


def test_record_arrival_by_platform_account_reverts(world: World) -> None:
    a = apply_one(world)
    spare = world.spare[0]
    world.add_own_account(PLATFORM_A, spare, world.platform_a_key.address)
    with expect_revert("WrongMemberKind", {"memberId": PLATFORM_A, "actual": 2}):
        world.send(rl(world).recordArrival(a.terms.return_id, random32()), spare)


def test_record_arrival_of_unknown_return_reverts(world: World) -> None:
    rid = random32()
    with expect_revert("UnknownReturn", {"returnId": rid}):
        world.send(rl(world).recordArrival(rid, random32()), world.hz)


def test_record_arrival_twice_reverts(world: World) -> None:
    a = apply_one(world)
    world.send(rl(world).recordArrival(a.terms.return_id, random32()), world.hz)
    expected = {"returnId": a.terms.return_id, "expected": 1, "actual": 2}
    with expect_revert("InvalidState", expected):
        world.send(rl(world).recordArrival(a.terms.return_id, random32()), world.hz)


def test_record_arrival_with_zero_digest_reverts(world: World) -> None:
    a = apply_one(world)
    with expect_revert("ZeroValue", {"field": field_name("arrivalDigest")}):
        world.send(rl(world).recordArrival(a.terms.return_id, b"\0" * 32), world.hz)


def test_record_arrival_by_suspended_return_centre_reverts(world: World) -> None:
    a = apply_one(world)
    consortium = world.c.consortium.functions
    world.send(consortium.proposeSuspension(HZ), world.nb)
    world.send(consortium.vote(0), world.zz)
    with expect_revert("MemberNotActive", {"memberId": HZ}):
        world.send(rl(world).recordArrival(a.terms.return_id, random32()), world.hz)


def test_record_inspection_emits_outcome(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A, line_count=3, pieces=(2, 1, 4))
    terms = world.terms(case.header.case_id, ALL3, pieces=(2, 1, 3))
    world.open_and_apply(case, terms, world.platform_a_key)
    rid = terms.return_id
    world.send(rl(world).recordArrival(rid, random32()), world.hz)
    digest = random32()
    mask, accepted = mask_and_pieces({1: 1, 3: 3})  # 1 of line 1's 2 pieces, all of line 3's
    receipt = world.send(rl(world).recordInspection(rid, mask, accepted, digest), world.hz)
    assert events(receipt, world.c) == [
        (
            "InspectionRecorded",
            {
                "returnId": rid,
                "caseId": case.header.case_id,
                "acceptedMask": 5,
                "acceptedPieces": [1, 3],
                "reportDigest": digest,
            },
        )
    ]
    states = [call(rl(world).lineState(rid, g)) for g in (1, 2, 3)]
    assert states == [LineState.ACCEPTED, LineState.REJECTED, LineState.ACCEPTED]
    assert call(rl(world).returnPieces(rid)) == [[2, 1, 3], [1, 0, 3], [0, 0, 0]]
    assert get_return(world, rid)[2:5] == (5, 0, ReturnState.INSPECTED)


def test_record_inspection_of_lines_not_applied_reverts(world: World) -> None:
    a = apply_one(world, mask_of([1, 2]))
    world.send(rl(world).recordArrival(a.terms.return_id, random32()), world.hz)
    with expect_revert("LinesNotApplied", {"returnId": a.terms.return_id, "extra": 4}):
        fn = rl(world).recordInspection(a.terms.return_id, ALL3, ones(ALL3), random32())
        world.send(fn, world.hz)


def test_record_inspection_before_arrival_reverts(world: World) -> None:
    a = apply_one(world)
    expected = {"returnId": a.terms.return_id, "expected": 2, "actual": 1}
    with expect_revert("InvalidState", expected):
        world.send(rl(world).recordInspection(a.terms.return_id, 1, [1], random32()), world.hz)


def test_record_inspection_by_origin_reverts(world: World) -> None:
    a = apply_one(world)
    world.send(rl(world).recordArrival(a.terms.return_id, random32()), world.hz)
    with expect_revert(
        "NotReturnCentre", {"returnId": a.terms.return_id, "callerCode": 3100, "centreCode": 2900}
    ):
        world.send(rl(world).recordInspection(a.terms.return_id, 1, [1], random32()), world.nb)


# ---------------------------------------------------------------- recognition and dispute


def test_record_recognition_by_origin(world: World) -> None:
    a = through_inspection(world)
    digest = random32()
    receipt = world.send(rl(world).recordRecognition(a.terms.return_id, digest), world.nb)
    assert events(receipt, world.c) == [
        (
            "ReturnRecognized",
            {
                "returnId": a.terms.return_id,
                "caseId": a.case.header.case_id,
                "decisionDigest": digest,
            },
        )
    ]
    assert get_return(world, a.terms.return_id)[4] == ReturnState.RECOGNIZED


def test_record_recognition_by_return_centre_reverts(world: World) -> None:
    a = through_inspection(world)
    with expect_revert(
        "NotOriginArea", {"returnId": a.terms.return_id, "callerCode": 2900, "originCode": 3100}
    ):
        world.send(rl(world).recordRecognition(a.terms.return_id, random32()), world.hz)


def test_record_recognition_before_inspection_reverts(world: World) -> None:
    a = apply_one(world)
    # Recognition also takes a Disputed return; the error names Inspected.
    expected = {"returnId": a.terms.return_id, "expected": 3, "actual": 1}
    with expect_revert("InvalidState", expected):
        world.send(rl(world).recordRecognition(a.terms.return_id, random32()), world.nb)


def test_record_dispute_then_recognition_closes_it(world: World) -> None:
    a = through_inspection(world)
    reason = random32()
    receipt = world.send(rl(world).recordDispute(a.terms.return_id, reason), world.nb)
    assert events(receipt, world.c)[0] == (
        "ReturnDisputed",
        {"returnId": a.terms.return_id, "caseId": a.case.header.case_id, "reasonDigest": reason},
    )
    assert get_return(world, a.terms.return_id)[4] == ReturnState.DISPUTED
    expected = {"returnId": a.terms.return_id, "expected": 3, "actual": 4}
    with expect_revert("InvalidState", expected):
        world.send(rl(world).recordDispute(a.terms.return_id, random32()), world.nb)
    world.send(rl(world).recordRecognition(a.terms.return_id, random32()), world.nb)
    assert get_return(world, a.terms.return_id)[4] == ReturnState.RECOGNIZED


def test_record_dispute_by_other_origin_reverts(world: World) -> None:
    a = through_inspection(world)
    with expect_revert(
        "NotOriginArea", {"returnId": a.terms.return_id, "callerCode": 4600, "originCode": 3100}
    ):
        world.send(rl(world).recordDispute(a.terms.return_id, random32()), world.zz)


def test_record_dispute_with_zero_digest_reverts(world: World) -> None:
    a = through_inspection(world)
    with expect_revert("ZeroValue", {"field": field_name("reasonDigest")}):
        world.send(rl(world).recordDispute(a.terms.return_id, b"\0" * 32), world.nb)


# ---------------------------------------------------------------- settlement


def test_settle_not_levied_in_two_steps(world: World) -> None:
    a = recognized(world)
    rid = a.terms.return_id
    digest = random32()
    receipt = world.send(rl(world).settleNotLevied(rid, 1, [1], digest, True), world.nb)
    assert events(receipt, world.c) == [
        (
            "LinesSettled",
            {
                "returnId": rid,
                "caseId": a.case.header.case_id,
                "lineMask": 1,
                "pieces": [1],
                "kind": SettlementKind.NOT_LEVIED,
                "settlementDigest": digest,
                "quotaAdjusted": True,
            },
        )
    ]
    assert get_return(world, rid)[4] == ReturnState.RECOGNIZED
    assert call(rl(world).lineState(rid, 1)) == LineState.SETTLED
    assert call(rl(world).lineState(rid, 2)) == LineState.ACCEPTED
    world.send(rl(world).settleNotLevied(rid, mask_of([2, 3]), [1, 1], random32(), True), world.nb)
    assert get_return(world, rid)[2:5] == (ALL3, ALL3, ReturnState.SETTLED)
    assert call(rl(world).returnPieces(rid)) == [[1, 1, 1]] * 3


def test_settle_line_twice_reverts(world: World) -> None:
    a = recognized(world)
    rid = a.terms.return_id
    world.send(rl(world).settleNotLevied(rid, 1, [1], random32(), True), world.nb)
    with expect_revert(
        "PiecesExceedAccepted", {"returnId": rid, "gnum": 1, "requested": 1, "left": 0}
    ):
        fn = rl(world).settleNotLevied(rid, mask_of([1, 2]), [1, 1], random32(), True)
        world.send(fn, world.nb)
    assert call(rl(world).returnPieces(rid))[2] == [1, 0, 0]  # line 2 was not settled either


def test_settle_rejected_line_reverts(world: World) -> None:
    a = recognized(world, accepted=mask_of([1, 2]))
    rid = a.terms.return_id
    with expect_revert("LinesNotAccepted", {"returnId": rid, "extra": 4}):
        world.send(rl(world).settleNotLevied(rid, ALL3, ones(ALL3), random32(), True), world.nb)


def test_settle_before_recognition_reverts(world: World) -> None:
    a = through_inspection(world)
    rid = a.terms.return_id
    expected = {
        "returnId": rid,
        "expected": ReturnState.RECOGNIZED,
        "actual": ReturnState.INSPECTED,
    }
    with expect_revert("InvalidState", expected):
        world.send(rl(world).settleNotLevied(rid, 1, [1], random32(), True), world.nb)


def test_settle_disputed_return_reverts(world: World) -> None:
    a = through_inspection(world)
    rid = a.terms.return_id
    world.send(rl(world).recordDispute(rid, random32()), world.nb)
    expected = {"returnId": rid, "expected": ReturnState.RECOGNIZED, "actual": ReturnState.DISPUTED}
    with expect_revert("InvalidState", expected):
        world.send(rl(world).settleNotLevied(rid, 1, [1], random32(), True), world.nb)


def test_settle_by_return_centre_reverts(world: World) -> None:
    a = recognized(world)
    rid = a.terms.return_id
    with expect_revert("NotOriginArea", {"returnId": rid, "callerCode": 2900, "originCode": 3100}):
        world.send(rl(world).settleNotLevied(rid, 1, [1], random32(), True), world.hz)


def test_settle_empty_mask_reverts(world: World) -> None:
    a = recognized(world)
    with expect_revert("EmptyLineMask", {"returnId": a.terms.return_id}):
        fn = rl(world).settleNotLevied(a.terms.return_id, 0, [], random32(), True)
        world.send(fn, world.nb)


def test_settle_refunded_with_payment_proof(world: World) -> None:
    a = recognized(world)
    rid, case_id = a.terms.return_id, a.case.header.case_id
    root, digest, proof = world.anchor_payment(NB, case_id)
    receipt = world.send(
        rl(world).settleRefunded(rid, ALL3, ones(ALL3), random32(), False, (root, digest, proof)),
        world.nb,
    )
    ((name, args),) = events(receipt, world.c)
    assert (name, args["kind"], args["quotaAdjusted"]) == (
        "LinesSettled",
        SettlementKind.REFUNDED,
        False,
    )
    assert get_return(world, rid)[4] == ReturnState.SETTLED


def test_settle_refunded_with_wrong_payment_digest_reverts(world: World) -> None:
    a = recognized(world)
    root, _digest, proof = world.anchor_payment(NB, a.case.header.case_id)
    payment = (root, random32(), proof)
    fn = rl(world).settleRefunded(a.terms.return_id, 1, [1], random32(), True, payment)
    with pytest.raises(ContractRevert) as info:
        world.send(fn, world.nb)
    assert (info.value.name, info.value.args_dict["root"]) == ("InvalidProof", root)


def test_settle_refunded_against_other_areas_payment_reverts(world: World) -> None:
    a = recognized(world)
    root, digest, proof = world.anchor_payment(ZZ, a.case.header.case_id)
    fn = rl(world).settleRefunded(
        a.terms.return_id, 1, [1], random32(), True, (root, digest, proof)
    )
    with expect_revert("RootOfAnotherArea", {"root": root, "anchoredBy": 4600, "expected": 3100}):
        world.send(fn, world.nb)


def test_settle_refunded_against_assessment_root_reverts(world: World) -> None:
    a = recognized(world)
    fn = rl(world).settleRefunded(
        a.terms.return_id, 1, [1], random32(), True, (a.case.root, random32(), a.case.proof)
    )
    with expect_revert(
        "WrongBatchKind",
        {"root": a.case.root, "kind": BatchKind.ASSESSMENT, "expected": BatchKind.PAYMENT},
    ):
        world.send(fn, world.nb)


def test_recognize_fully_rejected_return_leaves_nothing_to_settle(world: World) -> None:
    a = recognized(world, accepted=0)
    rid = a.terms.return_id
    assert get_return(world, rid)[4] == ReturnState.RECOGNIZED
    with expect_revert("LinesNotAccepted", {"returnId": rid, "extra": 1}):
        world.send(rl(world).settleNotLevied(rid, 1, [1], random32(), True), world.nb)


# ---------------------------------------------------------------- disclosure log


def log_disclosure(world: World, case_id: bytes, sender: str, document: bytes | None = None) -> Any:
    """Log disclosing a document of `case_id` to Hangzhou (under a fresh salt) from `sender`."""
    commitment = requester_commitment("0x" + HZ.hex(), random32())
    fn = rl(world).logDisclosure(
        case_id, bytes.fromhex(commitment[2:]), document or random32(), random32()
    )
    return world.send(fn, sender)


def test_log_disclosure_by_origin_names_document_and_commitment(world: World) -> None:
    a = apply_one(world)
    case_id, record = a.case.header.case_id, a.case.header.record_digest
    salt, disclosed = random32(), random32()
    commitment = bytes.fromhex(requester_commitment("0x" + HZ.hex(), salt)[2:])
    fn = rl(world).logDisclosure(case_id, commitment, record, disclosed)
    receipt = world.send(fn, world.nb)
    assert events(receipt, world.c) == [
        (
            "DisclosureLogged",
            {
                "caseId": case_id,
                "holder": NB,
                "requesterCommitment": commitment,
                "documentDigest": record,
                "disclosureDigest": disclosed,
            },
        )
    ]
    # the commitment opens with the salt both sides keep, and to no other member
    assert keccak256(HZ + salt) == commitment != keccak256(ZZ + salt)


def test_log_disclosure_by_return_centre_of_case(world: World) -> None:
    a = apply_one(world)
    receipt = log_disclosure(world, a.case.header.case_id, world.hz)
    assert events(receipt, world.c)[0][1]["holder"] == HZ


def test_log_disclosure_by_third_area_reverts(world: World) -> None:
    a = apply_one(world)
    case_id = a.case.header.case_id
    with expect_revert("NotCaseHolder", {"caseId": case_id, "callerCode": 4600}):
        log_disclosure(world, case_id, world.zz)


def test_log_disclosure_of_unopened_case_reverts(world: World) -> None:
    (case,) = world.anchor_cases(NB, PLATFORM_A)  # anchored, not opened
    case_id = case.header.case_id
    with expect_revert("UnknownCase", {"caseId": case_id}):
        log_disclosure(world, case_id, world.nb)
    unknown = random32()
    with expect_revert("UnknownCase", {"caseId": unknown}):
        log_disclosure(world, unknown, world.nb)


def test_log_disclosure_by_outsider_reverts(world: World) -> None:
    a = apply_one(world)
    with expect_revert("NotAMember", {"account": world.outsider}):
        log_disclosure(world, a.case.header.case_id, world.outsider)


@pytest.mark.parametrize(
    ("zero", "field"), [(1, "requesterCommitment"), (2, "documentDigest"), (3, "disclosureDigest")]
)
def test_log_disclosure_with_zero_value_reverts(world: World, zero: int, field: str) -> None:
    a = apply_one(world)
    args = [a.case.header.case_id, random32(), random32(), random32()]
    args[zero] = b"\0" * 32
    with expect_revert("ZeroValue", {"field": field_name(field)}):
        world.send(rl(world).logDisclosure(*args), world.nb)


# ---------------------------------------------------------------- views


def test_views_of_unknown_ids_are_empty(world: World) -> None:
    unknown = random32()
    assert call(rl(world).getCase(unknown))[2] == 0
    assert call(rl(world).getReturn(unknown))[4] == ReturnState.NONE
    assert call(rl(world).lineState(unknown, 1)) == LineState.NONE
    assert call(rl(world).lineState(unknown, 0)) == LineState.NONE
    assert call(rl(world).casePieces(unknown)) == [[], []]
    assert call(rl(world).returnPieces(unknown)) == [[], [], []]
    assert call(rl(world).taxAnchor()) == world.c.tax_anchor.address
    assert call(rl(world).consortium()) == world.c.consortium.address
