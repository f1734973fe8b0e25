"""Consortium: governance by customs-area votes, platform sponsorship, profiles and views.

The world has three customs areas (HZ 2900, NB 3100, ZZ 4600) with threshold 2, and two
platforms: PLATFORM_A sponsored by NB, PLATFORM_B sponsored by ZZ. Proposals are made by HZ
(whose own approval counts) and, when a second approval is needed, voted by NB. Only approvals of
customs areas that are active now count (`approvalsOf`); `execute` runs a proposal that reaches the
threshold without a further vote (e.g. after the threshold was lowered).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from eth_utils.crypto import keccak
from web3.types import TxReceipt

from clients.bindings import (
    APPLY_WINDOW,
    ARRIVAL_WINDOW,
    MAX_LINES,
    PROPOSAL_TTL,
    Founder,
    MemberKind,
    MemberStatus,
    ProposalKind,
    call,
    contract_at,
    events,
    load_artifact,
    member_id,
    replay_failure,
)
from clients.errors import ContractRevert
from tests.utils.chain import AUDITOR, DAY, HZ, NB, PLATFORM_A, PLATFORM_B, ZZ, World

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
NEW_AREA = member_id("customs-5100")
NEW_PLATFORM = member_id("platform-c")
ENC_KEY = b"\x5a" * 32
GATEWAY = "https://gateway.example"

# ---------------------------------------------------------------------- helpers


def fns(world: World) -> Any:
    """The Consortium's contract functions."""
    return world.c.consortium.functions


def _struct_fields(function: str) -> list[str]:
    """The component names of the struct a Consortium view returns, in ABI order."""
    for item in load_artifact("Consortium").abi:
        if item["type"] == "function" and item["name"] == function:
            return [c["name"] for c in item["outputs"][0]["components"]]
    raise KeyError(function)


def proposal_record(world: World, proposal_id: int) -> dict[str, Any]:
    """`getProposal` as {field name: value}."""
    values = call(fns(world).getProposal(proposal_id))
    return dict(zip(_struct_fields("getProposal"), values, strict=True))


def member_record(world: World, member: bytes) -> dict[str, Any]:
    """`getMember` as {field name: value}."""
    values = call(fns(world).getMember(member))
    return dict(zip(_struct_fields("getMember"), values, strict=True))


def profile(world: World, member: bytes) -> tuple[bytes, str]:
    """A member's published (encryption key, gateway URL)."""
    record = member_record(world, member)
    return record["encryptionKey"], record["gatewayUrl"]


def approvals_of(world: World, proposal_id: int) -> int:
    """Approvals of the proposal by currently active customs areas."""
    return int(call(fns(world).approvalsOf(proposal_id)))


def reverts(world: World, fn: Any, sender: str) -> ContractRevert:
    """Send `fn` from `sender`, expecting a revert, and return the decoded revert."""
    with pytest.raises(ContractRevert) as excinfo:
        world.send(fn, sender)
    return excinfo.value


def last_proposal(world: World) -> int:
    """The id of the most recent proposal."""
    return int(call(fns(world).proposalCount())) - 1


def propose(world: World, fn: Any, proposer: str | None = None) -> tuple[int, TxReceipt]:
    """Make a proposal (HZ by default); returns its id and the receipt."""
    receipt = world.send(fn, proposer or world.hz)
    return last_proposal(world), receipt


def pass_proposal(world: World, fn: Any, voter: str | None = None) -> TxReceipt:
    """HZ proposes, NB (or `voter`) approves at threshold 2; returns the executing receipt."""
    proposal_id, _ = propose(world, fn)
    return world.send(fns(world).vote(proposal_id), voter or world.nb)


def event_names(receipt: TxReceipt, world: World) -> list[str]:
    return [name for name, _ in events(receipt, world.c)]


def suspend(world: World, member: bytes) -> None:
    pass_proposal(world, fns(world).proposeSuspension(member))


def reg(
    world: World, member: bytes, account: str, encryption_key: bytes = b"", gateway_url: str = ""
) -> bytes:
    """`account`'s registration signature for `member` (a dummy for an account without a key,
    e.g. the zero address, whose call must revert before the proof is checked)."""
    if account not in world.keys:
        return b"\x00" * 65
    return world.registration(member, account, encryption_key, gateway_url)


def proof(world: World, member: bytes, account: str) -> bytes:
    """`account`'s possession proof for `member` (a dummy for an account without a key)."""
    if account not in world.keys:
        return b"\x00" * 65
    return world.possession(member, account)


def platform_signer(world: World) -> str:
    """A funded, unlocked account that PLATFORM_A added to itself (relayed by its sponsor)."""
    signer = world.spare[4]
    deadline, auth = world.authorise_addition(PLATFORM_A, signer, world.platform_a_key.address)
    possession = world.possession(PLATFORM_A, signer)
    fn = fns(world).addAccountBySig(PLATFORM_A, signer, deadline, auth, possession)
    world.send(fn, world.nb)
    return signer


def admit_auditor(world: World) -> str:
    account = world.spare[3]
    pass_proposal(
        world,
        fns(world).proposeAdmission(
            AUDITOR,
            MemberKind.AUDITOR,
            0,
            account,
            ENC_KEY,
            GATEWAY,
            reg(world, AUDITOR, account, ENC_KEY, GATEWAY),
        ),
    )
    return account


def deploy_consortium(world: World, founders: list[Founder], threshold: int) -> TxReceipt:
    """Deploy a fresh Consortium with explicit gas (a revert shows as a status-0 receipt)."""
    artifact = load_artifact("Consortium")
    factory = world.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor([f.as_tuple() for f in founders], threshold).transact(
        {"from": world.deployer, "gas": 8_000_000}
    )
    return world.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)


def deploy_reverts(world: World, founders: list[Founder], threshold: int) -> ContractRevert:
    receipt = deploy_consortium(world, founders, threshold)
    assert receipt["status"] == 0
    assert receipt["contractAddress"] is None
    return replay_failure(world.w3, receipt["transactionHash"], receipt)


# ---------------------------------------------------------------------- constructor


def test_constructor_sets_founders_threshold_and_defaults(world: World) -> None:
    c = fns(world)
    assert call(c.threshold()) == 2
    assert call(c.activeCustomsCount()) == 3
    assert call(c.proposalCount()) == 0
    assert call(c.memberIds()) == [HZ, NB, ZZ, PLATFORM_A, PLATFORM_B]
    assert call(c.customsMember(2900)) == HZ
    assert call(c.customsMember(3100)) == NB
    assert call(c.customsMember(4600)) == ZZ
    assert call(c.accountsOf(HZ)) == [world.hz]
    assert call(c.parameter(APPLY_WINDOW)) == 30 * DAY
    assert call(c.parameter(ARRIVAL_WINDOW)) == 45 * DAY
    assert call(c.parameter(MAX_LINES)) == 99
    assert call(c.parameter(PROPOSAL_TTL)) == 7 * DAY


def test_constructor_parameter_keys_match_bindings(world: World) -> None:
    c = fns(world)
    assert call(c.APPLY_WINDOW()) == APPLY_WINDOW
    assert call(c.ARRIVAL_WINDOW()) == ARRIVAL_WINDOW
    assert call(c.MAX_LINES()) == MAX_LINES
    assert call(c.PROPOSAL_TTL()) == PROPOSAL_TTL


def test_constructor_emits_founder_threshold_and_parameter_events(world: World) -> None:
    founder = member_id("customs-0101")
    receipt = deploy_consortium(
        world, [Founder(founder, 101, world.spare[0], ENC_KEY, GATEWAY)], threshold=1
    )
    assert receipt["status"] == 1
    fresh = contract_at(world.w3, "Consortium", str(receipt["contractAddress"]))
    assert events(receipt, dataclasses.replace(world.c, consortium=fresh)) == [
        (
            "MemberAdmitted",
            {
                "memberId": founder,
                "kind": MemberKind.CUSTOMS,
                "customsCode": 101,
                "sponsor": ZERO32,
            },
        ),
        (
            "MemberProfileUpdated",
            {"memberId": founder, "encryptionKey": ENC_KEY, "gatewayUrl": GATEWAY},
        ),
        ("AccountAdded", {"memberId": founder, "account": world.spare[0]}),
        ("ThresholdSet", {"threshold": 1}),
        ("ParameterSet", {"key": APPLY_WINDOW, "value": 30 * DAY}),
        ("ParameterSet", {"key": ARRIVAL_WINDOW, "value": 45 * DAY}),
        ("ParameterSet", {"key": MAX_LINES, "value": 99}),
        ("ParameterSet", {"key": PROPOSAL_TTL, "value": 7 * DAY}),
    ]
    assert call(fresh.functions.threshold()) == 1
    assert call(fresh.functions.customsMember(101)) == founder


def test_constructor_without_founders_reverts_no_founders(world: World) -> None:
    revert = deploy_reverts(world, [], threshold=1)
    assert revert.name == "NoFounders"
    assert revert.args_dict == {}


def test_constructor_threshold_above_founders_reverts_threshold_out_of_range(
    world: World,
) -> None:
    revert = deploy_reverts(world, [Founder(HZ, 2900, world.spare[0])], threshold=2)
    assert revert.name == "ThresholdOutOfRange"
    assert revert.args_dict == {"threshold": 2, "activeCustoms": 1}


def test_constructor_zero_threshold_reverts_threshold_out_of_range(world: World) -> None:
    revert = deploy_reverts(world, [Founder(HZ, 2900, world.spare[0])], threshold=0)
    assert revert.name == "ThresholdOutOfRange"
    assert revert.args_dict == {"threshold": 0, "activeCustoms": 1}


