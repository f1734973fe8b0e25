"""Builders for gateway API tests: the demo consortium on the embedded ledger, driven through
one FastAPI TestClient per customs area, with the records and signed return applications a
return enterprise and the areas' officers would send.

`GatewayWorld` holds the consortium (2900 return centre, 3100 and 4600 origins, platform
`platform-demo`, auditor `auditor-gacc`) and knows how to reach every area in every role;
the record builders return canonical JSON ready to post. Nothing runs in the background:
`drain()` works every gateway until its writes are on the ledger and its index is current.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi.testclient import TestClient

from clients.commitments.document import commit
from clients.records import ReturnApplication, TaxAssessment, canonical
from clients.records.lines import mask_and_pieces
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_recognition_decision,
    sample_return_application,
    sample_settlement_record,
    sample_tax_assessment,
)
from clients.signing import ReturnApplicationTerms, sign_return_application
from node_gateway.api.problems import PROBLEM_JSON
from node_gateway.run.local_consortium import PLATFORM, Consortium

DAY = 24 * 3600
CENTRE, NINGBO, ZHENGZHOU = "2900", "3100", "4600"
# Every table a write touches; a refused request must leave all of them as they were.
WRITTEN_TABLES = (
    "outbox",
    "vault_records",
    "tax_records",
    "case_documents",
    "batch_leaves",
    "idempotency_keys",
)
UNKNOWN_ID = "0x" + "ab" * 32

# Inventory-list serials are unique across the test session, so cases never collide.
_serials = itertools.count(1)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """`r` is an RFC 9457 problem with this status and stable code; returns its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["code"] == code, body
    assert {"type", "title", "detail", "instance"} <= set(body)
    return body


# ---------------------------------------------------------------------- records


def tax_assessment(code: str, released: int, lines: int = 3) -> TaxAssessment:
    """A fresh released inventory list of area `code` (a new invtNo every call)."""
    a = sample_tax_assessment(next(_serials), code, lines=lines)
    return a.model_copy(update={"release_time": _when(released)})


def tax_item(a: TaxAssessment, platform: str = PLATFORM) -> dict[str, Any]:
    """One entry of a tax-record request body."""
    return {"platform": platform, "record": canonical(a)}


@dataclass(frozen=True)
class Case:
    """A tax record anchored at its origin, as a return enterprise sees it."""

    assessment: TaxAssessment
    case_id: str
    header: dict[str, Any]  # GET /v1/cases/{id}/header: header, root, proof, eip712

    @property
    def code(self) -> str:
        return self.assessment.customs_code


@dataclass(frozen=True)
class Application:
    """A signed return application: the request body and what went into it."""

    case: Case
    record: ReturnApplication
    return_id: str
    gnums: tuple[int, ...]
    body: dict[str, Any]


def application_body(
    case: Case,
    record: ReturnApplication,
    return_id: str,
    return_centre: str,
    signer_key: bytes,
    deadline: int,
    salts: dict[str, bytes] | None = None,
) -> dict[str, Any]:
    """The body of `POST /v1/returns`: the committed application (fresh salts unless given)
    and the EIP-712 signature of its terms by `signer_key` (the platform's account, unless a
    test wants otherwise)."""
    doc = canonical(record)
    committed = commit(doc, salts)
    header = case.header["header"]
    mask, pieces = mask_and_pieces({line.gnum: line.qty for line in record.lines})
    terms = ReturnApplicationTerms(
        return_id=_b(return_id),
        case_id=_b(case.case_id),
        origin_area=_b(header["originArea"]),
        line_mask=mask,
        pieces=pieces,
        application_digest=committed.digest,
        return_centre=_b(return_centre),
        deadline=deadline,
    )
    domain = case.header["eip712"]
    signature = sign_return_application(
        terms, signer_key, int(domain["chainId"]), domain["verifyingContract"]
    )
    return {
        "header": header,
        "root": case.header["root"],
        "proof": case.header["proof"],
        "terms": {
            "returnId": return_id,
            "caseId": case.case_id,
            "originArea": header["originArea"],
            "lineMask": mask,
            "pieces": list(pieces),
            "applicationDigest": _hex(committed.digest),
            "returnCentre": return_centre,
            "deadline": deadline,
        },
        "signature": _hex(signature),
        "document": {"record": doc, "salts": {p: s.hex() for p, s in committed.salts.items()}},
    }


