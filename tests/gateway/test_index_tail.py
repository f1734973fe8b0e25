"""A return application reads the case from the index plus the blocks the index has not read
yet: a case opened a moment ago is known before the indexer gets to it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from clients.applications import application_body
from clients.records import canonical
from clients.records.samples import sample_return_application, sample_tax_assessment
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.errors import PiecesExceedDeclared
from node_gateway.pipeline.sender import Sender
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import returns, tax_records
from node_gateway.services.auth import Principal
from node_gateway.services.inputs import ReturnApplication
from node_gateway.store import index, outbox

PLATFORM_KEY = Principal(PLATFORM, "platform", "t")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    c = Consortium.open(tmp_path / "c", genesis_timestamp=int(time.time()) - 2 * 86_400)
    ningbo = c.gateways["3100"]
    a = sample_tax_assessment(1, "3100", lines=3).model_copy(
        update={"release_time": datetime.fromtimestamp(c.centre.ledger.now() - 86_400, UTC)}
    )
    tax_records.ingest(
        ningbo.context, ningbo.connections.get(), [{"platform": PLATFORM, "record": canonical(a)}]
    )
    c.drain()
    yield {"c": c, "a": a}
    c.stop()


def _body(w: dict[str, Any], gnums: list[int]) -> ReturnApplication:
    c: Consortium = w["c"]
    ningbo = c.gateways["3100"]
    now = c.centre.ledger.now()
    app = sample_return_application(w["a"], gnums=gnums).model_copy(
        update={"applied_time": datetime.fromtimestamp(now, UTC)}
    )
    case_id = tax_records.case_id_of(ningbo.context, w["a"].invt_no)
    case = tax_records.header_of(ningbo.context, ningbo.connections.get(), case_id)
    body = application_body(
        case, app, c.centre.context.member_hex, c.client_key(PLATFORM), deadline=now + 86_400
    )
    return ReturnApplicationIn.model_validate(body).to_input()


def test_case_opened_in_unindexed_blocks_is_known(world: dict[str, Any]) -> None:
    c: Consortium = world["c"]
    centre = c.centre
    conn = centre.connections.get()
    first = returns.apply(centre.context, conn, PLATFORM_KEY, _body(world, [1]))
    Sender(conn, centre.ledger).run_once()  # on the ledger; the indexer has not run
    assert outbox.get(conn, first["operation"]["id"]).status == "confirmed"  # type: ignore[union-attr]
    assert index.checkpoint(conn) < centre.ledger.head_block()
    assert index.case_pieces(conn, first["caseId"]) is None

    with pytest.raises(PiecesExceedDeclared):
        returns.apply(centre.context, conn, PLATFORM_KEY, _body(world, [1, 2]))
    second = returns.apply(centre.context, conn, PLATFORM_KEY, _body(world, [2, 3]))
    assert second["operation"]["kind"] == "apply"  # not a second opening of the case
    c.drain()
    assert outbox.get(conn, second["operation"]["id"]).status == "confirmed"  # type: ignore[union-attr]
