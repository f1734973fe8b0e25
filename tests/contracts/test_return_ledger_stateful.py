"""A hypothesis state machine drives random sequences of every ReturnLedger operation, by the
right and the wrong parties, against a small Python model of DESIGN §3, and compares every
outcome: success, or the exact custom error the model predicts (with its arguments for the piece
errors). Cases declare random piece counts per line; applications, inspections and settlements
take random parts of them. Invariants: per line applied <= declared on a case, settled <= accepted
<= applied on a return, and the returns' pieces add up to their case's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from clients.bindings import ReturnState, call
from clients.errors import ContractRevert
from clients.records.lines import lines_of
from tests.utils.chain import (
    AREA_CODES,
    DAY,
    HZ,
    NB,
    PLATFORM_A,
    PLATFORM_B,
    ZZ,
    AnchoredCase,
    World,
    build_world,
    random32,
)

APPLY_WINDOW = 30 * DAY
ARRIVAL_WINDOW = 45 * DAY
# Who sends a step: mostly the party whose responsibility it is, sometimes another customs area
# or an outsider, so that sequences reach settlement and still exercise every authority check.
WHO = st.sampled_from(["right", "right", "right", "other", "outsider"])
MASKS = st.integers(min_value=0, max_value=15)
# Piece counts: `QTY` holds one raw draw per line; `MODE` says how a step turns it into counts.
# "fit" keeps each count within what the model says is allowed (so runs go deep), "raw" uses the
# draw as is (zero, or more than allowed), "mismatch" breaks the array's length.
QTY = st.lists(st.integers(min_value=0, max_value=6), min_size=8, max_size=8)
MODE = st.sampled_from(["fit", "fit", "fit", "fit", "raw", "mismatch"])
DECLARED = st.lists(st.integers(min_value=1, max_value=4), min_size=5, max_size=5)
Expected = str | tuple[str, dict[str, Any]]
ACCOUNT_OF = {HZ: "hz", NB: "nb", ZZ: "zz"}
_WORLD: dict[str, Any] = {}


def shared_world() -> tuple[World, Any]:
    """One deployed world for the whole module, with a reusable snapshot of its start."""
    if not _WORLD:
        world = build_world()
        _WORLD["world"] = world
        _WORLD["snapshot"] = world.tester.take_snapshot()
    return _WORLD["world"], _WORLD["snapshot"]


def pieces_of(mask: int, qty: list[int], mode: str, room: Callable[[int], int]) -> list[int]:
    """Piece counts for the lines of `mask` from the draws `qty`: within `room(gnum)` ("fit"; a
    line without room gets 1, one too many), the draws themselves ("raw"), or a "mismatch"."""
    gnums = lines_of(mask)
    if mode == "raw":
        return [qty[i] for i in range(len(gnums))]
    fit = [1 + qty[i] % room(g) if room(g) > 0 else 1 for i, g in enumerate(gnums)]
    if mode == "mismatch":
        return fit[:-1] if fit and qty[-1] % 2 else [*fit, 1]
    return fit


def piece_error(
    mask: int,
    pieces: list[int],
    over: Callable[[int, int], tuple[str, dict[str, Any]] | None],
) -> Expected | None:
    """The error the ledger raises for `pieces` of `mask`: a length mismatch, else the first line
    (ascending) with zero pieces or with more than `over` allows."""
    gnums = lines_of(mask)
    if len(pieces) != len(gnums):
        return ("PiecesMismatch", {"lineMask": mask, "piecesLength": len(pieces)})
    for gnum, count in zip(gnums, pieces, strict=True):
        if count == 0:
            return ("ZeroPieces", {"gnum": gnum})
        error = over(gnum, count)
        if error is not None:
            return error
    return None


@dataclass
class ModelCase:
    """The model of a case (anchored; open once a return was applied)."""

    anchored: AnchoredCase
    origin: bytes
    platform: bytes
    is_open: bool = False
    applied: int = 0
    payment: tuple[bytes, bytes, list[bytes]] | None = None
    returns: list[ModelReturn] = field(default_factory=list)

    @property
    def declared(self) -> tuple[int, ...]:
        return self.anchored.header.pieces

    def applied_pieces(self, gnum: int) -> int:
        """The pieces of line `gnum` applied for in all of the case's returns."""
        return sum(r.applied.get(gnum, 0) for r in self.returns)

    def left(self, gnum: int) -> int:
        """The declared pieces of line `gnum` not yet applied for."""
        return self.declared[gnum - 1] - self.applied_pieces(gnum)


