"""The demo consortium served over HTTP on loopback, for tests of the command line: every
customs area's gateway on its own port, officer recognition everywhere, and SDK shortcuts
(clients.http) that take a return to the state a test starts from — each step confirmed on the
ledger and visible in the acting gateway's index before the next.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clients.applications import application_body
from clients.cli.common import reached
from clients.http import GatewayClient
from clients.keystore import create_keystore
from clients.records import ReturnApplication, TaxAssessment, canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_recognition_decision,
    sample_return_application,
)
from node_gateway.run.local_consortium import PLATFORM, Consortium, free_base_port
from tests.utils.gateway import DAY, tax_assessment, tax_item

CENTRE, NINGBO, ZHENGZHOU = "2900", "3100", "4600"
OFFICER_RECOGNITION = {CENTRE: "officer", NINGBO: "officer", ZHENGZHOU: "officer"}
KEYSTORE_PASSWORD = "correct horse battery staple"


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass
class Served:
    """The demo consortium with every gateway listening on loopback."""

    consortium: Consortium
    urls: dict[str, str]

    @classmethod
    @contextmanager
    def running(cls, data_dir: Path) -> Iterator[Served]:
        """Found, serve and start the consortium; always stopped on exit."""
        c = Consortium.open(
            data_dir,
            base_port=free_base_port(),
            genesis_timestamp=int(time.time()) - 3 * DAY,
            batch_size=4,
            batch_interval_ms=100,
            recognition=OFFICER_RECOGNITION,
        )
        try:
            urls = dict(zip(c.gateways, c.serve("127.0.0.1"), strict=True))
            c.start()
            yield cls(c, urls)
        finally:
            c.stop()

    # ------------------------------------------------------------ access

    def key(self, code: str, role: str) -> str:
        """The demo API key of `role` at area `code`."""
        return self.consortium.credentials[code][role]

    def client(self, code: str, role: str) -> GatewayClient:
        """An SDK client of area `code`'s gateway with `role`'s key."""
        return GatewayClient(self.urls[code], self.key(code, role))

    def gateway_args(self, code: str, role: str) -> list[str]:
        """`--gateway URL --api-key KEY` for a command run against area `code` as `role`."""
        return ["--gateway", self.urls[code], "--api-key", self.key(code, role)]

    def now(self) -> int:
        """Ledger time."""
        return self.consortium.centre.ledger.now()

    def keystore(self, directory: Path) -> tuple[Path, Path]:
        """The platform's demo key in a keystore (fast KDF: tests only) and a password file."""
        path, password = directory / "platform.json", directory / "password.txt"
        if not path.exists():
            create_keystore(
                path, KEYSTORE_PASSWORD, self.consortium.client_key(PLATFORM), iterations=2
            )
            password.write_text(KEYSTORE_PASSWORD + "\n")
        return path, password

    # ------------------------------------------------------------ tax records

    def anchored(self, count: int = 1, code: str = NINGBO, lines: int = 3) -> list[TaxAssessment]:
        """Fresh inventory lists of `code`, released a day ago, ingested by the area's system
        and anchored on the ledger."""
        released = self.now() - DAY
        items = [tax_assessment(code, released, lines) for _ in range(count)]
        with self.client(code, "system") as system:
            system.submit_tax_records([tax_item(a) for a in items])
        with self.client(code, "platform") as platform:
            for a in items:
                case_id = platform.lookup_case(a.invt_no)["caseId"]
                deadline = time.monotonic() + 30
                while platform.case_header(case_id)["anchorStatus"] != "anchored":
                    assert time.monotonic() < deadline, f"{a.invt_no} not anchored"
                    time.sleep(0.05)
        return items

    def application(self, a: TaxAssessment, gnums: tuple[int, ...] = (1, 2)) -> ReturnApplication:
        """A return application of `gnums` of `a`, applied now (ledger time)."""
        record = sample_return_application(a, gnums=list(gnums))
        return record.model_copy(update={"applied_time": _when(self.now())})

    # ------------------------------------------------------------ returns through the SDK

    def applied(
        self, a: TaxAssessment, gnums: tuple[int, ...] = (1, 2)
    ) -> tuple[str, ReturnApplication]:
        """A return of `gnums` of `a`, applied at the return centre and indexed there."""
        record = self.application(a, gnums)
        with self.client(a.customs_code, "platform") as origin:
            case = origin.case_header(origin.lookup_case(a.invt_no)["caseId"])
        centre_member = self.consortium.centre.context.member_hex
        key = self.consortium.client_key(PLATFORM)
        body = application_body(case, record, centre_member, key, self.now() + DAY)
        with self.client(CENTRE, "platform") as centre:
            accepted = centre.apply(body)
            centre.wait(accepted["operation"])
            rid = str(accepted["returnId"])
        self._wait(CENTRE, rid, "applied")
        return rid, record

    def step(self, code: str, rid: str, action: str, record: Any, state: str) -> None:
        """Post one step as area `code`'s officer; wait until its index shows `state`."""
        with self.client(code, "officer") as officer:
            officer.wait(officer.step(rid, action, canonical(record))["operation"])
        self._wait(code, rid, state)

    def _wait(self, code: str, rid: str, state: str) -> dict[str, Any]:
        with self.client(code, "auditor") as reader:
            return reader.wait_return(rid, lambda v: reached(v, state), 60)

    def arrived(self, a: TaxAssessment, gnums: tuple[int, ...] = (1, 2)) -> str:
        """A return applied for and arrived."""
        rid, record = self.applied(a, gnums)
        arrival = sample_arrival_record(record, rid).model_copy(
            update={"arrived_time": _when(self.now())}
        )
        self.step(CENTRE, rid, "arrival", arrival, "arrived")
        return rid

    def inspected(
        self, a: TaxAssessment, gnums: tuple[int, ...] = (1, 2), accepted: tuple[int, ...] = (1,)
    ) -> str:
        """A return applied for, arrived and inspected (the origin's index shows it)."""
        rid = self.arrived(a, gnums)
        report = sample_inspection_report(rid, gnums, accepted=accepted)
        self.step(CENTRE, rid, "inspection", report, "inspected")
        self._wait(a.customs_code, rid, "inspected")
        return rid

    def recognized(
        self, a: TaxAssessment, gnums: tuple[int, ...] = (1, 2), accepted: tuple[int, ...] = (1,)
    ) -> str:
        """A return inspected and recognised by its origin's officer."""
        rid = self.inspected(a, gnums, accepted)
        decision = sample_recognition_decision(rid, a.customs_code, "recognized", "officer")
        self.step(a.customs_code, rid, "recognition", decision, "recognized")
        return rid
