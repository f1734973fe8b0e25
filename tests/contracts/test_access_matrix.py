"""The contract access matrix (issues 17 and 19): every external state-changing function of
Consortium, TaxAnchor and ReturnLedger against every kind of caller, its outcome declared once.

The table `MATRIX` names, per function, the callers allowed and the custom error each other caller
gets. A cell marked allowed is shown by the call succeeding (and emitting its event) from a state
built for it; a refused cell by the exact custom error. The function list is read from the
compiled ABIs, so a function added to a contract without a row here fails the test.

Callers, over one case of Ningbo (origin) for platform B (sponsored by Zhengzhou) returned at
Hangzhou: the case's origin area, its return centre, a third customs area (Shenzhen, admitted
here), the platform's sponsor, the platform itself, an auditor, a suspended customs area
(Shanghai, admitted then suspended by vote) and an outsider account.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clients.bindings import APPLY_WINDOW, DEFAULT_GAS, BatchKind, MemberKind, member_id
from clients.commitments.merkle import MerkleTree
from clients.peer import requester_commitment
from tests.utils.chain import (
    AUDITOR,
    DAY,
    HZ,
    NB,
    PLATFORM_A,
    PLATFORM_B,
    ZZ,
    AnchoredCase,
    World,
    expect_revert,
    random32,
)

BUILD = Path(__file__).resolve().parents[2] / "contracts" / "build"
SZ = member_id("customs-5300")  # a third customs area: no part in the case
SH = member_id("customs-2200")  # a customs area the consortium suspends

CALLERS = ("origin", "centre", "third", "sponsor", "platform", "auditor", "suspended", "outsider")
AREAS = ("origin", "centre", "third", "sponsor")  # the active customs areas
MEMBERS = (*AREAS, "platform", "auditor")  # every active member
EVERYONE = CALLERS

# What a caller that is no active customs area gets from a customs-only function.
NOT_CUSTOMS = {
    "platform": "WrongMemberKind",
    "auditor": "WrongMemberKind",
    "suspended": "MemberNotActive",
    "outsider": "NotAMember",
}
# What a caller that is no active member at all gets from a members-only function.
NOT_MEMBER = {"suspended": "MemberNotActive", "outsider": "NotAMember"}


def areas_only(**others: str) -> dict[str, str]:
    """Refusals of a customs-only function: the non-customs callers', plus `others`."""
    return {**NOT_CUSTOMS, **others}


