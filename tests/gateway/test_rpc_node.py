"""The JSON-RPC backend on anvil: AreaLedger's writes, reads and events and the indexer work
over it as over the embedded chain; a revert decodes to the contract's error on both although
their exceptions differ; a node that is down is a LedgerError (an outage), never a raw HTTP
error; `check_chain` refuses a node that is not the manifest's chain."""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractCustomError

from clients.bindings import BatchKind, MemberKind, revert_from_exception
from clients.errors import ContractRevert, LedgerError
from node_gateway.deploy.bootstrap import MemberSpec, found
from node_gateway.deploy.manifest import Manifest
from node_gateway.ledger.area_ledger import AreaLedger, Backend, Mined
from node_gateway.ledger.backends.anvil import AnvilNode, free_port
from node_gateway.ledger.backends.embedded import EmbeddedChain
from node_gateway.ledger.backends.rpc_node import ChainMismatch, RpcNode, check_chain
from node_gateway.ledger.signer import LocalSigner
from node_gateway.pipeline.indexer import Indexer
from node_gateway.store import index as store_index
from node_gateway.store import migrate, open_db
from tests.utils.anvil import account_of, key_of

AREA = "customs-3100"
MEMBERS = (
    MemberSpec(AREA, MemberKind.CUSTOMS, account_of(AREA), 3100, "origin"),
    MemberSpec("customs-2900", MemberKind.CUSTOMS, account_of("customs-2900"), 2900, "both"),
)
ZERO = b"\0" * 32


@dataclass(frozen=True)
class Founded:
    """A backend with the contracts deployed and 3100 as a founder."""

    backend: Backend
    manifest: Manifest

    def ledger(self) -> AreaLedger:
        return AreaLedger(self.backend, self.manifest.addresses, key_of(AREA))


def _found(backend: Backend, funder_key: bytes) -> Founded:
    deployment = found(backend, funder_key, MEMBERS, 1, {AREA: key_of(AREA)}, gas_money=10**19)
    return Founded(backend, Manifest.of(deployment, MEMBERS, 1))


@pytest.fixture(scope="module")
def on_anvil(anvil: AnvilNode) -> Founded:
    return _found(RpcNode(anvil.url), anvil.funded_key())


@pytest.fixture(scope="module")
def on_embedded(tmp_path_factory: pytest.TempPathFactory) -> Founded:
    chain = EmbeddedChain(tmp_path_factory.mktemp("embedded"))
    return _found(chain, chain.funded_key())


@pytest.fixture(params=["embedded", "anvil"])
def founded(request: pytest.FixtureRequest) -> Founded:
    """Each test below runs on both backends."""
    value: Founded = request.getfixturevalue(f"on_{request.param}")
    return value


