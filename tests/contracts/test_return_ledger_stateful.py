"""A hypothesis state machine drives random sequences of every ReturnLedger operation, by the
right and the wrong parties, against a small Python model of DESIGN §3, and compares every
outcome: success, or the exact custom error the model predicts."""

from __future__ import annotations

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

from clients.errors import ContractRevert
from clients.ledger_bindings import ReturnState, call
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
ACCOUNT_OF = {HZ: "hz", NB: "nb", ZZ: "zz"}
_WORLD: dict[str, Any] = {}


def shared_world() -> tuple[World, Any]:
    """One deployed world for the whole module, with a reusable snapshot of its start."""
    if not _WORLD:
        world = build_world()
        _WORLD["world"] = world
        _WORLD["snapshot"] = world.tester.take_snapshot()
    return _WORLD["world"], _WORLD["snapshot"]


@dataclass
class ModelCase:
    """The model of a case (anchored; open once a return was applied)."""

    anchored: AnchoredCase
    origin: bytes
    platform: bytes
    is_open: bool = False
    applied: int = 0
    payment: tuple[bytes, bytes, list[bytes]] | None = None


@dataclass
class ModelReturn:
    """The model of a return."""

    return_id: bytes
    case: ModelCase
    centre: bytes
    lines: int
    state: ReturnState = ReturnState.APPLIED
    late: bool = False
    accepted: int = 0
    settled: int = 0
    history: list[str] = field(default_factory=list)