def test_constructor_duplicate_customs_code_reverts_customs_code_taken(world: World) -> None:
    founders = [Founder(HZ, 2900, world.spare[0]), Founder(NB, 2900, world.spare[1])]
    revert = deploy_reverts(world, founders, threshold=1)
    assert revert.name == "CustomsCodeTaken"
    assert revert.args_dict == {"code": 2900, "holder": HZ}


def test_constructor_shared_founder_account_reverts_account_already_assigned(
    world: World,
) -> None:
    founders = [Founder(HZ, 2900, world.spare[0]), Founder(NB, 3100, world.spare[0])]
    revert = deploy_reverts(world, founders, threshold=1)
    assert revert.name == "AccountAlreadyAssigned"
    assert revert.args_dict == {"account": world.spare[0], "memberId": HZ}


# ---------------------------------------------------------------------- governance: voting


def test_propose_below_threshold_records_proposal_without_executing(world: World) -> None:
    proposal_id, receipt = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    assert proposal_id == 0
    assert events(receipt, world.c) == [
        (
            "ProposalCreated",
            {
                "proposalId": 0,
                "kind": ProposalKind.SET_PARAMETER,
                "proposer": HZ,
                "memberId": ZERO32,
            },
        ),
        ("ProposalApproved", {"proposalId": 0, "voter": HZ, "approvals": 1}),
    ]
    created_at = world.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert type(events(receipt, world.c)[0][1]["kind"]) is int
    assert call(fns(world).getProposal(0)) == (
        ProposalKind.SET_PARAMETER,
        MemberKind.NONE,
        0,
        False,
        created_at + 7 * DAY,
        HZ,
        ZERO32,
        ZERO_ADDRESS,
        MAX_LINES,
        50,
        b"",
        "",
    )
    assert approvals_of(world, 0) == 1
    assert call(fns(world).parameter(MAX_LINES)) == 99
    assert call(fns(world).proposalCount()) == 1
    assert call(fns(world).hasVoted(0, HZ)) is True
    assert call(fns(world).hasVoted(0, NB)) is False


def test_vote_at_threshold_executes_proposal(world: World) -> None:
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    receipt = world.send(fns(world).vote(proposal_id), world.nb)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": NB, "approvals": 2}),
        ("ParameterSet", {"key": MAX_LINES, "value": 50}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert proposal_record(world, proposal_id)["executed"] is True
    assert approvals_of(world, proposal_id) == 2
    assert call(fns(world).parameter(MAX_LINES)) == 50
    assert call(fns(world).hasVoted(proposal_id, NB)) is True
    assert call(fns(world).hasVoted(proposal_id, ZZ)) is False


def test_vote_twice_by_proposer_reverts_already_voted(world: World) -> None:
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    revert = reverts(world, fns(world).vote(proposal_id), world.hz)
    assert revert.name == "AlreadyVoted"
    assert revert.args_dict == {"proposalId": proposal_id, "voter": HZ}


def test_vote_twice_below_threshold_reverts_already_voted(world: World) -> None:
    pass_proposal(world, fns(world).proposeThreshold(3))
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    world.send(fns(world).vote(proposal_id), world.nb)
    revert = reverts(world, fns(world).vote(proposal_id), world.nb)
    assert revert.name == "AlreadyVoted"
    assert revert.args_dict == {"proposalId": proposal_id, "voter": NB}
    assert approvals_of(world, proposal_id) == 2


def test_vote_by_second_account_of_voter_reverts_already_voted(world: World) -> None:
    pass_proposal(
        world,
        fns(world).proposeAccountAddition(NB, world.spare[0], proof(world, NB, world.spare[0])),
        voter=world.zz,
    )
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50), world.nb)
    revert = reverts(world, fns(world).vote(proposal_id), world.spare[0])
    assert revert.name == "AlreadyVoted"
    assert revert.args_dict == {"proposalId": proposal_id, "voter": NB}


def test_vote_by_suspended_area_reverts_member_not_active(world: World) -> None:
    suspend(world, ZZ)
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    revert = reverts(world, fns(world).vote(proposal_id), world.zz)
    assert revert.name == "MemberNotActive"
    assert revert.args_dict == {"memberId": ZZ}
    assert approvals_of(world, proposal_id) == 1
    assert call(fns(world).hasVoted(proposal_id, ZZ)) is False


def test_vote_by_outsider_reverts_not_a_member(world: World) -> None:
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    revert = reverts(world, fns(world).vote(proposal_id), world.outsider)
    assert revert.name == "NotAMember"
    assert revert.args_dict == {"account": world.outsider}


def test_vote_by_platform_reverts_wrong_member_kind(world: World) -> None:
    signer = platform_signer(world)
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    revert = reverts(world, fns(world).vote(proposal_id), signer)
    assert revert.name == "WrongMemberKind"
    assert revert.args_dict == {"memberId": PLATFORM_A, "actual": MemberKind.PLATFORM}


def test_vote_by_auditor_reverts_wrong_member_kind(world: World) -> None:
    auditor = admit_auditor(world)
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    revert = reverts(world, fns(world).vote(proposal_id), auditor)
    assert revert.name == "WrongMemberKind"
    assert revert.args_dict == {"memberId": AUDITOR, "actual": MemberKind.AUDITOR}


def test_vote_after_expiry_reverts_proposal_expired(world: World) -> None:
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    expires_at = proposal_record(world, proposal_id)["expiresAt"]
    world.travel_to(world.now() + 8 * DAY)
    revert = reverts(world, fns(world).vote(proposal_id), world.nb)
    assert revert.name == "ProposalExpired"
    assert revert.args_dict == {"proposalId": proposal_id, "expiredAt": expires_at}
    assert call(fns(world).parameter(MAX_LINES)) == 99


def test_vote_before_expiry_executes(world: World) -> None:
    proposal_id, _ = propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    world.travel_to(world.now() + 6 * DAY)
    world.send(fns(world).vote(proposal_id), world.nb)
    assert call(fns(world).parameter(MAX_LINES)) == 50


def test_vote_on_executed_proposal_reverts_proposal_already_executed(world: World) -> None:
    pass_proposal(world, fns(world).proposeParameter(MAX_LINES, 50))
    proposal_id = last_proposal(world)
    revert = reverts(world, fns(world).vote(proposal_id), world.zz)
    assert revert.name == "ProposalAlreadyExecuted"
    assert revert.args_dict == {"proposalId": proposal_id}


def test_vote_unknown_proposal_reverts_unknown_proposal(world: World) -> None:
    propose(world, fns(world).proposeParameter(MAX_LINES, 50))
    revert = reverts(world, fns(world).vote(1), world.nb)
    assert revert.name == "UnknownProposal"
    assert revert.args_dict == {"proposalId": 1}


def test_vote_failing_execution_reverts_and_leaves_proposal_open(world: World) -> None:
    c = fns(world)
    first, _ = propose(
        world,
        c.proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            5100,
            world.spare[0],
            b"",
            "",
            reg(world, NEW_AREA, world.spare[0], b"", ""),
        ),
    )
    other = member_id("customs-5100-bis")
    second, _ = propose(
        world,
        c.proposeAdmission(
            other,
            MemberKind.CUSTOMS,
            5100,
            world.spare[1],
            b"",
            "",
            reg(world, other, world.spare[1], b"", ""),
        ),
    )
    world.send(c.vote(first), world.nb)
    revert = reverts(world, c.vote(second), world.nb)
    assert revert.name == "CustomsCodeTaken"
    assert revert.args_dict == {"code": 5100, "holder": NEW_AREA}
    assert proposal_record(world, second)["executed"] is False
    assert approvals_of(world, second) == 1
    assert call(c.hasVoted(second, NB)) is False
    assert call(c.memberInfo(other)) == [MemberKind.NONE, MemberStatus.NONE, 0]


def test_vote_counts_only_approvals_of_active_areas(world: World) -> None:
    c = fns(world)
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50), world.zz)
    assert approvals_of(world, proposal_id) == 1
    suspend(world, ZZ)
    assert approvals_of(world, proposal_id) == 0
    assert call(c.hasVoted(proposal_id, ZZ)) is True
    second = world.send(c.vote(proposal_id), world.hz)
    assert events(second, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": HZ, "approvals": 1}),
    ]
    assert proposal_record(world, proposal_id)["executed"] is False
    assert call(c.parameter(MAX_LINES)) == 99
    third = world.send(c.vote(proposal_id), world.nb)
    assert events(third, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": NB, "approvals": 2}),
        ("ParameterSet", {"key": MAX_LINES, "value": 50}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert proposal_record(world, proposal_id)["executed"] is True
    assert call(c.parameter(MAX_LINES)) == 50


def test_vote_counts_approval_of_reinstated_area_again(world: World) -> None:
    c = fns(world)
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50), world.zz)
    suspend(world, ZZ)
    pass_proposal(world, c.proposeReinstatement(ZZ))
    assert approvals_of(world, proposal_id) == 1
    receipt = world.send(c.vote(proposal_id), world.hz)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": HZ, "approvals": 2}),
        ("ParameterSet", {"key": MAX_LINES, "value": 50}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]


def test_vote_by_reinstated_area_that_approved_before_reverts_already_voted(
    world: World,
) -> None:
    c = fns(world)
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50), world.zz)
    suspend(world, ZZ)
    pass_proposal(world, c.proposeReinstatement(ZZ))
    revert = reverts(world, c.vote(proposal_id), world.zz)
    assert revert.name == "AlreadyVoted"
    assert revert.args_dict == {"proposalId": proposal_id, "voter": ZZ}
    assert approvals_of(world, proposal_id) == 1


def test_propose_by_outsider_reverts_not_a_member(world: World) -> None:
    revert = reverts(world, fns(world).proposeParameter(MAX_LINES, 50), world.outsider)
    assert revert.name == "NotAMember"
    assert revert.args_dict == {"account": world.outsider}
    assert call(fns(world).proposalCount()) == 0


