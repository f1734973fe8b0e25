"""The embedded ledger survives restarts: same head hash and state root, and it goes on."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address

from clients.bindings import BatchKind, Founder, attach_contracts, call, member_id
from clients.commitments.merkle import MerkleTree
from clients.errors import ContractRevert
from node_gateway.deploy.contracts import contracts_of, deploy
from node_gateway.ledger.backends.embedded import EmbeddedChain, LedgerJournalError
from node_gateway.ledger.signer import LocalSigner
from tests.utils.chain import random32

AREA_KEY = b"\x31" * 32
DEPLOYER_KEY = b"\x32" * 32


def start_story(data_dir: Path) -> tuple[EmbeddedChain, dict[str, str]]:
    chain = EmbeddedChain(data_dir)
    funder = LocalSigner(chain, chain.funded_key())
    deployer, area = LocalSigner(chain, DEPLOYER_KEY), LocalSigner(chain, AREA_KEY)
    for signer in (deployer, area):
        funder.transfer(signer.address, 10**21)
    founders = [Founder(member_id("customs-3100"), 3100, area.address)]
    deployment = deploy(deployer, founders, threshold=1)
    c = contracts_of(deployer, deployment)
    tree = MerkleTree([random32(), random32(), random32()])
    area.send(c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, 3))
    chain.travel_to(chain.now() + 86_400)
    area.send(c.tax_anchor.functions.revokeRoot(tree.root, 1))
    return chain, deployment.addresses


def test_restart_restores_same_head_and_state_root(tmp_path: Path) -> None:
    chain, addresses = start_story(tmp_path)
    head = chain.head()
    assert head["number"] >= 8
    reopened = EmbeddedChain(tmp_path)
    assert reopened.head() == head
    assert reopened.replayed == head["number"]  # one journal entry per block
    ledger = to_checksum_address(addresses["ReturnLedger"])
    assert reopened.w3.eth.get_code(ledger) == chain.w3.eth.get_code(ledger)


def test_restarted_chain_accepts_new_transactions_with_continuing_nonces(tmp_path: Path) -> None:
    chain, addresses = start_story(tmp_path)
    reopened = EmbeddedChain(tmp_path)
    area = LocalSigner(reopened, AREA_KEY)
    c = attach_contracts(reopened.w3, addresses)
    root = random32()
    area.send(c.tax_anchor.functions.anchor(root, BatchKind.PAYMENT, 1))
    assert call(c.tax_anchor.functions.getRoot(3100, root))[0] == BatchKind.PAYMENT
    again = EmbeddedChain(tmp_path)
    assert again.head() == reopened.head()


def test_revert_consumes_nonce_and_is_journaled(tmp_path: Path) -> None:
    chain, addresses = start_story(tmp_path)
    c = attach_contracts(chain.w3, addresses)
    area = LocalSigner(chain, AREA_KEY)
    with pytest.raises(ContractRevert) as info:
        area.send(c.tax_anchor.functions.anchor(b"\0" * 32, BatchKind.PAYMENT, 1), gas=200_000)
    assert info.value.name == "ZeroHash"
    area.send(c.tax_anchor.functions.anchor(random32(), BatchKind.PAYMENT, 1))
    assert EmbeddedChain(tmp_path).head() == chain.head()


def test_torn_last_journal_line_is_ignored(tmp_path: Path) -> None:
    chain, _ = start_story(tmp_path)
    head = chain.head()
    with (tmp_path / "journal.jsonl").open("a") as fh:
        fh.write('{"ts": 12')  # a crash in the middle of a write
    assert EmbeddedChain(tmp_path).head() == head


@pytest.mark.parametrize("torn", ['{"ts": 12', '{"ts":1,"tx":"00"}'])
def test_chain_goes_on_after_a_torn_last_line(tmp_path: Path, torn: str) -> None:
    """A crash inside an append leaves a line without its newline (maybe even complete JSON);
    the next start drops it, and what is appended then opens again (no glued, corrupt line)."""
    chain, addresses = start_story(tmp_path)
    with (tmp_path / "journal.jsonl").open("a") as fh:
        fh.write(torn)
    reopened = EmbeddedChain(tmp_path)
    root = random32()
    LocalSigner(reopened, AREA_KEY).send(
        attach_contracts(reopened.w3, addresses).tax_anchor.functions.anchor(
            root, BatchKind.PAYMENT, 1
        )
    )
    again = EmbeddedChain(tmp_path)
    assert again.head() == reopened.head()
    assert (
        call(attach_contracts(again.w3, addresses).tax_anchor.functions.getRoot(3100, root))[0]
        == BatchKind.PAYMENT
    )


def test_opening_a_journal_with_a_torn_tail_writes_nothing(tmp_path: Path) -> None:
    """A reader (`crossreturn ledger head`) may open the journal while the writer is in the
    middle of an append: it must not cut that line off."""
    start_story(tmp_path)
    path = tmp_path / "journal.jsonl"
    with path.open("a") as fh:
        fh.write('{"ts": 12')  # an append in progress
    before = path.read_bytes()
    EmbeddedChain(tmp_path).head()
    assert path.read_bytes() == before


def test_corrupt_journal_entry_raises(tmp_path: Path) -> None:
    start_story(tmp_path)
    path = tmp_path / "journal.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = "not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LedgerJournalError, match=":3: corrupt entry"):
        EmbeddedChain(tmp_path)


def test_travel_backwards_raises(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    with pytest.raises(ValueError, match="forward"):
        chain.travel_to(chain.now() - 10)


def test_unknown_signer_key_is_funded_only_by_transfer(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    stranger = Account.create()
    assert chain.w3.eth.get_balance(stranger.address) == 0
    LocalSigner(chain, chain.funded_key()).transfer(stranger.address, 5)
    assert chain.w3.eth.get_balance(stranger.address) == 5