@dataclass
class ModelReturn:
    """The model of a return: masks as stored, and pieces per line (gnum -> count)."""

    return_id: bytes
    case: ModelCase
    centre: bytes
    lines: int
    applied: dict[int, int] = field(default_factory=dict)
    state: ReturnState = ReturnState.APPLIED
    late: bool = False
    accepted: int = 0
    settled: int = 0
    accepted_pieces: dict[int, int] = field(default_factory=dict)
    settled_pieces: dict[int, int] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)

    def unsettled(self, gnum: int) -> int:
        """The accepted pieces of line `gnum` not yet settled."""
        return self.accepted_pieces.get(gnum, 0) - self.settled_pieces.get(gnum, 0)


class ReturnLedgerMachine(RuleBasedStateMachine):
    """Random operations against ReturnLedger and the model, compared step by step."""

    cases = Bundle("cases")
    returns = Bundle("returns")

    def __init__(self) -> None:
        super().__init__()
        self.world, snapshot = shared_world()
        self.world.tester.revert_to_snapshot(snapshot)
        self.model_returns: list[ModelReturn] = []
        self.model_cases: list[ModelCase] = []
        self.last_args: dict[str, Any] = {}

    # ------------------------------------------------------------ plumbing

    def account(self, sender: str) -> str:
        return str(getattr(self.world, sender))

    def sender_for(self, who: str, right: bytes) -> str:
        """The sender of a step whose responsible customs area is `right`."""
        if who == "outsider":
            return "outsider"
        if who == "right":
            return ACCOUNT_OF[right]
        return ACCOUNT_OF[NB if right != NB else ZZ]

    def member_of(self, sender: str) -> bytes | None:
        return {"hz": HZ, "nb": NB, "zz": ZZ}.get(sender)

    def outcome(self, fn: Any, sender: str) -> str:
        """'ok' or the revert's error name (reported to hypothesis' statistics); the revert's
        arguments are kept in `last_args`."""
        self.last_args = {}
        try:
            self.world.send(fn, self.account(sender))
        except ContractRevert as exc:
            event(f"{fn.fn_name}: {exc.name}")
            self.last_args = exc.args_dict
            return exc.name
        event(f"{fn.fn_name}: ok")
        return "ok"

    def check(self, fn: Any, sender: str, expected: Expected | None) -> bool:
        """Send `fn` and assert the model's outcome: success (None), an error name, or an error
        with its arguments. True if it succeeded."""
        name, args = expected if isinstance(expected, tuple) else (expected or "ok", None)
        assert self.outcome(fn, sender) == name
        if args is not None:
            assert self.last_args == args, (name, self.last_args, args)
        return expected is None

    def next_time(self) -> int:
        """The timestamp the next transaction's block will carry."""
        return self.world.now() + 1

    def area_check(self, sender: str, required: bytes, mismatch: str) -> str | None:
        """The error an area-only step raises for `sender` (None if allowed)."""
        member = self.member_of(sender)
        if member is None:
            return "NotAMember"
        return None if member == required else mismatch

    def rl(self) -> Any:
        return self.world.c.return_ledger.functions

    # ------------------------------------------------------------ rules

    def new_case(
        self, origin: bytes, platform: bytes, line_count: int, declared: list[int]
    ) -> ModelCase:
        pieces = tuple(declared[:line_count])
        (anchored,) = self.world.anchor_cases(
            origin, platform, line_count=line_count, pieces=pieces
        )
        case = ModelCase(anchored, origin, platform)
        self.model_cases.append(case)
        return case

    @initialize(target=cases, declared=DECLARED)
    def first_case(self, declared: list[int]) -> ModelCase:
        return self.new_case(NB, PLATFORM_A, 3, declared)

    @initialize(target=returns, declared=DECLARED, qty=QTY)
    def first_return(self, declared: list[int], qty: list[int]) -> ModelReturn:
        """Every run starts with one valid return (of part of lines 1 and 2), so deep states are
        reached often."""
        case = self.new_case(ZZ, PLATFORM_B, 3, declared)
        pieces = pieces_of(3, qty, "fit", case.left)
        anchored = case.anchored
        terms = self.world.terms(anchored.header.case_id, 3, origin_area=ZZ, pieces=tuple(pieces))
        self.world.open_and_apply(anchored, terms, self.world.platform_b_key)
        model = ModelReturn(terms.return_id, case, HZ, 3, applied={1: pieces[0], 2: pieces[1]})
        case.is_open, case.applied = True, 3
        case.returns.append(model)
        self.model_returns.append(model)
        return model

    @rule(
        target=cases,
        origin=st.sampled_from([NB, ZZ]),
        line_count=st.integers(min_value=1, max_value=5),
        declared=DECLARED,
    )
    def anchor_case(self, origin: bytes, line_count: int, declared: list[int]) -> ModelCase:
        platform = PLATFORM_A if origin == NB else PLATFORM_B
        return self.new_case(origin, platform, line_count, declared)

    @rule(case=cases)
    def anchor_payment(self, case: ModelCase) -> None:
        case.payment = self.world.anchor_payment(case.origin, case.anchored.header.case_id)

    @rule(days=st.sampled_from([1, 7, 16, 29]))
    def advance_time(self, days: int) -> None:
        self.world.travel_to(self.world.now() + days * DAY)

    @rule(
        target=returns,
        case=cases,
        lines=st.integers(min_value=0, max_value=255),
        overflow=st.sampled_from([False, False, False, False, True]),
        right_signer=st.sampled_from([True, True, True, False]),
        centre=st.sampled_from([HZ, ZZ]),
        who=WHO,
        reuse_id=st.sampled_from([False, False, False, True]),
        right_origin=st.sampled_from([True, True, True, False]),
        qty=QTY,
        mode=MODE,
    )
    def apply(
        self,
        case: ModelCase,
        lines: int,
        overflow: bool,
        right_signer: bool,
        centre: bytes,
        who: str,
        reuse_id: bool,
        right_origin: bool,
        qty: list[int],
        mode: str,
    ) -> Any:
        """An application relayed by the named centre ("right"), another customs area ("other")
        or an outsider, asking random pieces of random lines."""
        header = case.anchored.header
        lines = lines % (1 << header.line_count) | (overflow << header.line_count)
        pieces = pieces_of(
            lines, qty, mode, lambda g: case.left(g) if g <= header.line_count else 1
        )
        sender = self.sender_for(who, centre)
        reused = reuse_id and bool(self.model_returns)
        return_id = self.model_returns[0].return_id if reused else random32()
        terms = self.world.terms(
            header.case_id,
            lines,
            return_centre=centre,
            return_id=return_id,
            origin_area=case.origin if right_origin else (ZZ if case.origin == NB else NB),
            pieces=tuple(pieces),
        )
        own_key = (
            self.world.platform_a_key
            if case.platform == PLATFORM_A
            else (self.world.platform_b_key)
        )
        other_key = (
            self.world.platform_b_key
            if own_key is self.world.platform_a_key
            else (self.world.platform_a_key)
        )
        signature = self.world.sign(terms, own_key if right_signer else other_key)
        now = self.next_time()
        if case.is_open:
            fn = self.rl().applyForReturn(terms.as_tuple(), signature)
        else:
            fn = self.rl().openCaseAndApply(
                header.as_tuple(),
                case.anchored.root,
                case.anchored.proof,
                terms.as_tuple(),
                signature,
            )

        def over(gnum: int, count: int) -> tuple[str, dict[str, Any]] | None:
            left = case.left(gnum)
            if count <= left:
                return None
            args = {"caseId": header.case_id, "gnum": gnum, "requested": count, "left": left}
            return ("PiecesExceedDeclared", args)

        expected: Expected | None = None
        if self.member_of(sender) is None:
            expected = "NotAMember"
        elif not right_origin:
            expected = "ApplicationOriginMismatch" if case.is_open else "OriginMismatch"
        elif reused:
            expected = "ReturnIdUsed"
        elif lines == 0:
            expected = ("EmptyLineMask", {"returnId": return_id})
        elif lines >> header.line_count:
            expected = "LinesOutOfRange"
        elif now > header.release_time + APPLY_WINDOW:
            expected = "ApplyWindowClosed"
        elif self.member_of(sender) != centre:
            expected = (
                "NotNamedReturnCentre",
                {"caller": self.member_of(sender), "returnCentre": centre},
            )
        elif not right_signer:
            expected = "SignerNotPlatform"
        else:
            expected = piece_error(lines, pieces, over)
        if not self.check(fn, sender, expected):
            return multiple()  # only recorded returns go on; unknown ids have their own rule
        applied = dict(zip(lines_of(lines), pieces, strict=True))
        model = ModelReturn(return_id, case, centre, lines, applied=applied)
        case.is_open = True
        case.applied |= lines
        case.returns.append(model)
        self.model_returns.append(model)
        return model

    @rule(
        ret=returns,
        who=WHO,
        steps=st.integers(min_value=1, max_value=6),
        accepted=MASKS,
        mask=MASKS,
        qty=QTY,
        mode=MODE,
        refund=st.booleans(),
        disputed=st.sampled_from([False, False, True]),
    )
    def next_steps(
        self,
        ret: ModelReturn,
        who: str,
        steps: int,
        accepted: int,
        mask: int,
        qty: list[int],
        mode: str,
        refund: bool,
        disputed: bool,
    ) -> None:
        """`who` takes the next step of a return, then the responsible parties take up to
        `steps - 1` more, so that runs reach settlement, accepting and settling parts of lines
        (within what is allowed, unless `mode` says otherwise). A step may be refused (a late
        arrival's accepted lines, too many or zero pieces) and the model must say so."""
        for i in range(steps):
            actor = who if i == 0 else "right"
            before = (ret.state, dict(ret.settled_pieces))
            if ret.state == ReturnState.APPLIED:
                self.arrive(ret, actor)
            elif ret.state == ReturnState.ARRIVED:
                self.inspect(ret, accepted & ret.lines, qty, mode, actor)
            elif ret.state == ReturnState.INSPECTED and disputed:
                self.dispute(ret, actor)
                disputed = False
            elif ret.state in (ReturnState.INSPECTED, ReturnState.DISPUTED):
                self.recognize(ret, actor)
            elif ret.state == ReturnState.RECOGNIZED:
                if refund and ret.case.payment is None:
                    self.anchor_payment(ret.case)
                open_lines = ret.accepted & ~ret.settled
                self.settle(ret, mask & open_lines or open_lines, qty, mode, refund, actor)
                qty = qty[1:] + qty[:1]  # another part next time
            if (ret.state, ret.settled_pieces) == before:
                return

    @rule(
        ret=returns,
        op=st.sampled_from(["arrive", "inspect", "recognize", "dispute", "settle"]),
        who=WHO,
        mask=MASKS,
        qty=QTY,
        mode=MODE,
        refund=st.booleans(),
    )
    def any_step(
        self,
        ret: ModelReturn,
        op: str,
        who: str,
        mask: int,
        qty: list[int],
        mode: str,
        refund: bool,
    ) -> None:
        """Any step at any time, mostly out of order, with any piece counts."""
        if op == "arrive":
            self.arrive(ret, who)
        elif op == "inspect":
            self.inspect(ret, mask, qty, mode, who)
        elif op == "recognize":
            self.recognize(ret, who)
        elif op == "dispute":
            self.dispute(ret, who)
        else:
            self.settle(ret, mask, qty, mode, refund, who)

    @rule(step=st.sampled_from(["arrive", "inspect", "recognize", "dispute", "settle", "refund"]))
    def step_on_unknown_return(self, step: str) -> None:
        rid, digest = random32(), random32()
        fn = {
            "arrive": lambda: self.rl().recordArrival(rid, digest),
            "inspect": lambda: self.rl().recordInspection(rid, 1, [1], digest),
            "recognize": lambda: self.rl().recordRecognition(rid, digest),
            "dispute": lambda: self.rl().recordDispute(rid, digest),
            "settle": lambda: self.rl().settleNotLevied(rid, 1, [1], digest, True),
            "refund": lambda: self.rl().settleRefunded(
                rid, 1, [1], digest, True, (digest, digest, [])
            ),
        }[step]()
        assert self.outcome(fn, "hz") == "UnknownReturn"

    def arrive(self, ret: ModelReturn, who: str) -> None:
        sender = self.sender_for(who, ret.centre)
        now = self.next_time()
        fn = self.rl().recordArrival(ret.return_id, random32())
        expected = self.state_check(ret, {ReturnState.APPLIED}) or self.area_check(
            sender, ret.centre, "NotReturnCentre"
        )
        if self.check(fn, sender, expected):
            ret.state = ReturnState.ARRIVED
            ret.late = now > ret.case.anchored.header.release_time + ARRIVAL_WINDOW

    def inspect(self, ret: ModelReturn, accepted: int, qty: list[int], mode: str, who: str) -> None:
        sender = self.sender_for(who, ret.centre)
        pieces = pieces_of(accepted, qty, mode, lambda g: ret.applied.get(g, 0))
        fn = self.rl().recordInspection(ret.return_id, accepted, pieces, random32())

        def over(gnum: int, count: int) -> tuple[str, dict[str, Any]] | None:
            applied = ret.applied[gnum]
            if count <= applied:
                return None
            args = {"returnId": ret.return_id, "gnum": gnum, "accepted": count, "applied": applied}
            return ("PiecesExceedApplied", args)

        expected: Expected | None = self.state_check(ret, {ReturnState.ARRIVED}) or self.area_check(
            sender, ret.centre, "NotReturnCentre"
        )
        if expected is None and accepted & ~ret.lines:
            expected = "LinesNotApplied"
        if expected is None and ret.late and accepted:
            expected = "LateArrivalMustBeRejected"
        if expected is None:
            expected = piece_error(accepted, pieces, over)
        if self.check(fn, sender, expected):
            ret.state = ReturnState.INSPECTED
            ret.accepted = accepted
            ret.accepted_pieces = dict(zip(lines_of(accepted), pieces, strict=True))

    def recognize(self, ret: ModelReturn, who: str) -> None:
        sender = self.sender_for(who, ret.case.origin)
        fn = self.rl().recordRecognition(ret.return_id, random32())
        expected = self.state_check(
            ret, {ReturnState.INSPECTED, ReturnState.DISPUTED}
        ) or self.area_check(sender, ret.case.origin, "NotOriginArea")
        if self.check(fn, sender, expected):
            ret.state = ReturnState.RECOGNIZED

    def dispute(self, ret: ModelReturn, who: str) -> None:
        sender = self.sender_for(who, ret.case.origin)
        fn = self.rl().recordDispute(ret.return_id, random32())
        expected = self.state_check(ret, {ReturnState.INSPECTED}) or self.area_check(
            sender, ret.case.origin, "NotOriginArea"
        )
        if self.check(fn, sender, expected):
            ret.state = ReturnState.DISPUTED

    def settle(
        self, ret: ModelReturn, mask: int, qty: list[int], mode: str, refund: bool, who: str
    ) -> None:
        sender = self.sender_for(who, ret.case.origin)
        pieces = pieces_of(mask, qty, mode, ret.unsettled)
        if refund:
            payment = ret.case.payment or (random32(), random32(), [])
            fn = self.rl().settleRefunded(ret.return_id, mask, pieces, random32(), True, payment)
        else:
            fn = self.rl().settleNotLevied(ret.return_id, mask, pieces, random32(), True)

        def over(gnum: int, count: int) -> tuple[str, dict[str, Any]] | None:
            left = ret.unsettled(gnum)
            if count <= left:
                return None
            args = {"returnId": ret.return_id, "gnum": gnum, "requested": count, "left": left}
            return ("PiecesExceedAccepted", args)

        expected: Expected | None = self.state_check(
            ret, {ReturnState.RECOGNIZED}
        ) or self.area_check(sender, ret.case.origin, "NotOriginArea")
        if expected is None and mask == 0:
            expected = ("EmptyLineMask", {"returnId": ret.return_id})
        if expected is None and mask & ~ret.accepted:
            expected = "LinesNotAccepted"
        if expected is None and refund and ret.case.payment is None:
            expected = "RootNotAnchored"
        if expected is None:
            expected = piece_error(mask, pieces, over)
        if self.check(fn, sender, expected):
            for gnum, count in zip(lines_of(mask), pieces, strict=True):
                ret.settled_pieces[gnum] = ret.settled_pieces.get(gnum, 0) + count
                if ret.unsettled(gnum) == 0:
                    ret.settled |= 1 << (gnum - 1)
            if ret.settled == ret.accepted:
                ret.state = ReturnState.SETTLED

    def state_check(self, ret: ModelReturn, allowed: set[ReturnState]) -> Expected | None:
        """InvalidState unless the return is in an allowed state; it names the earliest."""
        if ret.state in allowed:
            return None
        args = {"returnId": ret.return_id, "expected": min(allowed), "actual": ret.state}
        return ("InvalidState", args)

    # ------------------------------------------------------------ invariants

    @invariant()
    def ledger_matches_model(self) -> None:
        for ret in self.model_returns:
            stored = call(self.rl().getReturn(ret.return_id))
            assert stored[0] == ret.case.anchored.header.case_id
            assert (stored[1], stored[2], stored[3]) == (ret.lines, ret.accepted, ret.settled)
            assert (ReturnState(stored[4]), stored[5]) == (ret.state, ret.late)
            assert stored[8] == AREA_CODES[ret.centre]
            line_count = ret.case.anchored.header.line_count
            expected = [
                [by_line.get(g, 0) for g in range(1, line_count + 1)]
                for by_line in (ret.applied, ret.accepted_pieces, ret.settled_pieces)
            ]
            assert call(self.rl().returnPieces(ret.return_id)) == expected

    @invariant()
    def return_pieces_within_bounds(self) -> None:
        """On the ledger, per line of a return: settled <= accepted <= applied, and a line is in
        the settled mask exactly when its accepted pieces are all settled."""
        for ret in self.model_returns:
            applied, accepted, settled = call(self.rl().returnPieces(ret.return_id))
            stored = call(self.rl().getReturn(ret.return_id))
            for i, (a, c, s) in enumerate(zip(applied, accepted, settled, strict=True)):
                assert s <= c <= a
                assert (a > 0) == bool(stored[1] >> i & 1)
                assert (c > 0) == bool(stored[2] >> i & 1)
                assert (c > 0 and s == c) == bool(stored[3] >> i & 1)

    @invariant()
    def case_pieces_add_up(self) -> None:
        """On the ledger, per line of a case: applied <= declared, the declared pieces are the
        header's, and the case's applied pieces are the sum of its returns' (model's and
        ledger's)."""
        for case in self.model_cases:
            header = case.anchored.header
            declared, applied = call(self.rl().casePieces(header.case_id))
            if not case.is_open:
                assert (declared, applied) == ([], [])
                continue
            assert declared == list(header.pieces)
            assert all(a <= d for a, d in zip(applied, declared, strict=True))
            on_ledger = [call(self.rl().returnPieces(r.return_id))[0] for r in case.returns]
            assert applied == [sum(col) for col in zip(*on_ledger, strict=True)]
            assert applied == [case.applied_pieces(g) for g in range(1, header.line_count + 1)]
            stored = call(self.rl().getCase(header.case_id))
            assert (stored[4], stored[5]) == (len(case.returns), case.applied)


ReturnLedgerMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestReturnLedgerMachine = ReturnLedgerMachine.TestCase
