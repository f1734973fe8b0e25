"""A rival platform learns nothing of another platform's cases (issue 19, story 1).

Platform B, registered by its sponsor with its own signed registration, asks every route of
every area about platform A's case, return, inventory list and operation, and about made-up
ids of the same shape. Each route must answer both alike (status, code, body once the ids
asked about are replaced by placeholders), and no answer may carry an identifier of A's case
outside `instance` (the request path B sent). Every route of the app is in `TABLE`: a route
added without an entry fails `test_every_route_is_in_the_rival_table`.

The ledger front is covered too: B's `eth_getLogs` on A's case id is refused (-32004,
`rpc_not_for_role`) while A follows its case through `/v1/cases/{id}/trail` and an auditor and
the area's officer still read the same logs through the front.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from fastapi.routing import APIRoute, iter_route_contexts

from clients.bindings import attach_contracts, member_id
from clients.commitments.document import FORMAT_VERSION
from clients.member_signing import MemberRegistration, sign_member_message
from clients.peer import DisclosureRequest
from clients.records.samples import sample_return_application
from node_gateway.ledger.backends.read_only_rpc import NOT_FOR_ROLE, NOT_FOR_ROLE_CODE
from node_gateway.ledger.signer import LocalSigner
from node_gateway.services.auth import issue_key
from tests.utils.gateway import (
    CENTRE,
    DAY,
    NINGBO,
    ZHENGZHOU,
    Case,
    GatewayWorld,
    application_body,
    arrival,
    inspection,
    tax_assessment,
)

RIVAL = "platform-rival"
AREAS = (CENTRE, NINGBO, ZHENGZHOU)
RPC = "/v1/ledger/rpc"


@dataclass(frozen=True)
class Subject:
    """What B asks about: A's case, return, list and operation, or made-up ones alike."""

    case_id: str
    return_id: str
    invt_no: str
    op_id: int

    def placeholders(self) -> dict[str, str]:
        return {
            self.case_id: "<CASE>",
            self.return_id: "<RETURN>",
            self.invt_no: "<LIST>",
        }


@dataclass
class Rival:
    """Platform B: its signing key, its API key per area, and the consortium."""

    world: GatewayWorld
    key: Any  # eth_account LocalAccount
    api_keys: dict[str, str]
    theirs: Subject
    absent: Subject
    identifiers: list[str]  # everything that names A's case

    def call(self, code: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_keys[code]}"} | kw.pop("headers", {})
        r: httpx.Response = self.world.clients[code].request(method, path, headers=headers, **kw)
        return r

    @property
    def member_hex(self) -> str:
        return "0x" + member_id(RIVAL).hex()

    def peer_body(self, holder: str, subject: str, doc_type: str) -> dict[str, Any]:
        """A disclosure request signed by B's own registered account."""
        c = self.world.consortium
        request = DisclosureRequest.new(
            self.member_hex, self.world.member_hex(holder), subject, doc_type
        )
        sig = request.sign(
            bytes(self.key.key), c.centre.ledger.chain_id, c.manifest["addresses"]["Consortium"]
        )
        return {"request": request.to_json(), "signature": sig}

    def application(self, s: Subject) -> dict[str, Any]:
        """B's signed application naming `s`'s case and return, with a header of its own making
        (B cannot have A's header: only A's key reads it)."""
        w = self.world
        fake = tax_assessment(NINGBO, w.now() - DAY)  # a list B made up, never ingested
        header = {
            "header": {
                "caseId": s.case_id,
                "originArea": w.member_hex(NINGBO),
                "platform": self.member_hex,
                "releaseTime": w.now() - DAY,
                "lineCount": 3,
                "pieces": [1, 1, 1],
                "recordDigest": "0x" + "11" * 32,
            },
            "root": "0x" + "22" * 32,
            "proof": ["0x" + "33" * 32],
            "eip712": {
                "chainId": w.consortium.centre.ledger.chain_id,
                "verifyingContract": w.consortium.centre.ledger.return_ledger_address,
            },
        }
        record = sample_return_application(fake, gnums=[1, 2])
        return application_body(
            Case(fake, s.case_id, header),
            record,
            s.return_id,
            w.member_hex(CENTRE),
            bytes(self.key.key),
            w.now() + DAY,
        )


Answer = list[tuple[str, httpx.Response]]
Probe = Callable[[Rival, Subject], Answer]


def _path(template: str, s: Subject) -> str:
    return template.format(case_id=s.case_id, return_id=s.return_id, op_id=s.op_id, proposal_id=1)