@pytest.fixture
def store(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_db(tmp_path / "gateway.db")
    migrate(conn)
    yield conn
    conn.close()


def _anchor(ledger: AreaLedger, root: bytes) -> Mined:
    fn = ledger.build("anchor", {"root": "0x" + root.hex(), "kind": 1, "leafCount": 1})
    return ledger.submit(ledger.sign(fn, ledger.next_nonce()).raw)


# ---------------------------------------------------------------- on both backends


def test_submit_mines_and_reads_back(founded: Founded) -> None:
    ledger = founded.ledger()
    root = secrets.token_bytes(32)
    mined = _anchor(ledger, root)
    assert mined.success and mined.block_number == ledger.head_block()
    assert ledger.root_anchored(3100, root)
    events = ledger.events(mined.block_number, mined.block_number)
    assert [(e["event"], e["args"]["root"]) for e in events] == [("RootAnchored", root)]
    assert ledger.block_time(mined.block_number) == ledger.now()


def test_preflight_of_refused_write_raises_decoded_revert(founded: Founded) -> None:
    ledger = founded.ledger()
    fn = ledger.build("anchor", {"root": "0x" + ZERO.hex(), "kind": 1, "leafCount": 1})
    with pytest.raises(ContractRevert) as info:
        ledger.preflight(fn)
    assert (info.value.name, info.value.args_dict) == ("ZeroHash", {})


def test_mined_revert_decodes_by_replay(founded: Founded) -> None:
    ledger = founded.ledger()
    fn = ledger.build("anchor", {"root": "0x" + ZERO.hex(), "kind": 1, "leafCount": 1})
    nonce = ledger.next_nonce()
    mined = ledger.submit(ledger.sign(fn, nonce).raw)  # explicit gas: mined with status 0
    assert (mined.success, mined.error) == (False, "ZeroHash()")
    assert ledger.next_nonce() == nonce + 1


def test_indexer_copies_events_into_the_store(founded: Founded, store: sqlite3.Connection) -> None:
    ledger = founded.ledger()
    root = secrets.token_bytes(32)
    _anchor(ledger, root)
    indexer = Indexer(store, ledger)
    assert indexer.catch_up() >= 3  # the founders' admissions and the root, at least
    assert indexer.lag() == 0
    assert store_index.root_anchoring(store, 3100, "0x" + root.hex())
    assert store_index.root_anchored(store, 3100, "0x" + root.hex())
    assert not store_index.root_anchored(store, 2900, "0x" + root.hex())


def test_call_revert_exception_differs_but_decodes_alike(
    on_embedded: Founded, on_anvil: Founded
) -> None:
    raised: dict[str, Exception] = {}
    for name, founded in (("embedded", on_embedded), ("anvil", on_anvil)):
        ledger = founded.ledger()
        fn = ledger.contracts.tax_anchor.functions.anchor(ZERO, BatchKind.PAYMENT, 1)
        with pytest.raises(Exception) as info:  # noqa: B017 - the type is what is compared
            fn.call({"from": ledger.account})
        raised[name] = info.value
    assert isinstance(raised["embedded"], TransactionFailed)
    assert isinstance(raised["anvil"], ContractCustomError)
    for exc in raised.values():
        revert = revert_from_exception(exc)
        assert revert is not None and (revert.name, revert.args_dict) == ("ZeroHash", {})


# ---------------------------------------------------------------- JSON-RPC specifics


def test_resubmitting_mined_bytes_returns_its_receipt(on_anvil: Founded) -> None:
    ledger = on_anvil.ledger()
    fn = ledger.build("anchor", {"root": "0x" + secrets.token_hex(32), "kind": 1, "leafCount": 1})
    signed = ledger.sign(fn, ledger.next_nonce())
    first = ledger.submit(signed.raw)
    again = ledger.submit(signed.raw)  # a sender resubmitting after a crash
    assert again == first


def test_pipelined_sends_are_all_mined(on_anvil: Founded) -> None:
    node = on_anvil.backend
    assert isinstance(node, RpcNode)
    ledger = on_anvil.ledger()
    nonce, base_fee = ledger.next_nonce(), ledger.base_fee()
    hashes = []
    for i in range(5):
        root = "0x" + secrets.token_hex(32)
        fn = ledger.build("anchor", {"root": root, "kind": 1, "leafCount": 1})
        signed = ledger.sign(fn, nonce + i, base_fee)
        assert node.send_only(signed.raw) == signed.tx_hash
        hashes.append(signed.tx_hash)
    receipts = node.receipts(hashes, timeout_s=10)
    assert sorted(receipts) == sorted(hashes)
    assert all(r["status"] == 1 for r in receipts.values())


def test_transaction_not_mined_in_time_is_ledger_error(anvil: AnvilNode) -> None:
    node = RpcNode(anvil.url, receipt_timeout=0.2)
    stranger = Account.create()
    LocalSigner(node, anvil.funded_key()).transfer(stranger.address, 10**18)
    gap = {"to": stranger.address, "value": 1, "gas": 21_000, "nonce": 5, "chainId": 31337}
    gap |= {"maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1}
    raw = bytes(stranger.sign_transaction(gap).raw_transaction)  # nonce 5 of 0: never mined
    with pytest.raises(LedgerError, match="not mined within 0.2 s"):
        node.send_raw_transaction(raw)


def test_node_down_is_ledger_error(on_anvil: Founded) -> None:
    dead = RpcNode(f"http://127.0.0.1:{free_port()}", timeout=2)
    assert not dead.is_up()
    with pytest.raises(LedgerError, match="no answer from the JSON-RPC node"):
        _ = dead.chain_id
    with pytest.raises(LedgerError, match="no answer from the JSON-RPC node"):
        dead.send_raw_transaction(b"\x02" + b"\0" * 40)
    ledger = AreaLedger(dead, on_anvil.manifest.addresses, key_of(AREA))
    assert not ledger.is_up()
    with pytest.raises(LedgerError):
        ledger.head_block()
    with pytest.raises(LedgerError) as info:
        ledger.submit(b"\x02" + b"\0" * 40)
    assert type(info.value) is LedgerError  # an outage, not a revert


def test_check_chain_accepts_the_manifests_node(on_anvil: Founded) -> None:
    check_chain(on_anvil.backend.w3, on_anvil.manifest.chain_id, on_anvil.manifest.addresses)


def test_check_chain_with_other_chain_id_raises(on_anvil: Founded) -> None:
    other = dataclasses.replace(on_anvil.manifest, chain_id=1337)
    with pytest.raises(ChainMismatch, match="node is on chain 31337 but .* for chain 1337"):
        check_chain(on_anvil.backend.w3, other.chain_id, other.addresses)


def test_check_chain_without_the_contracts_raises(on_anvil: Founded) -> None:
    addresses = on_anvil.manifest.addresses | {"Consortium": account_of("nobody")}
    moved = dataclasses.replace(on_anvil.manifest, addresses=addresses)
    with pytest.raises(ChainMismatch, match="no contract code .* of Consortium"):
        check_chain(on_anvil.backend.w3, moved.chain_id, moved.addresses)


def test_check_chain_with_node_down_raises_ledger_error(on_anvil: Founded) -> None:
    dead = RpcNode(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(LedgerError, match="does not answer"):
        check_chain(dead.w3, on_anvil.manifest.chain_id, on_anvil.manifest.addresses)


def test_fees_are_zero_on_a_zero_gas_chain_and_leave_room_otherwise() -> None:
    from node_gateway.ledger.signer import fees

    assert fees(0) == {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}  # Besu, zeroBaseFee
    assert fees(7) == {"maxFeePerGas": 15, "maxPriorityFeePerGas": 1}
