"""Consortium governance through the gateways: members and proposals as each area reads them,
proposals and votes signed by the area's account through its outbox (threshold 2 of the three
demo customs areas), and every refusal the Consortium would make answered before anything is
queued.

Suspensions and admissions change the consortium for everyone, so this module founds its own
(the session's `gw` stays untouched); its tests run in order on it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_account import Account

from clients.bindings import member_id
from clients.member_signing import MemberRegistration, sign_member_message
from node_gateway.errors import AlreadyVoted
from node_gateway.run.local_consortium import AUDITOR, PLATFORM
from node_gateway.services import governance
from node_gateway.services.auth import Principal
from tests.utils.gateway import CENTRE, DAY, NINGBO, ZHENGZHOU, GatewayWorld, assert_problem

PROPOSALS = "/v1/governance/proposals"
MEMBERS = "/v1/governance/members"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayWorld]:
    """A consortium of its own for this module."""
    w = GatewayWorld.open(tmp_path_factory.mktemp("governance"))
    yield w
    w.close()


def propose(
    world: GatewayWorld, code: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    """POST a proposal as area `code`'s admin."""
    return world.call(code, "admin", "POST", PROPOSALS, json=body, idempotency_key=key)


def vote(world: GatewayWorld, code: str, proposal_id: int) -> httpx.Response:
    """POST area `code`'s approval of a proposal as its admin."""
    return world.call(code, "admin", "POST", f"{PROPOSALS}/{proposal_id}/votes")


def confirm(world: GatewayWorld, code: str, r: httpx.Response) -> None:
    """The write `r` accepted (202) is confirmed on the ledger once every gateway drained."""
    assert r.status_code == 202, r.text
    world.drain()
    op = r.json()["operation"]["id"]
    status = world.call(code, "admin", "GET", f"/v1/operations/{op}").json()
    assert status["status"] == "confirmed", status


def listed(world: GatewayWorld, code: str = CENTRE, **params: Any) -> list[dict[str, Any]]:
    """The proposals area `code` lists, newest first."""
    r = world.call(code, "officer", "GET", PROPOSALS, params=params)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["proposals"]
    return found


def members(world: GatewayWorld, code: str = CENTRE) -> dict[str, dict[str, Any]]:
    """The members area `code` lists, by label (read by its officer: the auditor is
    suspended in some tests, and a suspended member's key is refused)."""
    r = world.call(code, "officer", "GET", MEMBERS)
    assert r.status_code == 200, r.text
    return {m["label"]: m for m in r.json()["members"]}


def fresh_account() -> str:
    return str(Account.create().address)


# ---------------------------------------------------------------------- reads


def test_list_members_shows_every_member_with_profile(world: GatewayWorld) -> None:
    r = world.call(CENTRE, "officer", "GET", MEMBERS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["threshold"], body["activeCustoms"]) == (2, 3)
    by_label = {m["label"]: m for m in body["members"]}
    assert list(by_label) == ["customs-2900", "customs-3100", "customs-4600", PLATFORM, AUDITOR]
    centre = by_label["customs-2900"]
    assert centre["memberId"] == world.member_hex(CENTRE)
    assert (centre["kind"], centre["status"], centre["customsCode"]) == (
        "customs",
        "active",
        "2900",
    )
    assert centre["accounts"] == [world.consortium.centre.ledger.account]
    assert centre["encryptionKey"] is True and centre["gatewayUrl"].startswith("http://127.0.0.1:")
    assert [m["self"] for m in body["members"]] == [True, False, False, False, False]
    platform = by_label[PLATFORM]
    assert (platform["kind"], platform["customsCode"], platform["sponsor"]) == (
        "platform",
        None,
        "customs-3100",
    )
    assert by_label[AUDITOR]["kind"] == "auditor" and len(by_label[AUDITOR]["accounts"]) == 1


def test_list_proposals_shows_founding_admission_executed(world: GatewayWorld) -> None:
    r = world.call(CENTRE, "auditor", "GET", PROPOSALS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["threshold"], body["proposalCount"]) == (2, 1)
    [admission] = body["proposals"]  # founding admits the auditor by vote
    auditor = members(world)[AUDITOR]
    assert admission == {
        "id": 0,
        "kind": "admission",
        "target": f"{AUDITOR} as auditor",
        "member": AUDITOR,
        "memberId": auditor["memberId"],
        "account": auditor["accounts"][0],
        "memberKind": "auditor",
        "customsCode": None,
        "gatewayUrl": None,
        "proposer": "customs-2900",
        "approvals": 2,
        "threshold": 2,
        "status": "executed",
        "expiresAt": admission["expiresAt"],
        "approvedByThisArea": True,
    }
    assert listed(world, status="open") == [] and listed(world, status="expired") == []