def everywhere(
    method: str,
    template: str,
    params: Callable[[Subject], dict[str, Any]] | None = None,
    body: Callable[[Rival, Subject], Any] | None = None,
    areas: tuple[str, ...] = AREAS,
) -> Probe:
    """Call the route in each area about `s` with B's key."""

    def probe(b: Rival, s: Subject) -> Answer:
        kw: dict[str, Any] = {}
        if params is not None:
            kw["params"] = params(s)
        if body is not None:
            kw["json"] = body(b, s)
        return [(code, b.call(code, method, _path(template, s), **kw)) for code in areas]

    return probe


def _rpc_body(b: Rival, s: Subject) -> list[dict[str, Any]]:
    ledger = b.world.consortium.centre.ledger
    address = ledger.return_ledger_address
    get_case = ledger.contracts.return_ledger.encode_abi(
        "getCase", args=[bytes.fromhex(s.case_id[2:])]
    )
    logs = [
        {"fromBlock": "0x0", "address": address, "topics": [None, topic]}
        for topic in (s.case_id, s.return_id)
    ]
    calls = [{"to": address, "data": get_case}, "latest"]
    return [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [logs[0]]},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_getLogs", "params": [logs[1]]},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_call", "params": calls},
    ]


def _peer(b: Rival, s: Subject) -> Answer:
    asks = [
        (CENTRE, s.return_id, "return_application"),
        (NINGBO, s.return_id, "settlement"),
        (NINGBO, s.case_id, "tax_assessment"),
    ]
    return [
        (
            f"{code}/{doc}",
            b.world.clients[code].post(
                "/peer/v1/disclosures", json=b.peer_body(code, subject, doc)
            ),
        )
        for code, subject, doc in asks
    ]


def _declaration(b: Rival, s: Subject) -> Answer:
    app = b.application(s)
    body = b.peer_body(NINGBO, s.case_id, "tax_assessment") | {
        "application": {
            "header": app["header"],
            "terms": app["terms"],
            "signature": app["signature"],
        }
    }
    return [(NINGBO, b.world.clients[NINGBO].post("/peer/v1/declarations", json=body))]


def _record(_b: Rival, s: Subject) -> dict[str, Any]:
    return {"record": {"returnId": s.return_id, "invtNo": s.invt_no}}


def _verify(_b: Rival, s: Subject) -> list[dict[str, Any]]:
    """A disclosed document B made up (all fields withheld) anchored on A's return or case."""
    leaf = "0x" + "44" * 32
    return [
        {
            "document": {
                "version": FORMAT_VERSION,
                "docType": doc_type,
                "digest": leaf,
                "revealed": [],
                "withheld": [leaf],
                "anchor": anchor,
            }
        }
        for doc_type, anchor in (
            ("settlement", {"kind": "return", "returnId": s.return_id}),
            (
                "tax_payment",
                {
                    "kind": "payment",
                    "caseId": s.case_id,
                    "originCode": 3100,
                    "root": leaf,
                    "proof": [],
                },
            ),
        )
    ]


def _verify_probe(b: Rival, s: Subject) -> Answer:
    return [
        (code, b.call(code, "POST", "/v1/verify", json=body))
        for code in (CENTRE, NINGBO)
        for body in _verify(b, s)
    ]


NAMES_NOTHING = "names no case, return or list: its answer cannot depend on another platform's"
FORBIDDEN = "forbidden to a platform key (403 before the body is read), whatever it names"