def arrival(app: Application, arrived: int) -> dict[str, Any]:
    """The return centre's arrival record of `app`'s parcel."""
    rec = sample_arrival_record(app.record, app.return_id)
    return {"record": canonical(rec.model_copy(update={"arrived_time": _when(arrived)}))}


def inspection(
    app: Application, accepted: bool | tuple[int, ...] = True, gnums: tuple[int, ...] | None = None
) -> dict[str, Any]:
    """An inspection report of `gnums` (default: the applied lines)."""
    rec = sample_inspection_report(app.return_id, gnums or app.gnums, accepted=accepted)
    return {"record": canonical(rec)}


def decision(
    app: Application, decided: Literal["recognized", "disputed"] = "recognized"
) -> dict[str, Any]:
    """The origin officer's recognition (or dispute) of the inspection result."""
    rec = sample_recognition_decision(app.return_id, app.case.code, decided, mode="officer")
    return {"record": canonical(rec)}


def settlement(
    app: Application,
    gnums: tuple[int, ...],
    kind: Literal["not_levied", "refunded"] = "not_levied",
) -> dict[str, Any]:
    """The origin's settlement of whole lines `gnums`."""
    rec = sample_settlement_record(app.case.assessment, app.return_id, gnums, kind=kind)
    return {"record": canonical(rec)}


# ---------------------------------------------------------------------- the consortium


