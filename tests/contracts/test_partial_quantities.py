"""ReturnLedger's quantity-exact partial returns: a line's declared pieces applied for in parts,
accepted and settled in parts, never beyond what is left, and relayed only by the named centre."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from clients.bindings import BatchKind, LineState, ReturnState, call, events
from clients.commitments.ledger_leaves import CaseHeader
from clients.commitments.merkle import MerkleTree
from clients.records.lines import mask_and_pieces
from clients.signing import ReturnApplicationTerms
from tests.utils.chain import (
    HZ,
    NB,
    PLATFORM_A,
    ZZ,
    AnchoredCase,
    World,
    expect_revert,
    random32,
)

# The case of every story: three lines of 3, 2 and 4 declared pieces.
DECLARED = (3, 2, 4)


@dataclass
class Case:
    """An anchored, not yet opened case of DECLARED pieces, and the world it lives in."""

    world: World
    anchored: AnchoredCase

    @property
    def case_id(self) -> bytes:
        return self.anchored.header.case_id

    def terms(self, counts: dict[int, int], centre: bytes = HZ) -> ReturnApplicationTerms:
        """Application terms asking `counts` ({gnum: pieces}) back at `centre`."""
        mask, pieces = mask_and_pieces(counts)
        return self.world.terms(self.case_id, mask, return_centre=centre, pieces=pieces)

    def apply(self, counts: dict[int, int], centre: bytes = HZ) -> bytes:
        """Open the case (first time) or apply again; relayed by `centre`. The return id."""
        terms = self.terms(counts, centre)
        opened = call(rl(self.world).getCase(self.case_id))[2] != 0
        if opened:
            self.world.apply_for_return(terms, self.world.platform_a_key)
        else:
            self.world.open_and_apply(self.anchored, terms, self.world.platform_a_key)
        return terms.return_id

    def pieces(self) -> tuple[list[int], list[int]]:
        """casePieces: (declared, applied) per line."""
        declared, applied = call(rl(self.world).casePieces(self.case_id))
        return declared, applied


def rl(world: World) -> Any:
    """ReturnLedger's functions."""
    return world.c.return_ledger.functions


@pytest.fixture
def case(world: World) -> Case:
    (anchored,) = world.anchor_cases(NB, PLATFORM_A, line_count=3, pieces=DECLARED)
    return Case(world, anchored)


def return_pieces(world: World, return_id: bytes) -> tuple[list[int], list[int], list[int]]:
    """returnPieces: (applied, accepted, settled) per line of the case."""
    applied, accepted, settled = call(rl(world).returnPieces(return_id))
    return applied, accepted, settled


def inspect(world: World, return_id: bytes, counts: dict[int, int]) -> Any:
    """Record arrival and an inspection accepting `counts`; the inspection's receipt."""
    world.send(rl(world).recordArrival(return_id, random32()), world.hz)
    mask, pieces = mask_and_pieces(counts)
    return world.send(rl(world).recordInspection(return_id, mask, pieces, random32()), world.hz)


def recognized(case: Case, applied: dict[int, int], accepted: dict[int, int]) -> bytes:
    """A return of `applied` pieces, inspected accepting `accepted`, recognised by the origin."""
    return_id = case.apply(applied)
    inspect(case.world, return_id, accepted)
    case.world.send(rl(case.world).recordRecognition(return_id, random32()), case.world.nb)
    return return_id


def settle(world: World, return_id: bytes, counts: dict[int, int]) -> Any:
    """Settle `counts` of a return as not levied; the receipt."""
    mask, pieces = mask_and_pieces(counts)
    fn = rl(world).settleNotLevied(return_id, mask, pieces, random32(), True)
    return world.send(fn, world.nb)


def anchor_raw(world: World, header: CaseHeader) -> AnchoredCase:
    """Anchor a header whose leaf the contract computes (Python refuses malformed headers)."""
    leaf = call(rl(world).caseHeaderLeaf(header.as_tuple()))
    tree = MerkleTree([leaf, random32()])
    world.send(world.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, 2), world.nb)
    return AnchoredCase(header, tree.root, tree.proof(leaf))


