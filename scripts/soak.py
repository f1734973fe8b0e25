"""`make soak`: the long variants of the reliability and security tests, and their figures.

Runs tests/reliability (gateways SIGKILLed `--kills` times under load, then a 10 s ledger
outage; `--admin-rounds` rounds of the operator's admin commands on a running gateway's
database, each ending in a SIGKILL; tests/reliability/harness.py) and tests/security
(schemathesis with 500 examples per operation) with CROSSRETURN_SOAK=1, collects the figures
the tests write, prints them, and ends with one JSON object. Exits non-zero if any test failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITES = {"crash": "tests/reliability", "fuzz": "tests/security"}


def run(kills: int, seed: int, admin_rounds: int, only: list[str]) -> dict[str, Any]:
    """Run the soak suites; the figures each one wrote, and pytest's exit code."""
    with tempfile.TemporaryDirectory(prefix="crossreturn-soak-") as report:
        env = {
            **os.environ,
            "CROSSRETURN_SOAK": "1",
            "CROSSRETURN_SOAK_KILLS": str(kills),
            "CROSSRETURN_SOAK_SEED": str(seed),
            "CROSSRETURN_SOAK_ADMIN_ROUNDS": str(admin_rounds),
            "CROSSRETURN_SOAK_REPORT": report,
        }
        started = time.monotonic()
        targets = [SUITES[name] for name in only]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets],
            cwd=ROOT,
            env=env,
            check=False,
        )
        figures: dict[str, Any] = {
            path.stem: json.loads(path.read_text()) for path in sorted(Path(report).glob("*.json"))
        }
    figures["pytestExit"] = done.returncode
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=24, help="SIGKILLs of gateway processes")
    parser.add_argument("--seed", type=int, default=20261127, help="the crash plan's seed")
    parser.add_argument(
        "--admin-rounds", type=int, default=20, help="rounds of admin commands under load"
    )
    parser.add_argument(
        "--only", choices=sorted(SUITES), action="append", help="run one suite (repeatable)"
    )
    args = parser.parse_args()
    if args.kills < 1 or args.admin_rounds < 1:
        parser.error("--kills and --admin-rounds must be at least 1")
    figures = run(args.kills, args.seed, args.admin_rounds, args.only or sorted(SUITES))
    crash = figures.get("crash-recovery", {})
    outage = figures.get("ledger-outage", {})
    admin = figures.get("admin-under-load", {})
    fuzz = figures.get("openapi-fuzz", {})
    if crash:
        print(
            f"crash recovery: {crash['kills']} kills {crash['byMoment']}, "
            f"{crash['acceptedRecords']} records and {crash['acceptedSteps']} return steps "
            f"accepted, lost {crash['lost']}, duplicated {crash['duplicated']}, "
            f"nonce problems {crash['nonceProblems']}, index problems {crash['indexProblems']}"
        )
    if outage:
        print(
            f"ledger outage: {outage['outageS']} s, {outage['recordsAcceptedDuringOutage']} "
            f"records accepted meanwhile, caught up in {outage['caughtUpS']} s, "
            f"lost {outage['lost']}, duplicated {outage['duplicated']}"
        )
    if admin:
        print(
            f"admin under load: {admin['rounds']} rounds, {admin['commands']} commands "
            f"({admin['rotations']} vault key rotations), {admin['kills']} kills; new key "
            f"admitted on the first request (slowest {admin['maxAdmitS']} s), revoked key "
            f"refused on the first (slowest {admin['maxRefuseS']} s); "
            f"{admin['acceptedRecords']} records accepted, lost {admin['lost']}, "
            f"duplicated {admin['duplicated']}"
        )
    if fuzz:
        print(
            f"openapi fuzz: {fuzz['requests']} generated requests over {fuzz['operations']} "
            f"operations, answers {fuzz['answers']}"
        )
    print(json.dumps(figures, sort_keys=True))
    return 0 if figures["pytestExit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