# ---------------------------------------------------------------------- a vote, end to end


def test_suspension_proposed_voted_by_second_area_executes(world: GatewayWorld) -> None:
    r = propose(world, CENTRE, {"kind": "suspension", "member": AUDITOR})
    assert r.json()["operation"]["kind"] == "propose"
    assert r.json()["proposal"] == {"kind": "suspension", "member": AUDITOR}
    confirm(world, CENTRE, r)

    [seen_by_centre] = listed(world, CENTRE, status="open")
    pid = seen_by_centre["id"]
    assert seen_by_centre == {
        "id": 1,
        "kind": "suspension",
        "target": AUDITOR,
        "member": AUDITOR,
        "memberId": "0x" + AUDITOR.encode().ljust(32, b"\0").hex(),
        "proposer": "customs-2900",
        "approvals": 1,
        "threshold": 2,
        "status": "open",
        "expiresAt": seen_by_centre["expiresAt"],
        "approvedByThisArea": True,
    }
    assert seen_by_centre["expiresAt"] > world.now()
    [seen_by_ningbo] = listed(world, NINGBO, status="open")
    assert seen_by_ningbo["approvedByThisArea"] is False
    assert members(world)[AUDITOR]["status"] == "active"

    r = vote(world, NINGBO, pid)
    assert r.json()["proposalId"] == pid and r.json()["operation"]["subject"] == f"proposal:{pid}"
    confirm(world, NINGBO, r)

    executed = listed(world, ZHENGZHOU)[0]
    assert executed["id"] == pid
    one = world.call(ZHENGZHOU, "admin", "GET", f"{PROPOSALS}/{pid}")
    assert one.status_code == 200 and one.json() == executed
    assert (executed["status"], executed["approvals"]) == ("executed", 2)
    auditor = members(world, ZHENGZHOU)[AUDITOR]
    assert (auditor["status"], auditor["suspendedByVote"]) == ("suspended", True)
    assert listed(world, status="open") == []


def test_vote_on_executed_proposal_is_refused(world: GatewayWorld) -> None:
    with world.unchanged():
        problem = assert_problem(vote(world, ZHENGZHOU, 1), 409, "proposal_closed")
    assert problem["rule"] == "ProposalAlreadyExecuted"


def test_reinstatement_lifts_the_suspension(world: GatewayWorld) -> None:
    r = propose(world, ZHENGZHOU, {"kind": "reinstatement", "member": AUDITOR})
    confirm(world, ZHENGZHOU, r)
    [proposal] = listed(world, status="open")
    assert (proposal["kind"], proposal["proposer"]) == ("reinstatement", "customs-4600")
    confirm(world, CENTRE, vote(world, CENTRE, proposal["id"]))
    auditor = members(world)[AUDITOR]
    assert (auditor["status"], auditor["suspendedByVote"]) == ("active", False)


# ---------------------------------------------------------------------- refusals


def test_vote_twice_by_proposer_is_refused(world: GatewayWorld) -> None:
    body = {"kind": "parameter", "parameter": "APPLY_WINDOW", "value": 30 * DAY}
    confirm(world, CENTRE, propose(world, CENTRE, body))
    [proposal] = listed(world, status="open")
    assert (proposal["target"], proposal["parameter"]) == (
        f"APPLY_WINDOW = {30 * DAY}",
        "APPLY_WINDOW",
    )
    with world.unchanged():
        problem = assert_problem(vote(world, CENTRE, proposal["id"]), 409, "already_voted")
    assert problem["rule"] == "AlreadyVoted" and "customs-2900" in problem["detail"]


def test_vote_while_own_vote_in_flight_is_refused(world: GatewayWorld) -> None:
    [proposal] = listed(world, status="open")  # the APPLY_WINDOW proposal above
    gateway = world.consortium.gateways[NINGBO]
    conn = gateway.connections.get()
    admin = Principal("customs-3100", "admin", "test")
    first = governance.vote(gateway.context, conn, admin, proposal["id"])
    assert first["operation"]["status"] == "pending"
    with pytest.raises(AlreadyVoted, match="on its way"):
        governance.vote(gateway.context, conn, admin, proposal["id"])
    world.drain()
    assert listed(world)[0]["status"] == "executed"