# ---------------------------------------------------------------- application in parts


def test_apply_two_parts_of_a_line_in_two_returns(case: Case) -> None:
    first = case.apply({1: 1})
    assert case.pieces() == ([3, 2, 4], [1, 0, 0])
    second = case.apply({1: 2})
    assert case.pieces() == ([3, 2, 4], [3, 0, 0])
    assert return_pieces(case.world, first)[0] == [1, 0, 0]
    assert return_pieces(case.world, second)[0] == [2, 0, 0]
    stored = call(rl(case.world).getCase(case.case_id))
    assert stored[4:] == (2, 1)  # returnCount, appliedMask


def test_apply_third_part_of_used_up_line_reverts(case: Case) -> None:
    case.apply({1: 1})
    case.apply({1: 2})
    third = case.terms({1: 1})
    with expect_revert(
        "PiecesExceedDeclared", {"caseId": case.case_id, "gnum": 1, "requested": 1, "left": 0}
    ):
        case.world.apply_for_return(third, case.world.platform_a_key)
    assert case.pieces() == ([3, 2, 4], [3, 0, 0])
    assert call(rl(case.world).getReturn(third.return_id))[4] == ReturnState.NONE


def test_apply_more_than_declared_at_opening_reverts(case: Case) -> None:
    terms = case.terms({2: 1, 3: 5})
    with expect_revert(
        "PiecesExceedDeclared", {"caseId": case.case_id, "gnum": 3, "requested": 5, "left": 4}
    ):
        case.world.open_and_apply(case.anchored, terms, case.world.platform_a_key)
    assert call(rl(case.world).getCase(case.case_id))[2] == 0  # the case did not open either


def test_apply_pieces_rejected_at_inspection_stay_used(case: Case) -> None:
    # Pieces rejected by the return centre were shipped out or destroyed: they are not returned
    # to the case, so they cannot be applied for again.
    first = case.apply({2: 2})
    inspect(case.world, first, {2: 1})
    assert case.pieces()[1] == [0, 2, 0]
    with expect_revert(
        "PiecesExceedDeclared", {"caseId": case.case_id, "gnum": 2, "requested": 1, "left": 0}
    ):
        case.world.apply_for_return(case.terms({2: 1}), case.world.platform_a_key)


# ---------------------------------------------------------------- inspection


def test_record_inspection_accepting_more_than_applied_reverts(case: Case) -> None:
    # Line 1 still has a piece left on the case, but this return asked for 2 only.
    return_id = case.apply({1: 2, 3: 1})
    with expect_revert(
        "PiecesExceedApplied", {"returnId": return_id, "gnum": 1, "accepted": 3, "applied": 2}
    ):
        inspect(case.world, return_id, {1: 3, 3: 1})
    assert call(rl(case.world).getReturn(return_id))[4] == ReturnState.ARRIVED
    receipt = case.world.send(
        rl(case.world).recordInspection(return_id, 5, [2, 1], random32()), case.world.hz
    )
    assert events(receipt, case.world.c)[0][1]["acceptedPieces"] == [2, 1]
    assert return_pieces(case.world, return_id) == ([2, 0, 1], [2, 0, 1], [0, 0, 0])


def test_record_inspection_accepting_zero_pieces_reverts(case: Case) -> None:
    return_id = case.apply({1: 2, 2: 1})
    with expect_revert("ZeroPieces", {"gnum": 2}):
        inspect(case.world, return_id, {1: 1, 2: 0})


def test_record_inspection_with_pieces_not_matching_mask_reverts(case: Case) -> None:
    return_id = case.apply({1: 2, 2: 1})
    world = case.world
    world.send(rl(world).recordArrival(return_id, random32()), world.hz)
    with expect_revert("PiecesMismatch", {"lineMask": 3, "piecesLength": 1}):
        world.send(rl(world).recordInspection(return_id, 3, [1], random32()), world.hz)
    with expect_revert("PiecesMismatch", {"lineMask": 0, "piecesLength": 1}):
        world.send(rl(world).recordInspection(return_id, 0, [1], random32()), world.hz)