# function -> (callers allowed, error of every other caller). Declared once; read by every test.
MATRIX: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    # Consortium: governance, by any active customs area
    "Consortium.proposeAdmission": (AREAS, areas_only()),
    "Consortium.proposeSuspension": (AREAS, areas_only()),
    "Consortium.proposeReinstatement": (AREAS, areas_only()),
    "Consortium.proposeAccountAddition": (AREAS, areas_only()),
    "Consortium.proposeAccountRemoval": (AREAS, areas_only()),
    "Consortium.proposeParameter": (AREAS, areas_only()),
    "Consortium.proposeThreshold": (AREAS, areas_only()),
    "Consortium.vote": (AREAS, areas_only()),
    "Consortium.execute": (AREAS, areas_only()),
    # sponsorship: any area registers a platform; only its sponsor suspends it
    "Consortium.registerPlatform": (AREAS, areas_only()),
    "Consortium.setPlatformActive": (
        ("sponsor",),
        areas_only(origin="NotSponsor", centre="NotSponsor", third="NotSponsor"),
    ),
    # a member's own keys and profile: by itself, or on its signature relayed by anyone
    "Consortium.addAccount": (MEMBERS, NOT_MEMBER),
    "Consortium.removeAccount": (MEMBERS, NOT_MEMBER),
    "Consortium.updateProfile": (MEMBERS, NOT_MEMBER),
    "Consortium.addAccountBySig": (EVERYONE, {}),
    "Consortium.removeAccountBySig": (EVERYONE, {}),
    "Consortium.updateProfileBySig": (EVERYONE, {}),
    # TaxAnchor: an area anchors for itself and revokes only what it anchored (the origin's here)
    "TaxAnchor.anchor": (AREAS, areas_only()),
    "TaxAnchor.revokeRoot": (
        ("origin",),
        areas_only(
            centre="RootOfAnotherArea", third="RootOfAnotherArea", sponsor="RootOfAnotherArea"
        ),
    ),
    "TaxAnchor.revokeLeaf": (
        ("origin",),
        areas_only(
            centre="RootOfAnotherArea", third="RootOfAnotherArea", sponsor="RootOfAnotherArea"
        ),
    ),
    # ReturnLedger: only the return centre the platform named relays its application
    "ReturnLedger.openCaseAndApply": (
        ("centre",),
        areas_only(
            origin="NotNamedReturnCentre",
            third="NotNamedReturnCentre",
            sponsor="NotNamedReturnCentre",
        ),
    ),
    "ReturnLedger.applyForReturn": (
        ("centre",),
        areas_only(
            origin="NotNamedReturnCentre",
            third="NotNamedReturnCentre",
            sponsor="NotNamedReturnCentre",
        ),
    ),
    "ReturnLedger.recordArrival": (
        ("centre",),
        areas_only(origin="NotReturnCentre", third="NotReturnCentre", sponsor="NotReturnCentre"),
    ),
    "ReturnLedger.recordInspection": (
        ("centre",),
        areas_only(origin="NotReturnCentre", third="NotReturnCentre", sponsor="NotReturnCentre"),
    ),
    "ReturnLedger.recordRecognition": (
        ("origin",),
        areas_only(centre="NotOriginArea", third="NotOriginArea", sponsor="NotOriginArea"),
    ),
    "ReturnLedger.recordDispute": (
        ("origin",),
        areas_only(centre="NotOriginArea", third="NotOriginArea", sponsor="NotOriginArea"),
    ),
    "ReturnLedger.settleNotLevied": (
        ("origin",),
        areas_only(centre="NotOriginArea", third="NotOriginArea", sponsor="NotOriginArea"),
    ),
    "ReturnLedger.settleRefunded": (
        ("origin",),
        areas_only(centre="NotOriginArea", third="NotOriginArea", sponsor="NotOriginArea"),
    ),
    # only a holder of the case: its origin or the return centre of one of its returns
    "ReturnLedger.logDisclosure": (
        ("origin", "centre"),
        areas_only(third="NotCaseHolder", sponsor="NotCaseHolder"),
    ),
}


def abi_functions() -> set[str]:
    """Every external state-changing function of the three contracts, from their artifacts."""
    names = set()
    for contract in ("Consortium", "TaxAnchor", "ReturnLedger"):
        abi = json.loads((BUILD / f"{contract}.json").read_text())["abi"]
        for item in abi:
            if item["type"] == "function" and item["stateMutability"] not in ("view", "pure"):
                names.add(f"{contract}.{item['name']}")
    return names


def expected(function: str, caller: str) -> str | None:
    """None when `caller` may call `function`, else the custom error it gets."""
    allowed, refused = MATRIX[function]
    if caller in allowed:
        assert caller not in refused, f"{function}: {caller} declared both ways"
        return None
    assert caller in refused, f"{function}: no outcome declared for {caller}"
    return refused[caller]


# ---------------------------------------------------------------------- the world of the matrix