class ReturnLedgerMachine(RuleBasedStateMachine):
    """Random operations against ReturnLedger and the model, compared step by step."""

    cases = Bundle("cases")
    returns = Bundle("returns")

    def __init__(self) -> None:
        super().__init__()
        self.world, snapshot = shared_world()
        self.world.tester.revert_to_snapshot(snapshot)
        self.model_returns: list[ModelReturn] = []

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
        """'ok' or the revert's error name (reported to hypothesis' statistics)."""
        try:
            self.world.send(fn, self.account(sender))
        except ContractRevert as exc:
            event(f"{fn.fn_name}: {exc.name}")
            return exc.name
        event(f"{fn.fn_name}: ok")
        return "ok"

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

    @initialize(target=cases)
    def first_case(self) -> ModelCase:
        (anchored,) = self.world.anchor_cases(NB, PLATFORM_A, line_count=3)
        return ModelCase(anchored, NB, PLATFORM_A)

    @initialize(target=returns)
    def first_return(self) -> ModelReturn:
        """Every run starts with one valid return, so deep states are reached often."""
        (anchored,) = self.world.anchor_cases(ZZ, PLATFORM_B, line_count=3)
        case = ModelCase(anchored, ZZ, PLATFORM_B, is_open=True, applied=3)
        terms = self.world.terms(anchored.header.case_id, 3, origin_area=ZZ)
        self.world.open_and_apply(anchored, terms, self.world.platform_b_key)
        model = ModelReturn(terms.return_id, case, HZ, 3)
        self.model_returns.append(model)
        return model

    @rule(
        target=cases,
        origin=st.sampled_from([NB, ZZ]),
        line_count=st.integers(min_value=1, max_value=5),
    )
    def anchor_case(self, origin: bytes, line_count: int) -> ModelCase:
        platform = PLATFORM_A if origin == NB else PLATFORM_B
        (anchored,) = self.world.anchor_cases(origin, platform, line_count=line_count)
        return ModelCase(anchored, origin, platform)

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
    ) -> Any:
        header = case.anchored.header
        lines = lines % (1 << header.line_count) | (overflow << header.line_count)
        sender = "outsider" if who == "outsider" else "hz"
        reused = reuse_id and bool(self.model_returns)
        return_id = self.model_returns[0].return_id if reused else random32()
        terms = self.world.terms(
            header.case_id,
            lines,
            return_centre=centre,
            return_id=return_id,
            origin_area=case.origin if right_origin else (ZZ if case.origin == NB else NB),
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
        expected = "ok"
        if self.member_of(sender) is None:
            expected = "NotAMember"
        elif not right_origin:
            expected = "ApplicationOriginMismatch" if case.is_open else "OriginMismatch"
        elif reused:
            expected = "ReturnIdUsed"
        elif lines == 0:
            expected = "EmptyLineMask"
        elif lines >> header.line_count:
            expected = "LinesOutOfRange"
        elif lines & case.applied:
            expected = "LinesAlreadyApplied"
        elif now > header.release_time + APPLY_WINDOW:
            expected = "ApplyWindowClosed"
        elif not right_signer:
            expected = "SignerNotPlatform"
        assert self.outcome(fn, sender) == expected
        if expected != "ok":
            return multiple()  # only recorded returns go on; unknown ids have their own rule
        model = ModelReturn(return_id, case, centre, lines)
        case.is_open = True
        case.applied |= lines
        self.model_returns.append(model)
        return model

    @rule(
        ret=returns,
        who=WHO,
        steps=st.integers(min_value=1, max_value=5),
        accepted=MASKS,
        mask=MASKS,
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
        refund: bool,
        disputed: bool,
    ) -> None:
        """`who` takes the next step of a return, then the responsible parties take up to
        `steps - 1` more, so that runs reach settlement. A step may still be refused (a late
        arrival's accepted lines, a line settled twice) and the model must say so."""
        for i in range(steps):
            actor = who if i == 0 else "right"
            before = (ret.state, ret.settled)
            if ret.state == ReturnState.APPLIED:
                self.arrive(ret, actor)
            elif ret.state == ReturnState.ARRIVED:
                self.inspect(ret, accepted & ret.lines, actor)
            elif ret.state == ReturnState.INSPECTED and disputed:
                self.dispute(ret, actor)
                disputed = False
            elif ret.state in (ReturnState.INSPECTED, ReturnState.DISPUTED):
                self.recognize(ret, actor)
            elif ret.state == ReturnState.RECOGNIZED:
                if refund and ret.case.payment is None:
                    self.anchor_payment(ret.case)
                self.settle(ret, mask & ret.accepted or ret.accepted, refund, actor)
            if (ret.state, ret.settled) == before:
                return

    @rule(
        ret=returns,
        op=st.sampled_from(["arrive", "inspect", "recognize", "dispute", "settle"]),
        who=WHO,
        mask=MASKS,
        refund=st.booleans(),
    )
    def any_step(self, ret: ModelReturn, op: str, who: str, mask: int, refund: bool) -> None:
        """Any step at any time, mostly out of order."""
        if op == "arrive":
            self.arrive(ret, who)
        elif op == "inspect":
            self.inspect(ret, mask, who)
        elif op == "recognize":
            self.recognize(ret, who)
        elif op == "dispute":
            self.dispute(ret, who)
        else:
            self.settle(ret, mask, refund, who)

    @rule(step=st.sampled_from(["arrive", "inspect", "recognize", "dispute", "settle", "refund"]))
    def step_on_unknown_return(self, step: str) -> None:
        rid, digest = random32(), random32()
        fn = {
            "arrive": lambda: self.rl().recordArrival(rid, digest),
            "inspect": lambda: self.rl().recordInspection(rid, 1, digest),
            "recognize": lambda: self.rl().recordRecognition(rid, digest),
            "dispute": lambda: self.rl().recordDispute(rid, digest),
            "settle": lambda: self.rl().settleNotLevied(rid, 1, digest, True),
            "refund": lambda: self.rl().settleRefunded(rid, 1, digest, True, (digest, digest, [])),
        }[step]()
        assert self.outcome(fn, "hz") == "UnknownReturn"

    def arrive(self, ret: ModelReturn, who: str) -> None:
        sender = self.sender_for(who, ret.centre)
        now = self.next_time()
        fn = self.rl().recordArrival(ret.return_id, random32())
        expected = self.state_check(ret, {ReturnState.APPLIED}) or self.area_check(
            sender, ret.centre, "NotReturnCentre"
        )
        assert self.outcome(fn, sender) == (expected or "ok")
        if expected is None:
            ret.state = ReturnState.ARRIVED
            ret.late = now > ret.case.anchored.header.release_time + ARRIVAL_WINDOW

    def inspect(self, ret: ModelReturn, accepted: int, who: str) -> None:
        sender = self.sender_for(who, ret.centre)
        fn = self.rl().recordInspection(ret.return_id, accepted, random32())
        expected = self.state_check(ret, {ReturnState.ARRIVED}) or self.area_check(
            sender, ret.centre, "NotReturnCentre"
        )
        if expected is None and accepted & ~ret.lines:
            expected = "LinesNotApplied"
        if expected is None and ret.late and accepted:
            expected = "LateArrivalMustBeRejected"
        assert self.outcome(fn, sender) == (expected or "ok")
        if expected is None:
            ret.state = ReturnState.INSPECTED
            ret.accepted = accepted

    def recognize(self, ret: ModelReturn, who: str) -> None:
        sender = self.sender_for(who, ret.case.origin)
        fn = self.rl().recordRecognition(ret.return_id, random32())
        expected = self.state_check(
            ret, {ReturnState.INSPECTED, ReturnState.DISPUTED}
        ) or self.area_check(sender, ret.case.origin, "NotOriginArea")
        assert self.outcome(fn, sender) == (expected or "ok")
        if expected is None:
            ret.state = ReturnState.RECOGNIZED

    def dispute(self, ret: ModelReturn, who: str) -> None:
        sender = self.sender_for(who, ret.case.origin)
        fn = self.rl().recordDispute(ret.return_id, random32())
        expected = self.state_check(ret, {ReturnState.INSPECTED}) or self.area_check(
            sender, ret.case.origin, "NotOriginArea"
        )
        assert self.outcome(fn, sender) == (expected or "ok")
        if expected is None:
            ret.state = ReturnState.DISPUTED

    def settle(self, ret: ModelReturn, mask: int, refund: bool, who: str) -> None:
        sender = self.sender_for(who, ret.case.origin)
        if refund:
            payment = ret.case.payment or (random32(), random32(), [])
            fn = self.rl().settleRefunded(ret.return_id, mask, random32(), True, payment)
        else:
            fn = self.rl().settleNotLevied(ret.return_id, mask, random32(), True)
        expected = self.state_check(ret, {ReturnState.RECOGNIZED}) or self.area_check(
            sender, ret.case.origin, "NotOriginArea"
        )
        if expected is None and mask == 0:
            expected = "EmptyLineMask"
        if expected is None and mask & ~ret.accepted:
            expected = "LinesNotAccepted"
        if expected is None and mask & ret.settled:
            expected = "LinesAlreadySettled"
        if expected is None and refund and ret.case.payment is None:
            expected = "RootNotAnchored"
        assert self.outcome(fn, sender) == (expected or "ok")
        if expected is None:
            ret.settled |= mask
            if ret.settled == ret.accepted:
                ret.state = ReturnState.SETTLED

    def state_check(self, ret: ModelReturn, allowed: set[ReturnState]) -> str | None:
        return None if ret.state in allowed else "InvalidState"

    # ------------------------------------------------------------ invariants

    @invariant()
    def ledger_matches_model(self) -> None:
        for ret in self.model_returns:
            stored = call(self.rl().getReturn(ret.return_id))
            assert stored[0] == ret.case.anchored.header.case_id
            assert (stored[1], stored[2], stored[3]) == (ret.lines, ret.accepted, ret.settled)
            assert (ReturnState(stored[4]), stored[5]) == (ret.state, ret.late)
            assert stored[8] == AREA_CODES[ret.centre]


ReturnLedgerMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestReturnLedgerMachine = ReturnLedgerMachine.TestCase