def test_propose_by_platform_reverts_wrong_member_kind(world: World) -> None:
    signer = platform_signer(world)
    revert = reverts(world, fns(world).proposeSuspension(PLATFORM_B), signer)
    assert revert.name == "WrongMemberKind"
    assert revert.args_dict == {"memberId": PLATFORM_A, "actual": MemberKind.PLATFORM}


def test_propose_by_suspended_area_reverts_member_not_active(world: World) -> None:
    suspend(world, ZZ)
    revert = reverts(world, fns(world).proposeReinstatement(ZZ), world.zz)
    assert revert.name == "MemberNotActive"
    assert revert.args_dict == {"memberId": ZZ}


# ---------------------------------------------------------------------- governance: admission


def test_propose_admission_customs_below_threshold_admits_nobody(world: World) -> None:
    c = fns(world)
    _, receipt = propose(
        world,
        c.proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            5100,
            world.spare[0],
            b"",
            "",
            reg(world, NEW_AREA, world.spare[0], b"", ""),
        ),
    )
    assert event_names(receipt, world) == ["ProposalCreated", "ProposalApproved"]
    assert events(receipt, world.c)[0][1]["kind"] == ProposalKind.ADMIT
    assert events(receipt, world.c)[0][1]["memberId"] == NEW_AREA
    assert call(c.memberInfo(NEW_AREA)) == [MemberKind.NONE, MemberStatus.NONE, 0]
    assert call(c.customsMember(5100)) == ZERO32
    assert call(c.accountInfo(world.spare[0]))[0] == ZERO32
    assert call(c.activeCustomsCount()) == 3


def test_propose_admission_customs_executes_at_threshold(world: World) -> None:
    c = fns(world)
    proposal_id, _ = propose(
        world,
        c.proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            5100,
            world.spare[0],
            ENC_KEY,
            GATEWAY,
            reg(world, NEW_AREA, world.spare[0], ENC_KEY, GATEWAY),
        ),
    )
    proposal = proposal_record(world, proposal_id)
    assert proposal["kind"] == ProposalKind.ADMIT
    assert proposal["memberKind"] == MemberKind.CUSTOMS
    assert proposal["customsCode"] == 5100
    assert (proposal["memberId"], proposal["account"]) == (NEW_AREA, world.spare[0])
    assert (proposal["encryptionKey"], proposal["gatewayUrl"]) == (ENC_KEY, GATEWAY)
    assert approvals_of(world, proposal_id) == 1
    receipt = world.send(c.vote(proposal_id), world.nb)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": NB, "approvals": 2}),
        (
            "MemberAdmitted",
            {
                "memberId": NEW_AREA,
                "kind": MemberKind.CUSTOMS,
                "customsCode": 5100,
                "sponsor": ZERO32,
            },
        ),
        (
            "MemberProfileUpdated",
            {"memberId": NEW_AREA, "encryptionKey": ENC_KEY, "gatewayUrl": GATEWAY},
        ),
        ("AccountAdded", {"memberId": NEW_AREA, "account": world.spare[0]}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert call(c.getMember(NEW_AREA)) == (
        MemberKind.CUSTOMS,
        MemberStatus.ACTIVE,
        5100,
        1,
        False,
        ZERO32,
        ENC_KEY,
        GATEWAY,
    )
    assert call(c.accountInfo(world.spare[0])) == [
        NEW_AREA,
        MemberKind.CUSTOMS,
        MemberStatus.ACTIVE,
        5100,
    ]
    assert call(c.customsMember(5100)) == NEW_AREA
    assert call(c.accountsOf(NEW_AREA)) == [world.spare[0]]
    assert call(c.memberIds())[-1] == NEW_AREA
    assert call(c.activeCustomsCount()) == 4


def test_propose_admission_admitted_area_can_vote(world: World) -> None:
    c = fns(world)
    pass_proposal(
        world,
        c.proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            5100,
            world.spare[0],
            b"",
            "",
            reg(world, NEW_AREA, world.spare[0], b"", ""),
        ),
    )
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50))
    receipt = world.send(c.vote(proposal_id), world.spare[0])
    assert event_names(receipt, world) == ["ProposalApproved", "ParameterSet", "ProposalExecuted"]
    assert call(c.hasVoted(proposal_id, NEW_AREA)) is True


def test_propose_admission_auditor_executes_at_threshold(world: World) -> None:
    c = fns(world)
    proposal_id, _ = propose(
        world,
        c.proposeAdmission(
            AUDITOR,
            MemberKind.AUDITOR,
            0,
            world.spare[0],
            ENC_KEY,
            GATEWAY,
            reg(world, AUDITOR, world.spare[0], ENC_KEY, GATEWAY),
        ),
    )
    receipt = world.send(c.vote(proposal_id), world.nb)
    assert events(receipt, world.c)[1] == (
        "MemberAdmitted",
        {"memberId": AUDITOR, "kind": MemberKind.AUDITOR, "customsCode": 0, "sponsor": ZERO32},
    )
    assert event_names(receipt, world)[-1] == "ProposalExecuted"
    assert call(c.memberInfo(AUDITOR)) == [MemberKind.AUDITOR, MemberStatus.ACTIVE, 0]
    assert call(c.accountInfo(world.spare[0]))[0] == AUDITOR
    assert call(c.activeCustomsCount()) == 3
    assert call(c.customsMember(0)) == ZERO32


@pytest.mark.parametrize("kind", [MemberKind.PLATFORM, MemberKind.NONE])
def test_propose_admission_non_voted_kind_reverts_invalid_member_kind(
    world: World, kind: MemberKind
) -> None:
    revert = reverts(
        world,
        fns(world).proposeAdmission(
            NEW_PLATFORM,
            kind,
            0,
            world.spare[0],
            b"",
            "",
            reg(world, NEW_PLATFORM, world.spare[0], b"", ""),
        ),
        world.hz,
    )
    assert revert.name == "InvalidMemberKind"
    assert revert.args_dict == {"kind": kind}
    assert call(fns(world).proposalCount()) == 0


@pytest.mark.parametrize("code", [0, 10000, 65535])
def test_propose_admission_customs_code_out_of_range_reverts_invalid_customs_code(
    world: World, code: int
) -> None:
    revert = reverts(
        world,
        fns(world).proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            code,
            world.spare[0],
            b"",
            "",
            reg(world, NEW_AREA, world.spare[0], b"", ""),
        ),
        world.hz,
    )
    assert revert.name == "InvalidCustomsCode"
    assert revert.args_dict == {"code": code}


@pytest.mark.parametrize("code", [1, 9999])
def test_propose_admission_customs_code_at_bounds_admits(world: World, code: int) -> None:
    c = fns(world)
    pass_proposal(
        world,
        c.proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            code,
            world.spare[0],
            b"",
            "",
            reg(world, NEW_AREA, world.spare[0], b"", ""),
        ),
    )
    assert call(c.customsMember(code)) == NEW_AREA
    assert call(c.memberInfo(NEW_AREA)) == [MemberKind.CUSTOMS, MemberStatus.ACTIVE, code]


def test_propose_admission_auditor_with_customs_code_reverts_invalid_customs_code(
    world: World,
) -> None:
    revert = reverts(
        world,
        fns(world).proposeAdmission(
            AUDITOR,
            MemberKind.AUDITOR,
            2900,
            world.spare[0],
            b"",
            "",
            reg(world, AUDITOR, world.spare[0], b"", ""),
        ),
        world.hz,
    )
    assert revert.name == "InvalidCustomsCode"
    assert revert.args_dict == {"code": 2900}


def test_propose_admission_taken_code_reverts_customs_code_taken(world: World) -> None:
    revert = reverts(
        world,
        fns(world).proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            3100,
            world.spare[0],
            b"",
            "",
            reg(world, NEW_AREA, world.spare[0], b"", ""),
        ),
        world.hz,
    )
    assert revert.name == "CustomsCodeTaken"
    assert revert.args_dict == {"code": 3100, "holder": NB}


@pytest.mark.parametrize("existing", [NB, PLATFORM_A])
def test_propose_admission_duplicate_id_reverts_member_already_exists(
    world: World, existing: bytes
) -> None:
    revert = reverts(
        world,
        fns(world).proposeAdmission(
            existing,
            MemberKind.AUDITOR,
            0,
            world.spare[0],
            b"",
            "",
            reg(world, existing, world.spare[0], b"", ""),
        ),
        world.hz,
    )
    assert revert.name == "MemberAlreadyExists"
    assert revert.args_dict == {"memberId": existing}


def test_propose_admission_zero_id_reverts_invalid_member_id(world: World) -> None:
    revert = reverts(
        world,
        fns(world).proposeAdmission(
            ZERO32,
            MemberKind.AUDITOR,
            0,
            world.spare[0],
            b"",
            "",
            reg(world, ZERO32, world.spare[0], b"", ""),
        ),
        world.hz,
    )
    assert revert.name == "InvalidMemberId"
    assert revert.args_dict == {"account": world.spare[0]}


def test_propose_admission_zero_account_reverts_zero_account(world: World) -> None:
    revert = reverts(
        world,
        fns(world).proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            5100,
            ZERO_ADDRESS,
            b"",
            "",
            reg(world, NEW_AREA, ZERO_ADDRESS, b"", ""),
        ),
        world.hz,
    )
    assert revert.name == "ZeroAccount"
    assert revert.args_dict == {"memberId": NEW_AREA}


def test_propose_admission_assigned_account_reverts_account_already_assigned(
    world: World,
) -> None:
    revert = reverts(
        world,
        fns(world).proposeAdmission(
            NEW_AREA,
            MemberKind.CUSTOMS,
            5100,
            world.nb,
            b"",
            "",
            reg(world, NEW_AREA, world.nb, b"", ""),
        ),
        world.hz,
    )
    assert revert.name == "AccountAlreadyAssigned"
    assert revert.args_dict == {"account": world.nb, "memberId": NB}