@dataclass
class Cast:
    """The world with one account per kind of caller, and the member each belongs to."""

    world: World
    accounts: dict[str, str]
    members: dict[str, bytes]

    @property
    def rl(self) -> Any:
        return self.world.c.return_ledger.functions

    @property
    def cs(self) -> Any:
        return self.world.c.consortium.functions

    def send(self, fn: Any, caller: str) -> Any:
        return self.world.send(fn, self.accounts[caller], DEFAULT_GAS)

    def member_of(self, caller: str) -> bytes:
        """The caller's member id (a fresh unknown id for the outsider)."""
        return self.members.get(caller) or random32()

    # -------------------------------------------------- case states (origin NB, platform B)

    def anchored(self) -> AnchoredCase:
        (case,) = self.world.anchor_cases(NB, PLATFORM_B, pieces=(2, 1, 1))
        return case

    def terms(self, case: AnchoredCase, lines: int, pieces: tuple[int, ...]) -> Any:
        return self.world.terms(case.header.case_id, lines, return_centre=HZ, pieces=pieces)

    def applied(self) -> tuple[AnchoredCase, bytes]:
        case = self.anchored()
        terms = self.terms(case, 0b011, (2, 1))
        self.world.open_and_apply(case, terms, self.world.platform_b_key)
        return case, terms.return_id

    def arrived(self) -> bytes:
        _case, rid = self.applied()
        self.send(self.rl.recordArrival(rid, random32()), "centre")
        return rid

    def inspected(self) -> bytes:
        rid = self.arrived()
        self.send(self.rl.recordInspection(rid, 0b011, [2, 1], random32()), "centre")
        return rid

    def recognised(self) -> tuple[bytes, bytes]:
        rid = self.inspected()
        self.send(self.rl.recordRecognition(rid, random32()), "origin")
        case_id = self.world.c.return_ledger.functions.getReturn(rid).call()[0]
        return rid, bytes(case_id)

    def proposal_to_vote(self, caller: str) -> int:
        """A parameter proposal `caller` has not approved (proposed by another area)."""
        proposer = "origin" if caller == "centre" else "centre"
        self.send(self.cs.proposeParameter(APPLY_WINDOW, 31 * DAY), proposer)
        return int(self.cs.proposalCount().call()) - 1

    def proposal_to_execute(self) -> int:
        """A proposal with one approval, executable once the threshold was lowered to 1."""
        self.send(self.cs.proposeParameter(APPLY_WINDOW, 31 * DAY), "centre")
        pid = int(self.cs.proposalCount().call()) - 1
        self.send(self.cs.proposeThreshold(1), "origin")
        self.send(self.cs.vote(int(self.cs.proposalCount().call()) - 1), "sponsor")
        assert int(self.cs.threshold().call()) == 1
        return pid


def _admit(world: World, member: bytes, kind: MemberKind, code: int, account: str) -> None:
    """Admit a member by vote (Hangzhou proposes, Ningbo's approval executes)."""
    registration = world.registration(member, account, b"", "")
    cs = world.c.consortium.functions
    world.send(cs.proposeAdmission(member, kind, code, account, b"", "", registration), world.hz)
    world.send(cs.vote(int(cs.proposalCount().call()) - 1), world.nb)


@pytest.fixture(scope="module")
def cast(base_world: World) -> Iterator[Cast]:
    """The base consortium plus a third area, an auditor, a platform account that can pay for
    transactions and a suspended area; reverted to the base after the module."""
    world = base_world
    before = world.tester.take_snapshot()
    third, auditor, platform, suspended = world.spare[:4]
    _admit(world, SZ, MemberKind.CUSTOMS, 5300, third)
    _admit(world, AUDITOR, MemberKind.AUDITOR, 0, auditor)
    _admit(world, SH, MemberKind.CUSTOMS, 2200, suspended)
    cs = world.c.consortium.functions
    world.send(cs.proposeSuspension(SH), world.hz)
    world.send(cs.vote(int(cs.proposalCount().call()) - 1), world.nb)
    world.add_own_account(PLATFORM_B, platform, world.platform_b_key.address)
    accounts = {
        "origin": world.nb,
        "centre": world.hz,
        "third": third,
        "sponsor": world.zz,
        "platform": platform,
        "auditor": auditor,
        "suspended": suspended,
        "outsider": world.outsider,
    }
    members = {
        "origin": NB,
        "centre": HZ,
        "third": SZ,
        "sponsor": ZZ,
        "platform": PLATFORM_B,
        "auditor": AUDITOR,
        "suspended": SH,
    }
    yield Cast(world, accounts, members)
    world.tester.revert_to_snapshot(before)


# ---------------------------------------------------------------------- per-function states

Builder = Callable[[Cast, str], Any]


def _new_member_registration(m: Cast, kind: MemberKind, code: int) -> Any:
    member, account = random32(), m.world.new_account()
    registration = m.world.registration(member, account, b"", "")
    return m.cs.proposeAdmission(member, kind, code, account, b"", "", registration)


def _account_addition(m: Cast, _caller: str) -> Any:
    account = m.world.new_account()
    return m.cs.proposeAccountAddition(PLATFORM_A, account, m.world.possession(PLATFORM_A, account))


def _register_platform(m: Cast, _caller: str) -> Any:
    platform, account = random32(), m.world.new_account()
    proof = m.world.registration(platform, account, b"", "https://p.example")
    return m.cs.registerPlatform(platform, account, b"", "https://p.example", proof)


def _add_account(m: Cast, caller: str) -> Any:
    member, account = m.member_of(caller), m.world.new_account()
    return m.cs.addAccount(account, m.world.possession(member, account))