def test_vote_on_unknown_proposal_is_404(world: GatewayWorld) -> None:
    with world.unchanged():
        problem = assert_problem(vote(world, CENTRE, 10**9), 404, "unknown_proposal")
    assert problem["rule"] == "UnknownProposal"
    r = world.call(CENTRE, "auditor", "GET", f"{PROPOSALS}/{10**9}")
    assert_problem(r, 404, "unknown_proposal")


def _taken_account(world: GatewayWorld) -> str:
    return world.consortium.centre.ledger.account


# A well-formed signature by nobody: these cases are refused before it is checked, or for it.
NO_PROOF = "0x" + "00" * 65
ADMIT = {
    "kind": "admission",
    "label": "customs-2901",
    "memberKind": "customs",
    "registration": NO_PROOF,
}
CONFLICT, INVALID = "proposal_conflict", "invalid_proposal"


@pytest.mark.parametrize(
    ("body", "status", "code", "rule"),
    [
        ({"kind": "suspension", "member": "customs-9999"}, 422, "unknown_member", "UnknownMember"),
        ({"kind": "reinstatement", "member": PLATFORM}, 409, CONFLICT, "StatusUnchanged"),
        (
            {"kind": "parameter", "parameter": "NO_SUCH", "value": 1},
            422,
            INVALID,
            "UnknownParameter",
        ),
        (
            {"kind": "parameter", "parameter": "APPLY_WINDOW", "value": 60},
            422,
            INVALID,
            "ParameterOutOfRange",
        ),
        ({"kind": "threshold", "value": 4}, 422, INVALID, "ThresholdOutOfRange"),
        (
            {
                "kind": "account-addition",
                "member": PLATFORM,
                "account": "TAKEN",
                "possession": NO_PROOF,
            },
            409,
            CONFLICT,
            "AccountAlreadyAssigned",
        ),
        (
            {"kind": "account-removal", "member": PLATFORM, "account": "TAKEN"},
            409,
            CONFLICT,
            "AccountNotOfMember",
        ),
        ({**ADMIT, "customsCode": "2900", "account": "FRESH"}, 409, CONFLICT, "CustomsCodeTaken"),
        ({**ADMIT, "account": "FRESH"}, 422, INVALID, "InvalidCustomsCode"),
        (
            {**ADMIT, "label": AUDITOR, "memberKind": "auditor", "account": "FRESH"},
            409,
            CONFLICT,
            "MemberAlreadyExists",
        ),
        (
            {**ADMIT, "customsCode": "5100", "account": "TAKEN"},
            409,
            CONFLICT,
            "AccountAlreadyAssigned",
        ),
        ({**ADMIT, "customsCode": "5100", "account": "FRESH"}, 422, INVALID, "PossessionNotProven"),
        (
            {
                "kind": "account-addition",
                "member": PLATFORM,
                "account": "FRESH",
                "possession": NO_PROOF,
            },
            422,
            INVALID,
            "PossessionNotProven",
        ),
    ],
)
def test_propose_against_consortium_rules_is_refused(
    world: GatewayWorld, body: dict[str, Any], status: int, code: str, rule: str
) -> None:
    swap = {"TAKEN": _taken_account(world), "FRESH": fresh_account()}
    body = {k: swap.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    with world.unchanged():
        problem = assert_problem(propose(world, NINGBO, body), status, code)
    assert problem["rule"] == rule


def test_propose_admission_of_the_zero_account_is_refused_naming_the_member(
    world: GatewayWorld,
) -> None:
    body = {**ADMIT, "customsCode": "5100", "account": "0x" + "00" * 20}
    with world.unchanged():
        problem = assert_problem(propose(world, NINGBO, body), 422, INVALID)
    assert problem["rule"] == "ZeroAccount"
    assert problem["detail"] == "the zero address cannot be a signing account of customs-2901"


def test_remove_last_account_is_refused(world: GatewayWorld) -> None:
    platform_account = members(world)[PLATFORM]["accounts"][0]
    body = {"kind": "account-removal", "member": PLATFORM, "account": platform_account}
    with world.unchanged():
        problem = assert_problem(propose(world, NINGBO, body), 409, "proposal_conflict")
    assert problem["rule"] == "LastAccount"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "dissolution"},
        {"kind": "suspension"},
        {"kind": "suspension", "member": PLATFORM, "account": "0x" + "11" * 20},
        {"kind": "admission", "label": "x", "memberKind": "platform", "account": "0x" + "11" * 20},
        {"kind": "account-addition", "member": PLATFORM, "account": "0x1234"},
        {"kind": "threshold", "value": 0},
    ],
)
def test_propose_malformed_body_is_invalid_request(
    world: GatewayWorld, body: dict[str, Any]
) -> None:
    with world.unchanged():
        assert_problem(propose(world, NINGBO, body), 422, "invalid_request")


