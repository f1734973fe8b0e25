"""The client commands against `crossreturn up` itself — the consortium `make up` runs — in its
own OS process on loopback, each command in its own process too, configured only by the env
files `up` writes: an officer works the queue, the platform checks its returns, an admin
lists the members, an auditor reports (the pilot's report card) and traces a case."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node_gateway.run.local_consortium import free_base_port
from tests.utils.processes import stop_group

START_TIMEOUT_S = 240


def _env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("up") / "consortium"
    log = (data.parent / "up.log").open("w")
    cmd = [sys.executable, "-m", "node_gateway", "up", "--data-dir", str(data)]
    cmd += ["--base-port", str(free_base_port()), "--records", "60"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Ctrl-C stops" not in (data.parent / "up.log").read_text():
            assert proc.poll() is None, (data.parent / "up.log").read_text()
            assert time.monotonic() < deadline, "crossreturn up did not start"
            time.sleep(0.5)
        yield {"env": data / "env"}
    finally:
        stop_group(proc, signal.SIGINT, timeout=30)
        log.close()


def _run(up: dict[str, Any], who: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **_env_file(up["env"] / f"{who}.env"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "node_gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def test_up_writes_one_env_file_per_user(up: dict[str, Any]) -> None:
    names = sorted(p.name for p in up["env"].glob("*.env"))
    assert "auditor.env" in names and "officer-2900.env" in names and "platform-3100.env" in names
    assert all((up["env"] / n).stat().st_mode & 0o077 == 0 for n in names)


def test_officer_works_the_queue_at_the_return_centre(up: dict[str, Any]) -> None:
    queue = _json(_run(up, "officer-2900", "officer", "queue", "--state", "applied", "--json"))
    rows = queue["applied"]
    assert rows, queue
    return_id = rows[0]["returnId"]
    arrived = _json(_run(up, "officer-2900", "officer", "arrive", return_id, "--json"))
    assert "arrived" in json.dumps(arrived)


def test_platform_sees_its_returns(up: dict[str, Any]) -> None:
    status = _json(_run(up, "platform-3100", "platform", "status", "--all", "--json"))
    assert status and all("returnId" in r for r in status)


def test_admin_lists_the_members(up: dict[str, Any]) -> None:
    body = _json(_run(up, "admin-2900", "admin", "members", "--json"))
    assert len(body["members"]) == 5 and body["threshold"] == 2


def test_auditor_reports_the_card_and_traces_a_case(up: dict[str, Any]) -> None:
    now = int(time.time())
    report = _json(
        _run(
            up,
            "auditor",
            "auditor",
            "report",
            "--from",
            str(now - 30 * 86_400),
            "--to",
            str(now + 86_400),
            "--json",
        )
    )
    card = report["reportCard"]
    assert card["returnsInspected"] > 0 and card["piecesReleased"] > 0 and card["valueKnown"]
    assert report["valuesUnverified"] == []
    case = report["totals"][0]["cases"][0]
    trace = _json(_run(up, "auditor", "auditor", "trace", case, "--json"))
    assert trace["caseId"] == case and trace["summary"]["failed"] == 0
    assert trace["summary"]["verified"] >= 2
    table = _run(up, "auditor", "auditor", "report", "--from", str(now - 30 * 86_400), "--to",
                 str(now + 86_400))  # fmt: skip
    assert table.returncode == 0 and "Report card" in table.stdout
