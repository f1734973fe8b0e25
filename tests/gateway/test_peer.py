"""The peer API's refusals, and what each kind of requester may see."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from clients.applications import application_body
from clients.bindings import attach_contracts, member_id
from clients.envelope import EncryptionKeys, open_envelope
from clients.member_signing import (
    AccountAddition,
    AccountPossession,
    AccountRemoval,
    MemberMessage,
    MemberRegistration,
    sign_member_message,
)
from clients.peer import DisclosureRequest
from clients.records import canonical
from clients.records.samples import sample_return_application, sample_tax_assessment
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.errors import PeerUnavailable
from node_gateway.ledger.signer import LocalSigner
from node_gateway.peer.client import PeerClient
from node_gateway.run.local_consortium import AUDITOR, PLATFORM, Consortium
from node_gateway.services import returns, tax_records
from node_gateway.services.auth import Principal

PATH = "/peer/v1/disclosures"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    c = Consortium.open(
        tmp_path_factory.mktemp("peer"), genesis_timestamp=int(time.time()) - 3 * 86_400
    )
    ningbo, centre = c.gateways["3100"], c.centre
    a = sample_tax_assessment(1, "3100", lines=2).model_copy(
        update={"release_time": datetime.fromtimestamp(centre.ledger.now() - 86_400, UTC)}
    )
    tax_records.ingest(
        ningbo.context, ningbo.connections.get(), [{"platform": PLATFORM, "record": canonical(a)}]
    )
    c.drain()
    case_id = tax_records.case_id_of(ningbo.context, a.invt_no)
    now = centre.ledger.now()
    app = sample_return_application(a).model_copy(
        update={"applied_time": datetime.fromtimestamp(now, UTC)}
    )
    body = application_body(
        tax_records.header_of(ningbo.context, ningbo.connections.get(), case_id),
        app,
        centre.context.member_hex,
        c.client_key(PLATFORM),
        now + 86_400,
    )
    rid = returns.apply(
        centre.context,
        centre.connections.get(),
        Principal(PLATFORM, "platform", "t"),
        ReturnApplicationIn.model_validate(body).to_input(),
    )["returnId"]
    c.drain()
    # The auditor publishes an encryption key so that holders can seal answers to it.
    auditor_keys = EncryptionKeys.generate(hybrid=False)
    contracts = attach_contracts(c.chain.w3, c.manifest["addresses"])
    LocalSigner(c.chain, c.client_key(AUDITOR)).send(
        contracts.consortium.functions.updateProfile(auditor_keys.public_bytes(), "")
    )
    yield {
        "c": c,
        "rid": rid,
        "case": case_id,
        "auditor_keys": auditor_keys,
        "client": TestClient(centre.app),
        "origin_client": TestClient(ningbo.app),
        "contracts": contracts,
    }
    c.stop()


def _signed(
    w: dict[str, Any],
    key: bytes,
    requester: str,
    subject: str,
    doc_type: str,
    holder: str | None = None,
    timestamp: int | None = None,
) -> tuple[DisclosureRequest, dict[str, Any]]:
    c: Consortium = w["c"]
    request = DisclosureRequest.new(
        "0x" + member_id(requester).hex(),
        holder or c.centre.context.member_hex,
        subject,
        doc_type,
    )
    if timestamp is not None:
        request = DisclosureRequest(
            request.requester,
            request.holder,
            request.subject,
            request.doc_type,
            timestamp,
            request.nonce,
        )
    sig = request.sign(key, c.centre.ledger.chain_id, c.manifest["addresses"]["Consortium"])
    return request, {"request": request.to_json(), "signature": sig}


def _refused(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def test_unsigned_request_is_refused(world: dict[str, Any]) -> None:
    _, body = _signed(
        world, world["c"].client_key(AUDITOR), AUDITOR, world["rid"], "inspection_report"
    )
    del body["signature"]
    _refused(world["client"].post(PATH, json=body), 422, "bad_peer_request")


def test_request_signed_by_a_stranger_is_refused(world: dict[str, Any]) -> None:
    _, body = _signed(world, Account.create().key, AUDITOR, world["rid"], "return_application")
    _refused(world["client"].post(PATH, json=body), 401, "bad_peer_signature")


def test_non_member_is_refused(world: dict[str, Any]) -> None:
    _, body = _signed(world, Account.create().key, "stranger", world["rid"], "return_application")
    _refused(world["client"].post(PATH, json=body), 401, "bad_peer_signature")


def test_stale_request_is_refused(world: dict[str, Any]) -> None:
    _, body = _signed(
        world,
        world["c"].client_key(AUDITOR),
        AUDITOR,
        world["rid"],
        "return_application",
        timestamp=int(time.time()) - 3600,
    )
    _refused(world["client"].post(PATH, json=body), 401, "stale_request")


def test_replayed_request_is_refused(world: dict[str, Any]) -> None:
    _, body = _signed(
        world, world["c"].client_key(AUDITOR), AUDITOR, world["rid"], "return_application"
    )
    assert world["client"].post(PATH, json=body).status_code == 200
    _refused(world["client"].post(PATH, json=body), 409, "replayed_request")


def test_request_for_another_holder_is_refused(world: dict[str, Any]) -> None:
    c = world["c"]
    _, body = _signed(
        world,
        c.client_key(AUDITOR),
        AUDITOR,
        world["rid"],
        "return_application",
        holder=c.gateways["4600"].context.member_hex,
    )
    _refused(world["client"].post(PATH, json=body), 422, "bad_peer_request")


def test_uninvolved_customs_area_is_refused(world: dict[str, Any]) -> None:
    c = world["c"]
    zhengzhou = c.gateways["4600"]
    assert zhengzhou.peer is not None
    with pytest.raises(PeerUnavailable) as refused:
        zhengzhou.peer.fetch(c.centre.context.member, world["rid"], "return_application")
    assert refused.value.extra["peerCode"] == "not_involved"


def test_auditor_gets_no_personal_data(world: dict[str, Any]) -> None:
    c = world["c"]
    request, body = _signed(
        world,
        c.client_key(AUDITOR),
        AUDITOR,
        world["case"],
        "tax_assessment",
        holder=c.gateways["3100"].context.member_hex,
    )
    r = world["origin_client"].post(PATH, json=body)
    assert r.status_code == 200, r.text
    plaintext = open_envelope(r.json()["envelope"], world["auditor_keys"], request.envelope_info())
    (doc,) = json.loads(plaintext)["documents"]
    paths = {f["path"] for f in doc["revealed"]}
    assert "/lines/0/gname" in paths and "/totals/taxTotal" in paths
    assert not any(p.startswith("/buyer") for p in paths)
    assert doc["withheld"]  # the buyer's fields, as leaf hashes only


def _member_signature(world: dict[str, Any], message: MemberMessage, key: bytes) -> bytes:
    """`key`'s EIP-712 signature over a Consortium message on this world's chain."""
    consortium = world["contracts"].consortium
    return sign_member_message(message, key, consortium.w3.eth.chain_id, consortium.address)


def _register(world: dict[str, Any], sponsor: LocalSigner, platform: bytes, key: Any) -> None:
    """The sponsor registers `platform` with the first account `key` (which signs for it)."""
    registration = MemberRegistration(platform, key.address, b"", "", 0)
    proof = _member_signature(world, registration, bytes(key.key))
    consortium = world["contracts"].consortium.functions
    sponsor.send(consortium.registerPlatform(platform, key.address, b"", "", proof))


def test_suspended_member_is_refused(world: dict[str, Any]) -> None:
    c = world["c"]
    other = Account.create()
    sponsor = LocalSigner(
        c.chain,
        bytes.fromhex((c.data_dir / "areas" / "3100" / "keys" / "account.key").read_text().strip()),
    )
    consortium = world["contracts"].consortium.functions
    _register(world, sponsor, member_id("platform-other"), other)
    sponsor.send(consortium.setPlatformActive(member_id("platform-other"), False))
    _, body = _signed(world, other.key, "platform-other", world["rid"], "return_application")
    _refused(world["client"].post(PATH, json=body), 403, "not_active_member")


def test_answer_tampered_in_transit_is_rejected(world: dict[str, Any]) -> None:
    c = world["c"]
    ningbo = c.gateways["3100"]

    class Tampering:
        def post(self, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            status, answer = c.transport.post(url, body)
            cipher = bytearray(answer["envelope"]["ciphertext"].encode())
            cipher[-5] = ord("A") if cipher[-5] != ord("A") else ord("B")
            answer["envelope"]["ciphertext"] = cipher.decode()
            return status, answer

    with pytest.raises(PeerUnavailable, match="cannot be opened"):
        PeerClient(ningbo.context, Tampering()).fetch(
            c.centre.context.member, world["rid"], "return_application"
        )


def test_path_param_free_route_is_not_a_500_on_garbage(world: dict[str, Any]) -> None:
    r = world["client"].post(PATH, json={"request": {"requester": 5}, "signature": []})
    _refused(r, 422, "bad_peer_request")
    r = world["client"].post(
        PATH, content=b"not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_removed_signing_account_is_refused(world: dict[str, Any]) -> None:
    c = world["c"]
    old, new = Account.create(), Account.create()
    sponsor = LocalSigner(
        c.chain,
        bytes.fromhex((c.data_dir / "areas" / "3100" / "keys" / "account.key").read_text().strip()),
    )
    consortium = world["contracts"].consortium.functions
    platform = member_id("platform-rotating")
    _register(world, sponsor, platform, old)
    _, before = _signed(world, old.key, "platform-rotating", world["rid"], "return_application")
    # Signed by a current account: authenticated (then refused for playing no role).
    _refused(world["client"].post(PATH, json=before), 403, "not_involved")
    # The platform rotates its key itself; its sponsor only relays the signed requests.
    deadline = int(world["contracts"].consortium.w3.eth.get_block("latest")["timestamp"]) + 3600
    addition = _member_signature(
        world, AccountAddition(platform, new.address, 0, deadline), old.key
    )
    possession = _member_signature(world, AccountPossession(platform, new.address, 0), new.key)
    sponsor.send(consortium.addAccountBySig(platform, new.address, deadline, addition, possession))
    removal = _member_signature(world, AccountRemoval(platform, old.address, 1, deadline), new.key)
    sponsor.send(consortium.removeAccountBySig(platform, old.address, deadline, removal))
    _, after = _signed(world, old.key, "platform-rotating", world["rid"], "return_application")
    _refused(world["client"].post(PATH, json=after), 401, "bad_peer_signature")