# ---------------------------------------------------------------------- governance: status


def test_propose_suspension_below_threshold_keeps_member_active(world: World) -> None:
    _, receipt = propose(world, fns(world).proposeSuspension(ZZ))
    assert events(receipt, world.c)[0] == (
        "ProposalCreated",
        {"proposalId": 0, "kind": ProposalKind.SUSPEND, "proposer": HZ, "memberId": ZZ},
    )
    assert call(fns(world).memberInfo(ZZ)) == [MemberKind.CUSTOMS, MemberStatus.ACTIVE, 4600]
    assert call(fns(world).activeCustomsCount()) == 3


def test_propose_suspension_executes_at_threshold(world: World) -> None:
    receipt = pass_proposal(world, fns(world).proposeSuspension(ZZ))
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": 0, "voter": NB, "approvals": 2}),
        ("MemberStatusChanged", {"memberId": ZZ, "status": MemberStatus.SUSPENDED}),
        ("ProposalExecuted", {"proposalId": 0}),
    ]
    assert call(fns(world).memberInfo(ZZ)) == [MemberKind.CUSTOMS, MemberStatus.SUSPENDED, 4600]
    assert call(fns(world).accountInfo(world.zz)) == [
        ZZ,
        MemberKind.CUSTOMS,
        MemberStatus.SUSPENDED,
        4600,
    ]
    assert call(fns(world).activeCustomsCount()) == 2
    assert call(fns(world).customsMember(4600)) == ZZ
    assert member_record(world, ZZ)["suspendedByVote"] is True


def test_propose_suspension_of_platform_keeps_customs_count(world: World) -> None:
    receipt = pass_proposal(world, fns(world).proposeSuspension(PLATFORM_A))
    assert ("MemberStatusChanged", {"memberId": PLATFORM_A, "status": MemberStatus.SUSPENDED}) in (
        events(receipt, world.c)
    )
    assert call(fns(world).memberInfo(PLATFORM_A)) == [
        MemberKind.PLATFORM,
        MemberStatus.SUSPENDED,
        0,
    ]
    assert member_record(world, PLATFORM_A)["suspendedByVote"] is True
    assert call(fns(world).activeCustomsCount()) == 3


def test_propose_suspension_of_suspended_member_reverts_status_unchanged(world: World) -> None:
    suspend(world, ZZ)
    revert = reverts(world, fns(world).proposeSuspension(ZZ), world.hz)
    assert revert.name == "StatusUnchanged"
    assert revert.args_dict == {"memberId": ZZ, "status": MemberStatus.SUSPENDED}


def test_propose_suspension_unknown_member_reverts_unknown_member(world: World) -> None:
    revert = reverts(world, fns(world).proposeSuspension(NEW_AREA), world.hz)
    assert revert.name == "UnknownMember"
    assert revert.args_dict == {"memberId": NEW_AREA}


