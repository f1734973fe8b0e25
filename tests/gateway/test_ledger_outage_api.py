"""With the ledger unreachable, reads and writes that need it answer 503 ledger_unavailable
(problem+json), readiness goes red, and nothing is written."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from web3 import HTTPProvider, Web3

from node_gateway.ledger.area_ledger import AreaLedger
from node_gateway.run.local_consortium import Consortium


class DeadNode:
    """A JSON-RPC backend on a port nothing listens on."""

    def __init__(self) -> None:
        self.w3 = Web3(HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 0.5}))

    def send_raw_transaction(self, raw: bytes) -> Any:
        raise ConnectionError("node down")


def test_ledger_outage_gives_503_and_writes_nothing(tmp_path: Path) -> None:
    c = Consortium.open(tmp_path / "c", genesis_timestamp=int(time.time()) - 86400)
    try:
        gw = c.gateways["2900"]
        gw.context.ledger = AreaLedger(DeadNode(), c.manifest["addresses"], b"\x01" * 32)
        gw.app.state.readiness["ledger"] = gw.context.ledger.is_up
        client = TestClient(gw.app)
        officer = {"Authorization": f"Bearer {c.credentials['2900']['officer']}"}
        conn = gw.connections.get()
        rows_before = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        r = client.post(
            "/v1/returns/0x" + "ab" * 32 + "/arrival", json={"record": {}}, headers=officer
        )
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "ledger_unavailable"
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == rows_before
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["ledger"] is False
    finally:
        c.stop()
