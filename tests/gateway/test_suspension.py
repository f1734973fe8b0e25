"""Suspension takes effect everywhere at once (issue 19, part 3).

Each kind of member — a platform, an auditor, a customs area (the return centre) — is
suspended by consortium vote through the gateways, and every path is walked before and after:
its API keys are refused (403 member_suspended), its peer requests refused (403
not_active_member), a suspended centre's inspection is not recognised automatically but left to
an officer (a dispute "return centre suspended"), and a suspended holder gives no disclosure it
could not log (403 holder_suspended).

Suspensions change the consortium for everyone, so this module founds its own; its tests run
in order on it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clients.bindings import attach_contracts, member_id
from clients.envelope import EncryptionKeys
from clients.peer import DisclosureRequest
from node_gateway.errors import PeerUnavailable
from node_gateway.ledger.signer import LocalSigner
from node_gateway.run.local_consortium import AUDITOR, PLATFORM, Consortium
from node_gateway.services.auth import issue_key
from node_gateway.services.suspension import CENTRE_SUSPENDED
from node_gateway.store import Vault
from tests.utils.gateway import (
    CENTRE,
    DAY,
    NINGBO,
    ZHENGZHOU,
    Application,
    Case,
    GatewayWorld,
    assert_problem,
)

PROPOSALS = "/v1/governance/proposals"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayWorld]:
    """A consortium of its own (recognition by officers until the centre test turns Ningbo's
    on), where the platform and the auditor published encryption keys (so holders can answer
    them before they are suspended)."""
    c = Consortium.open(
        tmp_path_factory.mktemp("suspension"),
        genesis_timestamp=int(time.time()) - 2 * DAY,
        batch_size=16,
        recognition="officer",
    )
    contracts = attach_contracts(c.chain.w3, c.manifest["addresses"])
    for label in (PLATFORM, AUDITOR):
        keys = EncryptionKeys.generate(hybrid=False)
        LocalSigner(c.chain, c.client_key(label)).send(
            contracts.consortium.functions.updateProfile(keys.public_bytes(), "")
        )
    w = GatewayWorld(c)
    yield w
    w.close()


@pytest.fixture(scope="module")
def inspected(world: GatewayWorld) -> tuple[Case, Application]:
    """A Ningbo case with a return inspected at the centre while everyone was active."""
    [case] = world.anchored_cases()
    app = world.inspected(case)
    assert world.state(app.return_id, NINGBO) == "inspected"
    return case, app


# ---------------------------------------------------------------------- helpers


def confirm(world: GatewayWorld, code: str, r: httpx.Response) -> None:
    assert r.status_code == 202, r.text
    world.drain()
    op = r.json()["operation"]["id"]
    status = world.call(code, "admin", "GET", f"/v1/operations/{op}").json()
    assert status["status"] == "confirmed", status


def open_proposal(world: GatewayWorld) -> int:
    r = world.call(NINGBO, "officer", "GET", PROPOSALS, params={"status": "open"})
    [proposal] = r.json()["proposals"]
    return int(proposal["id"])


def by_vote(world: GatewayWorld, kind: str, member: str, proposer: str, voter: str) -> None:
    """`proposer` proposes (its approval counts), `voter` approves: threshold 2 is met."""
    body = {"kind": kind, "member": member}
    confirm(world, proposer, world.call(proposer, "admin", "POST", PROPOSALS, json=body))
    pid = open_proposal(world)
    confirm(world, voter, world.call(voter, "admin", "POST", f"{PROPOSALS}/{pid}/votes"))
    r = world.call(NINGBO, "officer", "GET", "/v1/governance/members")
    status = {m["label"]: m["status"] for m in r.json()["members"]}[member]
    assert status == ("suspended" if kind == "suspension" else "active")


def signed_request(
    world: GatewayWorld, requester: str, holder: str, subject: str, doc_type: str
) -> dict[str, Any]:
    """A peer request signed by client `requester`'s registered key."""
    c = world.consortium
    request = DisclosureRequest.new(
        "0x" + member_id(requester).hex(), world.member_hex(holder), subject, doc_type
    )
    consortium = c.manifest["addresses"]["Consortium"]
    signature = request.sign(c.client_key(requester), c.centre.ledger.chain_id, consortium)
    return {"request": request.to_json(), "signature": signature}


def disclosures(world: GatewayWorld, code: str) -> tuple[int, int]:
    """(disclosure_log rows, `disclose` outbox rows) in area `code`'s store."""
    conn = world.consortium.gateways[code].connections.get()
    logged = conn.execute("SELECT count(*) FROM disclosure_log").fetchone()[0]
    queued = conn.execute("SELECT count(*) FROM outbox WHERE kind = 'disclose'").fetchone()[0]
    return int(logged), int(queued)


