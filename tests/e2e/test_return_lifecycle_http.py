"""One return through every state across two customs areas over real HTTP (uvicorn on
loopback), recognition by an officer's API key; then the consortium is stopped and reopened
from its data dir: same head hash and state root, everything still served, the story goes on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from clients.applications import application_body
from clients.commitments.merkle import verify_proof
from clients.records import canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_recognition_decision,
    sample_return_application,
    sample_settlement_record,
    sample_tax_assessment,
)
from node_gateway.run.local_consortium import PLATFORM, Consortium, free_base_port
from tests.utils.party import Party


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("consortium")


@pytest.fixture(scope="module")
def base_port() -> int:
    return free_base_port()


def _serve(data_dir: Path, base_port: int) -> tuple[Consortium, dict[str, str]]:
    c = Consortium.open(
        data_dir,
        base_port=base_port,
        genesis_timestamp=int(time.time()) - 3 * 86400,
        batch_size=4,
        batch_interval_ms=100,
    )
    urls = dict(zip(c.gateways, c.serve("127.0.0.1"), strict=True))
    c.start()
    return c, urls


@pytest.fixture(scope="module")
def story(data_dir: Path, base_port: int) -> Iterator[dict[str, Any]]:
    c, urls = _serve(data_dir, base_port)
    cred = c.credentials
    parties = {
        "ningbo_system": Party(urls["3100"], cred["3100"]["system"]),
        "ningbo_officer": Party(urls["3100"], cred["3100"]["officer"]),
        "ningbo_platform": Party(urls["3100"], cred["3100"]["platform"]),
        "centre_platform": Party(urls["2900"], cred["2900"]["platform"]),
        "centre_officer": Party(urls["2900"], cred["2900"]["officer"]),
        "centre_auditor": Party(urls["2900"], cred["2900"]["auditor"]),
    }
    try:
        yield {"consortium": c, "urls": urls, **parties}
    finally:
        for p in parties.values():
            p.close()
        c.stop()


def test_return_goes_through_every_state_across_two_areas(story: dict[str, Any]) -> None:
    c: Consortium = story["consortium"]
    system, officer = story["ningbo_system"], story["ningbo_officer"]
    platform_at_origin, platform = story["ningbo_platform"], story["centre_platform"]
    centre, auditor = story["centre_officer"], story["centre_auditor"]
    now = c.centre.ledger.now()
    released = _when(now - 86400)

    # Ningbo's own IT sends released inventory lists; they are batch-anchored.
    lists = [
        sample_tax_assessment(n, "3100", lines=3).model_copy(update={"release_time": released})
        for n in range(1, 6)
    ]
    system.post(
        "/v1/tax-records/bulk",
        {"records": [{"platform": PLATFORM, "record": canonical(a)} for a in lists]},
        key="ningbo-batch-1",
    )
    case_id = platform_at_origin.get("/v1/cases/lookup", invtNo=lists[0].invt_no)["caseId"]
    deadline = time.monotonic() + 30
    while (case := platform_at_origin.get(f"/v1/cases/{case_id}/header"))[
        "anchorStatus"
    ] != "anchored":
        assert time.monotonic() < deadline, case
        time.sleep(0.05)
    leaf = bytes.fromhex(case["leaf"][2:])
    assert verify_proof(
        bytes.fromhex(case["root"][2:]), leaf, [bytes.fromhex(p[2:]) for p in case["proof"]]
    )

    # The return enterprise signs its application locally and sends it to the return centre.
    application = sample_return_application(lists[0], gnums=[1, 2]).model_copy(
        update={"applied_time": _when(now)}
    )
    body = application_body(
        case,
        application,
        c.centre.context.member_hex,
        c.client_key(PLATFORM),
        deadline=now + 86400,
    )
    accepted = platform.post("/v1/returns", body, key="apply-1")
    replay = platform.http.post("/v1/returns", json=body, headers={"Idempotency-Key": "apply-1"})
    assert replay.status_code == 202 and replay.json() == accepted
    assert replay.headers["idempotent-replayed"] == "true"
    platform.confirmed(accepted["operation"])
    return_id = accepted["returnId"]
    assert centre.state(return_id, "applied")["ledger"]["lines"] == [1, 2]

    # Hangzhou: arrival and inspection (line 1 accepted, line 2 rejected).
    arrival = sample_arrival_record(application, return_id).model_copy(
        update={"arrived_time": _when(now)}
    )
    centre.confirmed(
        centre.post(f"/v1/returns/{return_id}/arrival", {"record": canonical(arrival)})["operation"]
    )
    centre.state(return_id, "arrived")
    report = sample_inspection_report(return_id, [1, 2], accepted=[1], inspected_time=_when(now))
    centre.confirmed(
        centre.post(f"/v1/returns/{return_id}/inspection", {"record": canonical(report)})[
            "operation"
        ]
    )

    # Ningbo: an officer recognises the result, then the accepted line is settled.
    inspected = officer.state(return_id, "inspected")
    assert inspected["ledger"]["acceptedLines"] == [1]
    decision = sample_recognition_decision(return_id, "3100", "recognized", "officer", _when(now))
    officer.confirmed(
        officer.post(f"/v1/returns/{return_id}/recognition", {"record": canonical(decision)})[
            "operation"
        ]
    )
    officer.state(return_id, "recognized")
    settlement = sample_settlement_record(lists[0], return_id, [1], settled_time=_when(now))
    officer.confirmed(
        officer.post(f"/v1/returns/{return_id}/settlement", {"record": canonical(settlement)})[
            "operation"
        ]
    )
    settled = officer.state(return_id, "settled")
    assert settled["ledger"]["settledLines"] == [1]

    # Both areas' indexes agree; the audit trail has every step in ledger order.
    assert centre.state(return_id, "settled")["ledger"] == settled["ledger"]
    trail = officer.get(f"/v1/cases/{case_id}/trail")
    # The centre's fetch of the declaration (what to expect) is logged as a disclosure.
    disclosures = [s for s in trail["steps"] if s["event"] == "DisclosureLogged"]
    assert disclosures, "the disclosure of the declaration to the centre is on the trail"
    assert [s["event"] for s in trail["steps"] if s["event"] != "DisclosureLogged"] == [
        "CaseOpened",
        "ReturnApplied",
        "ArrivalRecorded",
        "InspectionRecorded",
        "ReturnRecognized",
        "LinesSettled",
    ]
    assert trail["anchoring"] and trail["anchoring"][0]["event"] == "RootAnchored"

    # Ningbo's settlement record, disclosed to an auditor, verifies at the other area.
    documents = {d["docType"]: d for d in settled["documents"]}
    assert set(documents) == {"recognition", "settlement"}
    result = auditor.http.post(
        "/v1/verify", json={"document": documents["settlement"]["document"]}
    ).json()
    assert result["ok"] is True, result
    assert {check["name"] for check in result["checks"]} == {
        "integrity",
        "anchored",
        "not_revoked",
        "issuer",
        "ledger_state",
    }
    story["return_id"], story["case_id"], story["lists"] = return_id, case_id, lists


def test_restart_restores_same_head_and_everything(
    story: dict[str, Any], data_dir: Path, base_port: int
) -> None:
    if "return_id" not in story:
        pytest.skip("needs the lifecycle test's state")  # only when run alone with -k
    c: Consortium = story["consortium"]
    c.drain()
    before = c.chain.head()
    c.stop()

    again, urls = _serve(data_dir, base_port + 0)
    try:
        assert again.fresh is False
        assert again.chain.head() == before
        officer = Party(urls["3100"], again.credentials["3100"]["officer"])
        system = Party(urls["3100"], again.credentials["3100"]["system"])
        platform = Party(urls["2900"], again.credentials["2900"]["platform"])
        view = officer.get(f"/v1/returns/{story['return_id']}")
        assert view["ledger"]["state"] == "settled"

        # The story continues after the restart: a further return of a second case.
        lists = story["lists"]
        case_id = system.get("/v1/cases/lookup", invtNo=lists[1].invt_no)["caseId"]
        case = system.get(f"/v1/cases/{case_id}/header")
        now = again.centre.ledger.now()
        application = sample_return_application(lists[1], gnums=[3]).model_copy(
            update={"applied_time": _when(now)}
        )
        body = application_body(
            case,
            application,
            again.centre.context.member_hex,
            again.client_key(PLATFORM),
            deadline=now + 86400,
        )
        platform.confirmed(platform.post("/v1/returns", body)["operation"])
        for p in (officer, system, platform):
            p.close()
        assert again.chain.head()["number"] > before["number"]
    finally:
        again.stop()
        story["consortium"] = again
