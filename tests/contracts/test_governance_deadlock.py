"""Consortium: governance never deadlocks on one customs area (issue 19, part 6).

With the threshold at unanimity (N of N areas), an area that lost its key, or turned hostile,
used to be beyond the consortium's reach: its own approval was needed to re-key or suspend it.
The area a suspension or re-keying is about is now outside that proposal's electorate: it cannot
approve it, and the proposal needs `min(threshold, other active areas)` approvals, never fewer
than two areas (unless the threshold is 1). Each test runs on a fresh Consortium of 3, 4 and 5
founding areas at threshold N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from web3.contract import Contract

from clients.bindings import (
    Founder,
    MemberStatus,
    call,
    contract_at,
    load_artifact,
    member_id,
)
from clients.errors import ContractRevert
from clients.member_signing import AccountPossession, sign_member_message
from tests.utils.chain import World


@dataclass
class Areas:
    """A fresh Consortium of `n` customs areas at threshold `n`; area i signs with accounts[i]."""

    world: World
    consortium: Contract
    ids: list[bytes]
    accounts: list[str]

    @property
    def fns(self) -> Any:
        return self.consortium.functions

    def send(self, fn: Any, area: int) -> None:
        self.world.send(fn, self.accounts[area])

    def reverts(self, fn: Any, area: int) -> ContractRevert:
        with pytest.raises(ContractRevert) as excinfo:
            self.send(fn, area)
        return excinfo.value

    def last_proposal(self) -> int:
        return int(call(self.fns.proposalCount())) - 1

    def executed(self, proposal_id: int) -> bool:
        return bool(call(self.fns.getProposal(proposal_id))[3])

    def status(self, area: int) -> MemberStatus:
        return MemberStatus(call(self.fns.memberInfo(self.ids[area]))[1])

    def possession(self, area: int, key: Any) -> bytes:
        nonce = int(call(self.fns.possessionNonce(key.address)))
        message = AccountPossession(self.ids[area], key.address, nonce)
        chain_id = self.world.w3.eth.chain_id
        return sign_member_message(message, bytes(key.key), chain_id, self.consortium.address)

    def pass_by_others(self, fn: Any, subject: int) -> int:
        """Every area but `subject` approves (the first proposes); asserts the proposal stays
        open until the last of them approves. Returns its id."""
        others = [i for i in range(len(self.ids)) if i != subject]
        self.send(fn, others[0])
        proposal_id = self.last_proposal()
        for voter in others[1:]:
            assert not self.executed(proposal_id)
            self.send(self.fns.vote(proposal_id), voter)
        assert self.executed(proposal_id)
        return proposal_id


def deploy_areas(world: World, n: int) -> Areas:
    """A Consortium with `n` founding areas (funded eth-tester accounts) at threshold `n`."""
    accounts = [str(a) for a in world.spare[:n]]
    ids = [member_id(f"customs-{5000 + i}") for i in range(n)]
    founders = [Founder(ids[i], 5000 + i, accounts[i], b"\x01" * 32, "") for i in range(n)]
    artifact = load_artifact("Consortium")
    factory = world.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor([f.as_tuple() for f in founders], n).transact(
        {"from": world.deployer, "gas": 8_000_000}
    )
    receipt = world.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
    consortium = contract_at(world.w3, "Consortium", str(receipt["contractAddress"]))
    areas = Areas(world, consortium, ids, accounts)
    assert call(areas.fns.threshold()) == n
    return areas


@pytest.fixture(params=[3, 4, 5], ids=lambda n: f"{n}-areas")
def areas(world: World, request: pytest.FixtureRequest) -> Areas:
    return deploy_areas(world, request.param)


LOST = 0  # the area that lost its key / turned hostile


def test_rekey_lost_key_area_by_all_others_under_unanimity(areas: Areas) -> None:
    n = len(areas.ids)
    new_key = Account.create()
    add = areas.fns.proposeAccountAddition(
        areas.ids[LOST], new_key.address, areas.possession(LOST, new_key)
    )
    proposal_id = areas.pass_by_others(add, subject=LOST)
    assert call(areas.fns.approvalsNeeded(proposal_id)) == n - 1
    assert call(areas.fns.subjectOf(proposal_id)) == areas.ids[LOST]
    assert call(areas.fns.accountsOf(areas.ids[LOST])) == [areas.accounts[LOST], new_key.address]
    # step two of the rotation: the lost account goes, by the others alone as well
    remove = areas.fns.proposeAccountRemoval(areas.ids[LOST], areas.accounts[LOST])
    areas.pass_by_others(remove, subject=LOST)
    assert call(areas.fns.accountsOf(areas.ids[LOST])) == [new_key.address]
    assert areas.status(LOST) == MemberStatus.ACTIVE
    assert call(areas.fns.threshold()) == n


def test_suspend_hostile_area_by_all_others_lowers_threshold(areas: Areas) -> None:
    n = len(areas.ids)
    areas.pass_by_others(areas.fns.proposeSuspension(areas.ids[LOST]), subject=LOST)
    assert areas.status(LOST) == MemberStatus.SUSPENDED
    assert call(areas.fns.activeCustomsCount()) == n - 1
    # unanimity stays unanimity among the areas left, so governance goes on
    assert call(areas.fns.threshold()) == n - 1


def test_rekey_by_fewer_than_all_others_stays_open(areas: Areas) -> None:
    n = len(areas.ids)
    new_key = Account.create()
    areas.send(
        areas.fns.proposeAccountAddition(
            areas.ids[LOST], new_key.address, areas.possession(LOST, new_key)
        ),
        1,
    )
    proposal_id = areas.last_proposal()
    for voter in range(2, n - 1):  # every other area but one
        areas.send(areas.fns.vote(proposal_id), voter)
    assert int(call(areas.fns.approvalsOf(proposal_id))) == n - 2
    assert not areas.executed(proposal_id)
    revert = areas.reverts(areas.fns.execute(proposal_id), 1)
    assert (revert.name, revert.args_dict) == (
        "NotEnoughApprovals",
        {"proposalId": proposal_id, "approvals": n - 2, "threshold": n - 1},
    )
    assert call(areas.fns.accountsOf(areas.ids[LOST])) == [areas.accounts[LOST]]


def test_vote_by_subject_of_suspension_reverts_subject_cannot_approve(areas: Areas) -> None:
    areas.send(areas.fns.proposeSuspension(areas.ids[LOST]), 1)
    proposal_id = areas.last_proposal()
    revert = areas.reverts(areas.fns.vote(proposal_id), LOST)
    assert (revert.name, revert.args_dict) == (
        "SubjectCannotApprove",
        {"proposalId": proposal_id, "memberId": areas.ids[LOST]},
    )
    assert int(call(areas.fns.approvalsOf(proposal_id))) == 1


def test_propose_own_account_addition_reverts_subject_cannot_approve(areas: Areas) -> None:
    # an area holding its key rotates it itself; it never counts in a vote about itself
    new_key = Account.create()
    revert = areas.reverts(
        areas.fns.proposeAccountAddition(
            areas.ids[LOST], new_key.address, areas.possession(LOST, new_key)
        ),
        LOST,
    )
    assert revert.name == "SubjectCannotApprove"
    assert revert.args_dict["memberId"] == areas.ids[LOST]


def test_suspend_down_to_two_areas_then_one_alone_reverts_electorate_too_small(
    areas: Areas,
) -> None:
    n = len(areas.ids)
    for subject in range(n - 2):  # suspend until two areas are left, by all the others
        active = [i for i in range(n) if areas.status(i) == MemberStatus.ACTIVE]
        others = [i for i in active if i != subject]
        areas.send(areas.fns.proposeSuspension(areas.ids[subject]), others[0])
        proposal_id = areas.last_proposal()
        for voter in others[1:]:
            areas.send(areas.fns.vote(proposal_id), voter)
        assert areas.status(subject) == MemberStatus.SUSPENDED
    assert call(areas.fns.activeCustomsCount()) == 2
    assert call(areas.fns.threshold()) == 2
    # one of the last two can neither suspend nor re-key the other alone
    last, alone = n - 1, n - 2
    revert = areas.reverts(areas.fns.proposeSuspension(areas.ids[last]), alone)
    assert (revert.name, revert.args_dict) == (
        "ElectorateTooSmall",
        {"subject": areas.ids[last], "electorate": 1, "needed": 2},
    )
    new_key = Account.create()
    revert = areas.reverts(
        areas.fns.proposeAccountAddition(
            areas.ids[last], new_key.address, areas.possession(last, new_key)
        ),
        alone,
    )
    assert revert.name == "ElectorateTooSmall"
    assert areas.status(last) == MemberStatus.ACTIVE