def test_propose_suspension_under_unanimity_executes_by_the_others_and_lowers_threshold(
    world: World,
) -> None:
    # the suspended area is not in the electorate of its own suspension (see
    # test_governance_deadlock.py): unanimity of the others suffices, and stays unanimity
    pass_proposal(world, fns(world).proposeThreshold(3))
    assert call(fns(world).threshold()) == 3
    proposal_id, _ = propose(world, fns(world).proposeSuspension(ZZ))
    assert call(fns(world).approvalsNeeded(proposal_id)) == 2
    receipt = world.send(fns(world).vote(proposal_id), world.nb)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": NB, "approvals": 2}),
        ("MemberStatusChanged", {"memberId": ZZ, "status": MemberStatus.SUSPENDED}),
        ("ThresholdSet", {"threshold": 2}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert call(fns(world).activeCustomsCount()) == 2
    assert call(fns(world).threshold()) == 2


def test_propose_suspension_second_area_reverts_electorate_too_small(world: World) -> None:
    suspend(world, ZZ)
    revert = reverts(world, fns(world).proposeSuspension(NB), world.hz)
    assert revert.name == "ElectorateTooSmall"
    assert revert.args_dict == {"subject": NB, "electorate": 1, "needed": 2}


def test_execute_suspension_rechecks_electorate_at_execution(world: World) -> None:
    c = fns(world)
    suspend_zz, _ = propose(world, c.proposeSuspension(ZZ))
    suspend_nb, _ = propose(world, c.proposeSuspension(NB))
    world.send(c.vote(suspend_zz), world.nb)
    # HZ's approval now meets min(threshold, active areas but NB), yet HZ is alone
    assert call(c.approvalsNeeded(suspend_nb)) == 1
    revert = reverts(world, c.execute(suspend_nb), world.hz)
    assert revert.name == "ElectorateTooSmall"
    assert revert.args_dict == {"subject": NB, "electorate": 1, "needed": 2}
    assert call(c.memberInfo(NB))[1] == MemberStatus.ACTIVE


def test_propose_reinstatement_executes_at_threshold(world: World) -> None:
    suspend(world, ZZ)
    receipt = pass_proposal(world, fns(world).proposeReinstatement(ZZ))
    proposal_id = last_proposal(world)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": NB, "approvals": 2}),
        ("MemberStatusChanged", {"memberId": ZZ, "status": MemberStatus.ACTIVE}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert proposal_record(world, proposal_id)["kind"] == ProposalKind.REINSTATE
    assert call(fns(world).memberInfo(ZZ)) == [MemberKind.CUSTOMS, MemberStatus.ACTIVE, 4600]
    assert member_record(world, ZZ)["suspendedByVote"] is False
    assert call(fns(world).activeCustomsCount()) == 3


def test_propose_reinstatement_below_threshold_keeps_member_suspended(world: World) -> None:
    suspend(world, ZZ)
    propose(world, fns(world).proposeReinstatement(ZZ))
    assert call(fns(world).memberInfo(ZZ))[1] == MemberStatus.SUSPENDED
    assert call(fns(world).activeCustomsCount()) == 2


def test_propose_reinstatement_of_active_member_reverts_status_unchanged(world: World) -> None:
    revert = reverts(world, fns(world).proposeReinstatement(NB), world.hz)
    assert revert.name == "StatusUnchanged"
    assert revert.args_dict == {"memberId": NB, "status": MemberStatus.ACTIVE}


def test_propose_reinstatement_unknown_member_reverts_unknown_member(world: World) -> None:
    revert = reverts(world, fns(world).proposeReinstatement(NEW_AREA), world.hz)
    assert revert.name == "UnknownMember"
    assert revert.args_dict == {"memberId": NEW_AREA}


# ---------------------------------------------------------------------- governance: key rotation


def test_propose_account_addition_below_threshold_adds_nothing(world: World) -> None:
    _, receipt = propose(
        world,
        fns(world).proposeAccountAddition(NB, world.spare[0], proof(world, NB, world.spare[0])),
    )
    assert events(receipt, world.c)[0][1]["kind"] == ProposalKind.ADD_ACCOUNT
    assert proposal_record(world, 0)["account"] == world.spare[0]
    assert call(fns(world).accountsOf(NB)) == [world.nb]
    assert call(fns(world).accountInfo(world.spare[0]))[0] == ZERO32


def test_propose_account_addition_executes_at_threshold(world: World) -> None:
    receipt = pass_proposal(
        world,
        fns(world).proposeAccountAddition(NB, world.spare[0], proof(world, NB, world.spare[0])),
        voter=world.zz,
    )
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": 0, "voter": ZZ, "approvals": 2}),
        ("AccountAdded", {"memberId": NB, "account": world.spare[0]}),
        ("ProposalExecuted", {"proposalId": 0}),
    ]
    assert call(fns(world).accountsOf(NB)) == [world.nb, world.spare[0]]
    assert member_record(world, NB)["accountCount"] == 2
    assert call(fns(world).accountInfo(world.spare[0])) == [
        NB,
        MemberKind.CUSTOMS,
        MemberStatus.ACTIVE,
        3100,
    ]


def test_propose_account_removal_after_addition_rotates_key(world: World) -> None:
    c = fns(world)
    new_key = world.spare[0]
    zz = world.zz
    pass_proposal(world, c.proposeAccountAddition(NB, new_key, proof(world, NB, new_key)), zz)
    receipt = pass_proposal(world, c.proposeAccountRemoval(NB, world.nb), zz)
    proposal_id = last_proposal(world)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": ZZ, "approvals": 2}),
        ("AccountRemoved", {"memberId": NB, "account": world.nb}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert call(c.accountsOf(NB)) == [new_key]
    assert member_record(world, NB)["accountCount"] == 1
    assert call(c.accountInfo(world.nb)) == [ZERO32, MemberKind.NONE, MemberStatus.NONE, 0]
    old = reverts(world, c.proposeParameter(MAX_LINES, 50), world.nb)
    assert old.name == "NotAMember"
    assert old.args_dict == {"account": world.nb}
    world.send(c.proposeParameter(MAX_LINES, 50), new_key)
    assert call(c.hasVoted(last_proposal(world), NB)) is True


def test_propose_account_removal_reorders_remaining_accounts(world: World) -> None:
    c = fns(world)
    first, second = world.spare[0], world.spare[1]
    zz = world.zz
    pass_proposal(world, c.proposeAccountAddition(NB, first, proof(world, NB, first)), zz)
    pass_proposal(world, c.proposeAccountAddition(NB, second, proof(world, NB, second)), zz)
    pass_proposal(world, c.proposeAccountRemoval(NB, world.nb), zz)
    assert call(c.accountsOf(NB)) == [second, first]
    pass_proposal(world, c.proposeAccountRemoval(NB, second), zz)
    assert call(c.accountsOf(NB)) == [first]
    assert member_record(world, NB)["accountCount"] == 1
    assert call(c.accountInfo(second))[0] == ZERO32


def test_propose_account_removal_last_account_reverts_last_account(world: World) -> None:
    revert = reverts(world, fns(world).proposeAccountRemoval(NB, world.nb), world.hz)
    assert revert.name == "LastAccount"
    assert revert.args_dict == {"memberId": NB}


def test_propose_account_removal_foreign_account_reverts_account_not_of_member(
    world: World,
) -> None:
    revert = reverts(world, fns(world).proposeAccountRemoval(NB, world.zz), world.hz)
    assert revert.name == "AccountNotOfMember"
    assert revert.args_dict == {"account": world.zz, "memberId": NB}


def test_propose_account_removal_unknown_member_reverts_unknown_member(world: World) -> None:
    revert = reverts(world, fns(world).proposeAccountRemoval(NEW_AREA, world.nb), world.hz)
    assert revert.name == "UnknownMember"
    assert revert.args_dict == {"memberId": NEW_AREA}


def test_propose_account_addition_unknown_member_reverts_unknown_member(world: World) -> None:
    revert = reverts(
        world,
        fns(world).proposeAccountAddition(
            NEW_AREA, world.spare[0], proof(world, NEW_AREA, world.spare[0])
        ),
        world.hz,
    )
    assert revert.name == "UnknownMember"
    assert revert.args_dict == {"memberId": NEW_AREA}


def test_propose_account_addition_assigned_account_reverts_account_already_assigned(
    world: World,
) -> None:
    revert = reverts(
        world, fns(world).proposeAccountAddition(NB, world.zz, proof(world, NB, world.zz)), world.hz
    )
    assert revert.name == "AccountAlreadyAssigned"
    assert revert.args_dict == {"account": world.zz, "memberId": ZZ}


def test_propose_account_addition_zero_account_reverts_zero_account(world: World) -> None:
    revert = reverts(
        world,
        fns(world).proposeAccountAddition(NB, ZERO_ADDRESS, proof(world, NB, ZERO_ADDRESS)),
        world.hz,
    )
    assert revert.name == "ZeroAccount"
    assert revert.args_dict == {"memberId": NB}


def test_vote_account_addition_rechecks_free_account_at_execution(world: World) -> None:
    c = fns(world)
    to_nb, _ = propose(
        world, c.proposeAccountAddition(NB, world.spare[0], proof(world, NB, world.spare[0]))
    )
    pass_proposal(
        world, c.proposeAccountAddition(ZZ, world.spare[0], proof(world, ZZ, world.spare[0]))
    )
    revert = reverts(world, c.vote(to_nb), world.zz)
    assert revert.name == "AccountAlreadyAssigned"
    assert revert.args_dict == {"account": world.spare[0], "memberId": ZZ}
    assert call(c.accountsOf(NB)) == [world.nb]


# ---------------------------------------------------------------------- governance: parameters

PARAMETER_CHANGES = [
    pytest.param(APPLY_WINDOW, 20 * DAY, id="APPLY_WINDOW"),
    pytest.param(ARRIVAL_WINDOW, 60 * DAY, id="ARRIVAL_WINDOW"),
    pytest.param(MAX_LINES, 128, id="MAX_LINES"),
    pytest.param(PROPOSAL_TTL, 3 * DAY, id="PROPOSAL_TTL"),
]

PARAMETER_RANGES = {
    APPLY_WINDOW: (DAY, 365 * DAY),
    ARRIVAL_WINDOW: (DAY, 365 * DAY),
    MAX_LINES: (1, 128),
    PROPOSAL_TTL: (3600, 90 * DAY),
}

PARAMETER_NAMES = {
    APPLY_WINDOW: "APPLY_WINDOW",
    ARRIVAL_WINDOW: "ARRIVAL_WINDOW",
    MAX_LINES: "MAX_LINES",
    PROPOSAL_TTL: "PROPOSAL_TTL",
}

OUT_OF_RANGE = [
    pytest.param(key, value, id=f"{PARAMETER_NAMES[key]}-{side}")
    for key, (low, high) in PARAMETER_RANGES.items()
    for side, value in (("below", low - 1), ("above", high + 1))
]

AT_BOUNDS = [
    pytest.param(key, value, id=f"{PARAMETER_NAMES[key]}-{side}")
    for key, (low, high) in PARAMETER_RANGES.items()
    for side, value in (("min", low), ("max", high))
]


@pytest.mark.parametrize(("key", "value"), PARAMETER_CHANGES)
def test_propose_parameter_executes_at_threshold(world: World, key: bytes, value: int) -> None:
    before = call(fns(world).parameter(key))
    proposal_id, _ = propose(world, fns(world).proposeParameter(key, value))
    assert call(fns(world).parameter(key)) == before
    receipt = world.send(fns(world).vote(proposal_id), world.nb)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": NB, "approvals": 2}),
        ("ParameterSet", {"key": key, "value": value}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert call(fns(world).parameter(key)) == value


@pytest.mark.parametrize(("key", "value"), AT_BOUNDS)
def test_propose_parameter_at_bounds_executes(world: World, key: bytes, value: int) -> None:
    pass_proposal(world, fns(world).proposeParameter(key, value))
    assert call(fns(world).parameter(key)) == value


@pytest.mark.parametrize(("key", "value"), OUT_OF_RANGE)
def test_propose_parameter_out_of_range_reverts_parameter_out_of_range(
    world: World, key: bytes, value: int
) -> None:
    low, high = PARAMETER_RANGES[key]
    revert = reverts(world, fns(world).proposeParameter(key, value), world.hz)
    assert revert.name == "ParameterOutOfRange"
    assert revert.args_dict == {"key": key, "value": value, "min": low, "max": high}
    assert call(fns(world).proposalCount()) == 0


@pytest.mark.parametrize("key", [keccak(text="UNKNOWN"), ZERO32], ids=["UNKNOWN", "zero"])
def test_propose_parameter_unknown_key_reverts_unknown_parameter(world: World, key: bytes) -> None:
    revert = reverts(world, fns(world).proposeParameter(key, 1), world.hz)
    assert revert.name == "UnknownParameter"
    assert revert.args_dict == {"key": key}


def test_propose_parameter_new_ttl_applies_to_later_proposals(world: World) -> None:
    c = fns(world)
    pass_proposal(world, c.proposeParameter(PROPOSAL_TTL, 3600))
    proposal_id, receipt = propose(world, c.proposeParameter(MAX_LINES, 50))
    created_at = world.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert proposal_record(world, proposal_id)["expiresAt"] == created_at + 3600
    world.travel_to(world.now() + 7200)
    revert = reverts(world, c.vote(proposal_id), world.nb)
    assert revert.name == "ProposalExpired"
    assert revert.args_dict == {"proposalId": proposal_id, "expiredAt": created_at + 3600}


# ---------------------------------------------------------------------- governance: threshold


def test_propose_threshold_executes_at_threshold(world: World) -> None:
    proposal_id, receipt = propose(world, fns(world).proposeThreshold(3))
    assert events(receipt, world.c)[0][1]["kind"] == ProposalKind.SET_THRESHOLD
    assert proposal_record(world, proposal_id)["value"] == 3
    assert call(fns(world).threshold()) == 2
    receipt = world.send(fns(world).vote(proposal_id), world.nb)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": NB, "approvals": 2}),
        ("ThresholdSet", {"threshold": 3}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert call(fns(world).threshold()) == 3


def test_propose_threshold_raised_needs_three_approvals(world: World) -> None:
    c = fns(world)
    pass_proposal(world, c.proposeThreshold(3))
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50))
    second = world.send(c.vote(proposal_id), world.nb)
    assert event_names(second, world) == ["ProposalApproved"]
    assert call(c.parameter(MAX_LINES)) == 99
    third = world.send(c.vote(proposal_id), world.zz)
    assert events(third, world.c)[0] == (
        "ProposalApproved",
        {"proposalId": proposal_id, "voter": ZZ, "approvals": 3},
    )
    assert event_names(third, world)[-1] == "ProposalExecuted"
    assert call(c.parameter(MAX_LINES)) == 50


def test_propose_threshold_one_executes_on_proposal(world: World) -> None:
    c = fns(world)
    pass_proposal(world, c.proposeThreshold(1))
    proposal_id, receipt = propose(world, c.proposeParameter(MAX_LINES, 50))
    assert event_names(receipt, world) == [
        "ProposalCreated",
        "ProposalApproved",
        "ParameterSet",
        "ProposalExecuted",
    ]
    assert proposal_record(world, proposal_id)["executed"] is True
    assert call(c.parameter(MAX_LINES)) == 50


@pytest.mark.parametrize("value", [0, 4])
def test_propose_threshold_out_of_range_reverts_threshold_out_of_range(
    world: World, value: int
) -> None:
    revert = reverts(world, fns(world).proposeThreshold(value), world.hz)
    assert revert.name == "ThresholdOutOfRange"
    assert revert.args_dict == {"threshold": value, "activeCustoms": 3}


def test_propose_threshold_above_active_after_suspension_reverts_threshold_out_of_range(
    world: World,
) -> None:
    suspend(world, ZZ)
    revert = reverts(world, fns(world).proposeThreshold(3), world.hz)
    assert revert.name == "ThresholdOutOfRange"
    assert revert.args_dict == {"threshold": 3, "activeCustoms": 2}


def test_vote_threshold_rechecks_active_count_at_execution(world: World) -> None:
    c = fns(world)
    raise_to_three, _ = propose(world, c.proposeThreshold(3))
    suspend(world, ZZ)
    revert = reverts(world, c.vote(raise_to_three), world.nb)
    assert revert.name == "ThresholdOutOfRange"
    assert revert.args_dict == {"threshold": 3, "activeCustoms": 2}
    assert call(c.threshold()) == 2


# ---------------------------------------------------------------------- governance: execute


def lower_threshold_to_two(world: World) -> None:
    """Lower the threshold from 3 to 2 (HZ proposes, NB and ZZ approve)."""
    c = fns(world)
    proposal_id, _ = propose(world, c.proposeThreshold(2))
    world.send(c.vote(proposal_id), world.nb)
    world.send(c.vote(proposal_id), world.zz)
    assert call(c.threshold()) == 2


def executable_proposal(world: World) -> int:
    """A MAX_LINES=50 proposal approved by HZ and NB under threshold 3, left open while the
    threshold is lowered to 2 (so `execute` can run it)."""
    c = fns(world)
    pass_proposal(world, c.proposeThreshold(3))
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50))
    world.send(c.vote(proposal_id), world.nb)
    lower_threshold_to_two(world)
    return proposal_id


