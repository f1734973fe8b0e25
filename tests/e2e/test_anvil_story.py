"""The cross-area story on a real JSON-RPC node, every party in its own OS process: anvil
(pinned from npm) with its chain in a state file; the contracts deployed by `crossreturn
deploy`; Hangzhou (2900), Ningbo (3100, automatic recognition) and Zhengzhou (4600, officers
recognise) each a `crossreturn serve` process; the return enterprise (`crossreturn platform`)
and the auditor (`crossreturn auditor`, reading the node itself) as client processes.

Then anvil is stopped — readiness goes red, a write is still accepted into the outbox — and
restarted from its state file: the chain is the same (head block hash, contract state) and
the story goes on, the queued write landing. Every process started here is stopped here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from clients.http import GatewayClient
from clients.records import canonical
from clients.records.samples import sample_return_application, sample_tax_assessment
from node_gateway.consortium import free_base_port
from node_gateway.ledger.anvil import DEV_KEY, AnvilNode
from node_gateway.services.auth import issue_key
from node_gateway.store import migrate, open_db
from tests.utils.anvil import AUDITOR, PLATFORM, key_of, write_founders

AREAS = {  # code -> (role, recognition)
    "2900": ("return_centre", "officer"),
    "3100": ("origin", "automatic"),
    "4600": ("origin", "officer"),
}
ROLES = ("system", "officer", "platform", "auditor")
PASSWORD = "correct horse battery staple"


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "node_gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    assert done.returncode == 0, f"{args[:3]}: {done.stderr}{done.stdout}"
    return json.loads(done.stdout) if "--json" in args else done.stdout


def _wait(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@dataclass
class Network:
    root: Path
    anvil: AnvilNode
    manifest: Path
    urls: dict[str, str] = field(default_factory=dict)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def client(self, code: str, role: str) -> GatewayClient:
        return GatewayClient(self.urls[code], self.keys[code][role])

    def ready(self, code: str) -> int:
        try:
            return httpx.get(self.urls[code] + "/ready", timeout=5).status_code
        except httpx.HTTPError:
            return 0

    def platform_env(self, origin: str) -> dict[str, str]:
        return {
            "CROSSRETURN_GATEWAY": self.urls["2900"],
            "CROSSRETURN_API_KEY": self.keys["2900"]["platform"],
            "CROSSRETURN_ORIGIN": self.urls[origin],
            "CROSSRETURN_ORIGIN_API_KEY": self.keys[origin]["platform"],
            "CROSSRETURN_KEYSTORE": str(self.root / "platform.keystore.json"),
            "CROSSRETURN_KEYSTORE_PASSWORD": PASSWORD,
        }

    def officer_env(self, code: str) -> dict[str, str]:
        return {
            "CROSSRETURN_GATEWAY": self.urls[code],
            "CROSSRETURN_API_KEY": self.keys[code]["officer"],
            "CROSSRETURN_OFFICER": f"{code}0007",
        }


def _start_gateway(net: Network, code: str, port: int) -> None:
    role, recognition = AREAS[code]
    data = net.root / "areas" / code
    key_file = net.root / "keys" / f"{code}.key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key_of(f"customs-{code}").hex() + "\n")
    # API keys, as the area's admin issues them (`crossreturn admin keys create`, in-process
    # here to keep the test short; tests/gateway/test_auth.py runs the command itself).
    data.mkdir(parents=True, exist_ok=True)
    conn = open_db(data / f"gateway-{code}.db")
    try:
        migrate(conn)
        net.keys[code] = {
            role_name: issue_key(
                conn,
                {"platform": PLATFORM[0], "auditor": AUDITOR}.get(role_name, f"customs-{code}"),
                role_name,
            )[1]
            for role_name in ROLES
        }
    finally:
        conn.close()
    env = {
        **os.environ,
        "CROSSRETURN_AREA_LABEL": f"customs-{code}",
        "CROSSRETURN_CUSTOMS_CODE": code,
        "CROSSRETURN_ROLE": role,
        "CROSSRETURN_RECOGNITION": recognition,
        "CROSSRETURN_LEDGER": net.anvil.url,
        "CROSSRETURN_DEPLOYMENT_FILE": str(net.manifest),
        "CROSSRETURN_DATA_DIR": str(data),
        "CROSSRETURN_PRIVATE_KEY_FILE": str(key_file),
        "CROSSRETURN_PORT": str(port),
        "CROSSRETURN_BATCH_SIZE": "8",
        "CROSSRETURN_BATCH_INTERVAL_MS": "200",
    }
    log = (net.root / f"gateway-{code}.log").open("wb")
    net.procs[code] = subprocess.Popen(
        [sys.executable, "-m", "node_gateway.cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    net.urls[code] = f"http://127.0.0.1:{port}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("anvil-story")
    with AnvilNode(root / "anvil-state.json") as anvil:
        files = write_founders(root / "founding", DEV_KEY, ".json")
        manifest = root / "deployment.json"
        _cli(
            "deploy", "--rpc", anvil.url, "--founders", str(files.founders),
            "--funder-key-file", str(files.funder_key), "--out", str(manifest), "--json",
        )  # fmt: skip
        network = Network(root, anvil, manifest)
        try:
            base = free_base_port(len(AREAS))
            for i, code in enumerate(AREAS):
                _start_gateway(network, code, base + i)
            for code in AREAS:
                _wait(lambda c=code: network.ready(c) == 200, f"gateway {code} ready")  # type: ignore[misc]
            yield network
        finally:
            for proc in network.procs.values():
                _stop(proc)


def _release(net: Network, code: str, serials: range) -> list[Any]:
    """The origin's system releases inventory lists (tax assessments) over its API."""
    now = datetime.now(UTC)
    assessments = [
        sample_tax_assessment(serial, code, lines=3).model_copy(
            update={"release_time": now - timedelta(days=1, seconds=serial)}
        )
        for serial in serials
    ]
    with net.client(code, "system") as system:
        system.submit_tax_records(
            [{"platform": PLATFORM[0], "record": canonical(a)} for a in assessments]
        )
    return assessments


