"""A consortium on anvil with every customs area's gateway a `crossreturn serve` process: the
way areas run in production. Used by the anvil story (tests/e2e) and the crash and outage
harness (tests/reliability). Every process started here is stopped by `AnvilNetwork.close`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from clients.http import GatewayClient
from node_gateway.ledger.backends.anvil import DEV_KEY, AnvilNode
from node_gateway.run.local_consortium import free_base_port
from node_gateway.services.auth import issue_key
from node_gateway.store import migrate, open_db
from tests.utils.anvil import AUDITOR, PLATFORM, key_of, write_founders
from tests.utils.processes import stop_group

ROLES = ("system", "officer", "platform", "auditor")
Areas = dict[str, tuple[str, str]]  # customs code -> (role, recognition)


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    """Run `crossreturn ARGS` as its own process; its JSON (with --json) or its output."""
    done = subprocess.run(
        [sys.executable, "-m", "node_gateway", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    assert done.returncode == 0, f"{args[:3]}: {done.stderr}{done.stdout}"
    return json.loads(done.stdout) if "--json" in args else done.stdout


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@dataclass
class AnvilNetwork:
    """anvil, the deployment manifest, and one gateway process per area."""

    root: Path
    anvil: AnvilNode
    manifest: Path
    areas: Areas
    settings: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def running(
        cls, root: Path, areas: Areas, settings: dict[str, str] | None = None
    ) -> Iterator[AnvilNetwork]:
        """anvil with its chain in a state file under `root`, the contracts deployed by
        `crossreturn deploy`, every area's gateway serving and ready; all stopped on exit."""
        with AnvilNode(root / "anvil-state.json") as anvil:
            files = write_founders(root / "founding", DEV_KEY, ".json")
            manifest = root / "deployment.json"
            cli(
                "deploy", "--rpc", anvil.url, "--founders", str(files.founders),
                "--funder-key-file", str(files.funder_key), "--out", str(manifest), "--json",
            )  # fmt: skip
            net = cls(root, anvil, manifest, areas, dict(settings or {}))
            try:
                base = free_base_port(len(areas))
                for i, code in enumerate(areas):
                    net.ports[code] = base + i
                    net.urls[code] = f"http://127.0.0.1:{base + i}"
                    net._issue_keys(code)
                    net.start(code)
                for code in areas:
                    net.wait_ready(code)
                yield net
            finally:
                net.close()

    # ------------------------------------------------------------ processes

    def data_dir(self, code: str) -> Path:
        """Area `code`'s gateway data directory."""
        return self.root / "areas" / code

    def database(self, code: str) -> Path:
        """Area `code`'s gateway database file."""
        return self.data_dir(code) / f"gateway-{code}.db"

    def _issue_keys(self, code: str) -> None:
        # API keys, as the area's admin issues them (`crossreturn admin keys create`, in-process
        # here to keep tests short; tests/gateway/test_auth.py runs the command itself).
        key_file = self.root / "keys" / f"{code}.key"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key_of(f"customs-{code}").hex() + "\n")
        conn = open_db(self.database(code))
        try:
            migrate(conn)
            self.keys[code] = {
                role: issue_key(
                    conn,
                    {"platform": PLATFORM[0], "auditor": AUDITOR}.get(role, f"customs-{code}"),
                    role,
                )[1]
                for role in ROLES
            }
        finally:
            conn.close()

    def start(self, code: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start area `code`'s gateway process (`env` added to its environment)."""
        role, recognition = self.areas[code]
        settings = {
            "CROSSRETURN_AREA_LABEL": f"customs-{code}",
            "CROSSRETURN_CUSTOMS_CODE": code,
            "CROSSRETURN_ROLE": role,
            "CROSSRETURN_RECOGNITION": recognition,
            "CROSSRETURN_LEDGER": self.anvil.url,
            "CROSSRETURN_DEPLOYMENT_FILE": str(self.manifest),
            "CROSSRETURN_DATA_DIR": str(self.data_dir(code)),
            "CROSSRETURN_PRIVATE_KEY_FILE": str(self.root / "keys" / f"{code}.key"),
            "CROSSRETURN_PORT": str(self.ports[code]),
            "CROSSRETURN_BATCH_SIZE": "8",
            "CROSSRETURN_BATCH_INTERVAL_MS": "200",
            **self.settings,
        }
        log = (self.root / f"gateway-{code}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "node_gateway", "serve"],
            env={**os.environ, **settings, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs[code] = proc
        return proc

    def stop(self, code: str) -> None:
        """Stop area `code`'s gateway cleanly (SIGTERM; SIGKILL after 20 s)."""
        stop_group(self.procs[code])

    def kill(self, code: str) -> None:
        """SIGKILL area `code`'s gateway: no clean-up of any kind."""
        proc = self.procs[code]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def close(self) -> None:
        """Stop every gateway process."""
        for code in self.procs:
            self.stop(code)

    # ------------------------------------------------------------ access

    def ready(self, code: str) -> int:
        """Area `code`'s readiness status (0: not answering)."""
        try:
            return httpx.get(self.urls[code] + "/ready", timeout=5).status_code
        except httpx.HTTPError:
            return 0

    def wait_ready(self, code: str, timeout: float = 90) -> None:
        """Wait until area `code`'s gateway is ready; fail at once, with its log, if its process
        ended, and with its last readiness answer and log if the time runs out."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            proc = self.procs[code]
            if proc.poll() is not None:
                raise AssertionError(
                    f"gateway {code} exited with {proc.returncode}:\n{self.log_tail(code)}"
                )
            try:
                answer = httpx.get(self.urls[code] + "/ready", timeout=5)
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"gateway {code} not ready after {timeout} s (last: {last}):\n"
                    f"{self.log_tail(code)}"
                )
            time.sleep(0.2)

    def log_tail(self, code: str, lines: int = 30) -> str:
        """The last lines area `code`'s gateway wrote."""
        path = self.root / f"gateway-{code}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def client(self, code: str, role: str, **kwargs: Any) -> GatewayClient:
        """An SDK client of area `code`'s gateway with `role`'s key."""
        return GatewayClient(self.urls[code], self.keys[code][role], **kwargs)
