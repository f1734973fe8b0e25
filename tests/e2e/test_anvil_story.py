"""The cross-area story on a real JSON-RPC node, every party in its own OS process: anvil
(pinned from npm) with its chain in a state file; the contracts deployed by `crossreturn
deploy`; Hangzhou (2900), Ningbo (3100, automatic recognition) and Zhengzhou (4600, officers
recognise) each a `crossreturn serve` process; the return enterprise (`crossreturn platform`)
and the auditor (`crossreturn auditor`, reading the node itself) as client processes.

Then anvil is stopped — readiness goes red, a write is still accepted into the outbox — and
restarted from its state file: the chain is the same (head block hash, contract state) and
the story goes on, the queued write landing. Every process started here is stopped here.

At the end, nothing on the node (transactions, events, every account's storage and code) nor in
any area's database files holds a personal value of a buyer of the released lists, in any of
the encodings or unsalted digests an honest leak would take (tests/utils/privacy.py); and the
same scan of the node finds a buyer's phone then planted in a transaction and in storage.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from eth_account import Account
from web3 import Web3

from clients.bindings import attach_contracts
from clients.records import TaxAssessment, canonical
from clients.records.samples import sample_return_application, sample_tax_assessment
from node_gateway.ledger.backends.anvil import DEV_KEY
from tests.utils.anvil import PLATFORM, key_of
from tests.utils.anvil_network import AnvilNetwork, cli, wait_for
from tests.utils.privacy import needles_of, personal_values, scan, scan_database, three_char_names

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


def _release(net: AnvilNetwork, code: str, serials: range) -> list[TaxAssessment]:
    """The origin's system releases inventory lists (tax assessments) over its API; every one
    released is kept in net.state["released"], for the privacy scan."""
    now = datetime.now(UTC)
    assessments = [
        # Two-character names lengthened: every needle of the privacy scan is >= 6 bytes.
        three_char_names(
            sample_tax_assessment(serial, code, lines=3).model_copy(
                update={"release_time": now - timedelta(days=1, seconds=serial)}
            )
        )
        for serial in serials
    ]
    with net.client(code, "system") as system:
        system.submit_tax_records(
            [{"platform": PLATFORM[0], "record": canonical(a)} for a in assessments]
        )
    net.state.setdefault("released", []).extend(assessments)
    return assessments


def _apply(
    net: AnvilNetwork, origin: str, assessment: TaxAssessment, gnums: list[int], name: str
) -> str:
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


# ---------------------------------------------------------------------- privacy

PLANTED_AT = "0x00000000000000000000000000000000000000ff"  # no account of CrossReturn's
SINK = "0x00000000000000000000000000000000000000fe"
BATCH = 100  # JSON-RPC calls per batch request


def _writes_in_flight(net: AnvilNetwork, code: str) -> int:
    """Area `code`'s outbox rows not yet on the ledger (pending or sent), from its database
    opened read-only."""
    conn = sqlite3.connect(f"{net.database(code).as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        (n,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sent')"
        ).fetchone()
    finally:
        conn.close()
    return int(n)


def _hex(data: str) -> bytes:
    return bytes.fromhex(data.removeprefix("0x"))


def _rpc_all(http: httpx.Client, url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """The results of `calls`, in order, sent as JSON-RPC batches."""
    results: list[Any] = []
    for start in range(0, len(calls), BATCH):
        body = [
            {"jsonrpc": "2.0", "id": start + i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls[start : start + BATCH])
        ]
        answers = sorted(http.post(url, json=body).json(), key=lambda a: int(a["id"]))
        assert all("result" in a for a in answers), [a for a in answers if "result" not in a]
        results += [a["result"] for a in answers]
    return results


def _node_parts(url: str) -> tuple[dict[str, list[bytes]], dict[str, int]]:
    """What the node holds, as byte strings read over its raw JSON-RPC, by where it is:
    every transaction's input in every block, genesis to head (eth_getBlockByNumber with full
    transactions); every log's topics and data (eth_getLogs over the same blocks, every
    address); and for each account of the state at the head (anvil_dumpState: gzipped JSON,
    hex), its storage — each slot's number and value, and the values concatenated in slot
    order, as a string or bytes of 32 bytes or more lies over consecutive slots — and its
    code. With counts of what was read."""
    with httpx.Client(timeout=60) as http:
        (head,) = _rpc_all(http, url, [("eth_blockNumber", [])])
        head = int(head, 16)
        calls = [("eth_getBlockByNumber", [hex(n), True]) for n in range(head + 1)]
        blocks = _rpc_all(http, url, calls)
        calls = [("eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(head)}])]
        (logs,) = _rpc_all(http, url, calls)
        (dump,) = _rpc_all(http, url, [("anvil_dumpState", [])])
    inputs = [_hex(tx["input"]) for block in blocks for tx in block["transactions"]]
    events = [_hex(t) for log in logs for t in log["topics"]] + [_hex(log["data"]) for log in logs]
    parts = {"transaction inputs": inputs, "events": events}
    state = json.loads(gzip.decompress(_hex(dump)))
    slots = 0
    for address, account in state["accounts"].items():
        storage = sorted((_hex(k), _hex(v)) for k, v in account.get("storage", {}).items())
        slots += len(storage)
        if storage:
            values = [value for _, value in storage]
            keys = [key for key, _ in storage]
            parts[f"storage of {address.lower()}"] = [*keys, *values, b"".join(values)]
        if code := _hex(account.get("code") or "0x"):
            parts[f"code of {address.lower()}"] = [code]
    counts = {
        "blocks": head + 1,
        "transactions": len(inputs),
        "logs": len(logs),
        "accounts": len(state["accounts"]),
        "storage slots": slots,
        "bytes": sum(len(p) for ps in parts.values() for p in ps),
    }
    return parts, counts


def _found(parts: dict[str, list[bytes]], needles: dict[bytes, str]) -> dict[str, list[str]]:
    return {where: hits for where, p in parts.items() if (hits := scan(p, needles))}


def _plant_a_phone(net: AnvilNetwork, phone: str) -> None:
    """Write `phone` (UTF-8) on the node: into slot 0 of a throwaway account, padded to 32
    bytes (anvil_setStorageAt), and as the input of a dev-account transaction to another."""
    url = net.anvil.url
    word = phone.encode().ljust(32, b"\0")
    assert _rpc(url, "anvil_setStorageAt", PLANTED_AT, "0x0", "0x" + word.hex()) is True
    dev = Account.from_key(DEV_KEY)
    signed = dev.sign_transaction(
        {
            "nonce": int(_rpc(url, "eth_getTransactionCount", dev.address, "pending"), 16),
            "gasPrice": int(_rpc(url, "eth_gasPrice"), 16),
            "gas": 100_000,
            "to": SINK,
            "value": 0,
            "data": phone.encode(),
            "chainId": net.anvil.chain_id,
        }
    )
    tx_hash = _rpc(url, "eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
    wait_for(lambda: _rpc(url, "eth_getTransactionReceipt", tx_hash) is not None, "the plant")


def test_the_node_and_every_area_hold_no_personal_data(net: AnvilNetwork) -> None:
    """Once every area's outbox is on the ledger: no buyer's personal value of the released
    lists, in any encoding or unsalted digest, in a transaction's input, an event, any
    account's storage or code on the node, nor in any area's database files. Then the
    positive control — after the scan, so the plant cannot fail it: a buyer's phone planted
    in a transaction and in storage is found by the same scan, where it was planted and
    nowhere else. The plant stays on this test chain: the last test of the module."""
    if "released" not in net.state:
        pytest.fail("the story did not run")
    released: list[TaxAssessment] = net.state["released"]
    assert len(released) == 8  # 3 lists of Ningbo's, 3 of Zhengzhou's, 2 while the node was down
    wait_for(
        lambda: all(_writes_in_flight(net, code) == 0 for code in AREAS),
        "every area's outbox to be on the ledger",
    )
    values = personal_values(released)
    needles = needles_of(values)

    parts, counts = _node_parts(net.anvil.url)
    assert counts["transactions"] > 0 and counts["logs"] > 0
    # The scan reaches into Consortium's mapping of member structs: every member's gateway URL
    # (a short string, in its slot) and encryption key (bytes over slots of their own, put
    # back together by the concatenation in slot order) are among the storage it reads.
    addresses = json.loads(net.manifest.read_text())["addresses"]
    consortium = attach_contracts(Web3(Web3.HTTPProvider(net.anvil.url)), addresses).consortium
    storage = parts[f"storage of {addresses['Consortium'].lower()}"]
    profiles = {
        bytes(m[6]): m[7]
        for m in (
            consortium.functions.getMember(i).call()
            for i in consortium.functions.memberIds().call()
        )
    }
    assert set(net.urls.values()) <= set(profiles.values())
    for key, gateway in profiles.items():
        assert all(any(v in p for p in storage) for v in (key, gateway.encode()) if v), gateway
    assert _found(parts, needles) == {}

    files = {code: scan_database(net.data_dir(code), code, needles) for code in AREAS}
    assert {code: found for code, found in files.items() if found} == {}
    counts["database bytes"] = sum(
        p.stat().st_size for code in AREAS for p in net.data_dir(code).glob(f"gateway-{code}.db*")
    )
    net.state["privacy scan"] = counts  # blocks, transactions, logs, slots, bytes read

    # Positive control.
    phone = released[4].buyer.phone
    _plant_a_phone(net, phone)
    parts, _ = _node_parts(net.anvil.url)
    label = f"{values[phone]} in UTF-8"
    where = {w for w, hits in _found(parts, needles).items() if label in hits}
    assert where == {"transaction inputs", f"storage of {PLANTED_AT}"}, "the plant was missed"
