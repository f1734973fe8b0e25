"""The limits of the embedded ledger's read-only JSON-RPC front (`POST /v1/ledger/rpc`,
node_gateway/ledger/backends/read_only_rpc.py):
calls only to the consortium's contracts, gas cut to the cap, a
bounded batch, a time budget per request, one rate-limit token per call of a batch, and no 500
on hostile eth_getLogs params — so that one API key cannot hold the chain's lock that every
gateway of the process shares (issue 16: one BN254 pairing request ran 45 s and every other
gateway's `/ready` waited up to 24 s).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode
from eth_typing import HexStr
from fastapi.testclient import TestClient
from pydantic import ValidationError
from web3 import Web3
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from clients.bindings import MemberKind, attach_contracts, event_record, member_id
from clients.verify import LedgerView
from node_gateway.config import GatewaySettings
from node_gateway.ledger.area_ledger import AreaLedger
from node_gateway.ledger.backends import read_only_rpc as rpc_module
from node_gateway.ledger.backends.read_only_rpc import (
    CALL_REFUSED,
    EXECUTION_FAILED,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    PARSE_ERROR,
    ReadOnlyRpc,
    RpcLimits,
    RpcRefused,
)
from node_gateway.services.rate_limit import RateLimiter
from tests.utils.gateway import CENTRE, NINGBO, ZHENGZHOU, GatewayWorld, assert_problem

RPC = "/v1/ledger/rpc"
TEXT = {"Content-Type": "text/plain"}
ROOT = Path(__file__).resolve().parents[2]
PAIRING = "0x0000000000000000000000000000000000000008"
# One BN254 pairing input (EIP-197): the G1 generator (1, 2) and the G2 generator (x_imag,
# x_real, y_imag, y_real). Six of them cost 249k gas, well within the gas cap, yet ~0.5 s of
# pure-Python work in py-evm here (a call of 28 would fit in 1M gas): such a call must never
# reach the EVM at all.
G1_G2 = (
    "0000000000000000000000000000000000000000000000000000000000000001"
    "0000000000000000000000000000000000000000000000000000000000000002"
    "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
    "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"
    "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
)
SIX_PAIRINGS = "0x" + G1_G2 * 6

_ids = itertools.count(1)


def rpc_request(method: str, *params: Any) -> dict[str, Any]:
    """One JSON-RPC request object with a fresh id."""
    return {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": list(params)}


def call_request(to: str | None, data: str = "0x", **fields: Any) -> dict[str, Any]:
    """An eth_call of `data` at `to` (no `to` key at all when None) on the latest block."""
    tx: dict[str, Any] = {"data": data, **fields}
    if to is not None:
        tx["to"] = to
    return rpc_request("eth_call", tx, "latest")


def post(gw: GatewayWorld, body: Any, code: str = CENTRE, role: str = "auditor") -> Any:
    """POST `body` to area `code`'s front as `role`; the HTTP answer must be 200."""
    r = gw.call(code, role, "POST", RPC, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def error_code(answer: dict[str, Any]) -> int:
    assert "result" not in answer, answer
    code: int = answer["error"]["code"]
    return code


@pytest.fixture(scope="module")
def ledger(gw: GatewayWorld) -> AreaLedger:
    """The return centre's view of the shared embedded chain."""
    return gw.consortium.centre.ledger


def _front(ledger: AreaLedger, **limits: Any) -> ReadOnlyRpc:
    """The front as the gateway builds it, with other limits."""
    rpc = ledger.read_only_rpc(RpcLimits(**limits))
    assert rpc is not None
    return rpc


def _data(ledger: AreaLedger, contract: str, fn: str, *args: Any) -> str:
    encoded: str = getattr(ledger.contracts, contract).encode_abi(fn, list(args))
    return encoded


# ------------------------------------------------------------------ what may be called


def test_call_to_pairing_precompile_refused_before_it_runs(gw: GatewayWorld) -> None:
    started = time.monotonic()
    answers = post(
        gw,
        [
            call_request(PAIRING, SIX_PAIRINGS),
            call_request(PAIRING, SIX_PAIRINGS, gas="0x3d0900"),
            rpc_request("eth_estimateGas", {"to": PAIRING, "data": SIX_PAIRINGS}),
        ],
    )
    assert time.monotonic() - started < 1.0  # run, the three would take ~1.5 s
    assert [error_code(a) for a in answers] == [CALL_REFUSED] * 3
    assert "consortium's contracts" in answers[0]["error"]["message"]
    assert PAIRING in answers[0]["error"]["message"]


def test_call_to_account_without_code_refused(gw: GatewayWorld, ledger: AreaLedger) -> None:
    answer = post(gw, call_request(ledger.account, "0x"))
    assert error_code(answer) == CALL_REFUSED
    assert ledger.account in answer["error"]["message"]


@pytest.mark.parametrize("to", ["missing", "null"])
def test_call_without_to_refused(gw: GatewayWorld, to: str) -> None:
    # Contract creation: init code that would run as long as its gas allows.
    fields = {"to": None} if to == "null" else {}
    for method in ("eth_call", "eth_estimateGas"):
        answer = post(gw, rpc_request(method, {"data": "0x5b600056", **fields}))
        assert error_code(answer) == CALL_REFUSED
        assert "contract creation" in answer["error"]["message"]


def test_call_with_value_refused(gw: GatewayWorld, ledger: AreaLedger) -> None:
    threshold = _data(ledger, "consortium", "threshold")
    answer = post(gw, call_request(ledger.contracts.consortium.address, threshold, value="0x1"))
    assert error_code(answer) == CALL_REFUSED
    assert "value" in answer["error"]["message"]
    # A value of zero is no value.
    answer = post(gw, call_request(ledger.contracts.consortium.address, threshold, value="0x0"))
    assert int(answer["result"], 16) == ledger.contracts.consortium.functions.threshold().call()


@pytest.mark.parametrize(
    "tx",
    [
        "0x00",
        {"to": 8, "data": "0x"},
        {"to": "0x08", "data": "0x"},
        {"to": "0xzz", "data": "0x"},
    ],
)
def test_call_with_malformed_target_is_invalid_params(gw: GatewayWorld, tx: Any) -> None:
    assert error_code(post(gw, rpc_request("eth_call", tx))) == INVALID_PARAMS


def test_call_to_consortium_contracts_answers(gw: GatewayWorld, ledger: AreaLedger) -> None:
    cs, ta = ledger.contracts.consortium, ledger.contracts.tax_anchor
    rl = ledger.contracts.return_ledger
    answers = post(
        gw,
        [
            call_request(cs.address, _data(ledger, "consortium", "threshold")),
            call_request(cs.address, _data(ledger, "consortium", "customsMember", 3100)),
            call_request(ta.address, _data(ledger, "tax_anchor", "consortium")),
            call_request(rl.address.lower(), _data(ledger, "return_ledger", "taxAnchor")),
        ],
    )
    results = [bytes.fromhex(a["result"][2:]) for a in answers]
    assert decode(["uint256"], results[0])[0] == cs.functions.threshold().call()
    assert decode(["bytes32"], results[1])[0] == member_id("customs-3100")
    assert decode(["address"], results[2])[0] == cs.address.lower()
    assert decode(["address"], results[3])[0] == ta.address.lower()


class _FrontProvider(JSONBaseProvider):
    """web3 over a gateway's front through its TestClient, as clients.bindings
    `rpc_web3` reaches it over HTTP."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        super().__init__()
        self.client = client
        self.headers = headers | {"Content-Type": "application/json"}

    def _post(self, body: bytes) -> Any:
        r = self.client.post(RPC, content=body, headers=self.headers)
        assert r.status_code == 200, r.text
        return self.decode_rpc_response(r.content)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        response: RPCResponse = self._post(self.encode_rpc_request(method, params))
        return response

    def make_batch_request(
        self, requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        response: list[RPCResponse] | RPCResponse = self._post(
            self.encode_batch_rpc_request(requests)
        )
        return response


def test_sdk_ledger_view_reads_through_front(gw: GatewayWorld, ledger: AreaLedger) -> None:
    w3 = Web3(_FrontProvider(gw.clients[NINGBO], gw.headers(NINGBO, "auditor")))
    view = LedgerView(attach_contracts(w3, ledger.contracts.addresses()))
    assert view.customs_member(4600) == member_id("customs-4600")
    kind, _, code = view.member(member_id("customs-2900"))
    assert (kind, code) == (MemberKind.CUSTOMS, 2900)
    assert view.gateway_url(member_id("customs-3100")).startswith("http")
    # Logs through eth_getLogs, block times in batches of eth_getBlockByNumber: the same
    # events as the gateway reads from the chain itself.
    chain = gw.consortium.chain
    held = (event_record(ledger.contracts, log) for log in chain.logs_between(0, view.block) or [])
    events = view.events()
    assert [(e["block"], e["logIndex"], e["event"]) for e in events] == [
        (r["block"], r["logIndex"], r["event"]) for r in held if r is not None
    ]
    assert all(e["args"]["blockTime"] == chain.block_timestamp(e["block"]) for e in events)
    assert "MemberProfileUpdated" in {e["event"] for e in events}
    estimate = w3.eth.estimate_gas(
        {
            "to": ledger.contracts.consortium.address,
            "data": HexStr(_data(ledger, "consortium", "threshold")),
        }
    )
    assert 21_000 < estimate <= RpcLimits().call_gas_cap


# ------------------------------------------------------------------ gas


def test_gas_above_cap_is_cut_to_it(gw: GatewayWorld, ledger: AreaLedger) -> None:
    cs = ledger.contracts.consortium
    threshold = _data(ledger, "consortium", "threshold")
    answer = post(gw, call_request(cs.address, threshold, gas="0x" + "f" * 40))
    assert int(answer["result"], 16) == cs.functions.threshold().call()
    # A call the cap cannot carry runs out of gas at the cap, whatever gas it asked for.
    tiny = _front(ledger, call_gas_cap=30_000)
    get_member = _data(ledger, "consortium", "getMember", member_id("customs-2900"))
    for gas in (None, "0x" + "f" * 40, 10**9):
        fields = {} if gas is None else {"gas": gas}
        answer = tiny.handle(call_request(cs.address, get_member, **fields))
        assert error_code(answer) == EXECUTION_FAILED
        assert "out of gas" in answer["error"]["message"]
        assert "30000" in answer["error"]["message"]


@pytest.mark.parametrize("method", ["eth_call", "eth_estimateGas"])
def test_call_below_intrinsic_gas_answers_error_not_exception(
    ledger: AreaLedger, method: str
) -> None:
    rpc = _front(ledger, call_gas_cap=1000)
    tx = {
        "to": ledger.contracts.consortium.address,
        "data": _data(ledger, "consortium", "threshold"),
    }
    answer = rpc.handle(rpc_request(method, tx))
    assert error_code(answer) == EXECUTION_FAILED
    assert "out of gas" in answer["error"]["message"]


def test_estimate_gas_is_enough_and_within_the_cap(gw: GatewayWorld, ledger: AreaLedger) -> None:
    cs = ledger.contracts.consortium
    get_member = _data(ledger, "consortium", "getMember", member_id("customs-2900"))
    estimate = int(
        post(gw, rpc_request("eth_estimateGas", {"to": cs.address, "data": get_member}))["result"],
        16,
    )
    assert 21_000 < estimate <= RpcLimits().call_gas_cap
    assert "result" in post(gw, call_request(cs.address, get_member, gas=hex(estimate)))
    short = post(gw, call_request(cs.address, get_member, gas=hex(estimate - 2_000)))
    assert error_code(short) == EXECUTION_FAILED


def test_estimate_gas_stops_at_the_time_budget(ledger: AreaLedger) -> None:
    """Out of time, the estimate is the least gas found to work so far: at first, the cap."""
    late = iter(itertools.count(0, 10))
    rpc = ReadOnlyRpc(
        ledger.w3,
        call_targets=ledger.contracts.addresses().values(),
        limits=RpcLimits(call_gas_cap=400_000, time_budget_s=1.0),
        clock=lambda: float(next(late)),
    )
    tx = {
        "to": ledger.contracts.consortium.address,
        "data": _data(ledger, "consortium", "threshold"),
    }
    assert rpc.handle(rpc_request("eth_estimateGas", tx))["result"] == hex(400_000)


# ------------------------------------------------------------------ batch, time, rate


def test_batch_over_the_limit_refused(gw: GatewayWorld) -> None:
    limit = gw.consortium.centre.settings.rpc_max_batch
    answers = post(gw, [rpc_request("eth_getBlockByNumber", "0x1") for _ in range(limit)])
    assert len(answers) == limit and all("result" in a for a in answers)
    refused = post(gw, [call_request(PAIRING, SIX_PAIRINGS) for _ in range(limit + 1)])
    assert isinstance(refused, dict) and error_code(refused) == INVALID_REQUEST
    assert f"1..{limit}" in refused["error"]["message"]
    assert error_code(post(gw, [])) == INVALID_REQUEST


def test_time_budget_refuses_later_items_without_running_them(ledger: AreaLedger) -> None:
    ticks = itertools.count()
    rpc = ReadOnlyRpc(ledger.w3, limits=RpcLimits(time_budget_s=1.5), clock=lambda: next(ticks))
    ran: list[int] = []

    def head() -> str:
        ran.append(1)
        return "0x1"

    rpc._eth_blockNumber = head  # type: ignore[method-assign]
    batch = [rpc_request("eth_blockNumber") for _ in range(5)]
    answers = rpc.handle(batch)
    # Deadline at tick 0 + 1.5: items 0 and 1 (tick 1) run, item 2 finds tick 2 and the rest
    # follow it, unrun.
    assert [a.get("result") for a in answers[:2]] == ["0x1", "0x1"] and len(ran) == 2
    assert [error_code(a) for a in answers[2:]] == [LIMIT_EXCEEDED] * 3
    assert [a["id"] for a in answers] == [r["id"] for r in batch]
    assert "time budget" in answers[2]["error"]["message"]


def test_time_budget_always_runs_the_first_request(ledger: AreaLedger) -> None:
    rpc = ReadOnlyRpc(ledger.w3, limits=RpcLimits(time_budget_s=1e-9))
    assert "result" in rpc.handle(rpc_request("eth_chainId"))
    first, *rest = rpc.handle([rpc_request("eth_chainId") for _ in range(3)])
    assert "result" in first and [error_code(a) for a in rest] == [LIMIT_EXCEEDED] * 2


def test_calls_run_one_at_a_time_and_a_waiting_one_is_refused_busy(
    ledger: AreaLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallel requests (of one key or many) never queue more than one front call for the
    chain's lock: while one runs, another waits at most CALL_WAIT_S and is refused busy."""
    monkeypatch.setattr(rpc_module, "CALL_WAIT_S", 0.05)
    rpc = _front(ledger)
    call = _threshold_call(ledger)
    assert "result" in rpc.handle(call)
    assert rpc_module._CALLS.acquire(timeout=5)  # another call is running
    try:
        busy = rpc.handle(call)
    finally:
        rpc_module._CALLS.release()
    assert error_code(busy) == LIMIT_EXCEEDED and "busy" in busy["error"]["message"]
    assert "result" in rpc.handle(call)  # and free again afterwards


@pytest.fixture
def limited(gw: GatewayWorld) -> Iterator[Callable[[int], RateLimiter]]:
    """Put a rate limiter with `burst` tokens and no refill on the return centre's app, and
    the app's own back afterwards (not with monkeypatch: undoing it on Starlette's `State`
    deletes the attribute)."""
    state = gw.consortium.centre.app.state
    own = state.rate_limiter

    def install(burst: int) -> RateLimiter:
        limiter = RateLimiter(per_second=1.0, burst=burst, clock=lambda: 0.0)
        state.rate_limiter = limiter
        return limiter

    try:
        yield install
    finally:
        state.rate_limiter = own


def _threshold_call(ledger: AreaLedger) -> dict[str, Any]:
    return call_request(
        ledger.contracts.consortium.address, _data(ledger, "consortium", "threshold")
    )


def test_batch_spends_one_token_per_call(
    gw: GatewayWorld, ledger: AreaLedger, limited: Callable[[int], RateLimiter]
) -> None:
    limited(5)
    batch = [_threshold_call(ledger), rpc_request("eth_getLogs", {"fromBlock": "latest"})]
    batch += [_threshold_call(ledger) for _ in range(3)]
    assert all("result" in a for a in post(gw, batch))
    r = gw.call(CENTRE, "auditor", "POST", RPC, json=rpc_request("eth_chainId"))
    assert_problem(r, 429, "rate_limited")


def test_batch_of_lookups_spends_one_token(
    gw: GatewayWorld, limited: Callable[[int], RateLimiter]
) -> None:
    """Block, receipt and head lookups are not metered: clients.verify reads block times 100
    to a batch."""
    limited(2)
    lookups = [rpc_request("eth_getBlockByNumber", hex(n)) for n in range(1, 101)]
    assert len(post(gw, lookups)) == 100
    assert len(post(gw, [rpc_request("eth_chainId"), rpc_request("eth_blockNumber")])) == 2
    r = gw.call(CENTRE, "auditor", "POST", RPC, json=rpc_request("eth_chainId"))
    assert_problem(r, 429, "rate_limited")


def test_batch_over_the_keys_tokens_is_429(
    gw: GatewayWorld, ledger: AreaLedger, limited: Callable[[int], RateLimiter]
) -> None:
    limiter = limited(5)
    calls = [_threshold_call(ledger) for _ in range(6)]
    r = gw.call(CENTRE, "auditor", "POST", RPC, json=calls)
    body = assert_problem(r, 429, "rate_limited")
    assert "costs 5 more" in body["detail"] and r.headers["Retry-After"] == "1"
    assert sum(limiter.refused().values()) == 1
    # What the refused batch did not spend (all but the request's own token) is still there.
    assert len(post(gw, calls[:4])) == 4
    r = gw.call(CENTRE, "auditor", "POST", RPC, json=rpc_request("eth_chainId"))
    assert_problem(r, 429, "rate_limited")


def test_batch_over_a_whole_burst_is_never_admitted(
    gw: GatewayWorld, ledger: AreaLedger, limited: Callable[[int], RateLimiter]
) -> None:
    limited(5)
    r = gw.call(CENTRE, "auditor", "POST", RPC, json=[_threshold_call(ledger)] * 7)
    assert "over a whole burst" in assert_problem(r, 429, "rate_limited")["detail"]


# ------------------------------------------------------------------ eth_getLogs


HOSTILE_FILTERS: list[Any] = [
    {"fromBlock": "0x" + "f" * 80, "toBlock": "latest"},
    {"fromBlock": "0x0", "toBlock": "0x" + "f" * 5000},
    {"fromBlock": "0x" + "1" * 6000},
    {"fromBlock": 10**30},
    {"fromBlock": "0xzz"},
    {"fromBlock": "-0x1"},
    {"fromBlock": ["latest"]},
    {"topics": 7},
    {"topics": [7, {"a": 1}, [None, 5, [["x"]]], True]},
    {"topics": "0x" + "00" * 32},
    {"address": 8},
    {"address": [8, None]},
    {"address": "0x08"},
    {"address": {"to": "0x0"}},
    "latest",
    ["fromBlock", "0x0"],
    7,
    None,
]


@pytest.mark.parametrize("flt", HOSTILE_FILTERS)
def test_hostile_get_logs_params_answer_json_rpc(gw: GatewayWorld, flt: Any) -> None:
    answer = post(gw, rpc_request("eth_getLogs", flt))
    assert answer["jsonrpc"] == "2.0"
    if "result" in answer:  # e.g. a range above the head: no logs
        assert isinstance(answer["result"], list)
    else:
        assert isinstance(answer["error"]["code"], int) and answer["error"]["message"]


def test_hostile_get_logs_batch_answers_every_item(gw: GatewayWorld) -> None:
    answers = post(gw, [rpc_request("eth_getLogs", flt) for flt in HOSTILE_FILTERS])
    assert len(answers) == len(HOSTILE_FILTERS)
    errors = {i: a["error"]["code"] for i, a in enumerate(answers) if "error" in a}
    assert errors[HOSTILE_FILTERS.index({"fromBlock": "0xzz"})] == INVALID_PARAMS
    assert errors[HOSTILE_FILTERS.index({"topics": 7})] == INVALID_PARAMS


@pytest.mark.parametrize("method", [["eth_call"], {"a": 1}, 7, None])
def test_batch_item_whose_method_is_not_a_string_answers_invalid_request(
    gw: GatewayWorld, method: Any
) -> None:
    """Metering a batch looks each method up before `_one` checks it: never a 500."""
    answers = post(gw, [{"jsonrpc": "2.0", "id": 1, "method": method}, rpc_request("eth_chainId")])
    assert error_code(answers[0]) == INVALID_REQUEST and "result" in answers[1]


@pytest.mark.parametrize(
    "flt",
    [
        {"topics": [["0x" + "00" * 32] * 101]},
        {"topics": [None] * 5},
        {"topics": [["0x" + "00" * 31]]},
        {"topics": [[" 0x" + "00" * 32]]},
        {"address": ["0x" + "11" * 20] * 101},
    ],
)
def test_oversized_or_malformed_log_filters_are_refused_before_matching(
    gw: GatewayWorld, flt: Any
) -> None:
    """A filter is matched against every log of its range: its size is bounded up front (100k
    topic options cost 24 ms per log)."""
    assert error_code(post(gw, rpc_request("eth_getLogs", {"fromBlock": "0x0", **flt}))) == (
        INVALID_PARAMS
    )


def test_get_logs_stops_at_the_time_budget(ledger: AreaLedger) -> None:
    many = [{"address": "0x" + "11" * 20, "topics": [b"\x01" * 32]} for _ in range(1000)]
    ticks = itertools.count()
    rpc = ReadOnlyRpc(
        ledger.w3,
        lambda _a, _b: many,
        limits=RpcLimits(time_budget_s=2.0),
        clock=lambda: float(next(ticks)),
    )
    answer = rpc.handle(rpc_request("eth_getLogs", {"fromBlock": "0x0"}))
    assert error_code(answer) == LIMIT_EXCEEDED and "fewer blocks" in answer["error"]["message"]


def test_estimate_gas_reports_busy_instead_of_the_cap(
    ledger: AreaLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search step that could not start is no evidence that the gas was too little."""
    rpc = _front(ledger)
    tx = {
        "to": ledger.contracts.consortium.address,
        "data": _data(ledger, "consortium", "threshold"),
    }
    real_run = rpc._run
    runs = itertools.count()

    def busy_after_first(call: dict[str, Any], block: int) -> bytes:
        if next(runs) == 0:
            return real_run(call, block)
        raise RpcRefused(LIMIT_EXCEEDED, "the ledger front is busy with other calls")

    monkeypatch.setattr(rpc, "_run", busy_after_first)
    answer = rpc.handle(rpc_request("eth_estimateGas", tx))
    assert error_code(answer) == LIMIT_EXCEEDED


def test_deep_json_text_answers_parse_error(gw: GatewayWorld) -> None:
    """A body not labelled JSON reaches the front as text, past the API's depth guard."""
    deep = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":' + b"[" * 200 + b"]" * 200
    r = gw.call(CENTRE, "auditor", "POST", RPC, content=deep + b"}", headers=TEXT)
    assert r.status_code == 200 and error_code(r.json()) == PARSE_ERROR
    assert "nested" in r.json()["error"]["message"]
    shallow = gw.call(CENTRE, "auditor", "POST", RPC, content=b"[[[]]]", headers=TEXT)
    assert [error_code(a) for a in shallow.json()] == [INVALID_REQUEST]  # one non-request


def test_very_deep_json_text_does_not_crash_the_process() -> None:
    """A million levels overflowed the C stack of json's scanner (py-evm raises the recursion
    limit to 100,000): the whole process, every gateway in it, died. Run apart, so a
    regression fails this test instead of killing the test session."""
    code = (
        "from node_gateway.ledger.backends.read_only_rpc import ReadOnlyRpc\n"
        "print(ReadOnlyRpc(None).handle(b'[' * 1_000_000)['error']['code'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == str(PARSE_ERROR)


# ------------------------------------------------------------------ the story


def test_other_gateway_stays_ready_while_precompile_batches_are_refused(
    gw: GatewayWorld,
) -> None:
    """Issue 16: a key fires batches of pairing calls at one gateway; every `/ready` of
    another gateway on the same chain answers within a second."""
    limit = gw.consortium.centre.settings.rpc_max_batch
    assert limit >= 100
    batches = [[call_request(PAIRING, SIX_PAIRINGS) for _ in range(100)]] * 20
    batches.insert(1, [call_request(PAIRING, SIX_PAIRINGS) for _ in range(limit + 1)])
    answers: list[Any] = []
    failures: list[BaseException] = []
    attacking = threading.Event()
    attacking.set()

    def attack() -> None:
        try:
            for batch in batches:
                r = gw.call(CENTRE, "auditor", "POST", RPC, json=batch)
                answers.append((r.status_code, r.json()))
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failures.append(exc)
        finally:
            attacking.clear()

    attacker = threading.Thread(target=attack, name="pairing-attacker", daemon=True)
    waits: list[float] = []
    during = 0  # probes made while the attack ran
    others = itertools.cycle([gw.clients[NINGBO], gw.clients[ZHENGZHOU]])
    attacker.start()
    try:
        while attacking.is_set() or len(waits) < 4:
            during += attacking.is_set()
            started = time.monotonic()
            r = next(others).get("/ready")  # asks the shared chain for its head
            waits.append(time.monotonic() - started)
            assert r.status_code in (200, 503), r.text
    finally:
        attacker.join(timeout=120)
    assert not attacker.is_alive() and not failures, failures
    assert during >= 1
    assert max(waits) < 1.0, sorted(waits)[-5:]
    assert len(answers) == len(batches)
    for status, body in answers:
        assert status == 200
        if isinstance(body, dict):  # the batch over the limit
            assert error_code(body) == INVALID_REQUEST
        else:
            assert {error_code(a) for a in body} == {CALL_REFUSED}


# ------------------------------------------------------------------ settings


def test_rpc_limits_come_from_settings() -> None:
    s = GatewaySettings(area_label="customs-2900", customs_code="2900")
    assert (s.rpc_call_gas_cap, s.rpc_max_batch, s.rpc_time_budget_s) == (1_000_000, 100, 2.0)
    assert RpcLimits() == RpcLimits(s.rpc_call_gas_cap, s.rpc_max_batch, s.rpc_time_budget_s)


@pytest.mark.parametrize(
    "override",
    [
        {"rpc_call_gas_cap": 1_000},
        {"rpc_call_gas_cap": 10**9},
        {"rpc_max_batch": 0},
        {"rpc_time_budget_s": 0},
        {"rpc_time_budget_s": float("inf")},
    ],
)
def test_rpc_limits_out_of_range_refused(override: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(area_label="customs-2900", customs_code="2900", **override)