# ---------------------------------------------------------------- settlement in parts


def test_settle_more_pieces_than_accepted_reverts(case: Case) -> None:
    return_id = recognized(case, applied={1: 3, 3: 2}, accepted={1: 2, 3: 2})
    with expect_revert(
        "PiecesExceedAccepted", {"returnId": return_id, "gnum": 1, "requested": 3, "left": 2}
    ):
        settle(case.world, return_id, {1: 3, 3: 2})
    assert return_pieces(case.world, return_id)[2] == [0, 0, 0]


def test_settle_line_in_two_settlements(case: Case) -> None:
    world = case.world
    return_id = recognized(case, applied={2: 2}, accepted={2: 2})
    receipt = settle(world, return_id, {2: 1})
    ((name, args),) = events(receipt, world.c)
    assert (name, args["lineMask"], args["pieces"]) == ("LinesSettled", 2, [1])
    stored = call(rl(world).getReturn(return_id))
    assert (stored[2], stored[3], stored[4]) == (2, 0, ReturnState.RECOGNIZED)  # not yet settled
    assert call(rl(world).lineState(return_id, 2)) == LineState.ACCEPTED
    assert return_pieces(world, return_id) == ([0, 2, 0], [0, 2, 0], [0, 1, 0])
    settle(world, return_id, {2: 1})
    stored = call(rl(world).getReturn(return_id))
    assert (stored[2], stored[3], stored[4]) == (2, 2, ReturnState.SETTLED)
    assert call(rl(world).lineState(return_id, 2)) == LineState.SETTLED
    assert return_pieces(world, return_id)[2] == [0, 2, 0]


def test_settle_return_settled_only_when_every_accepted_piece_is(case: Case) -> None:
    world = case.world
    return_id = recognized(case, applied={1: 1, 3: 4}, accepted={1: 1, 3: 3})
    settle(world, return_id, {1: 1, 3: 2})
    stored = call(rl(world).getReturn(return_id))
    assert (stored[3], stored[4]) == (1, ReturnState.RECOGNIZED)  # line 1 done, line 3 not
    settle(world, return_id, {3: 1})
    stored = call(rl(world).getReturn(return_id))
    assert (stored[3], stored[4]) == (5, ReturnState.SETTLED)


def test_settle_no_piece_twice(case: Case) -> None:
    world = case.world
    return_id = recognized(case, applied={1: 2, 2: 2}, accepted={1: 2, 2: 2})
    settle(world, return_id, {1: 1})
    with expect_revert(
        "PiecesExceedAccepted", {"returnId": return_id, "gnum": 1, "requested": 2, "left": 1}
    ):
        settle(world, return_id, {1: 2})
    settle(world, return_id, {1: 1})  # line 1 is now settled in full; line 2 keeps it Recognized
    with expect_revert(
        "PiecesExceedAccepted", {"returnId": return_id, "gnum": 1, "requested": 1, "left": 0}
    ):
        settle(world, return_id, {1: 1, 2: 2})
    assert return_pieces(world, return_id)[2] == [2, 0, 0]
    settle(world, return_id, {2: 2})
    assert call(rl(world).getReturn(return_id))[4] == ReturnState.SETTLED


def test_settle_zero_pieces_reverts(case: Case) -> None:
    return_id = recognized(case, applied={1: 2, 2: 1}, accepted={1: 2, 2: 1})
    with expect_revert("ZeroPieces", {"gnum": 1}):
        settle(case.world, return_id, {1: 0, 2: 1})


def test_settle_with_pieces_not_matching_mask_reverts(case: Case) -> None:
    world = case.world
    return_id = recognized(case, applied={1: 2, 2: 1}, accepted={1: 2, 2: 1})
    fn = rl(world).settleNotLevied(return_id, 3, [1, 1, 1], random32(), True)
    with expect_revert("PiecesMismatch", {"lineMask": 3, "piecesLength": 3}):
        world.send(fn, world.nb)


# ---------------------------------------------------------------- declared and asked pieces