class GatewayWorld:
    """The demo consortium with a TestClient per area and every role's key."""

    def __init__(self, consortium: Consortium) -> None:
        self.consortium = consortium
        self.clients = {
            code: TestClient(gw.app, raise_server_exceptions=False)
            for code, gw in consortium.gateways.items()
        }

    @classmethod
    def open(cls, data_dir: Path, batch_size: int = 16) -> GatewayWorld:
        """Found the consortium in `data_dir`, its ledger starting two days ago."""
        consortium = Consortium.open(
            data_dir,
            genesis_timestamp=int(datetime.now(UTC).timestamp()) - 2 * DAY,
            batch_size=batch_size,
            recognition="officer",
        )
        return cls(consortium)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.consortium.stop()

    # ------------------------------------------------------------ calls

    def key(self, code: str, role: str) -> str:
        return self.consortium.credentials[code][role]

    def headers(self, code: str, role: str, idempotency_key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.key(code, role)}"}
        if idempotency_key is not None:
            h["Idempotency-Key"] = idempotency_key
        return h

    def call(
        self,
        code: str,
        role: str,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """One request to area `code` with the key of `role`."""
        headers = self.headers(code, role, idempotency_key) | kw.pop("headers", {})
        r: httpx.Response = self.clients[code].request(method, path, headers=headers, **kw)
        return r

    def drain(self) -> None:
        """Every write on the ledger, every index current."""
        self.consortium.drain(timeout_s=60)

    def now(self) -> int:
        """Ledger time (the latest block's timestamp)."""
        return self.consortium.centre.ledger.now()

    def member_hex(self, code: str) -> str:
        return self.consortium.gateways[code].context.member_hex

    def rows(self, code: str) -> dict[str, int]:
        """Row counts of every table a write touches, in area `code`'s store."""
        conn = self.consortium.gateways[code].connections.get()
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in WRITTEN_TABLES
        }

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Assert that the block writes nothing in any area's store."""
        before = {code: self.rows(code) for code in self.clients}
        yield
        written = {
            f"{code}.{table}": n - before[code][table]
            for code in self.clients
            for table, n in self.rows(code).items()
            if n != before[code][table]
        }
        assert not written, f"rows written: {written}"

    # ------------------------------------------------------------ tax records and cases

    def assessments(
        self, code: str = NINGBO, count: int = 1, lines: int = 3
    ) -> list[TaxAssessment]:
        """Fresh inventory lists of `code`, released a day ago (ledger time)."""
        released = self.now() - DAY
        return [tax_assessment(code, released, lines) for _ in range(count)]

    def ingest(self, assessments: list[TaxAssessment], code: str = NINGBO) -> httpx.Response:
        """Post tax records in bulk as the area's system."""
        body = {"records": [tax_item(a) for a in assessments]}
        return self.call(code, "system", "POST", "/v1/tax-records/bulk", json=body)

    def case_of(self, a: TaxAssessment, role: str = "platform") -> Case:
        """Look up a case and fetch its header (with root and proof once sealed)."""
        code = a.customs_code
        r = self.call(code, role, "GET", "/v1/cases/lookup", params={"invtNo": a.invt_no})
        assert r.status_code == 200, r.text
        case_id = r.json()["caseId"]
        h = self.call(code, role, "GET", f"/v1/cases/{case_id}/header")
        assert h.status_code == 200, h.text
        return Case(a, case_id, h.json())

    def anchored_cases(self, count: int = 1, code: str = NINGBO, lines: int = 3) -> list[Case]:
        """Ingest `count` tax records, anchor them, and return their cases."""
        items = self.assessments(code, count, lines)
        r = self.ingest(items, code)
        assert r.status_code == 202, r.text
        self.drain()
        return [self.case_of(a) for a in items]

    # ------------------------------------------------------------ return applications

    def application(
        self,
        case: Case,
        gnums: tuple[int, ...] = (1, 2),
        *,
        signer_key: bytes | None = None,
        deadline: int | None = None,
        return_id: str | None = None,
    ) -> Application:
        """A return application of `gnums` of `case`, signed like the return enterprise does."""
        now = self.now()
        record = sample_return_application(case.assessment, gnums=list(gnums))
        record = record.model_copy(update={"applied_time": _when(now)})
        rid = return_id or "0x" + secrets.token_hex(32)
        body = application_body(
            case,
            record,
            rid,
            self.member_hex(CENTRE),
            signer_key if signer_key is not None else self.consortium.client_key(PLATFORM),
            deadline if deadline is not None else now + DAY,
        )
        return Application(case, record, rid, tuple(sorted(gnums)), body)

    def resigned(self, app: Application, deadline: int) -> Application:
        """The same application (same return id, document and salts, so the same digest)
        signed again with a new deadline, as a return enterprise retrying would."""
        salts = {p: bytes.fromhex(s) for p, s in app.body["document"]["salts"].items()}
        body = application_body(
            app.case,
            app.record,
            app.return_id,
            self.member_hex(CENTRE),
            self.consortium.client_key(PLATFORM),
            deadline,
            salts,
        )
        return Application(app.case, app.record, app.return_id, app.gnums, body)

    def apply(self, app: Application, idempotency_key: str | None = None) -> httpx.Response:
        """Relay the application through the return centre as the platform."""
        return self.call(
            CENTRE,
            "platform",
            "POST",
            "/v1/returns",
            json=app.body,
            idempotency_key=idempotency_key,
        )

    def state(self, return_id: str, code: str = CENTRE) -> str | None:
        """The return's indexed ledger state as area `code` serves it."""
        r = self.call(code, "auditor", "GET", f"/v1/returns/{return_id}")
        assert r.status_code == 200, r.text
        ledger: dict[str, Any] | None = r.json()["ledger"]
        return None if ledger is None else str(ledger["state"])

    def step(self, app: Application, action: str, body: dict[str, Any]) -> httpx.Response:
        """A return step by an officer of the area that plays it (centre or origin)."""
        code = CENTRE if action in ("arrival", "inspection") else app.case.code
        return self.call(
            code, "officer", "POST", f"/v1/returns/{app.return_id}/{action}", json=body
        )

    def applied(self, case: Case, gnums: tuple[int, ...] = (1, 2)) -> Application:
        """A return applied for and on the ledger."""
        app = self.application(case, gnums)
        r = self.apply(app)
        assert r.status_code == 202, r.text
        self.drain()
        return app

    def advance(self, app: Application, *steps: tuple[str, dict[str, Any]]) -> None:
        """Take the return through `steps`, each on the ledger before the next."""
        for action, body in steps:
            r = self.step(app, action, body)
            assert r.status_code == 202, (action, r.text)
            self.drain()

    def inspected(self, case: Case, accepted: bool | tuple[int, ...] = True) -> Application:
        """A return applied for, arrived and inspected."""
        app = self.applied(case)
        self.advance(
            app, ("arrival", arrival(app, self.now())), ("inspection", inspection(app, accepted))
        )
        return app