def test_execute_after_threshold_lowered_runs_proposal(world: World) -> None:
    c = fns(world)
    pass_proposal(world, c.proposeThreshold(3))
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50))
    world.send(c.vote(proposal_id), world.nb)
    assert approvals_of(world, proposal_id) == 2
    assert proposal_record(world, proposal_id)["executed"] is False
    lower_threshold_to_two(world)
    assert proposal_record(world, proposal_id)["executed"] is False
    assert call(c.parameter(MAX_LINES)) == 99
    receipt = world.send(c.execute(proposal_id), world.zz)
    assert events(receipt, world.c) == [
        ("ParameterSet", {"key": MAX_LINES, "value": 50}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    assert proposal_record(world, proposal_id)["executed"] is True
    assert call(c.parameter(MAX_LINES)) == 50
    assert call(c.hasVoted(proposal_id, ZZ)) is False
    assert approvals_of(world, proposal_id) == 2


def test_execute_by_voter_after_threshold_lowered_runs_proposal(world: World) -> None:
    proposal_id = executable_proposal(world)
    receipt = world.send(fns(world).execute(proposal_id), world.hz)
    assert event_names(receipt, world) == ["ParameterSet", "ProposalExecuted"]
    assert call(fns(world).parameter(MAX_LINES)) == 50


def test_execute_after_voter_reinstated_runs_proposal(world: World) -> None:
    c = fns(world)
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50), world.zz)
    suspend(world, ZZ)
    world.send(c.vote(proposal_id), world.hz)
    assert proposal_record(world, proposal_id)["executed"] is False
    pass_proposal(world, c.proposeReinstatement(ZZ))
    assert approvals_of(world, proposal_id) == 2
    assert proposal_record(world, proposal_id)["executed"] is False
    receipt = world.send(c.execute(proposal_id), world.nb)
    assert event_names(receipt, world) == ["ParameterSet", "ProposalExecuted"]
    assert call(c.parameter(MAX_LINES)) == 50


def test_execute_below_threshold_reverts_not_enough_approvals(world: World) -> None:
    c = fns(world)
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50))
    revert = reverts(world, c.execute(proposal_id), world.nb)
    assert revert.name == "NotEnoughApprovals"
    assert revert.args_dict == {"proposalId": proposal_id, "approvals": 1, "threshold": 2}
    assert proposal_record(world, proposal_id)["executed"] is False
    assert call(c.hasVoted(proposal_id, NB)) is False
    assert call(c.parameter(MAX_LINES)) == 99


def test_execute_with_suspended_voter_reverts_not_enough_approvals(world: World) -> None:
    c = fns(world)
    proposal_id, _ = propose(world, c.proposeParameter(MAX_LINES, 50), world.zz)
    suspend(world, ZZ)
    world.send(c.vote(proposal_id), world.hz)
    revert = reverts(world, c.execute(proposal_id), world.nb)
    assert revert.name == "NotEnoughApprovals"
    assert revert.args_dict == {"proposalId": proposal_id, "approvals": 1, "threshold": 2}
    assert proposal_record(world, proposal_id)["executed"] is False


def test_execute_failing_execution_reverts_and_leaves_proposal_open(world: World) -> None:
    c = fns(world)
    pass_proposal(world, c.proposeThreshold(3))
    spare = world.spare[0]
    to_platform, _ = propose(
        world, c.proposeAccountAddition(PLATFORM_A, spare, proof(world, PLATFORM_A, spare))
    )
    world.send(c.vote(to_platform), world.nb)
    # ZZ is re-keyed by the two others (it is not in its own electorate)
    to_zz, _ = propose(world, c.proposeAccountAddition(ZZ, spare, proof(world, ZZ, spare)))
    world.send(c.vote(to_zz), world.nb)
    assert proposal_record(world, to_zz)["executed"] is True
    lower_threshold_to_two(world)
    revert = reverts(world, c.execute(to_platform), world.hz)
    assert revert.name == "AccountAlreadyAssigned"
    assert revert.args_dict == {"account": spare, "memberId": ZZ}
    assert proposal_record(world, to_platform)["executed"] is False
    assert call(c.accountsOf(PLATFORM_A)) == [world.platform_a_key.address]


def test_execute_executed_proposal_reverts_proposal_already_executed(world: World) -> None:
    proposal_id = executable_proposal(world)
    world.send(fns(world).execute(proposal_id), world.zz)
    revert = reverts(world, fns(world).execute(proposal_id), world.zz)
    assert revert.name == "ProposalAlreadyExecuted"
    assert revert.args_dict == {"proposalId": proposal_id}


def test_execute_proposal_executed_by_vote_reverts_proposal_already_executed(
    world: World,
) -> None:
    pass_proposal(world, fns(world).proposeParameter(MAX_LINES, 50))
    proposal_id = last_proposal(world)
    revert = reverts(world, fns(world).execute(proposal_id), world.zz)
    assert revert.name == "ProposalAlreadyExecuted"
    assert revert.args_dict == {"proposalId": proposal_id}


def test_execute_unknown_proposal_reverts_unknown_proposal(world: World) -> None:
    revert = reverts(world, fns(world).execute(0), world.hz)
    assert revert.name == "UnknownProposal"
    assert revert.args_dict == {"proposalId": 0}


def test_execute_after_expiry_reverts_proposal_expired(world: World) -> None:
    proposal_id = executable_proposal(world)
    expires_at = proposal_record(world, proposal_id)["expiresAt"]
    world.travel_to(expires_at + 1)
    revert = reverts(world, fns(world).execute(proposal_id), world.hz)
    assert revert.name == "ProposalExpired"
    assert revert.args_dict == {"proposalId": proposal_id, "expiredAt": expires_at}
    assert call(fns(world).parameter(MAX_LINES)) == 99


def test_execute_by_outsider_reverts_not_a_member(world: World) -> None:
    proposal_id = executable_proposal(world)
    revert = reverts(world, fns(world).execute(proposal_id), world.outsider)
    assert revert.name == "NotAMember"
    assert revert.args_dict == {"account": world.outsider}
    assert proposal_record(world, proposal_id)["executed"] is False


def test_execute_by_platform_reverts_wrong_member_kind(world: World) -> None:
    signer = platform_signer(world)
    proposal_id = executable_proposal(world)
    revert = reverts(world, fns(world).execute(proposal_id), signer)
    assert revert.name == "WrongMemberKind"
    assert revert.args_dict == {"memberId": PLATFORM_A, "actual": MemberKind.PLATFORM}


def test_execute_by_auditor_reverts_wrong_member_kind(world: World) -> None:
    auditor = admit_auditor(world)
    proposal_id = executable_proposal(world)
    revert = reverts(world, fns(world).execute(proposal_id), auditor)
    assert revert.name == "WrongMemberKind"
    assert revert.args_dict == {"memberId": AUDITOR, "actual": MemberKind.AUDITOR}


def test_execute_by_suspended_area_reverts_member_not_active(world: World) -> None:
    proposal_id = executable_proposal(world)
    suspend(world, ZZ)
    assert approvals_of(world, proposal_id) == 2
    revert = reverts(world, fns(world).execute(proposal_id), world.zz)
    assert revert.name == "MemberNotActive"
    assert revert.args_dict == {"memberId": ZZ}
    assert proposal_record(world, proposal_id)["executed"] is False


# ---------------------------------------------------------------------- sponsorship: register


def test_register_platform_by_customs_area_admits_platform(world: World) -> None:
    c = fns(world)
    receipt = world.send(
        c.registerPlatform(
            NEW_PLATFORM,
            world.spare[0],
            ENC_KEY,
            GATEWAY,
            reg(world, NEW_PLATFORM, world.spare[0], ENC_KEY, GATEWAY),
        ),
        world.hz,
    )
    assert events(receipt, world.c) == [
        (
            "MemberAdmitted",
            {
                "memberId": NEW_PLATFORM,
                "kind": MemberKind.PLATFORM,
                "customsCode": 0,
                "sponsor": HZ,
            },
        ),
        (
            "MemberProfileUpdated",
            {"memberId": NEW_PLATFORM, "encryptionKey": ENC_KEY, "gatewayUrl": GATEWAY},
        ),
        ("AccountAdded", {"memberId": NEW_PLATFORM, "account": world.spare[0]}),
    ]
    assert call(c.getMember(NEW_PLATFORM)) == (
        MemberKind.PLATFORM,
        MemberStatus.ACTIVE,
        0,
        1,
        False,
        HZ,
        ENC_KEY,
        GATEWAY,
    )
    assert call(c.accountInfo(world.spare[0])) == [
        NEW_PLATFORM,
        MemberKind.PLATFORM,
        MemberStatus.ACTIVE,
        0,
    ]
    assert call(c.memberIds())[-1] == NEW_PLATFORM
    assert call(c.activeCustomsCount()) == 3
    assert call(c.proposalCount()) == 0