@pytest.mark.parametrize("declared", [(3, 2), (3, 2, 4, 1), ()], ids=["short", "long", "empty"])
def test_open_case_with_declared_pieces_not_matching_line_count_reverts(
    world: World, declared: tuple[int, ...]
) -> None:
    header = CaseHeader(random32(), NB, PLATFORM_A, world.now(), 3, random32(), declared)
    anchored = anchor_raw(world, header)
    terms = world.terms(header.case_id, 1)
    with expect_revert("DeclaredPiecesMismatch", {"lineCount": 3, "piecesLength": len(declared)}):
        world.open_and_apply(anchored, terms, world.platform_a_key)
    assert call(rl(world).getCase(header.case_id))[2] == 0


def test_open_case_declaring_zero_pieces_reverts(world: World) -> None:
    header = CaseHeader(random32(), NB, PLATFORM_A, world.now(), 3, random32(), (2, 0, 1))
    anchored = anchor_raw(world, header)
    with expect_revert("ZeroPieces", {"gnum": 2}):
        world.open_and_apply(anchored, world.terms(header.case_id, 1), world.platform_a_key)
    assert call(rl(world).getCase(header.case_id))[2] == 0


def test_apply_zero_pieces_reverts(case: Case) -> None:
    terms = case.terms({1: 1, 3: 0})
    with expect_revert("ZeroPieces", {"gnum": 3}):
        case.world.open_and_apply(case.anchored, terms, case.world.platform_a_key)


@pytest.mark.parametrize("pieces", [(1,), (1, 1, 1), ()], ids=["short", "long", "empty"])
def test_apply_with_pieces_not_matching_mask_reverts(case: Case, pieces: tuple[int, ...]) -> None:
    terms = case.world.terms(case.case_id, 0b101, pieces=pieces)
    with expect_revert("PiecesMismatch", {"lineMask": 5, "piecesLength": len(pieces)}):
        case.world.open_and_apply(case.anchored, terms, case.world.platform_a_key)


# ---------------------------------------------------------------- views


def test_case_and_return_pieces_report_counts(case: Case) -> None:
    world = case.world
    first = case.apply({1: 2, 3: 1})
    second = case.apply({1: 1, 2: 2, 3: 3})
    assert case.pieces() == ([3, 2, 4], [3, 2, 4])
    inspect(world, first, {1: 1, 3: 1})
    world.send(rl(world).recordRecognition(first, random32()), world.nb)
    settle(world, first, {1: 1})
    assert return_pieces(world, first) == ([2, 0, 1], [1, 0, 1], [1, 0, 0])
    assert return_pieces(world, second) == ([1, 2, 3], [0, 0, 0], [0, 0, 0])
    # The returns' applied pieces add up to the case's.
    applied = [
        sum(p)
        for p in zip(return_pieces(world, first)[0], return_pieces(world, second)[0], strict=True)
    ]
    assert applied == case.pieces()[1]


# ---------------------------------------------------------------- relay rule


def test_relay_only_by_named_return_centre(case: Case) -> None:
    # The platform names Zhengzhou as return centre of a second part of line 1: Hangzhou (the
    # first return's centre) and Ningbo (the origin) cannot relay it, Zhengzhou can, and the
    # return is Zhengzhou's to receive.
    world = case.world
    case.apply({1: 1})
    terms = case.terms({1: 2}, centre=ZZ)
    for relay, member in ((world.hz, HZ), (world.nb, NB)):
        with expect_revert("NotNamedReturnCentre", {"caller": member, "returnCentre": ZZ}):
            world.apply_for_return(terms, world.platform_a_key, sender=relay)
    assert case.pieces()[1] == [1, 0, 0]
    world.apply_for_return(terms, world.platform_a_key, sender=world.zz)
    assert call(rl(world).getReturn(terms.return_id))[8] == 4600
    with expect_revert(
        "NotReturnCentre", {"returnId": terms.return_id, "callerCode": 2900, "centreCode": 4600}
    ):
        world.send(rl(world).recordArrival(terms.return_id, random32()), world.hz)
    world.send(rl(world).recordArrival(terms.return_id, random32()), world.zz)