def _apply(net: Network, origin: str, assessment: Any, gnums: list[int], name: str) -> str:
    """The return enterprise applies — its own process, signing with its keystore."""
    application = sample_return_application(assessment, gnums=gnums).model_copy(
        update={"applied_time": datetime.now(UTC)}
    )
    path = net.root / f"{name}.json"
    path.write_text(json.dumps(canonical(application), ensure_ascii=False))
    result = _cli("platform", "apply", str(path), "--json", env=net.platform_env(origin))
    results = result if isinstance(result, list) else [result]
    return str(results[0]["returnId"])


def _state(net: Network, code: str, return_id: str) -> str | None:
    with net.client(code, "officer") as officer:
        try:
            view = officer.get_return(return_id)
        except Exception:
            return None
    return (view.get("ledger") or {}).get("state")


def test_deploy_wrote_the_manifest_the_gateways_run_on(net: Network) -> None:
    manifest = json.loads(net.manifest.read_text())
    assert manifest["chainId"] == net.anvil.chain_id
    assert set(manifest["addresses"]) == {"Consortium", "TaxAnchor", "ReturnLedger"}
    with net.client("2900", "officer") as officer:
        assert officer.whoami()["gateway"]["customsCode"] == "2900"


def test_returns_cross_areas_with_every_party_in_its_own_process(net: Network) -> None:
    raw_key = net.root / "platform.key"
    raw_key.write_text(key_of(PLATFORM[0]).hex())
    _cli(
        "platform", "keystore", "create", "--out", str(net.root / "platform.keystore.json"),
        "--from-key-file", str(raw_key), "--json", env={"CROSSRETURN_KEYSTORE_PASSWORD": PASSWORD},
    )  # fmt: skip
    ningbo = _release(net, "3100", range(1, 4))
    zhengzhou = _release(net, "4600", range(1, 4))
    auto = _apply(net, "3100", ningbo[0], [1, 2], "ningbo-1")
    manual = _apply(net, "4600", zhengzhou[0], [1], "zhengzhou-1")
    for rid in (auto, manual):
        _cli("officer", "arrive", rid, "--json", env=net.officer_env("2900"))
    _cli("officer", "inspect", auto, "--accept", "1,2", "--json", env=net.officer_env("2900"))
    _cli("officer", "inspect", manual, "--accept", "1", "--json", env=net.officer_env("2900"))
    # Ningbo recognises and settles by itself; Zhengzhou's officer recognises and settles.
    _wait(lambda: _state(net, "3100", auto) == "settled", "Ningbo's automatic settlement", 90)
    _cli("officer", "recognize", manual, "--json", env=net.officer_env("4600"))
    _cli("officer", "settle", manual, "--kind", "not_levied", "--json", env=net.officer_env("4600"))
    assert _state(net, "2900", manual) in ("settled", "recognized")
    _wait(lambda: _state(net, "2900", manual) == "settled", "the settlement at the centre")
    net.state.update(auto=auto, manual=manual, ningbo=ningbo, zhengzhou=zhengzhou)


def test_auditor_process_traces_against_the_node_itself(net: Network) -> None:
    if "auto" not in net.state:
        pytest.fail("the story did not run")
    args = ["auditor", "trace", net.state["auto"], "--rpc", net.anvil.url, "--json"]
    args += ["--gateway", net.urls["3100"], "--api-key", net.keys["3100"]["auditor"]]
    args += ["--area-key", f"2900={net.keys['2900']['auditor']}"]
    trace = _cli(*args)
    assert trace["summary"]["failed"] == 0 and trace["summary"]["verified"] >= 6, trace["summary"]
    events = [s["event"] for s in trace["steps"] if s["event"] != "DisclosureLogged"]
    assert events[0] == "RootAnchored" and events[-1] == "LinesSettled", events


def _rpc(url: str, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return httpx.post(url, json=body, timeout=10).json()["result"]


def test_node_restart_from_its_state_file_keeps_the_chain_and_the_story_goes_on(
    net: Network,
) -> None:
    if "manual" not in net.state:
        pytest.fail("the story did not run")
    head = int(_rpc(net.anvil.url, "eth_blockNumber"), 16)
    head_hash = _rpc(net.anvil.url, "eth_getBlockByNumber", hex(head), False)["hash"]
    net.anvil.stop()
    for code in AREAS:
        _wait(lambda c=code: net.ready(c) == 503, f"gateway {code} to report not ready")  # type: ignore[misc]
    # Writes are still accepted into the outbox while the node is down.
    queued = _release(net, "3100", range(10, 12))
    net.anvil.restart()
    assert _rpc(net.anvil.url, "eth_getBlockByNumber", hex(head), False)["hash"] == head_hash
    for code in AREAS:
        _wait(lambda c=code: net.ready(c) == 200, f"gateway {code} ready again", 90)  # type: ignore[misc]
    # Contract state survived: the settled return is still settled on the ledger itself.
    assert _state(net, "2900", net.state["manual"]) == "settled"
    # The queued records get anchored, and a return over one of them runs its first steps.
    rid = _apply(net, "3100", queued[0], [3], "after-restart")
    _cli("officer", "arrive", rid, "--json", env=net.officer_env("2900"))
    _wait(lambda: _state(net, "2900", rid) == "arrived", "the arrival after the restart")
