"""`crossreturn deploy` onto anvil: the manifest describes what was deployed (chain, addresses
that answer, artifact hashes equal to the files', deployment block, deployer, members), and a
node that is down or a bad founders file is one line on stderr with exit 3 / 2, nothing
written."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account

from clients.bindings import (
    ARTIFACTS_DIR,
    CONTRACT_NAMES,
    MemberKind,
    attach_contracts,
    member_id,
)
from node_gateway.cli.main import main
from node_gateway.deploy.manifest import Manifest
from node_gateway.ledger.backends.anvil import AnvilNode, free_port
from node_gateway.ledger.backends.rpc_node import RpcNode
from tests.utils.anvil import AUDITOR, FOUNDERS, PLATFORM, account_of, write_founders


def deploy(rpc: str, founders: Path, funder_key: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "--rpc",
            rpc,
            "--founders",
            str(founders),
            "--funder-key-file",
            str(funder_key),
            "--out",
            str(out),
            *extra,
        ],
    )
    return result.exit_code, result.stderr


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_deploy_writes_manifest_of_the_deployment(
    anvil: AnvilNode, tmp_path: Path, suffix: str
) -> None:
    files = write_founders(tmp_path, anvil.funded_key(), suffix)
    out = tmp_path / "deployment.json"
    before = datetime.now(UTC).replace(microsecond=0)
    code, err = deploy(anvil.url, files.founders, files.funder_key, out)
    assert (code, err) == (0, "")

    manifest = Manifest.load(out)
    assert manifest.chain_id == 31337
    assert manifest.deployer == Account.from_key(anvil.funded_key()).address
    assert manifest.threshold == 2
    assert before <= datetime.strptime(manifest.created_at + "+0000", "%Y-%m-%dT%H:%M:%SZ%z")
    for name in CONTRACT_NAMES:
        digest = hashlib.sha256((ARTIFACTS_DIR / f"{name}.json").read_bytes()).hexdigest()
        assert manifest.artifacts[name] == digest
    data = json.loads(out.read_text())
    assert [f["label"] for f in data["founders"]] == [label for label, *_ in FOUNDERS]
    assert [(f["customsCode"], f["role"]) for f in data["founders"]] == [
        (f"{code}", role) for _, code, role, _ in FOUNDERS
    ]
    assert data["platforms"][0]["sponsor"] == PLATFORM[1]
    assert "keyFile" not in out.read_text()

    # The contracts answer at the addresses, wired, with the members registered.
    w3 = RpcNode(anvil.url).w3
    c = attach_contracts(w3, manifest.addresses)
    assert c.consortium.functions.threshold().call() == 2
    assert c.tax_anchor.functions.consortium().call() == manifest.addresses["Consortium"]
    for label, code_, _, _ in FOUNDERS:
        kind, _, customs = c.consortium.functions.memberInfo(member_id(label)).call()
        assert (MemberKind(kind), customs) == (MemberKind.CUSTOMS, code_)
        assert c.consortium.functions.accountInfo(account_of(label)).call()[0] == member_id(label)
    for label, kind in ((PLATFORM[0], MemberKind.PLATFORM), (AUDITOR, MemberKind.AUDITOR)):
        assert MemberKind(c.consortium.functions.memberInfo(member_id(label)).call()[0]) == kind
    # The deployment block is the Consortium's: no code there the block before.
    consortium = manifest.addresses["Consortium"]
    assert w3.eth.get_code(consortium, manifest.deployment_block)  # type: ignore[arg-type]
    assert not w3.eth.get_code(consortium, manifest.deployment_block - 1)  # type: ignore[arg-type]


def test_deploy_with_node_down_exits_3(tmp_path: Path) -> None:
    files = write_founders(tmp_path, b"\x01" * 32)
    out = tmp_path / "deployment.json"
    started = time.monotonic()
    code, err = deploy(f"http://127.0.0.1:{free_port()}", files.founders, files.funder_key, out)
    assert code == 3
    assert err.startswith("error: no JSON-RPC node answers at http://127.0.0.1:")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
    assert time.monotonic() - started < 5  # no retry backoff


ELSEWHERE = "0x" + "11" * 20


def _area(code: str, role: str = "origin") -> dict[str, str]:
    return {"label": "c", "customsCode": code, "role": role, "account": ELSEWHERE}


# case -> (top-level members replaced in the good file, what the one-line error says)
BAD_FOUNDERS: dict[str, tuple[dict[str, Any], str]] = {
    "threshold above the areas": ({"threshold": 4}, "threshold must be between 1 and 3"),
    "platform sponsor without key": (
        {"platforms": [{"label": "p", "sponsor": "customs-4600", "account": ELSEWHERE}]},
        "needs its sponsor customs-4600's key",
    ),
    "founder without account": (
        {"founders": [{"label": "c", "customsCode": "2900", "role": "origin"}]},
        "founders[0]: give account or keyFile",
    ),
    "unknown member": ({"validators": []}, "unknown member(s) validators"),
    "bad customs code": ({"founders": [_area("29")]}, "customsCode must be 4 digits"),
    "bad role": ({"founders": [_area("2900", "centre")]}, "role must be one of"),
    "duplicate account": (
        {"auditors": [{"label": "a", "account": account_of("customs-4600")}]},
        "belongs to another member too",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FOUNDERS))
def test_deploy_with_bad_founders_file_exits_2(anvil: AnvilNode, tmp_path: Path, case: str) -> None:
    files = write_founders(tmp_path, anvil.funded_key(), ".json")
    replaced, message = BAD_FOUNDERS[case]
    files.founders.write_text(json.dumps(json.loads(files.founders.read_text()) | replaced))
    head = anvil_head(anvil)
    code, err = deploy(anvil.url, files.founders, files.funder_key, tmp_path / "out.json")
    assert code == 2, err
    assert err.startswith(f"error: {files.founders}: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert anvil_head(anvil) == head  # nothing was sent
    assert not (tmp_path / "out.json").exists()


def test_deploy_with_unreadable_founders_or_key_file_exits_2(
    anvil: AnvilNode, tmp_path: Path
) -> None:
    files = write_founders(tmp_path, anvil.funded_key())
    out = tmp_path / "out.json"
    code, err = deploy(anvil.url, tmp_path / "missing.toml", files.funder_key, out)
    assert code == 2 and "cannot read the founders file" in err
    files.founders.write_text("threshold = [")
    code, err = deploy(anvil.url, files.founders, files.funder_key, out)
    assert code == 2 and "not TOML" in err and err.count("\n") == 1
    files = write_founders(tmp_path, anvil.funded_key())
    files.funder_key.write_text("not hex\n")
    code, err = deploy(anvil.url, files.founders, files.funder_key, out)
    assert code == 2 and "not a private key" in err


def test_deploy_refuses_to_overwrite_a_manifest(anvil: AnvilNode, tmp_path: Path) -> None:
    files = write_founders(tmp_path, anvil.funded_key())
    out = tmp_path / "deployment.json"
    out.write_text("{}")
    code, err = deploy(anvil.url, files.founders, files.funder_key, out)
    assert code == 2 and "exists" in err and out.read_text() == "{}"


def anvil_head(anvil: AnvilNode) -> int:
    return int(RpcNode(anvil.url).w3.eth.block_number)
