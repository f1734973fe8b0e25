"""`crossreturn admin members|proposals|propose|vote` against a consortium served on loopback:
a suspension proposed through one area's gateway and voted through another's, shown as
tables and as JSON; and every failure — a refused vote, a gateway that is down, a refused
key — one line on stderr with the SDK command line's exit code, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from node_gateway.cli.main import main
from node_gateway.run.local_consortium import AUDITOR, PLATFORM, Consortium, free_base_port

EXIT_UNAVAILABLE, EXIT_AUTH, EXIT_REFUSED = 3, 4, 5


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo consortium (no demo data) served over HTTP, its workers sending writes."""
    c = Consortium.open(tmp_path_factory.mktemp("admin-cli") / "c", base_port=free_base_port())
    try:
        urls = dict(zip(c.gateways, c.serve(), strict=True))
        c.start()
        yield {"c": c, "urls": urls}
    finally:
        c.stop()


def admin(served: dict[str, Any], code: str, *args: str, role: str = "admin") -> Result:
    """Run `crossreturn admin ARGS` against area `code`'s gateway with its `role` key."""
    key = served["c"].credentials[code][role]
    return CliRunner().invoke(
        main, ["admin", *args, "--gateway", served["urls"][code], "--api-key", key]
    )


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_one_line_error(result: Result, exit_code: int, text: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert text in result.stderr and "Traceback" not in result.output


# ---------------------------------------------------------------------- reads


def test_members_json_lists_every_member(served: dict[str, Any]) -> None:
    body = json_of(admin(served, "2900", "members", "--json"))
    labels = [m["label"] for m in body["members"]]
    assert labels == ["customs-2900", "customs-3100", "customs-4600", PLATFORM, AUDITOR]
    assert body["threshold"] == 2 and body["members"][0]["self"] is True


def test_members_table_reads_gateway_and_key_from_env(served: dict[str, Any]) -> None:
    c: Consortium = served["c"]
    env = {"CROSSRETURN_GATEWAY": served["urls"]["3100"], "COLUMNS": "200"}
    env["CROSSRETURN_API_KEY"] = c.credentials["3100"]["auditor"]
    result = CliRunner(env=env).invoke(main, ["admin", "members"])
    assert result.exit_code == 0, result.output
    assert "threshold 2 of 3 customs areas" in result.stdout
    for shown in ("customs-4600", PLATFORM, AUDITOR, "platform", "active", "3100"):
        assert shown in result.stdout


# ---------------------------------------------------------------------- propose, vote


def test_propose_then_vote_suspends_member(served: dict[str, Any]) -> None:
    proposed = json_of(
        admin(served, "2900", "propose", "suspension", "--member", AUDITOR, "--json")
    )
    assert proposed["operation"]["status"] == "confirmed"
    assert proposed["proposal"] == {"kind": "suspension", "member": AUDITOR}

    table = admin(served, "4600", "proposals", "--status", "open")
    assert table.exit_code == 0, table.output
    assert "suspension" in table.stdout and "1/2" in table.stdout
    [proposal] = json_of(admin(served, "4600", "proposals", "--status", "open", "--json"))[
        "proposals"
    ]
    assert (proposal["target"], proposal["proposer"]) == (AUDITOR, "customs-2900")

    voted = admin(served, "3100", "vote", str(proposal["id"]))
    assert voted.exit_code == 0, voted.output
    assert "confirmed" in voted.stdout and "executed" in voted.stdout
    members = json_of(admin(served, "4600", "members", "--json"))["members"]
    auditor = next(m for m in members if m["label"] == AUDITOR)
    assert (auditor["status"], auditor["suspendedByVote"]) == ("suspended", True)

    again = admin(served, "4600", "vote", str(proposal["id"]))
    assert_one_line_error(again, EXIT_REFUSED, "proposal_closed (409)")


def test_propose_refused_by_consortium_names_problem_code(served: dict[str, Any]) -> None:
    result = admin(served, "2900", "propose", "reinstatement", "--member", PLATFORM)
    assert_one_line_error(result, EXIT_REFUSED, "proposal_conflict (409)")
    result = admin(served, "2900", "propose", "threshold")  # --value missing
    assert_one_line_error(result, EXIT_REFUSED, "invalid_request (422)")


def test_propose_no_wait_prints_pending_operation(served: dict[str, Any]) -> None:
    args = ["propose", "parameter", "--parameter", "MAX_LINES", "--value", "99", "--no-wait"]
    body = json_of(admin(served, "2900", *args, "--json"))
    # Answered as queued: the write and its answer commit together, before the worker sees it.
    assert (body["operation"]["kind"], body["operation"]["status"]) == ("propose", "pending")


# ---------------------------------------------------------------------- failures


def test_gateway_down_is_one_line_error(served: dict[str, Any]) -> None:
    down = f"http://127.0.0.1:{free_base_port(1)}"
    key = served["c"].credentials["2900"]["admin"]
    result = CliRunner().invoke(main, ["admin", "members", "--gateway", down, "--api-key", key])
    assert_one_line_error(result, EXIT_UNAVAILABLE, "unreachable")


def test_unknown_key_is_one_line_error(served: dict[str, Any]) -> None:
    args = ["admin", "members", "--gateway", served["urls"]["2900"], "--api-key", "cr_0_bad"]
    assert_one_line_error(CliRunner().invoke(main, args), EXIT_AUTH, "unauthenticated (401)")


def test_officer_key_may_not_vote(served: dict[str, Any]) -> None:
    result = admin(served, "2900", "vote", "0", role="officer")
    assert_one_line_error(result, EXIT_AUTH, "forbidden (403)")


def test_gateway_not_http_is_usage_error(served: dict[str, Any]) -> None:
    result = CliRunner().invoke(
        main, ["admin", "members", "--gateway", "localhost:1", "--api-key", "k"]
    )
    assert_one_line_error(result, 2, "--gateway must be an http(s) URL")


@pytest.mark.parametrize("command", ["members", "proposals", "propose", "vote"])
def test_help_shows_example(command: str) -> None:
    result = CliRunner().invoke(main, ["admin", command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and f"crossreturn admin {command}" in result.stdout
    listing = CliRunner().invoke(main, ["admin", "--help"]).stdout
    assert command in listing


# ---------------------------------------------------------------------- join


def test_join_creates_keys_and_the_admission_that_a_vote_executes(
    served: dict[str, Any], tmp_path: Path
) -> None:
    data = tmp_path / "5300"
    key = served["c"].credentials["2900"]["admin"]
    args = ["join", "--label", "customs-5300", "--customs-code", "5300", "--data-dir", str(data)]
    args += ["--gateway-url", "https://gw.5300.example", "--gateway", served["urls"]["2900"]]
    result = CliRunner().invoke(main, [*args, "--api-key", key, "--json"])
    joined = json_of(result)
    assert joined["operation"]["status"] == "confirmed"
    assert (data / "keys" / "account.key").stat().st_mode & 0o077 == 0
    proposals = json_of(admin(served, "3100", "proposals", "--json"))["proposals"]
    mine = next(p for p in proposals if p["member"] == "customs-5300")
    assert (mine["status"], mine["customsCode"], mine["approvals"]) == ("open", "5300", 1)
    json_of(admin(served, "3100", "vote", str(mine["id"]), "--json"))
    members = json_of(admin(served, "4600", "members", "--json"))["members"]
    new = next(m for m in members if m["label"] == "customs-5300")
    assert (new["status"], new["customsCode"], new["encryptionKey"]) == ("active", "5300", True)
    assert new["accounts"] == [joined["account"]] and new["gatewayUrl"] == "https://gw.5300.example"