def _remove_account(m: Cast, caller: str) -> Any:
    """Remove a second account the caller's member added for itself (any account when it cannot
    have one: the check of the caller comes first)."""
    account = m.world.new_account()
    if caller in MEMBERS:
        m.world.add_own_account(m.members[caller], account, m.accounts[caller])
    return m.cs.removeAccount(account)


def _add_account_by_sig(m: Cast, _caller: str) -> Any:
    account, signer = m.world.new_account(), m.world.platform_b_key.address
    deadline, authorisation = m.world.authorise_addition(PLATFORM_B, account, signer)
    possession = m.world.possession(PLATFORM_B, account)
    return m.cs.addAccountBySig(PLATFORM_B, account, deadline, authorisation, possession)


def _remove_account_by_sig(m: Cast, _caller: str) -> Any:
    old = m.world.platform_b_key.address
    deadline, authorisation = m.world.authorise_removal(PLATFORM_B, old, m.accounts["platform"])
    return m.cs.removeAccountBySig(PLATFORM_B, old, deadline, authorisation)


def _update_profile_by_sig(m: Cast, _caller: str) -> Any:
    key, url, signer = b"\x07" * 32, "https://b.example", m.world.platform_b_key.address
    deadline, authorisation = m.world.authorise_profile(PLATFORM_B, key, url, signer)
    return m.cs.updateProfileBySig(PLATFORM_B, key, url, deadline, authorisation)


def _origin_root(m: Cast) -> tuple[bytes, bytes, list[bytes]]:
    leaves = [random32() for _ in range(3)]
    tree = MerkleTree(leaves)
    m.send(m.world.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, 3), "origin")
    return tree.root, leaves[0], tree.proof(leaves[0])


def _open_case_and_apply(m: Cast, _caller: str) -> Any:
    case = m.anchored()
    terms = m.terms(case, 0b001, (1,))
    signature = m.world.sign(terms, m.world.platform_b_key)
    return m.rl.openCaseAndApply(
        case.header.as_tuple(), case.root, case.proof, terms.as_tuple(), signature
    )


def _apply_for_return(m: Cast, _caller: str) -> Any:
    case, _rid = m.applied()
    terms = m.terms(case, 0b100, (1,))
    return m.rl.applyForReturn(terms.as_tuple(), m.world.sign(terms, m.world.platform_b_key))


def _settle_refunded(m: Cast, _caller: str) -> Any:
    rid, case_id = m.recognised()
    root, digest, proof = m.world.anchor_payment(NB, case_id)
    return m.rl.settleRefunded(rid, 0b011, [2, 1], random32(), True, (root, digest, proof))


def _log_disclosure(m: Cast, _caller: str) -> Any:
    case, _rid = m.applied()
    commitment = requester_commitment("0x" + AUDITOR.hex(), random32())
    return m.rl.logDisclosure(
        case.header.case_id,
        bytes.fromhex(commitment[2:]),
        case.header.record_digest,
        random32(),
    )


