"""Rule windows at the gateway: no application after the apply window; goods arriving after
the arrival window are recorded late and can only be rejected."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from clients.applications import application_body
from clients.records import canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_return_application,
    sample_tax_assessment,
)
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.errors import WindowClosed
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import returns, tax_records
from node_gateway.services.auth import Principal
from node_gateway.store import outbox

DAY = 86_400
PLATFORM_KEY = Principal(PLATFORM, "platform", "t")
CENTRE_OFFICER = Principal("customs-2900", "officer", "t")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    c = Consortium.open(tmp_path / "c", genesis_timestamp=int(time.time()) - 2 * DAY)
    ningbo = c.gateways["3100"]
    released = c.centre.ledger.now() - DAY
    lists = [
        sample_tax_assessment(n, "3100", lines=2).model_copy(
            update={"release_time": datetime.fromtimestamp(released, UTC)}
        )
        for n in (1, 2)
    ]
    tax_records.ingest(
        ningbo.context,
        ningbo.connections.get(),
        [{"platform": PLATFORM, "record": canonical(a)} for a in lists],
    )
    c.drain()
    yield {"c": c, "lists": lists, "released": released}
    c.stop()


def _apply(w: dict[str, Any], a: Any) -> dict[str, Any]:
    c: Consortium = w["c"]
    ningbo = c.gateways["3100"]
    now = c.centre.ledger.now()
    app = sample_return_application(a).model_copy(
        update={"applied_time": datetime.fromtimestamp(now, UTC)}
    )
    case_id = tax_records.case_id_of(ningbo.context, a.invt_no)
    body = application_body(
        tax_records.header_of(ningbo.context, ningbo.connections.get(), case_id),
        app,
        c.centre.context.member_hex,
        c.client_key(PLATFORM),
        deadline=now + 90 * DAY,
    )
    return {
        "app": app,
        "body": ReturnApplicationIn.model_validate(body).to_input(),
    }


def test_apply_after_apply_window_is_refused_and_nothing_queued(world: dict[str, Any]) -> None:
    c: Consortium = world["c"]
    c.chain.travel_to(world["released"] + 31 * DAY)
    prepared = _apply(world, world["lists"][0])
    conn = c.centre.connections.get()
    before = outbox.counts(conn)
    with pytest.raises(WindowClosed):
        returns.apply(c.centre.context, conn, PLATFORM_KEY, prepared["body"])
    assert outbox.counts(conn) == before


def test_late_arrival_only_allows_rejecting_every_line(world: dict[str, Any]) -> None:
    c: Consortium = world["c"]
    conn = c.centre.connections.get()
    prepared = _apply(world, world["lists"][1])
    rid = returns.apply(c.centre.context, conn, PLATFORM_KEY, prepared["body"])["returnId"]
    c.drain()
    c.chain.travel_to(world["released"] + 46 * DAY)
    when = datetime.fromtimestamp(c.centre.ledger.now(), UTC)
    arrival = sample_arrival_record(prepared["app"], rid).model_copy(update={"arrived_time": when})
    returns.arrival(c.centre.context, conn, CENTRE_OFFICER, rid, canonical(arrival))
    c.drain()
    on_ledger = c.centre.ledger.get_return(bytes.fromhex(rid[2:]))
    assert on_ledger is not None and on_ledger.late is True
    accept = sample_inspection_report(rid, [1, 2], accepted=[1], inspected_time=when)
    with pytest.raises(WindowClosed, match="after the arrival window"):
        returns.inspection(c.centre.context, conn, CENTRE_OFFICER, rid, canonical(accept))
    reject = sample_inspection_report(rid, [1, 2], accepted=False, inspected_time=when)
    returns.inspection(c.centre.context, conn, CENTRE_OFFICER, rid, canonical(reject))
    c.drain()
    on_ledger = c.centre.ledger.get_return(bytes.fromhex(rid[2:]))
    assert on_ledger is not None and on_ledger.state.name == "INSPECTED"
    assert on_ledger.accepted_mask == 0