TABLE: dict[tuple[str, str], Probe | str] = {
    ("GET", "/health"): NAMES_NOTHING,
    ("GET", "/ready"): NAMES_NOTHING,
    ("GET", "/openapi.json"): NAMES_NOTHING,
    ("GET", "/docs"): NAMES_NOTHING,
    ("GET", "/docs/oauth2-redirect"): NAMES_NOTHING,
    ("GET", "/redoc"): NAMES_NOTHING,
    ("GET", "/console"): NAMES_NOTHING,
    ("GET", "/console/gateway.json"): NAMES_NOTHING,
    ("GET", "/console/static/{name}"): NAMES_NOTHING,
    ("GET", "/v1/whoami"): NAMES_NOTHING,
    ("GET", "/v1/ledger"): NAMES_NOTHING,
    ("GET", "/metrics"): everywhere("GET", "/metrics"),
    ("POST", "/v1/tax-records"): everywhere("POST", "/v1/tax-records", body=_record),
    ("POST", "/v1/tax-records/bulk"): everywhere("POST", "/v1/tax-records/bulk", body=_record),
    ("POST", "/v1/tax-records/ceb"): everywhere("POST", "/v1/tax-records/ceb", body=_record),
    ("POST", "/v1/tax-payments"): everywhere("POST", "/v1/tax-payments", body=_record),
    ("GET", "/v1/cases/lookup"): everywhere(
        "GET", "/v1/cases/lookup", params=lambda s: {"invtNo": s.invt_no}
    ),
    ("GET", "/v1/cases/{case_id}/header"): everywhere("GET", "/v1/cases/{case_id}/header"),
    ("GET", "/v1/cases/{case_id}"): everywhere("GET", "/v1/cases/{case_id}"),
    ("GET", "/v1/cases/{case_id}/trail"): everywhere("GET", "/v1/cases/{case_id}/trail"),
    ("POST", "/v1/returns"): everywhere(
        "POST", "/v1/returns", body=lambda b, s: b.application(s), areas=(CENTRE,)
    ),
    ("GET", "/v1/returns"): everywhere(
        "GET", "/v1/returns", params=lambda s: {"after": s.return_id, "limit": 1000}
    ),
    ("GET", "/v1/returns/{return_id}"): everywhere("GET", "/v1/returns/{return_id}"),
    **{
        ("POST", f"/v1/returns/{{return_id}}/{step}"): everywhere(
            "POST", f"/v1/returns/{{return_id}}/{step}", body=_record
        )
        for step in ("arrival", "inspection", "recognition", "dispute", "settlement")
    },
    ("GET", "/v1/operations/{op_id}"): everywhere("GET", "/v1/operations/{op_id}"),
    ("POST", "/v1/verify"): _verify_probe,
    ("GET", "/v1/audit/report"): everywhere(
        "GET", "/v1/audit/report", params=lambda s: {"from": 0, "to": 2**39}
    ),
    ("GET", "/v1/governance/members"): FORBIDDEN,
    ("GET", "/v1/governance/proposals"): FORBIDDEN,
    ("GET", "/v1/governance/proposals/{proposal_id}"): FORBIDDEN,
    ("POST", "/v1/governance/proposals"): FORBIDDEN,
    ("POST", "/v1/governance/proposals/{proposal_id}/votes"): FORBIDDEN,
    ("POST", RPC): everywhere("POST", RPC, body=_rpc_body, areas=(CENTRE,)),
    ("POST", "/peer/v1/disclosures"): _peer,
    ("POST", "/peer/v1/declarations"): _declaration,
}


def _absent_invt_no(real: str) -> str:
    return real[:-9] + ("999999999" if real[-9:] != "999999999" else "999999998")


@pytest.fixture(scope="module")
def rival(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rival]:
    """A's case with a return (applied, arrived, inspected) and platform B, registered by its
    sponsor (3100) with its own signed registration, with a platform key at every area."""
    w = GatewayWorld.open(tmp_path_factory.mktemp("rival"), batch_size=16)
    try:
        (case,) = w.anchored_cases()
        app = w.application(case)
        applied = w.apply(app)
        assert applied.status_code == 202, applied.text
        op_id = int(applied.json()["operation"]["id"])
        w.drain()
        w.advance(app, ("arrival", arrival(app, w.now())), ("inspection", inspection(app)))

        c = w.consortium
        key = Account.create()
        contracts = attach_contracts(c.chain.w3, c.manifest["addresses"])
        registration = sign_member_message(
            MemberRegistration(member_id(RIVAL), key.address, b"", "", 0),
            bytes(key.key),
            c.chain.w3.eth.chain_id,
            contracts.consortium.address,
        )
        sponsor_key = Path(c.data_dir / "areas" / NINGBO / "keys" / "account.key")
        LocalSigner(c.chain, bytes.fromhex(sponsor_key.read_text().strip())).send(
            contracts.consortium.functions.registerPlatform(
                member_id(RIVAL), key.address, b"", "", registration
            )
        )
        w.drain()
        api_keys = {
            code: issue_key(gw.connections.get(), RIVAL, "platform")[1]
            for code, gw in c.gateways.items()
        }
        theirs = Subject(case.case_id, app.return_id, case.assessment.invt_no, op_id)
        absent = Subject(
            "0x" + secrets.token_hex(32),
            "0x" + secrets.token_hex(32),
            _absent_invt_no(case.assessment.invt_no),
            op_id + 10_000,
        )
        header = case.header["header"]
        identifiers = [
            case.case_id,
            app.return_id,
            case.assessment.invt_no,
            case.assessment.order_no,
            header["platform"],
            header["recordDigest"],
            case.header["leaf"],
        ]
        yield Rival(w, key, api_keys, theirs, absent, [i.lower() for i in identifiers])
    finally:
        w.close()


