"""`crossreturn platform` against the demo consortium served on loopback: apply from a CEB625
return list and from canonical JSON (signed with a keystore), follow returns with `status`,
and every bad input — unreadable or malformed files, a wrong password, a gateway that is down,
an unknown or revoked key — refused with one line on stderr and its documented exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clients.cli.common import EXIT_AUTH, EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE
from clients.records import canonical
from node_gateway.cli.main import main
from node_gateway.run.local_consortium import PLATFORM, free_base_port
from node_gateway.services.auth import issue_key, revoke
from tests.utils.ceb import ceb625
from tests.utils.served import CENTRE, NINGBO, ZHENGZHOU, Served


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with Served.running(tmp_path_factory.mktemp("consortium")) as s:
        yield s


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("files")


@pytest.fixture(scope="module")
def keystore(served: Served, files: Path) -> list[str]:
    """--keystore and --password-file of the platform's keystore."""
    path, password = served.keystore(files)
    return ["--keystore", str(path), "--password-file", str(password)]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("GATEWAY", "API_KEY", "ORIGIN", "ORIGIN_API_KEY", "KEYSTORE_PASSWORD"):
        monkeypatch.delenv(f"CROSSRETURN_{name}", raising=False)
    return CliRunner()


def apply_args(served: Served, origin: str = NINGBO) -> list[str]:
    """Where `platform apply` sends: the return centre, and the case's origin."""
    return [
        *served.gateway_args(CENTRE, "platform"),
        "--origin",
        served.urls[origin],
        "--origin-api-key",
        served.key(origin, "platform"),
    ]


def flat(text: str) -> str:
    """Rich output without its wrapping: no whitespace, no box characters."""
    return "".join(ch for ch in text if not ch.isspace() and not "\u2500" <= ch <= "\u257f")


