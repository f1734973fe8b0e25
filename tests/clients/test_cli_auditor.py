"""`crossreturn auditor` against the demo consortium served on loopback: the report (with the
pilot's report card) from the ledger plus amounts the auditor verified itself, a case's trace
with every obtained document verified, `verify` of a disclosed document and of a tampered one,
and bad input — one line on stderr and the documented exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from node_gateway.cli.main import main
from node_gateway.cli.run import DEMO_RECOGNITION
from node_gateway.run.demo import run_story
from node_gateway.run.local_consortium import Consortium, free_base_port

DAY = 86_400


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("auditor") / "consortium"
    c = Consortium.open(data, base_port=free_base_port(), recognition=DEMO_RECOGNITION)
    try:
        run_story(c, records_per_origin=60)
        urls = dict(zip(c.gateways, c.serve(), strict=True))
        c.start()
        c.drain()
        yield {"c": c, "urls": urls, "now": c.centre.ledger.now()}
    finally:
        c.stop()


def _args(
    demo: dict[str, Any], home: str = "3100", others: tuple[str, ...] = ("2900", "4600")
) -> list[str]:
    c: Consortium = demo["c"]
    args = ["--gateway", demo["urls"][home], "--api-key", c.credentials[home]["auditor"]]
    for code in others:
        args += ["--area-key", f"{code}={c.credentials[code]['auditor']}"]
    return args


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, ["auditor", *args])


def _period(demo: dict[str, Any]) -> list[str]:
    return ["--from", str(demo["now"] - 30 * DAY), "--to", str(demo["now"] + DAY)]


def _views(demo: dict[str, Any], code: str, role: str = "auditor") -> list[dict[str, Any]]:
    c: Consortium = demo["c"]
    key = c.credentials[code][role]
    r = httpx.get(
        demo["urls"][code] + "/v1/returns",
        params={"limit": 500},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _settled_at_ningbo(demo: dict[str, Any]) -> dict[str, Any]:
    """A settled return whose origin is Ningbo (the list holds every area's returns)."""
    views = _views(demo, "3100")
    return next(r for r in views if r["state"] == "settled" and r["originCode"] == "3100")


def test_report_gives_the_report_card_from_verified_amounts(demo: dict[str, Any]) -> None:
    result = _run("report", *_period(demo), *_args(demo), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    everything = _views(demo, "2900")
    inspected = [r for r in everything if r["state"] not in ("applied", "arrived")]
    card = report["reportCard"]
    assert card["returnsInspected"] == len(inspected) > 0
    assert card["piecesReleased"] > 0 and card["piecesInspected"] >= card["piecesReleased"]
    assert card["valueKnown"] and float(card["valueReleased"]) > 0
    # Every total is traceable to its cases, and every case's amounts were verified.
    cases = {case for t in report["totals"] for case in t["cases"]}
    assert cases == {r["caseId"] for r in everything}
    assert report["valuesVerified"] == len(cases) and report["valuesUnverified"] == []
    assert sum(t["returns"] for t in report["totals"]) == len(everything)
    assert {t["originCode"] for t in report["totals"]} == {"3100", "4600"}
    settled = [r for r in everything if r["state"] == "settled"]
    assert len(report["settlementTimes"]) >= len(settled) > 0
    refunded_or_not = sum(
        float(t["valueNotLevied"]) + float(t["valueRefunded"]) for t in report["totals"]
    )
    assert refunded_or_not > 0
    kinds = {a["kind"] for a in report["anomalies"]}
    assert "disputed" in kinds and "settled_without_recognition" not in kinds


def test_report_for_one_area_as_csv(demo: dict[str, Any]) -> None:
    result = _run("report", *_period(demo), "--area", "4600", "--format", "csv", *_args(demo))
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("originCode,period,returns,items,valueNotLevied")
    assert len(lines) >= 2 and all(line.startswith("4600,") for line in lines[1:])


def test_report_table_shows_the_report_card(demo: dict[str, Any]) -> None:
    result = _run("report", *_period(demo), *_args(demo))
    assert result.exit_code == 0, result.output
    assert "Report card" in result.output and "pieces released" in result.output


def test_trace_verifies_every_step_of_a_settled_return(demo: dict[str, Any]) -> None:
    settled = _settled_at_ningbo(demo)
    result = _run("trace", settled["returnId"], *_args(demo), "--json")
    assert result.exit_code == 0, result.output
    trace = json.loads(result.output)
    assert trace["caseId"] == settled["caseId"] and trace["originCode"] == "3100"
    events = [s["event"] for s in trace["steps"] if s["event"] != "DisclosureLogged"]
    assert events[:3] == ["RootAnchored", "CaseOpened", "ReturnApplied"]
    assert events[-1] == "LinesSettled"
    status = {s["event"]: s["verification"]["status"] for s in trace["steps"] if s["digest"]}
    for event in ("CaseOpened", "ReturnApplied", "ArrivalRecorded", "InspectionRecorded",
                  "ReturnRecognized", "LinesSettled"):  # fmt: skip
        assert status[event] == "verified", (event, status)
    # each disclosure names the document it covered, verified like the step's own
    assert status["DisclosureLogged"] == "verified", status
    assert trace["summary"]["failed"] == 0 and trace["problems"] == []
    verified = trace["summary"]["verified"]
    assert verified > 6
    table = _run("trace", settled["caseId"], *_args(demo))
    assert table.exit_code == 0
    assert f"{verified} verified, 0 failed, 0 not obtained" in table.output


def _disclosed(demo: dict[str, Any]) -> dict[str, Any]:
    c: Consortium = demo["c"]
    settled = _settled_at_ningbo(demo)
    r = httpx.get(
        f"{demo['urls']['3100']}/v1/returns/{settled['returnId']}",
        headers={"Authorization": f"Bearer {c.credentials['3100']['auditor']}"},
    )
    return dict(r.json()["documents"][-1]["document"])


def test_verify_names_every_check_and_fails_a_tampered_document(
    demo: dict[str, Any], tmp_path: Path
) -> None:
    document = _disclosed(demo)
    good = tmp_path / "settlement.json"
    good.write_text(json.dumps({"document": document}))
    result = _run("verify", str(good), *_args(demo), "--json")
    assert result.exit_code == 0, result.output
    checks = json.loads(result.output)["checks"]
    assert len(checks) == 5 and all(c["passed"] for c in checks)

    revealed = document["revealed"]
    field = next(f for f in revealed if isinstance(f["value"], str))
    field["value"] = field["value"] + "x"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(document))
    result = _run("verify", str(bad), *_args(demo))
    assert result.exit_code == 1, result.output
    assert "NOT verified" in result.output


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--gateway", "http://127.0.0.1:9", "--api-key", "k"], 3, "unreachable"),
        (["--api-key", "not-a-key"], 4, "unauthenticated"),
        (["--area-key", "31=x"], 2, "--area-key wants CODE=KEY"),
    ],
)
def test_bad_connection_input_is_one_line_and_an_exit_code(
    demo: dict[str, Any], args: list[str], code: int, says: str
) -> None:
    base = _args(demo, others=())
    if args[0] == "--gateway":
        base = args
    elif args[0] == "--api-key":
        base = ["--gateway", demo["urls"]["3100"], *args]
    else:
        base = [*base, *args]
    result = _run("report", *_period(demo), *base)
    assert result.exit_code == code, result.output
    assert says in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_verify_refuses_an_unreadable_file(demo: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "not.json"
    bad.write_text("{nope")
    result = _run("verify", str(bad), *_args(demo))
    assert result.exit_code == 2 and "not JSON" in result.output
    missing = _run("verify", str(tmp_path / "missing.json"), *_args(demo))
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_an_officer_key_is_not_an_auditor_key(demo: dict[str, Any]) -> None:
    c: Consortium = demo["c"]
    args = ["--gateway", demo["urls"]["3100"], "--api-key", c.credentials["3100"]["officer"]]
    result = _run("report", *_period(demo), *args)
    assert result.exit_code == 4 and "not an auditor's" in result.output