def answer(world: GatewayWorld, holder: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return world.consortium.gateways[holder].answer_peer(body)


# ---------------------------------------------------------------------- a platform


def test_suspended_platform_keys_and_peer_requests_refused(
    world: GatewayWorld, inspected: tuple[Case, Application]
) -> None:
    case, _app = inspected
    header = f"/v1/cases/{case.case_id}/header"
    assert world.call(NINGBO, "platform", "GET", header).status_code == 200
    status, _ = answer(
        world, NINGBO, signed_request(world, PLATFORM, NINGBO, case.case_id, "tax_assessment")
    )
    assert status == 200

    by_vote(world, "suspension", PLATFORM, CENTRE, ZHENGZHOU)

    for code in (NINGBO, CENTRE, ZHENGZHOU):  # every gateway, at once, whatever the route
        with world.unchanged():
            assert_problem(world.call(code, "platform", "GET", header), 403, "member_suspended")
    before = disclosures(world, NINGBO)
    body = signed_request(world, PLATFORM, NINGBO, case.case_id, "tax_assessment")
    status, problem = answer(world, NINGBO, body)
    assert (status, problem["code"]) == (403, "not_active_member")
    assert disclosures(world, NINGBO) == before

    by_vote(world, "reinstatement", PLATFORM, ZHENGZHOU, CENTRE)
    assert world.call(NINGBO, "platform", "GET", header).status_code == 200


# ---------------------------------------------------------------------- an auditor


def test_suspended_auditor_keys_and_peer_requests_refused(
    world: GatewayWorld, inspected: tuple[Case, Application]
) -> None:
    _case, app = inspected
    path = f"/v1/returns/{app.return_id}"
    assert world.call(CENTRE, "auditor", "GET", path).status_code == 200
    body = signed_request(world, AUDITOR, CENTRE, app.return_id, "inspection_report")
    assert answer(world, CENTRE, body)[0] == 200

    by_vote(world, "suspension", AUDITOR, NINGBO, ZHENGZHOU)

    for code in (NINGBO, CENTRE, ZHENGZHOU):
        with world.unchanged():
            assert_problem(world.call(code, "auditor", "GET", path), 403, "member_suspended")
    before = disclosures(world, CENTRE)
    body = signed_request(world, AUDITOR, CENTRE, app.return_id, "inspection_report")
    status, problem = answer(world, CENTRE, body)
    assert (status, problem["code"]) == (403, "not_active_member")
    assert disclosures(world, CENTRE) == before

    by_vote(world, "reinstatement", AUDITOR, ZHENGZHOU, CENTRE)
    assert world.call(CENTRE, "auditor", "GET", path).status_code == 200


# ---------------------------------------------------------------------- a customs area


def test_suspended_centre_is_refused_everywhere_and_its_result_goes_to_an_officer(
    world: GatewayWorld, inspected: tuple[Case, Application]
) -> None:
    case, app = inspected
    c = world.consortium
    ningbo, centre = c.gateways[NINGBO], c.gateways[CENTRE]
    assert ningbo.peer is not None and centre.peer is not None
    # a key of the centre's at another area's gateway, and the peer paths, before the vote
    centre_key = issue_key(ningbo.connections.get(), "customs-2900", "auditor")[1]
    path = f"/v1/returns/{app.return_id}"
    as_centre = {"Authorization": f"Bearer {centre_key}"}
    assert world.clients[NINGBO].get(path, headers=as_centre).status_code == 200
    ningbo.peer.fetch(centre.context.member, app.return_id, "inspection_report")
    centre.peer.fetch(ningbo.context.member, case.case_id, "tax_assessment")

    # the centre is not in the electorate of its own suspension; the two others decide
    body = {"kind": "suspension", "member": "customs-2900"}
    confirm(world, NINGBO, world.call(NINGBO, "admin", "POST", PROPOSALS, json=body))
    pid = open_proposal(world)
    refused = world.call(CENTRE, "admin", "POST", f"{PROPOSALS}/{pid}/votes")
    assert assert_problem(refused, 409, "proposal_conflict")["rule"] == "SubjectCannotApprove"
    confirm(world, ZHENGZHOU, world.call(ZHENGZHOU, "admin", "POST", f"{PROPOSALS}/{pid}/votes"))

    # its API keys at other gateways are refused
    r = world.clients[NINGBO].get(path, headers=as_centre)
    assert_problem(r, 403, "member_suspended")
    # its peer requests are refused
    with pytest.raises(PeerUnavailable, match="not_active_member"):
        centre.peer.fetch(ningbo.context.member, case.case_id, "tax_assessment")
    # as a holder it cannot log a disclosure, so it gives none
    before = disclosures(world, CENTRE)
    with pytest.raises(PeerUnavailable, match="holder_suspended"):
        ningbo.peer.fetch(centre.context.member, app.return_id, "inspection_report")
    assert disclosures(world, CENTRE) == before

    # its inspection is not recognised automatically: an officer gets it, with the reason
    ningbo.context.settings.recognition = "automatic"
    try:
        world.drain()
        world.drain()
    finally:
        ningbo.context.settings.recognition = "officer"
    assert world.state(app.return_id, NINGBO) == "disputed"
    conn = ningbo.connections.get()
    vault = Vault(conn, ningbo.context.keyring)
    (row,) = conn.execute(
        "SELECT record_id FROM case_documents WHERE return_id = ? AND doc_type = 'recognition'",
        (app.return_id,),
    ).fetchall()
    record = vault.get(row["record_id"])["record"]
    assert (record["decision"], record["mode"], record["reason"]) == (
        "disputed",
        "automatic",
        CENTRE_SUSPENDED,
    )
    assert disclosures(world, CENTRE) == before  # the suspended centre was not even asked
