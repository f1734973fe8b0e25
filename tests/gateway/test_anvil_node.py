"""anvil as the project runs it: the pinned binary found (or a clear error), a node that
answers when `start` returns and is gone after `stop`, its chain kept across a clean stop and
(with --state-interval 1) across a SIGKILL — same head number, head hash, contract storage —
and `crossreturn node anvil` stopping cleanly on Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from clients.bindings import MemberKind
from node_gateway.deploy.bootstrap import MemberSpec, found
from node_gateway.ledger.area_ledger import AreaLedger
from node_gateway.ledger.backends.anvil import AnvilError, AnvilNode, anvil_binary, free_port
from node_gateway.ledger.backends.rpc_node import RpcNode
from tests.utils.anvil import account_of, key_of
from tests.utils.foreground import foreground

AREA = "customs-3100"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _story(node: AnvilNode) -> tuple[AreaLedger, bytes]:
    """Found a one-area consortium and anchor a root; returns the area's ledger and the root."""
    rpc = RpcNode(node.url)
    member = MemberSpec(AREA, MemberKind.CUSTOMS, account_of(AREA), 3100, "origin")
    deployment = found(rpc, node.funded_key(), [member], 1, {AREA: key_of(AREA)}, 10**19)
    ledger = AreaLedger(rpc, deployment.addresses, key_of(AREA))
    root = os.urandom(32)
    fn = ledger.build("anchor", {"root": "0x" + root.hex(), "kind": 1, "leafCount": 1})
    assert ledger.submit(ledger.sign(fn, ledger.next_nonce()).raw).success
    return ledger, root


def test_binary_is_the_pinned_anvil() -> None:
    out = subprocess.run([anvil_binary(), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("anvil Version: 1.7.1")


def test_missing_binary_raises_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSRETURN_ANVIL", str(tmp_path / "nope"))
    with pytest.raises(AnvilError, match="make anvil"):
        AnvilNode().start()


def test_start_answers_and_stop_leaves_no_process() -> None:
    with AnvilNode(chain_id=4242) as node:
        pid = node.pid
        assert pid is not None and RpcNode(node.url).chain_id == 4242
    assert node.stop() is None  # stopping twice is harmless
    assert _gone(pid) and not RpcNode(node.url).is_up()


def test_start_on_a_taken_port_raises() -> None:
    with AnvilNode() as first:
        with pytest.raises(AnvilError, match=f"port {first.port} .* is taken"):
            AnvilNode(port=first.port).start()


def test_restart_from_state_file_keeps_head_and_storage(tmp_path: Path) -> None:
    with AnvilNode(tmp_path / "state.json") as node:
        ledger, root = _story(node)
        head = RpcNode(node.url).head()
        anchored_at = ledger.head_block()
        assert node.stop() == 0  # SIGTERM: anvil writes its state and exits cleanly
        node.start()
        assert RpcNode(node.url).head() == head
        assert ledger.root_anchored(3100, root)
        assert ledger.member_of_account(ledger.account) != b"\0" * 32
        # Historical state is kept too (--preserve-historical-states): a call at an old block.
        tax_anchor = ledger.contracts.tax_anchor.functions
        assert tax_anchor.getRoot(3100, root).call(block_identifier=anchored_at - 1)[0] == 0
        # and the chain goes on from there.
        fn = ledger.build(
            "anchor", {"root": "0x" + os.urandom(32).hex(), "kind": 1, "leafCount": 1}
        )
        mined = ledger.submit(ledger.sign(fn, ledger.next_nonce()).raw)
        assert mined.success and mined.block_number == head["number"] + 1
        later = RpcNode(node.url).head()
        node.restart()
        assert RpcNode(node.url).head() == later


def test_restart_after_sigkill_keeps_what_was_written_a_second_before(tmp_path: Path) -> None:
    with AnvilNode(tmp_path / "state.json", state_interval=1) as node:
        ledger, root = _story(node)
        head = RpcNode(node.url).head()
        time.sleep(2.2)  # two state-interval dumps
        node.kill()
        node.start()
        assert RpcNode(node.url).head() == head
        assert ledger.root_anchored(3100, root)


def test_node_anvil_command_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with foreground(["node", "anvil", "--state", str(state), "--port", str(port)], tmp_path) as fg:
        # Ready once it says so: anvil answers a moment before the command knows it does.
        fg.printed(f"anvil at {url}, chain 31337")
        assert RpcNode(url).is_up()
        fg.ctrl_c()
        assert fg.finish() == 0, fg.output()
        assert "stopped; state written" in fg.output()
        assert fg.leftovers() == []
    assert state.exists() and not RpcNode(url).is_up()
