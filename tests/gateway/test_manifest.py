"""The deployment manifest: written and read back unchanged, every field validated on load
with a message naming the file and the field, and the demo consortium's consortium.json is a
valid manifest too."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from clients.bindings import MemberKind
from node_gateway.deploy.bootstrap import MemberSpec
from node_gateway.deploy.contracts import Deployment
from node_gateway.deploy.manifest import FORMAT, Manifest, ManifestError
from node_gateway.run.local_consortium import Consortium
from tests.utils.anvil import account_of

ADDRESSES = {
    "Consortium": account_of("c"),
    "TaxAnchor": account_of("t"),
    "ReturnLedger": account_of("r"),
}
MEMBERS = [
    MemberSpec("customs-2900", MemberKind.CUSTOMS, account_of("a"), 2900, "return_centre"),
    MemberSpec("customs-0100", MemberKind.CUSTOMS, account_of("b"), 100, "origin"),
    MemberSpec("platform-x", MemberKind.PLATFORM, account_of("p"), sponsor="customs-2900"),
    MemberSpec("auditor-y", MemberKind.AUDITOR, account_of("y")),
]


def manifest() -> Manifest:
    deployment = Deployment(
        chain_id=31337,
        addresses=ADDRESSES,
        block=4,
        deployer=account_of("deployer"),
        artifacts={name: f"{i:064x}" for i, name in enumerate(ADDRESSES)},
    )
    return Manifest.of(deployment, MEMBERS, 2)


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    written = manifest()
    written.write(path)
    assert Manifest.load(path) == written
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["deploymentBlock"] == 4
    assert data["founders"][1] == {
        "label": "customs-0100",
        "memberId": "0x" + b"customs-0100".ljust(32, b"\0").hex(),
        "customsCode": "0100",
        "role": "origin",
        "account": account_of("b"),
    }
    assert data["platforms"] == [
        {
            "label": "platform-x",
            "memberId": "0x" + b"platform-x".ljust(32, b"\0").hex(),
            "sponsor": "customs-2900",
            "account": account_of("p"),
        }
    ]
    assert [a["label"] for a in data["auditors"]] == ["auditor-y"]


def _set(path: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return change


INVALID = {
    "format": (_set("format", "v0"), "format must be 'crossreturn.deployment.v1'"),
    "chain id": (_set("chainId", "31337"), "chainId must be an integer >= 1"),
    "address": (_set("addresses.TaxAnchor", "0x12"), "addresses.TaxAnchor is not an address"),
    "contract set": (_set("addresses.Extra", account_of("e")), "addresses must name exactly"),
    "artifact hash": (_set("artifactSha256.Consortium", "ab"), "artifactSha256.Consortium"),
    "missing block": (_set("deploymentBlock", KeyError), "missing 'deploymentBlock'"),
    "member id": (_set("founders.0.memberId", "0x00"), "founders[0].memberId is not the id"),
    "customs code": (_set("founders.0.customsCode", 2900), "customsCode must be 4 digits"),
    "threshold": (_set("threshold", 3), "threshold must be between 1 and 2"),
    "sponsor": (_set("platforms.0.sponsor", "customs-9999"), "not a founding customs area"),
    "created at": (_set("createdAt", "yesterday"), "createdAt must be UTC"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_load_invalid_manifest_raises_naming_the_field(tmp_path: Path, case: str) -> None:
    change, message = INVALID[case]
    data = manifest().to_json()
    change(data)
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError) as info:
        Manifest.load(path)
    assert str(info.value).startswith(f"deployment manifest {path}: ")
    assert message in str(info.value)


def test_load_unreadable_or_not_json_raises(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot be read"):
        Manifest.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ManifestError, match="not JSON"):
        Manifest.load(tmp_path / "bad.json")


def test_demo_consortium_json_is_a_manifest(tmp_path: Path) -> None:
    c = Consortium.open(tmp_path / "c", genesis_timestamp=int(time.time()) - 86400)
    try:
        loaded = Manifest.load(tmp_path / "c" / "consortium.json")
        assert loaded.addresses == c.manifest["addresses"]
        assert [m.label for m in loaded.members] == [
            "customs-2900",
            "customs-3100",
            "customs-4600",
            "platform-demo",
            "auditor-gacc",
        ]
        assert [a["port"] for a in c.manifest["areas"]] == [8200, 8201, 8202]
        assert loaded.deployment_block == 6  # after the five members' gas money
    finally:
        c.stop()