def test_register_platform_by_platform_reverts_wrong_member_kind(world: World) -> None:
    signer = platform_signer(world)
    revert = reverts(
        world,
        fns(world).registerPlatform(
            NEW_PLATFORM, world.spare[0], b"", "", reg(world, NEW_PLATFORM, world.spare[0], b"", "")
        ),
        signer,
    )
    assert revert.name == "WrongMemberKind"
    assert revert.args_dict == {"memberId": PLATFORM_A, "actual": MemberKind.PLATFORM}


def test_register_platform_by_outsider_reverts_not_a_member(world: World) -> None:
    revert = reverts(
        world,
        fns(world).registerPlatform(
            NEW_PLATFORM, world.spare[0], b"", "", reg(world, NEW_PLATFORM, world.spare[0], b"", "")
        ),
        world.outsider,
    )
    assert revert.name == "NotAMember"
    assert revert.args_dict == {"account": world.outsider}


def test_register_platform_by_suspended_area_reverts_member_not_active(world: World) -> None:
    suspend(world, ZZ)
    revert = reverts(
        world,
        fns(world).registerPlatform(
            NEW_PLATFORM, world.spare[0], b"", "", reg(world, NEW_PLATFORM, world.spare[0], b"", "")
        ),
        world.zz,
    )
    assert revert.name == "MemberNotActive"
    assert revert.args_dict == {"memberId": ZZ}


def test_register_platform_existing_id_reverts_member_already_exists(world: World) -> None:
    revert = reverts(
        world,
        fns(world).registerPlatform(
            PLATFORM_B, world.spare[0], b"", "", reg(world, PLATFORM_B, world.spare[0], b"", "")
        ),
        world.hz,
    )
    assert revert.name == "MemberAlreadyExists"
    assert revert.args_dict == {"memberId": PLATFORM_B}


def test_register_platform_zero_id_reverts_invalid_member_id(world: World) -> None:
    revert = reverts(
        world,
        fns(world).registerPlatform(
            ZERO32, world.spare[0], b"", "", reg(world, ZERO32, world.spare[0], b"", "")
        ),
        world.hz,
    )
    assert revert.name == "InvalidMemberId"
    assert revert.args_dict == {"account": world.spare[0]}


def test_register_platform_zero_account_reverts_zero_account(world: World) -> None:
    revert = reverts(
        world,
        fns(world).registerPlatform(
            NEW_PLATFORM, ZERO_ADDRESS, b"", "", reg(world, NEW_PLATFORM, ZERO_ADDRESS, b"", "")
        ),
        world.hz,
    )
    assert revert.name == "ZeroAccount"
    assert revert.args_dict == {"memberId": NEW_PLATFORM}


def test_register_platform_assigned_account_reverts_account_already_assigned(
    world: World,
) -> None:
    taken = world.platform_a_key.address
    revert = reverts(
        world,
        fns(world).registerPlatform(
            NEW_PLATFORM, taken, b"", "", reg(world, NEW_PLATFORM, taken, b"", "")
        ),
        world.hz,
    )
    assert revert.name == "AccountAlreadyAssigned"
    assert revert.args_dict == {"account": taken, "memberId": PLATFORM_A}


# ---------------------------------------------------------------------- sponsorship: status


def test_set_platform_active_false_suspends_platform(world: World) -> None:
    receipt = world.send(fns(world).setPlatformActive(PLATFORM_A, False), world.nb)
    assert events(receipt, world.c) == [
        ("MemberStatusChanged", {"memberId": PLATFORM_A, "status": MemberStatus.SUSPENDED})
    ]
    assert call(fns(world).memberInfo(PLATFORM_A)) == [
        MemberKind.PLATFORM,
        MemberStatus.SUSPENDED,
        0,
    ]
    assert call(fns(world).accountInfo(world.platform_a_key.address))[2] == MemberStatus.SUSPENDED
    assert call(fns(world).activeCustomsCount()) == 3


def test_set_platform_active_true_reinstates_platform(world: World) -> None:
    world.send(fns(world).setPlatformActive(PLATFORM_B, False), world.zz)
    receipt = world.send(fns(world).setPlatformActive(PLATFORM_B, True), world.zz)
    assert events(receipt, world.c) == [
        ("MemberStatusChanged", {"memberId": PLATFORM_B, "status": MemberStatus.ACTIVE})
    ]
    assert call(fns(world).memberInfo(PLATFORM_B)) == [MemberKind.PLATFORM, MemberStatus.ACTIVE, 0]
    assert call(fns(world).activeCustomsCount()) == 3


def test_set_platform_active_when_active_reverts_status_unchanged(world: World) -> None:
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_A, True), world.nb)
    assert revert.name == "StatusUnchanged"
    assert revert.args_dict == {"memberId": PLATFORM_A, "status": MemberStatus.ACTIVE}


def test_set_platform_active_false_twice_reverts_status_unchanged(world: World) -> None:
    world.send(fns(world).setPlatformActive(PLATFORM_A, False), world.nb)
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_A, False), world.nb)
    assert revert.name == "StatusUnchanged"
    assert revert.args_dict == {"memberId": PLATFORM_A, "status": MemberStatus.SUSPENDED}


def test_set_platform_active_by_other_area_reverts_not_sponsor(world: World) -> None:
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_A, False), world.zz)
    assert revert.name == "NotSponsor"
    assert revert.args_dict == {"platformId": PLATFORM_A, "caller": ZZ}
    assert call(fns(world).memberInfo(PLATFORM_A))[1] == MemberStatus.ACTIVE


def test_set_platform_active_on_customs_area_reverts_wrong_member_kind(world: World) -> None:
    revert = reverts(world, fns(world).setPlatformActive(ZZ, False), world.nb)
    assert revert.name == "WrongMemberKind"
    assert revert.args_dict == {"memberId": ZZ, "actual": MemberKind.CUSTOMS}
    assert call(fns(world).activeCustomsCount()) == 3


def test_set_platform_active_on_auditor_reverts_wrong_member_kind(world: World) -> None:
    admit_auditor(world)
    revert = reverts(world, fns(world).setPlatformActive(AUDITOR, False), world.nb)
    assert revert.name == "WrongMemberKind"
    assert revert.args_dict == {"memberId": AUDITOR, "actual": MemberKind.AUDITOR}


def test_set_platform_active_unknown_platform_reverts_unknown_member(world: World) -> None:
    revert = reverts(world, fns(world).setPlatformActive(NEW_PLATFORM, False), world.nb)
    assert revert.name == "UnknownMember"
    assert revert.args_dict == {"memberId": NEW_PLATFORM}


def test_set_platform_active_by_outsider_reverts_not_a_member(world: World) -> None:
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_A, False), world.outsider)
    assert revert.name == "NotAMember"
    assert revert.args_dict == {"account": world.outsider}


def test_set_platform_active_by_suspended_sponsor_reverts_member_not_active(
    world: World,
) -> None:
    suspend(world, ZZ)
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_B, False), world.zz)
    assert revert.name == "MemberNotActive"
    assert revert.args_dict == {"memberId": ZZ}


def test_set_platform_active_false_does_not_mark_suspended_by_vote(world: World) -> None:
    world.send(fns(world).setPlatformActive(PLATFORM_A, False), world.nb)
    record = member_record(world, PLATFORM_A)
    assert record["status"] == MemberStatus.SUSPENDED
    assert record["suspendedByVote"] is False


def test_set_platform_active_true_after_vote_suspension_reverts_suspended_by_consortium(
    world: World,
) -> None:
    suspend(world, PLATFORM_A)
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_A, True), world.nb)
    assert revert.name == "SuspendedByConsortium"
    assert revert.args_dict == {"memberId": PLATFORM_A}
    record = member_record(world, PLATFORM_A)
    assert record["status"] == MemberStatus.SUSPENDED
    assert record["suspendedByVote"] is True
    assert call(fns(world).accountInfo(world.platform_a_key.address))[2] == MemberStatus.SUSPENDED


def test_set_platform_active_false_after_vote_suspension_reverts_status_unchanged(
    world: World,
) -> None:
    suspend(world, PLATFORM_A)
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_A, False), world.nb)
    assert revert.name == "StatusUnchanged"
    assert revert.args_dict == {"memberId": PLATFORM_A, "status": MemberStatus.SUSPENDED}
    assert member_record(world, PLATFORM_A)["suspendedByVote"] is True


def test_set_platform_active_true_after_vote_suspension_by_other_area_reverts_not_sponsor(
    world: World,
) -> None:
    suspend(world, PLATFORM_A)
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_A, True), world.zz)
    assert revert.name == "NotSponsor"
    assert revert.args_dict == {"platformId": PLATFORM_A, "caller": ZZ}


def test_propose_reinstatement_of_vote_suspended_platform_returns_it_to_sponsor(
    world: World,
) -> None:
    c = fns(world)
    suspend(world, PLATFORM_A)
    receipt = pass_proposal(world, c.proposeReinstatement(PLATFORM_A))
    proposal_id = last_proposal(world)
    assert events(receipt, world.c) == [
        ("ProposalApproved", {"proposalId": proposal_id, "voter": NB, "approvals": 2}),
        ("MemberStatusChanged", {"memberId": PLATFORM_A, "status": MemberStatus.ACTIVE}),
        ("ProposalExecuted", {"proposalId": proposal_id}),
    ]
    record = member_record(world, PLATFORM_A)
    assert record["status"] == MemberStatus.ACTIVE
    assert record["suspendedByVote"] is False
    world.send(c.setPlatformActive(PLATFORM_A, False), world.nb)
    assert member_record(world, PLATFORM_A)["suspendedByVote"] is False
    world.send(c.setPlatformActive(PLATFORM_A, True), world.nb)
    assert call(c.memberInfo(PLATFORM_A)) == [MemberKind.PLATFORM, MemberStatus.ACTIVE, 0]