def test_propose_as_officer_is_forbidden(world: GatewayWorld) -> None:
    body = {"kind": "suspension", "member": PLATFORM}
    with world.unchanged():
        r = world.call(CENTRE, "officer", "POST", PROPOSALS, json=body)
        assert_problem(r, 403, "forbidden")


def test_suspended_area_may_not_govern_until_reinstated(world: GatewayWorld) -> None:
    suspend = {"kind": "suspension", "member": "customs-4600"}
    confirm(world, CENTRE, propose(world, CENTRE, suspend))
    confirm(world, NINGBO, vote(world, NINGBO, listed(world, status="open")[0]["id"]))
    body = world.call(CENTRE, "officer", "GET", MEMBERS).json()
    assert body["activeCustoms"] == 2
    with world.unchanged():
        problem = assert_problem(
            propose(world, ZHENGZHOU, {"kind": "threshold", "value": 1}), 409, "not_governing"
        )
    assert problem["rule"] == "MemberNotActive"

    reinstate = {"kind": "reinstatement", "member": "customs-4600"}
    confirm(world, NINGBO, propose(world, NINGBO, reinstate))
    confirm(world, CENTRE, vote(world, CENTRE, listed(world, status="open")[0]["id"]))
    assert members(world)["customs-4600"]["status"] == "active"


# ---------------------------------------------------------------------- admission, idempotency


def test_admission_with_idempotency_key_is_queued_once_and_executes(world: GatewayWorld) -> None:
    new = Account.create()
    account = str(new.address)
    ledger = world.consortium.centre.ledger
    registration = sign_member_message(
        MemberRegistration(member_id("auditor-second"), account, b"", "https://audit.example", 0),
        bytes(new.key),
        ledger.chain_id,
        ledger.contracts.consortium.address,
    )
    body = {
        "kind": "admission",
        "label": "auditor-second",
        "memberKind": "auditor",
        "account": account.lower(),
        "gatewayUrl": "https://audit.example",
        "registration": "0x" + registration.hex(),
    }
    key = secrets.token_hex(8)
    first = propose(world, ZHENGZHOU, body, key)
    assert first.status_code == 202, first.text
    before = world.rows(ZHENGZHOU)["outbox"]
    again = propose(world, ZHENGZHOU, body, key)
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert world.rows(ZHENGZHOU)["outbox"] == before
    confirm(world, ZHENGZHOU, first)

    [proposal] = listed(world, status="open")
    assert proposal["kind"] == "admission" and proposal["target"] == "auditor-second as auditor"
    assert (proposal["memberKind"], proposal["customsCode"], proposal["account"]) == (
        "auditor",
        None,
        account,
    )
    confirm(world, NINGBO, vote(world, NINGBO, proposal["id"]))
    admitted = members(world)["auditor-second"]
    assert (admitted["kind"], admitted["status"], admitted["accounts"]) == (
        "auditor",
        "active",
        [account],
    )
    assert admitted["gatewayUrl"] == "https://audit.example" and admitted["encryptionKey"] is False


# ---------------------------------------------------------------------- expiry (moves time: last)


def test_vote_on_expired_proposal_is_refused(world: GatewayWorld) -> None:
    confirm(world, CENTRE, propose(world, CENTRE, {"kind": "threshold", "value": 3}))
    [proposal] = listed(world, status="open")
    world.consortium.chain.travel_to(proposal["expiresAt"] + DAY)
    assert listed(world, status="open") == []
    assert listed(world, status="expired")[0]["id"] == proposal["id"]
    with world.unchanged():
        problem = assert_problem(vote(world, NINGBO, proposal["id"]), 409, "proposal_closed")
    assert problem["rule"] == "ProposalExpired"
