"""`crossreturn officer` against the demo consortium served on loopback: the work queue,
arrival and inspection at the return centre (2900), recognition, dispute and settlement at the
origin (3100) — each record built from what the officer types and what the gateway holds —
and refusals as one line on stderr with the documented exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clients.cli.common import (
    EXIT_AUTH,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from clients.commitments.document import DisclosedDocument
from node_gateway.cli.main import main
from node_gateway.run.local_consortium import free_base_port
from node_gateway.services.auth import issue_key, revoke
from tests.utils.served import CENTRE, NINGBO, Served

CENTRE_OFFICER, ORIGIN_OFFICER = "2900-00017", "3100-00042"
EVIDENCE = "0x" + "5e" * 32


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with Served.running(tmp_path_factory.mktemp("consortium")) as s:
        yield s


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("GATEWAY", "API_KEY", "OFFICER"):
        monkeypatch.delenv(f"CROSSRETURN_{name}", raising=False)
    return CliRunner()


def officer(runner: CliRunner, served: Served, code: str, *args: str) -> Result:
    """Run `crossreturn officer ARGS` against area `code` with its officer's key."""
    return runner.invoke(main, ["officer", *args, *served.gateway_args(code, "officer")])


def as_json(result: Result) -> Any:
    assert result.exit_code == EXIT_OK, result.output
    return json.loads(result.stdout)