BUILDERS: dict[str, Builder] = {
    "Consortium.proposeAdmission": lambda m, _c: _new_member_registration(
        m, MemberKind.CUSTOMS, 6100
    ),
    "Consortium.proposeSuspension": lambda m, _c: m.cs.proposeSuspension(PLATFORM_A),
    "Consortium.proposeReinstatement": lambda m, _c: m.cs.proposeReinstatement(SH),
    "Consortium.proposeAccountAddition": _account_addition,
    "Consortium.proposeAccountRemoval": lambda m, _c: m.cs.proposeAccountRemoval(
        PLATFORM_B, m.world.platform_b_key.address
    ),
    "Consortium.proposeParameter": lambda m, _c: m.cs.proposeParameter(APPLY_WINDOW, 31 * DAY),
    "Consortium.proposeThreshold": lambda m, _c: m.cs.proposeThreshold(3),
    "Consortium.vote": lambda m, c: m.cs.vote(m.proposal_to_vote(c)),
    "Consortium.execute": lambda m, _c: m.cs.execute(m.proposal_to_execute()),
    "Consortium.registerPlatform": _register_platform,
    "Consortium.setPlatformActive": lambda m, _c: m.cs.setPlatformActive(PLATFORM_B, False),
    "Consortium.addAccount": _add_account,
    "Consortium.removeAccount": _remove_account,
    "Consortium.updateProfile": lambda m, _c: m.cs.updateProfile(b"\x09" * 32, "https://x.example"),
    "Consortium.addAccountBySig": _add_account_by_sig,
    "Consortium.removeAccountBySig": _remove_account_by_sig,
    "Consortium.updateProfileBySig": _update_profile_by_sig,
    "TaxAnchor.anchor": lambda m, _c: m.world.c.tax_anchor.functions.anchor(
        random32(), BatchKind.ASSESSMENT, 4
    ),
    "TaxAnchor.revokeRoot": lambda m, _c: m.world.c.tax_anchor.functions.revokeRoot(
        _origin_root(m)[0], 1
    ),
    "TaxAnchor.revokeLeaf": lambda m, _c: m.world.c.tax_anchor.functions.revokeLeaf(
        *_origin_root(m), 1
    ),
    "ReturnLedger.openCaseAndApply": _open_case_and_apply,
    "ReturnLedger.applyForReturn": _apply_for_return,
    "ReturnLedger.recordArrival": lambda m, _c: m.rl.recordArrival(m.applied()[1], random32()),
    "ReturnLedger.recordInspection": lambda m, _c: m.rl.recordInspection(
        m.arrived(), 0b011, [2, 1], random32()
    ),
    "ReturnLedger.recordRecognition": lambda m, _c: m.rl.recordRecognition(
        m.inspected(), random32()
    ),
    "ReturnLedger.recordDispute": lambda m, _c: m.rl.recordDispute(m.inspected(), random32()),
    "ReturnLedger.settleNotLevied": lambda m, _c: m.rl.settleNotLevied(
        m.recognised()[0], 0b011, [2, 1], random32(), True
    ),
    "ReturnLedger.settleRefunded": _settle_refunded,
    "ReturnLedger.logDisclosure": _log_disclosure,
}


# ---------------------------------------------------------------------- the tests


def test_matrix_covers_every_abi_function() -> None:
    functions = abi_functions()
    assert sorted(functions - MATRIX.keys()) == [], "functions missing from MATRIX"
    assert sorted(MATRIX.keys() - functions) == [], "MATRIX rows of no ABI function"
    assert MATRIX.keys() == BUILDERS.keys()
    for function in MATRIX:
        for caller in CALLERS:
            expected(function, caller)  # every cell declared, exactly one way


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("function", sorted(MATRIX))
def test_access(cast: Cast, function: str, caller: str) -> None:
    snapshot = cast.world.tester.take_snapshot()
    try:
        fn = BUILDERS[function](cast, caller)
        error = expected(function, caller)
        if error is None:
            receipt = cast.send(fn, caller)
            assert receipt["status"] == 1 and receipt["logs"], f"{function} by {caller}: no event"
        else:
            with expect_revert(error):
                cast.send(fn, caller)
    finally:
        cast.world.tester.revert_to_snapshot(snapshot)


# ---------------------------------------------------------------------- the relay rule, named


def test_relay_rule_follows_the_named_centre(cast: Cast) -> None:
    """The rule is "the centre the platform named", not "Hangzhou": an application naming
    Zhengzhou is relayed by Zhengzhou and refused to Hangzhou, which then may not log a
    disclosure of the case either, while Zhengzhou, now a centre of it, may."""
    snapshot = cast.world.tester.take_snapshot()
    try:
        case = cast.anchored()
        terms = cast.world.terms(case.header.case_id, 0b001, return_centre=ZZ, pieces=(1,))
        args = (case.header.as_tuple(), case.root, case.proof, terms.as_tuple())
        fn = cast.rl.openCaseAndApply(*args, cast.world.sign(terms, cast.world.platform_b_key))
        with expect_revert("NotNamedReturnCentre", {"caller": HZ, "returnCentre": ZZ}):
            cast.send(fn, "centre")
        cast.send(fn, "sponsor")  # Zhengzhou, the named centre
        commitment = bytes.fromhex(requester_commitment("0x" + NB.hex(), random32())[2:])
        log = cast.rl.logDisclosure(case.header.case_id, commitment, random32(), random32())
        with expect_revert("NotCaseHolder", {"caseId": case.header.case_id, "callerCode": 2900}):
            cast.send(log, "centre")
        assert cast.send(log, "sponsor")["logs"]
    finally:
        cast.world.tester.revert_to_snapshot(snapshot)