def test_propose_reinstatement_of_sponsor_suspended_platform_reinstates(world: World) -> None:
    c = fns(world)
    world.send(c.setPlatformActive(PLATFORM_A, False), world.nb)
    pass_proposal(world, c.proposeReinstatement(PLATFORM_A))
    record = member_record(world, PLATFORM_A)
    assert record["status"] == MemberStatus.ACTIVE
    assert record["suspendedByVote"] is False


# ---------------------------------------------------------------------- profile


def test_update_profile_by_customs_area_stores_profile(world: World) -> None:
    receipt = world.send(fns(world).updateProfile(ENC_KEY, GATEWAY), world.hz)
    assert events(receipt, world.c) == [
        ("MemberProfileUpdated", {"memberId": HZ, "encryptionKey": ENC_KEY, "gatewayUrl": GATEWAY})
    ]
    assert profile(world, HZ) == (ENC_KEY, GATEWAY)


def test_update_profile_by_platform_account_stores_profile(world: World) -> None:
    signer = platform_signer(world)
    receipt = world.send(fns(world).updateProfile(b"", "https://a.example/v2"), signer)
    assert events(receipt, world.c) == [
        (
            "MemberProfileUpdated",
            {"memberId": PLATFORM_A, "encryptionKey": b"", "gatewayUrl": "https://a.example/v2"},
        )
    ]
    assert profile(world, PLATFORM_A) == (b"", "https://a.example/v2")


def test_update_profile_by_auditor_stores_profile(world: World) -> None:
    auditor = admit_auditor(world)
    world.send(fns(world).updateProfile(b"\x07" * 33, "https://audit.example"), auditor)
    assert profile(world, AUDITOR) == (b"\x07" * 33, "https://audit.example")


def test_update_profile_by_outsider_reverts_not_a_member(world: World) -> None:
    revert = reverts(world, fns(world).updateProfile(ENC_KEY, GATEWAY), world.outsider)
    assert revert.name == "NotAMember"
    assert revert.args_dict == {"account": world.outsider}


def test_update_profile_by_suspended_area_reverts_member_not_active(world: World) -> None:
    suspend(world, ZZ)
    revert = reverts(world, fns(world).updateProfile(ENC_KEY, GATEWAY), world.zz)
    assert revert.name == "MemberNotActive"
    assert revert.args_dict == {"memberId": ZZ}
    assert profile(world, ZZ) == (b"\x03" * 32, "http://127.0.0.1:8246")


def test_update_profile_by_suspended_platform_reverts_member_not_active(world: World) -> None:
    signer = platform_signer(world)
    world.send(fns(world).setPlatformActive(PLATFORM_A, False), world.nb)
    revert = reverts(world, fns(world).updateProfile(ENC_KEY, GATEWAY), signer)
    assert revert.name == "MemberNotActive"
    assert revert.args_dict == {"memberId": PLATFORM_A}


# ---------------------------------------------------------------------- views


def test_account_info_returns_member_fields(world: World) -> None:
    c = fns(world)
    assert call(c.accountInfo(world.nb)) == [NB, MemberKind.CUSTOMS, MemberStatus.ACTIVE, 3100]
    assert call(c.accountInfo(world.platform_b_key.address)) == [
        PLATFORM_B,
        MemberKind.PLATFORM,
        MemberStatus.ACTIVE,
        0,
    ]


def test_account_info_unknown_account_returns_zeros(world: World) -> None:
    assert call(fns(world).accountInfo(world.outsider)) == [
        ZERO32,
        MemberKind.NONE,
        MemberStatus.NONE,
        0,
    ]


def test_member_info_returns_member_fields(world: World) -> None:
    assert call(fns(world).memberInfo(HZ)) == [MemberKind.CUSTOMS, MemberStatus.ACTIVE, 2900]
    assert call(fns(world).memberInfo(PLATFORM_A)) == [MemberKind.PLATFORM, MemberStatus.ACTIVE, 0]


def test_member_info_unknown_member_returns_zeros(world: World) -> None:
    assert call(fns(world).memberInfo(NEW_AREA)) == [MemberKind.NONE, MemberStatus.NONE, 0]


def test_get_member_returns_stored_founder(world: World) -> None:
    assert call(fns(world).getMember(HZ)) == (
        MemberKind.CUSTOMS,
        MemberStatus.ACTIVE,
        2900,
        1,
        False,
        ZERO32,
        b"\x01" * 32,
        "http://127.0.0.1:8291",
    )


def test_get_member_returns_sponsored_platform(world: World) -> None:
    assert call(fns(world).getMember(PLATFORM_B)) == (
        MemberKind.PLATFORM,
        MemberStatus.ACTIVE,
        0,
        1,
        False,
        ZZ,
        b"",
        "https://platform-b.example",
    )


def test_get_member_unknown_member_returns_zeros(world: World) -> None:
    assert call(fns(world).getMember(NEW_AREA)) == (
        MemberKind.NONE,
        MemberStatus.NONE,
        0,
        0,
        False,
        ZERO32,
        b"",
        "",
    )


def test_member_ids_lists_admission_order(world: World) -> None:
    c = fns(world)
    world.send(
        c.registerPlatform(
            NEW_PLATFORM, world.spare[0], b"", "", reg(world, NEW_PLATFORM, world.spare[0], b"", "")
        ),
        world.hz,
    )
    admit_auditor(world)
    assert call(c.memberIds()) == [HZ, NB, ZZ, PLATFORM_A, PLATFORM_B, NEW_PLATFORM, AUDITOR]


def test_member_ids_keeps_suspended_members(world: World) -> None:
    suspend(world, ZZ)
    assert call(fns(world).memberIds()) == [HZ, NB, ZZ, PLATFORM_A, PLATFORM_B]


def test_accounts_of_returns_accounts(world: World) -> None:
    assert call(fns(world).accountsOf(ZZ)) == [world.zz]
    assert call(fns(world).accountsOf(PLATFORM_A)) == [world.platform_a_key.address]


def test_accounts_of_unknown_member_is_empty(world: World) -> None:
    assert call(fns(world).accountsOf(NEW_AREA)) == []


@pytest.mark.parametrize(("code", "holder"), [(2900, HZ), (3100, NB), (4600, ZZ), (5100, ZERO32)])
def test_customs_member_returns_holder(world: World, code: int, holder: bytes) -> None:
    assert call(fns(world).customsMember(code)) == holder


def test_threshold_returns_initial_threshold(world: World) -> None:
    assert call(fns(world).threshold()) == 2


def test_active_customs_count_follows_suspension_and_reinstatement(world: World) -> None:
    c = fns(world)
    assert call(c.activeCustomsCount()) == 3
    suspend(world, ZZ)
    assert call(c.activeCustomsCount()) == 2
    pass_proposal(world, c.proposeReinstatement(ZZ))
    assert call(c.activeCustomsCount()) == 3


def test_proposal_count_counts_every_proposal(world: World) -> None:
    c = fns(world)
    assert call(c.proposalCount()) == 0
    pass_proposal(world, c.proposeParameter(MAX_LINES, 50))
    propose(world, c.proposeThreshold(3))
    assert call(c.proposalCount()) == 2


def test_get_proposal_unknown_id_reverts_unknown_proposal(world: World) -> None:
    with pytest.raises(ContractRevert) as excinfo:
        call(fns(world).getProposal(0))
    assert excinfo.value.name == "UnknownProposal"
    assert excinfo.value.args_dict == {"proposalId": 0}


def test_get_proposal_returns_account_removal_fields(world: World) -> None:
    c = fns(world)
    pass_proposal(
        world,
        c.proposeAccountAddition(NB, world.spare[0], proof(world, NB, world.spare[0])),
        world.zz,
    )
    proposal_id, receipt = propose(world, c.proposeAccountRemoval(NB, world.nb), world.zz)
    created_at = world.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert call(c.getProposal(proposal_id)) == (
        ProposalKind.REMOVE_ACCOUNT,
        MemberKind.NONE,
        0,
        False,
        created_at + 7 * DAY,
        ZZ,
        NB,
        world.nb,
        ZERO32,
        0,
        b"",
        "",
    )


def test_approvals_of_unknown_proposal_returns_zero(world: World) -> None:
    assert approvals_of(world, 42) == 0


def test_approvals_of_counts_active_voters_after_execution(world: World) -> None:
    c = fns(world)
    pass_proposal(world, c.proposeParameter(MAX_LINES, 50), voter=world.zz)
    proposal_id = last_proposal(world)
    assert approvals_of(world, proposal_id) == 2
    suspend(world, ZZ)
    assert approvals_of(world, proposal_id) == 1
    assert proposal_record(world, proposal_id)["executed"] is True


def test_has_voted_unknown_proposal_returns_false(world: World) -> None:
    assert call(fns(world).hasVoted(42, HZ)) is False


def test_parameter_unknown_key_returns_zero(world: World) -> None:
    assert call(fns(world).parameter(keccak(text="UNKNOWN"))) == 0


def test_vote_suspension_of_sponsor_suspended_platform_locks_it(world: World) -> None:
    # A sponsor suspending its platform first must not dodge the vote's lock.
    world.send(fns(world).setPlatformActive(PLATFORM_A, False), world.nb)
    receipt = pass_proposal(world, fns(world).proposeSuspension(PLATFORM_A))
    assert "MemberStatusChanged" not in event_names(receipt, world)
    assert member_record(world, PLATFORM_A)["suspendedByVote"] is True
    revert = reverts(world, fns(world).setPlatformActive(PLATFORM_A, True), world.nb)
    assert revert.name == "SuspendedByConsortium"


def test_propose_suspension_of_vote_suspended_member_reverts_status_unchanged(
    world: World,
) -> None:
    suspend(world, PLATFORM_A)
    revert = reverts(world, fns(world).proposeSuspension(PLATFORM_A), world.hz)
    assert revert.name == "StatusUnchanged"
    assert revert.args_dict == {"memberId": PLATFORM_A, "status": MemberStatus.SUSPENDED}