def _normalised(r: httpx.Response, s: Subject) -> tuple[int, str | None, str]:
    """Status, problem code and body, with `instance` (the path B sent itself, as RFC 9457
    has it) checked and blanked and the ids asked about replaced by placeholders."""
    try:
        body = r.json()
    except ValueError:
        body = r.text
    code = None
    if isinstance(body, dict):
        code = body.get("code")
        if "instance" in body:
            assert body["instance"] == r.request.url.path
            body["instance"] = "<PATH>"
    text = json.dumps(body, sort_keys=True)
    for value, mark in s.placeholders().items():
        text = text.replace(value, mark)
    return r.status_code, code, text


def _without_instance(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text.lower()
    if isinstance(body, dict):
        body.pop("instance", None)
    return json.dumps(body).lower()


def _routes(rival: Rival) -> set[tuple[str, str]]:
    app = rival.world.consortium.centre.app
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) or hasattr(route, "methods"):
            for method in getattr(route, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, str(context.path)))
    return found


def test_every_route_is_in_the_rival_table(rival: Rival) -> None:
    routes = _routes(rival)
    assert routes - set(TABLE) == set(), "routes without an entry in TABLE"
    assert set(TABLE) - routes == set(), "TABLE names routes the app does not have"


@pytest.mark.parametrize(
    "route", [k for k, v in TABLE.items() if not isinstance(v, str)], ids=" ".join
)
def test_rival_gets_same_answer_for_theirs_and_absent(rival: Rival, route: tuple[str, str]) -> None:
    """Whatever B asks about A's case, the answer is the one a made-up id gets, and it names
    nothing of A's case."""
    probe = TABLE[route]
    assert not isinstance(probe, str)
    theirs = probe(rival, rival.theirs)
    absent = probe(rival, rival.absent)
    assert [where for where, _ in theirs] == [where for where, _ in absent]
    for (where, a), (_, b) in zip(theirs, absent, strict=True):
        assert a.status_code < 500, (where, a.text)
        assert _normalised(a, rival.theirs) == _normalised(b, rival.absent), (where, a.text, b.text)
        leaked = [i for i in rival.identifiers if i.removeprefix("0x") in _without_instance(a)]
        assert not leaked, (where, leaked, a.text)


def test_rival_rpc_is_refused_with_a_stable_code(rival: Rival) -> None:
    """B's log queries and contract calls about A's case are refused, not answered empty: the
    same JSON-RPC error (-32004, data.code rpc_not_for_role) for any case id."""
    r = rival.call(CENTRE, "POST", RPC, json=_rpc_body(rival, rival.theirs))
    assert r.status_code == 200, r.text
    for item in r.json():
        assert item["error"]["code"] == NOT_FOR_ROLE, item
        assert item["error"]["data"] == {"code": NOT_FOR_ROLE_CODE}
    head = rival.call(
        CENTRE, "POST", RPC, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}
    )
    assert int(head.json()["result"], 16) > 0  # the chain's coordinates stay readable


def test_owner_auditor_and_area_still_follow_the_case(rival: Rival) -> None:
    """A follows its case through the trail; an auditor and the origin's officer read the
    same steps through the ledger front's eth_getLogs."""
    w, case_id = rival.world, rival.theirs.case_id
    trail = w.call(NINGBO, "platform", "GET", f"/v1/cases/{case_id}/trail")
    assert trail.status_code == 200, trail.text
    events = [s["event"] for s in trail.json()["steps"]]
    assert {"CaseOpened", "ReturnApplied", "InspectionRecorded"} <= set(events), events
    body = _rpc_body(rival, rival.theirs)[0]
    for code, role in ((CENTRE, "auditor"), (NINGBO, "officer"), (CENTRE, "system")):
        r = w.call(code, role, "POST", RPC, json=body)
        logs = r.json()["result"]
        assert len(logs) >= 3, (role, r.text)  # CaseOpened, ReturnApplied, Arrival, Inspection
        assert all(log["topics"][1] == case_id for log in logs)
    # A platform key, the owner's included, reads no raw logs: the views are its way in.
    own = w.call(CENTRE, "platform", "POST", RPC, json=body).json()
    assert own["error"]["code"] == NOT_FOR_ROLE
