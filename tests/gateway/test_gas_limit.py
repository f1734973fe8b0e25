"""The gas a gateway gives a transaction grows with the piece counts it carries: a whole 99-line
case opened with a 99-line application (~3.5 M gas on eth-tester) must not run out of gas."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from web3.contract.contract import ContractFunction

from node_gateway.ledger.area_ledger import PIECE_GAS, TX_GAS, gas_limit


def _fn(*args: Any) -> ContractFunction:
    return cast(ContractFunction, SimpleNamespace(args=list(args)))


def test_a_step_without_piece_counts_gets_the_base_gas() -> None:
    assert gas_limit(_fn(b"\x01" * 32, 3, b"\x02" * 32)) == TX_GAS


def test_every_piece_count_adds_its_gas_and_proofs_do_not() -> None:
    header = (b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, 1_800_000_000, 99, [1] * 99, b"\x04" * 32)
    proof = [b"\x05" * 32] * 20
    application = (b"\x06" * 32, b"\x01" * 32, b"\x02" * 32, 2**99 - 1, [1] * 99, b"\x07" * 32)
    fn = _fn(header, b"\x08" * 32, proof, application, b"\x09" * 65)
    assert gas_limit(fn) == TX_GAS + PIECE_GAS * 198
    assert gas_limit(fn) > 3_600_000  # what such a transaction measured, with room to spare