def assert_refused(result: Result, code: int, *fragments: str) -> str:
    """The command failed with `code`, one `error:` line on stderr naming `fragments`, and no
    traceback anywhere."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines[0]


def centre_operation(served: Served, rid: str) -> dict[str, Any]:
    """The operation that applied return `rid`, as the return centre reports it."""
    with served.client(CENTRE, "platform") as centre:
        (document,) = centre.get_return(rid)["documents"]
        return dict(document["operation"])


# ---------------------------------------------------------------------- apply


def test_apply_ceb625_confirms_and_shows_outcome(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    (a,) = served.anchored(1)
    path = files / "return.xml"
    path.write_text(ceb625([served.application(a, (1, 2))]))
    result = runner.invoke(main, ["platform", "apply", str(path), *apply_args(served), *keystore])
    assert result.exit_code == EXIT_OK, result.output
    out = result.stdout
    assert f"return application {a.invt_no}" in out
    assert "confirmed" in out and "applied" in out and "1, 2" in out
    with served.client(NINGBO, "platform") as origin:
        case_id = origin.lookup_case(a.invt_no)["caseId"]
    with served.client(CENTRE, "platform") as centre:
        (row,) = [r for r in centre.iter_returns() if r["caseId"] == case_id]
    assert row["state"] == "applied" and row["lines"] == [1, 2]
    operation = centre_operation(served, row["returnId"])
    assert row["returnId"] in flat(out) and operation["txHash"] in flat(out)
    assert f"block{operation['block']}" in flat(out)


def test_apply_json_list_prints_each_result_as_json(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    first, second = served.anchored(2, code=ZHENGZHOU)
    path = files / "returns.json"
    records = [served.application(first, (1,)), served.application(second, (2, 3))]
    path.write_text(json.dumps([canonical(r) for r in records], ensure_ascii=False))
    args = ["platform", "apply", str(path), *apply_args(served, ZHENGZHOU), *keystore, "--json"]
    result = runner.invoke(main, args)
    assert result.exit_code == EXIT_OK, result.output
    results = json.loads(result.stdout)
    assert [r["invtNo"] for r in results] == [first.invt_no, second.invt_no]
    assert [r["lines"] for r in results] == [[1], [2, 3]]
    for r in results:
        assert r["operation"]["status"] == "confirmed" and r["operation"]["block"] > 0
        assert r["operation"]["txHash"].startswith("0x") and r["state"] == "applied"


def test_apply_no_wait_returns_accepted_operation(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    (a,) = served.anchored(1)
    path = files / "no-wait.json"
    path.write_text(json.dumps(canonical(served.application(a, (3,))), ensure_ascii=False))
    args = ["platform", "apply", str(path), *apply_args(served), *keystore, "--no-wait", "--json"]
    result = runner.invoke(main, args)
    assert result.exit_code == EXIT_OK, result.output
    (r,) = json.loads(result.stdout)
    assert r["state"] is None and r["operation"]["kind"] == "open_and_apply"
    with served.client(CENTRE, "platform") as centre:
        assert centre.wait(r["operation"])["status"] == "confirmed"


def test_apply_same_lines_again_refused_with_problem_code(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    (a,) = served.anchored(1)
    path = files / "twice.xml"
    path.write_text(ceb625([served.application(a, (1,))]))
    args = ["platform", "apply", str(path), *apply_args(served), *keystore]
    assert runner.invoke(main, args).exit_code == EXIT_OK
    assert_refused(runner.invoke(main, args), EXIT_REFUSED, "pieces_exceed_declared", "(409)")


# ---------------------------------------------------------------------- status


@pytest.fixture(scope="module")
def applied(served: Served) -> str:
    (a,) = served.anchored(1)
    rid, _ = served.applied(a, (1, 2))
    return rid


def test_status_of_return_shows_state_lines_and_document_digests(
    served: Served, applied: str, runner: CliRunner
) -> None:
    args = ["platform", "status", applied, *served.gateway_args(CENTRE, "platform")]
    view = json.loads(runner.invoke(main, [*args, "--json"]).stdout)
    assert view["ledger"]["state"] == "applied" and view["ledger"]["lines"] == [1, 2]
    (document,) = view["documents"]
    assert document["docType"] == "return_application"
    result = runner.invoke(main, args)
    assert result.exit_code == EXIT_OK, result.output
    assert document["digest"] in flat(result.stdout) and applied in flat(result.stdout)
    assert "applied" in result.stdout and "return_application" in result.stdout


def test_status_all_lists_own_returns(served: Served, applied: str, runner: CliRunner) -> None:
    args = ["platform", "status", "--all", "--state", "applied"]
    args += served.gateway_args(CENTRE, "platform")
    rows = json.loads(runner.invoke(main, [*args, "--json"]).stdout)
    assert applied in [r["returnId"] for r in rows]
    assert {r["state"] for r in rows} == {"applied"}
    result = runner.invoke(main, args)
    assert result.exit_code == EXIT_OK and f"{len(rows)} return" in result.stdout


def test_status_without_return_or_all_is_usage_error(served: Served, runner: CliRunner) -> None:
    result = runner.invoke(main, ["platform", "status", *served.gateway_args(CENTRE, "platform")])
    assert_refused(result, EXIT_USAGE, "RETURN_ID or --all")


def test_status_of_unknown_return_not_found(served: Served, runner: CliRunner) -> None:
    args = ["platform", "status", "0x" + "ab" * 32, *served.gateway_args(CENTRE, "platform")]
    assert_refused(runner.invoke(main, args), EXIT_REFUSED, "not_found (404)")


# ---------------------------------------------------------------------- bad input


def test_apply_unreadable_file_exits_2(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    missing = files / "absent.xml"
    result = runner.invoke(
        main, ["platform", "apply", str(missing), *apply_args(served), *keystore]
    )
    assert_refused(result, EXIT_USAGE, str(missing), "cannot read")


def test_apply_malformed_xml_exits_2(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    path = files / "broken.xml"
    path.write_text("<ceb:CEB625Message><unclosed>")
    result = runner.invoke(main, ["platform", "apply", str(path), *apply_args(served), *keystore])
    assert_refused(result, EXIT_USAGE, str(path), "problem")


def test_apply_invalid_ceb625_lists_element_paths(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    (a,) = served.anchored(1)
    xml = ceb625([served.application(a, (1,))])
    path = files / "invalid.xml"
    path.write_text(xml.replace("<ceb:qty>", "<ceb:qty>-", 1))
    result = runner.invoke(main, ["platform", "apply", str(path), *apply_args(served), *keystore])
    assert_refused(result, EXIT_USAGE, "/CEB625Message/InvtRefund[1]/InvtRefundList[1]/qty")


def test_apply_invalid_json_record_lists_pointers(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    (a,) = served.anchored(1)
    doc = canonical(served.application(a, (1,)))
    doc["lines"][0]["qty"] = 0
    doc["customsCode"] = "31"
    path = files / "invalid.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    result = runner.invoke(main, ["platform", "apply", str(path), *apply_args(served), *keystore])
    assert_refused(result, EXIT_USAGE, "2 problems", "/lines/0/qty", "/customsCode")


def test_apply_to_another_return_centre_exits_2(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    (a,) = served.anchored(1)
    record = served.application(a, (1,)).model_copy(update={"return_centre_code": "4600"})
    path = files / "elsewhere.xml"
    path.write_text(ceb625([record]))
    result = runner.invoke(main, ["platform", "apply", str(path), *apply_args(served), *keystore])
    assert_refused(result, EXIT_USAGE, "return centre 4600", "is 2900")


def test_apply_wrong_keystore_password_exits_4(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    (a,) = served.anchored(1)
    path = files / "wrong-password.xml"
    path.write_text(ceb625([served.application(a, (1,))]))
    wrong = files / "wrong.txt"
    wrong.write_text("not the password\n")
    args = ["platform", "apply", str(path), *apply_args(served), *keystore[:2]]
    result = runner.invoke(main, [*args, "--password-file", str(wrong)])
    assert_refused(result, EXIT_AUTH, "wrong password")
    # The prompt, when no file or environment gives it, is refused the same way.
    result = runner.invoke(main, args, input="also wrong\n")
    assert result.exit_code == EXIT_AUTH and "wrong password" in result.stderr


def test_apply_gateway_down_exits_3(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    (a,) = served.anchored(1)
    path = files / "down.xml"
    path.write_text(ceb625([served.application(a, (1,))]))
    down = f"http://127.0.0.1:{free_base_port(1)}"
    args = ["platform", "apply", str(path), *apply_args(served), *keystore, "--gateway", down]
    assert_refused(runner.invoke(main, args), EXIT_UNAVAILABLE, down, "unreachable")


def test_status_unknown_api_key_exits_4(served: Served, runner: CliRunner) -> None:
    args = ["platform", "status", "--all", "--gateway", served.urls[CENTRE]]
    result = runner.invoke(main, [*args, "--api-key", "cr_0_unknown"])
    assert_refused(result, EXIT_AUTH, "unauthenticated (401)")


def test_apply_revoked_api_key_exits_4(
    served: Served, files: Path, keystore: list[str], runner: CliRunner
) -> None:
    conn = served.consortium.gateways[CENTRE].connections.get()
    key_id, key = issue_key(conn, PLATFORM, "platform")
    assert revoke(conn, key_id)
    (a,) = served.anchored(1)
    path = files / "revoked.xml"
    path.write_text(ceb625([served.application(a, (1,))]))
    args = ["platform", "apply", str(path), *apply_args(served), *keystore, "--api-key", key]
    assert_refused(runner.invoke(main, args), EXIT_AUTH, "unauthenticated (401)")
