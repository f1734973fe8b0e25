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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clients.records import canonical
from clients.records.samples import sample_return_application, sample_tax_assessment
from tests.utils.anvil import PLATFORM, key_of
from tests.utils.anvil_network import AnvilNetwork, cli, wait_for

AREAS = {  # code -> (role, recognition)
    "2900": ("return_centre", "officer"),
    "3100": ("origin", "automatic"),
    "4600": ("origin", "officer"),
}
PASSWORD = "correct horse battery staple"


def _platform_env(net: AnvilNetwork, origin: str) -> dict[str, str]:
    return {
        "CROSSRETURN_GATEWAY": net.urls["2900"],
        "CROSSRETURN_API_KEY": net.keys["2900"]["platform"],
        "CROSSRETURN_ORIGIN": net.urls[origin],
        "CROSSRETURN_ORIGIN_API_KEY": net.keys[origin]["platform"],
        "CROSSRETURN_KEYSTORE": str(net.root / "platform.keystore.json"),
        "CROSSRETURN_KEYSTORE_PASSWORD": PASSWORD,
    }


def _officer_env(net: AnvilNetwork, code: str) -> dict[str, str]:
    return {
        "CROSSRETURN_GATEWAY": net.urls[code],
        "CROSSRETURN_API_KEY": net.keys[code]["officer"],
        "CROSSRETURN_OFFICER": f"{code}0007",
    }


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNetwork]:
    with AnvilNetwork.running(tmp_path_factory.mktemp("anvil-story"), AREAS) as network:
        yield network


def _release(net: AnvilNetwork, code: str, serials: range) -> list[Any]:
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


def _apply(net: AnvilNetwork, origin: str, assessment: Any, gnums: list[int], name: str) -> str:
    """The return enterprise applies — its own process, signing with its keystore."""
    application = sample_return_application(assessment, gnums=gnums).model_copy(
        update={"applied_time": datetime.now(UTC)}
    )
    path = net.root / f"{name}.json"
    path.write_text(json.dumps(canonical(application), ensure_ascii=False))
    result = cli("platform", "apply", str(path), "--json", env=_platform_env(net, origin))
    results = result if isinstance(result, list) else [result]
    return str(results[0]["returnId"])


def _state(net: AnvilNetwork, code: str, return_id: str) -> str | None:
    with net.client(code, "officer") as officer:
        try:
            view = officer.get_return(return_id)
        except Exception:
            return None
    return (view.get("ledger") or {}).get("state")


def test_deploy_wrote_the_manifest_the_gateways_run_on(net: AnvilNetwork) -> None:
    manifest = json.loads(net.manifest.read_text())
    assert manifest["chainId"] == net.anvil.chain_id
    assert set(manifest["addresses"]) == {"Consortium", "TaxAnchor", "ReturnLedger"}
    with net.client("2900", "officer") as officer:
        assert officer.whoami()["gateway"]["customsCode"] == "2900"


def test_returns_cross_areas_with_every_party_in_its_own_process(net: AnvilNetwork) -> None:
    raw_key = net.root / "platform.key"
    raw_key.write_text(key_of(PLATFORM[0]).hex())
    cli(
        "platform", "keystore", "create", "--out", str(net.root / "platform.keystore.json"),
        "--from-key-file", str(raw_key), "--json", env={"CROSSRETURN_KEYSTORE_PASSWORD": PASSWORD},
    )  # fmt: skip
    ningbo = _release(net, "3100", range(1, 4))
    zhengzhou = _release(net, "4600", range(1, 4))
    auto = _apply(net, "3100", ningbo[0], [1, 2], "ningbo-1")
    manual = _apply(net, "4600", zhengzhou[0], [1], "zhengzhou-1")
    for rid in (auto, manual):
        cli("officer", "arrive", rid, "--json", env=_officer_env(net, "2900"))
    cli("officer", "inspect", auto, "--accept", "1,2", "--json", env=_officer_env(net, "2900"))
    cli("officer", "inspect", manual, "--accept", "1", "--json", env=_officer_env(net, "2900"))
    # Ningbo recognises and settles by itself; Zhengzhou's officer recognises and settles.
    wait_for(lambda: _state(net, "3100", auto) == "settled", "Ningbo's automatic settlement", 90)
    cli("officer", "recognize", manual, "--json", env=_officer_env(net, "4600"))
    cli(
        "officer", "settle", manual, "--kind", "not_levied", "--json", env=_officer_env(net, "4600")
    )
    assert _state(net, "2900", manual) in ("settled", "recognized")
    wait_for(lambda: _state(net, "2900", manual) == "settled", "the settlement at the centre")
    net.state.update(auto=auto, manual=manual, ningbo=ningbo, zhengzhou=zhengzhou)


def test_auditor_process_traces_against_the_node_itself(net: AnvilNetwork) -> None:
    if "auto" not in net.state:
        pytest.fail("the story did not run")
    args = ["auditor", "trace", net.state["auto"], "--rpc", net.anvil.url, "--json"]
    args += ["--gateway", net.urls["3100"], "--api-key", net.keys["3100"]["auditor"]]
    args += ["--area-key", f"2900={net.keys['2900']['auditor']}"]
    trace = cli(*args)
    assert trace["summary"]["failed"] == 0 and trace["summary"]["verified"] >= 6, trace["summary"]
    events = [s["event"] for s in trace["steps"] if s["event"] != "DisclosureLogged"]
    assert events[0] == "RootAnchored" and events[-1] == "LinesSettled", events


def _rpc(url: str, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return httpx.post(url, json=body, timeout=10).json()["result"]


def test_node_restart_from_its_state_file_keeps_the_chain_and_the_story_goes_on(
    net: AnvilNetwork,
) -> None:
    if "manual" not in net.state:
        pytest.fail("the story did not run")
    head = int(_rpc(net.anvil.url, "eth_blockNumber"), 16)
    head_hash = _rpc(net.anvil.url, "eth_getBlockByNumber", hex(head), False)["hash"]
    net.anvil.stop()
    for code in AREAS:
        wait_for(lambda c=code: net.ready(c) == 503, f"gateway {code} to report not ready")  # type: ignore[misc]
    # Writes are still accepted into the outbox while the node is down.
    queued = _release(net, "3100", range(10, 12))
    net.anvil.restart()
    assert _rpc(net.anvil.url, "eth_getBlockByNumber", hex(head), False)["hash"] == head_hash
    for code in AREAS:
        wait_for(lambda c=code: net.ready(c) == 200, f"gateway {code} ready again", 90)  # type: ignore[misc]
    # Contract state survived: the settled return is still settled on the ledger itself.
    assert _state(net, "2900", net.state["manual"]) == "settled"
    # The queued records get anchored, and a return over one of them runs its first steps.
    rid = _apply(net, "3100", queued[0], [3], "after-restart")
    cli("officer", "arrive", rid, "--json", env=_officer_env(net, "2900"))
    wait_for(lambda: _state(net, "2900", rid) == "arrived", "the arrival after the restart")
