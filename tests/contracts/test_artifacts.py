"""The committed artifacts match the sources, and the pinned EVM version runs on eth-tester."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from clients.bindings import ARTIFACTS_DIR, CONTRACT_NAMES, Founder, load_artifact, member_id
from scripts.compile_contracts import (
    EVM_VERSION,
    SOLC_VERSION,
    collect_sources,
    render,
    stale_artifacts,
)

ROOT = Path(__file__).resolve().parents[2]
PUSH0, PUSH1, PUSH32 = 0x5F, 0x60, 0x7F


def opcodes(code: bytes) -> list[int]:
    """The opcodes of EVM bytecode, skipping PUSH data (stops at the CBOR metadata)."""
    out, i = [], 0
    while i < len(code):
        op = code[i]
        out.append(op)
        i += 1 + (op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0)
    return out


def test_check_passes_against_committed_artifacts() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile_contracts.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "artifacts match the sources (3 contracts" in result.stdout


def test_stale_artifacts_detects_any_difference(tmp_path: Path) -> None:
    fresh = {
        name: json.loads((ARTIFACTS_DIR / f"{name}.json").read_text()) for name in CONTRACT_NAMES
    }
    build = tmp_path / "build"
    shutil.copytree(ARTIFACTS_DIR, build)
    assert stale_artifacts(fresh, build) == []
    tampered = dict(fresh["TaxAnchor"], bytecode=fresh["TaxAnchor"]["bytecode"][:-2] + "00")
    (build / "TaxAnchor.json").write_text(render(tampered))
    assert stale_artifacts(fresh, build) == ["TaxAnchor"]
    (build / "ReturnLedger.json").unlink()
    assert stale_artifacts(fresh, build) == ["TaxAnchor", "ReturnLedger"]


def test_collect_sources_resolves_openzeppelin_imports() -> None:
    sources = collect_sources(ROOT / "contracts")
    assert "contracts/ReturnLedger.sol" in sources
    assert "@openzeppelin/contracts/utils/cryptography/ECDSA.sol" in sources
    assert "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol" in sources


def test_artifacts_pin_compiler_and_evm_version() -> None:
    for name in CONTRACT_NAMES:
        artifact = load_artifact(name)
        assert artifact.compiler.startswith(SOLC_VERSION + "+commit.7893614a")
        assert artifact.settings["evmVersion"] == EVM_VERSION == "shanghai"


def test_pinned_evm_version_executes_on_eth_tester() -> None:
    # shanghai introduced PUSH0; the runtime code uses it, and eth-tester's py-evm runs it.
    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
    artifact = load_artifact("Consortium")
    runtime = bytes.fromhex(artifact.deployed_bytecode[2:])
    assert PUSH0 in opcodes(runtime)
    account = w3.eth.accounts[0]
    founder = Founder(member_id("customs-2900"), 2900, account)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor([founder.as_tuple()], 1).transact({"from": account})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    assert address is not None
    code = bytes(w3.eth.get_code(address))
    # The artifact's runtime code leaves the immutables (EIP-712's cached domain) zero-filled.
    assert len(code) == len(runtime)
    differing = [i for i, (a, b) in enumerate(zip(code, runtime, strict=True)) if a != b]
    assert differing and all(runtime[i] == 0 for i in differing)
    deployed = w3.eth.contract(address=address, abi=artifact.abi)
    assert deployed.functions.customsMember(2900).call() == founder.member_id