def assert_refused(result: Result, code: int, *fragments: str) -> None:
    """Exit `code`, one `error:` line on stderr naming `fragments`, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output and result.stdout == ""


def document(served: Served, code: str, rid: str, doc_type: str) -> dict[str, Any]:
    """The whole record of `doc_type` area `code` holds for return `rid`."""
    with served.client(code, "officer") as client:
        docs = [d for d in client.get_return(rid)["documents"] if d["docType"] == doc_type]
    (found,) = docs
    return DisclosedDocument.from_json(found["document"]).whole()


def ledger(served: Served, code: str, rid: str) -> dict[str, Any]:
    with served.client(code, "officer") as client:
        return dict(client.get_return(rid)["ledger"])


# ---------------------------------------------------------------------- queue


def test_queue_groups_returns_waiting_on_the_centre(served: Served, runner: CliRunner) -> None:
    first, second = served.anchored(2)
    applied, _ = served.applied(first)
    arrived = served.arrived(second)
    grouped = as_json(officer(runner, served, CENTRE, "queue", "--json"))
    assert set(grouped) == {"applied", "arrived"}  # a return centre's work only
    assert applied in [r["returnId"] for r in grouped["applied"]]
    assert arrived in [r["returnId"] for r in grouped["arrived"]]
    assert arrived not in [r["returnId"] for r in grouped["applied"]]
    result = officer(runner, served, CENTRE, "queue")
    assert result.exit_code == EXIT_OK, result.output
    assert f"applied: {len(grouped['applied'])} to arrive" in result.stdout
    assert f"arrived: {len(grouped['arrived'])} to inspect" in result.stdout
    assert applied in result.stdout and arrived in result.stdout


def test_queue_state_filter_at_origin(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.inspected(a)
    default = as_json(officer(runner, served, NINGBO, "queue", "--json"))
    assert set(default) == {"inspected", "disputed", "recognized"}
    assert rid in [r["returnId"] for r in default["inspected"]]
    only = as_json(officer(runner, served, NINGBO, "queue", "--state", "inspected", "--json"))
    assert list(only) == ["inspected"] and rid in [r["returnId"] for r in only["inspected"]]


# ---------------------------------------------------------------------- return centre


def test_arrive_records_waybill_from_application(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid, application = served.applied(a)
    at = "2026-11-20T10:30:00+08:00"
    args = ["arrive", rid, "--officer", CENTRE_OFFICER, "--packages", "2", "--at", at, "--json"]
    result = as_json(officer(runner, served, CENTRE, *args))
    assert result["operation"]["status"] == "confirmed" and result["operation"]["block"] > 0
    assert result["ledger"]["state"] == "arrived"
    arrival = document(served, CENTRE, rid, "arrival")
    assert arrival["logisticsNo"] == application.logistics_no
    assert (arrival["packageCount"], arrival["officer"]) == (2, CENTRE_OFFICER)
    assert (arrival["arrivedTime"], arrival["centreCode"]) == (at, CENTRE)
    assert result["digest"] == document_digest(served, CENTRE, rid, "arrival")


def document_digest(served: Served, code: str, rid: str, doc_type: str) -> str:
    with served.client(code, "officer") as client:
        (found,) = [d for d in client.get_return(rid)["documents"] if d["docType"] == doc_type]
    return str(found["digest"])


def test_inspect_records_accepted_and_rejected_lines(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.arrived(a, (1, 2, 3))
    args = ["inspect", rid, "--accept", "1,3", "--reject", "2", "--reason-code", "11"]
    args += ["--evidence", f"2={EVIDENCE}", "--remark", "封条破损", "--officer", CENTRE_OFFICER]
    result = officer(runner, served, CENTRE, *args)
    assert result.exit_code == EXIT_OK, result.output
    assert "inspected" in result.stdout and "confirmed" in result.stdout
    assert ledger(served, CENTRE, rid)["acceptedLines"] == [1, 3]
    report = document(served, CENTRE, rid, "inspection_report")
    assert [(x["gnum"], x["result"], x["reasonCode"]) for x in report["lines"]] == [
        (1, "accepted", "00"),
        (2, "rejected", "11"),
        (3, "accepted", "00"),
    ]
    assert report["lines"][1]["evidence"] == [EVIDENCE] and report["remark"] == "封条破损"


def test_inspect_not_covering_applied_lines_exits_2(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.arrived(a, (1, 2))
    result = officer(runner, served, CENTRE, "inspect", rid, "--accept", "1", "--officer", "x")
    assert_refused(result, EXIT_USAGE, "applied for lines 1, 2", "accept or reject each")
    assert ledger(served, CENTRE, rid)["state"] == "arrived"


def test_inspect_rejected_line_without_reason_code_exits_2(
    served: Served, runner: CliRunner
) -> None:
    args = ["inspect", "0x" + "ab" * 32, "--accept", "1", "--reject", "2", "--officer", "x"]
    result = officer(runner, served, CENTRE, *args)
    assert result.exit_code == EXIT_USAGE and "needs a reason code" in result.stderr
    assert "Traceback" not in result.output


def test_arrive_twice_is_refused_out_of_order(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.arrived(a)
    result = officer(runner, served, CENTRE, "arrive", rid, "--officer", CENTRE_OFFICER)
    assert_refused(result, EXIT_REFUSED, "step_out_of_order (409)", "is arrived")


def test_arrive_no_wait_shows_accepted_operation(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid, _ = served.applied(a)
    args = ["arrive", rid, "--officer", CENTRE_OFFICER, "--no-wait", "--json"]
    result = as_json(officer(runner, served, CENTRE, *args))
    assert result["ledger"] is None and result["operation"]["kind"] == "arrival"
    with served.client(CENTRE, "officer") as client:
        assert client.wait(result["operation"])["status"] == "confirmed"


# ---------------------------------------------------------------------- origin


def test_recognize_then_settle_accepted_lines(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.inspected(a, (1, 2), accepted=(1,))
    args = ["recognize", rid, "--officer", ORIGIN_OFFICER, "--json"]
    recognized = as_json(officer(runner, served, NINGBO, *args))
    assert recognized["ledger"]["state"] == "recognized"
    decision = document(served, NINGBO, rid, "recognition")
    assert (decision["decision"], decision["mode"], decision["officer"]) == (
        "recognized",
        "officer",
        ORIGIN_OFFICER,
    )
    queued = as_json(officer(runner, served, NINGBO, "queue", "--json"))
    assert rid in [r["returnId"] for r in queued["recognized"]]

    settled = as_json(
        officer(runner, served, NINGBO, "settle", rid, "--kind", "not_levied", "--json")
    )
    assert settled["ledger"]["state"] == "settled" and settled["ledger"]["settledLines"] == [1]
    record = document(served, NINGBO, rid, "settlement")
    line = a.lines[0]
    assert record["kind"] == "not_levied" and [x["gnum"] for x in record["lines"]] == [1]
    assert record["total"] == str(line.customs_duty + line.vat + line.consumption_tax)
    assert record["quota"]["amount"] == str(line.total_price)
    queued = as_json(officer(runner, served, NINGBO, "queue", "--json"))
    assert rid not in [r["returnId"] for rows in queued.values() for r in rows]


def test_dispute_then_recognize(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.inspected(a)
    args = ["dispute", rid, "--reason", "检验结果与申报不符", "--officer", ORIGIN_OFFICER]
    result = officer(runner, served, NINGBO, *args)
    assert result.exit_code == EXIT_OK, result.output
    assert ledger(served, NINGBO, rid)["state"] == "disputed"
    assert document(served, NINGBO, rid, "recognition")["reason"] == "检验结果与申报不符"
    disputed = as_json(officer(runner, served, NINGBO, "queue", "--state", "disputed", "--json"))
    assert rid in [r["returnId"] for r in disputed["disputed"]]
    result = officer(runner, served, NINGBO, "recognize", rid, "--officer", ORIGIN_OFFICER)
    assert result.exit_code == EXIT_OK, result.output
    assert ledger(served, NINGBO, rid)["state"] == "recognized"


def test_settle_refunded_without_payment_refused(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.recognized(a)
    result = officer(runner, served, NINGBO, "settle", rid, "--kind", "refunded")
    assert_refused(result, EXIT_REFUSED, "settlement_kind_mismatch (409)")
    assert ledger(served, NINGBO, rid)["settledLines"] == []


def test_settle_line_not_accepted_exits_2(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.recognized(a, (1, 2), accepted=(1,))
    args = ["settle", rid, "--kind", "not_levied", "--lines", "2"]
    assert_refused(officer(runner, served, NINGBO, *args), EXIT_USAGE, "lines 2 are not accepted")


def test_recognize_at_return_centre_not_responsible(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid = served.inspected(a)
    result = officer(runner, served, CENTRE, "recognize", rid, "--officer", CENTRE_OFFICER)
    assert_refused(result, EXIT_AUTH, "not_responsible (403)", "not the origin")
    assert "role may not" not in result.stderr  # the key is fine; the area is not


# ---------------------------------------------------------------------- refusals


def test_arrive_unknown_return_not_found(served: Served, runner: CliRunner) -> None:
    args = ["arrive", "0x" + "cd" * 32, "--officer", CENTRE_OFFICER]
    assert_refused(officer(runner, served, CENTRE, *args), EXIT_REFUSED, "not_found (404)")


def test_arrive_takes_a_pasted_id_in_any_case(served: Served, runner: CliRunner) -> None:
    """The gateway accepts one spelling of an id; the command line passes a person's paste on
    in that spelling instead of answering 422."""
    (a,) = served.anchored(1)
    rid, _application = served.applied(a)
    pasted = f"  0X{rid[2:].upper()} "
    result = as_json(
        officer(runner, served, CENTRE, "arrive", pasted, "--officer", CENTRE_OFFICER, "--json")
    )
    assert result["ledger"]["state"] == "arrived"


def test_arrive_with_a_malformed_id_is_a_usage_error(served: Served, runner: CliRunner) -> None:
    result = officer(runner, served, CENTRE, "arrive", "0x12 34", "--officer", CENTRE_OFFICER)
    assert result.exit_code == 2, result.output
    assert "is not an id: expected 0x and 64 hex digits" in result.output
    assert "Traceback" not in result.output


def test_queue_gateway_down_exits_3(runner: CliRunner) -> None:
    down = f"http://127.0.0.1:{free_base_port(1)}"
    result = runner.invoke(main, ["officer", "queue", "--gateway", down, "--api-key", "cr_x"])
    assert_refused(result, EXIT_UNAVAILABLE, down, "unreachable")


def test_queue_unknown_key_exits_4(served: Served, runner: CliRunner) -> None:
    args = ["officer", "queue", "--gateway", served.urls[CENTRE], "--api-key", "cr_0_nope"]
    assert_refused(runner.invoke(main, args), EXIT_AUTH, "unauthenticated (401)")


def test_arrive_revoked_key_exits_4(served: Served, runner: CliRunner) -> None:
    conn = served.consortium.gateways[CENTRE].connections.get()
    key_id, key = issue_key(conn, "customs-2900", "officer")
    assert revoke(conn, key_id)
    args = ["officer", "arrive", "0x" + "ab" * 32, "--officer", CENTRE_OFFICER]
    result = runner.invoke(main, [*args, "--gateway", served.urls[CENTRE], "--api-key", key])
    assert_refused(result, EXIT_AUTH, "unauthenticated (401)")


def test_arrive_with_auditor_key_forbidden(served: Served, runner: CliRunner) -> None:
    (a,) = served.anchored(1)
    rid, _ = served.applied(a)
    args = ["officer", "arrive", rid, "--officer", CENTRE_OFFICER]
    result = runner.invoke(main, [*args, *served.gateway_args(CENTRE, "auditor")])
    assert_refused(result, EXIT_AUTH, "forbidden (403)", "role may not do that")
    assert ledger(served, CENTRE, rid)["state"] == "applied"
