"""The operator's commands against a running gateway under load: `crossreturn admin keys create /
revoke / list`, `admin anchoring` and `admin rotate-vault-key` run as their own processes on the
database of a `crossreturn serve` gateway that is ingesting tax records and carrying returns,
then the gateway is SIGKILLed and restarted (tests/reliability/harness.py for the load and the
audit).

Each round checks what an operator relies on: the first request after `keys create` returns is
admitted and the first after `keys revoke` returns is refused (no restart, no cache to wait
for); the gateway holds no deleted database file open (the lost-WAL defect: SQLite in the
command's process deleted `-wal` and `-shm` under the gateway, and records answered 202 were
gone after the next crash); after all rounds every record answered 202 is in the vault and
anchored exactly once, and every return step is on the ledger exactly once.

`make test` runs 2 rounds; `make soak` (CROSSRETURN_SOAK=1) runs CROSSRETURN_SOAK_ADMIN_ROUNDS
(default 20) and reports the figures.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from clients.errors import ApiError
from clients.http import GatewayClient
from tests.reliability.harness import CENTRE, ORIGIN, Workload, assert_clean, audit, quiesce, report
from tests.utils.anvil_network import AnvilNetwork, cli, wait_for

SOAK = os.environ.get("CROSSRETURN_SOAK") == "1"
ROUNDS = int(os.environ.get("CROSSRETURN_SOAK_ADMIN_ROUNDS", "20")) if SOAK else 2

pytestmark = pytest.mark.timeout(3600 if SOAK else 600)


def deleted_database_files(net: AnvilNetwork, code: str) -> list[str]:
    """Database files of `code`'s gateway that its processes hold open although they were
    deleted (each process of its process group, read from /proc/<pid>/fd)."""
    group = net.procs[code].pid  # started with start_new_session: the group is its pid
    database = str(net.database(code))
    held = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != group:
                continue
            links = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
        except OSError:  # the process ended meanwhile
            continue
        held += [f"{proc.name}: {link}" for link in links if link.startswith(database)]
    return [line for line in held if line.endswith("(deleted)")]


def first_answer(net: AnvilNetwork, code: str, key: str) -> tuple[int, float]:
    """The status of the first `whoami` with `key` (200 or the refusal's) and its seconds."""
    started = time.monotonic()
    with GatewayClient(net.urls[code], key, retries=1, timeout=30) as client:
        try:
            client.whoami()
            status = 200
        except ApiError as exc:
            status = exc.status
    return status, time.monotonic() - started


def admin_round(net: AnvilNetwork, code: str, n: int, figures: Counter[str]) -> dict[str, Any]:
    """One round of the operator's commands on `code`'s database while its gateway runs."""
    db = str(net.database(code))
    created = cli(
        "admin", "keys", "create", "--db", db, "--member", f"customs-{code}",
        "--role", "officer", "--json",
    )  # fmt: skip
    admitted, admit_s = first_answer(net, code, created["key"])
    listed = cli("admin", "keys", "list", "--db", db).split()
    cli("admin", "keys", "revoke", "--db", db, created["keyId"])
    refused, refuse_s = first_answer(net, code, created["key"])
    cli("admin", "anchoring", "--db", db, "--json")
    if n % 2 == 0:
        rotate = ["admin", "rotate-vault-key", "--db", db, "--keys-dir"]
        rotate += [str(net.data_dir(code) / "keys"), "--json"]
        if n % 4 == 2:
            rotate.append("--retire-old")
        cli(*rotate)
        figures["rotations"] += 1
    figures["commands"] += 5 + (n % 2 == 0)
    return {
        "admitted": admitted,
        "admitS": admit_s,
        "listed": created["keyId"] in listed,
        "refused": refused,
        "refuseS": refuse_s,
        "deletedFilesHeld": deleted_database_files(net, code),
    }


def test_admin_commands_under_load_take_effect_at_once_and_lose_nothing(
    net: AnvilNetwork, workload: Workload
) -> None:
    wait_for(lambda: workload.counts()["steps"] > 0, "the first return step", 120)
    figures: Counter[str] = Counter()
    rounds = []
    started = time.monotonic()
    for n in range(ROUNDS):
        code = (ORIGIN, CENTRE)[n % 2] if n >= 2 else ORIGIN  # the ingesting origin first
        done = admin_round(net, code, n, figures)
        rounds.append(done)
        assert done["admitted"] == 200, f"round {n}: a new key was refused: {done}"
        assert done["listed"], f"round {n}: keys list does not show the new key"
        assert done["refused"] == 401, f"round {n}: a revoked key was answered: {done}"
        assert done["deletedFilesHeld"] == [], f"round {n}: {done['deletedFilesHeld']}"
        net.kill(code)
        figures["kills"] += 1
        net.start(code)
        net.wait_ready(code, timeout=120)
    time.sleep(2)  # load goes on after the last restart
    workload.stop()
    assert workload.errors == []
    quiesce(net, workload)
    result = audit(net, workload)
    report(
        "admin-under-load",
        {
            "rounds": ROUNDS,
            **figures,
            "seconds": round(time.monotonic() - started, 1),
            "maxAdmitS": round(max(r["admitS"] for r in rounds), 3),
            "maxRefuseS": round(max(r["refuseS"] for r in rounds), 3),
            **result.summary(),
        },
    )
    assert_clean(result)
