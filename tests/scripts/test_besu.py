"""scripts/besu/generate.py: the Besu QBFT network configuration, checked without Besu.

Besu cannot run on this machine, so these tests check what can be checked offline: the genesis
extraData decodes to exactly the validators whose keys were generated (addresses recomputed here
with eth_keys, independently of the generator's coincurve path), the encoder reproduces the QBFT
genesis example of the Besu documentation byte for byte, every TOML/JSON file parses and points
at files that exist, the allowlist and static nodes agree with the keys, and bad input is refused.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import rlp  # type: ignore[import-untyped]
from eth_keys.datatypes import PrivateKey

from scripts.besu.generate import main
from scripts.besu.keys import qbft_extra_data

ROOT = Path(__file__).resolve().parents[2]
GENERATE = ROOT / "scripts" / "besu" / "generate.py"
SEED = "c0ffee" * 6
NAMES = ["hangzhou-2900", "ningbo-3100", "guangzhou-5100", "zhengzhou-4600"]
NETWORK_FILES = [
    "genesis.json",
    "permissions_config.toml",
    "static-nodes.json",
    "network.json",
    "gateway.env",
    "validators.json",
]
NODE_FILES = [
    "key",
    "key.pub",
    "config.toml",
    "start.sh",
    "genesis.json",
    "permissions_config.toml",
    "static-nodes.json",
]


def founders(count: int = 4) -> dict[str, Any]:
    validators = [
        {"name": f"area-{i}", "host": f"10.0.0.{i + 1}", "p2pPort": 30303, "rpcPort": 8545}
        for i in range(count)
    ]
    for entry, name in zip(validators, NAMES, strict=False):
        entry["name"] = name
    return {"validators": validators}


def write_founders(directory: Path, document: object) -> Path:
    path = directory / "founders.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def generate(
    tmp: Path, document: object, *extra: str, out: str = "net"
) -> tuple[int, str, str, Path]:
    """Run the generator as the operator does, in a subprocess."""
    path = write_founders(tmp, document)
    result = subprocess.run(
        [sys.executable, str(GENERATE), "--founders", str(path), "--out", str(tmp / out), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout, result.stderr, tmp / out


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("besu")
    code, stdout, stderr, out = generate(tmp, founders(), "--seed", SEED)
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["chainId"] == 31337
    assert [v["name"] for v in summary["validators"]] == NAMES
    return out


def read_key(node_dir: Path) -> PrivateKey:
    text = (node_dir / "key").read_text()
    assert text.startswith("0x") and len(text) == 66 and "\n" not in text
    return PrivateKey(bytes.fromhex(text[2:]))


def expected_enode(node_dir: Path, host: str, port: int) -> str:
    public = read_key(node_dir).public_key.to_bytes().hex()
    return f"enode://{public}@{host}:{port}"


def all_enodes() -> list[tuple[str, str, int]]:
    return [(v["name"], v["host"], v["p2pPort"]) for v in founders()["validators"]]


def decode_extra_data(genesis: dict[str, Any]) -> list[Any]:
    extra = genesis["extraData"]
    assert extra.startswith("0x")
    decoded: list[Any] = rlp.decode(bytes.fromhex(extra[2:]))
    return decoded


# ---------------------------------------------------------------------------------------------
# The extraData format


def test_extra_data_encoder_reproduces_the_besu_docs_qbft_genesis_example() -> None:
    # Besu docs, "Configure QBFT consensus", genesis file with block header validator selection.
    docs_extra_data = (
        "f87aa00000000000000000000000000000000000000000000000000000000000000000"
        "f8549464a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b"
        "3b0e401f3b08a0318594aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4"
        "e00ce683cf93039b212648e01c6c6b78c080c0"
    )
    validators = [
        "64a702e6263b7297a96638cac6ae65e6541f4169",
        "3923390ad55e90c237593b3b0e401f3b08a03185",
        "aefdb9a738c9f433e5b6b212a6d62f6370c2f692",
        "c7eeb9a4e00ce683cf93039b212648e01c6c6b78",
    ]
    assert qbft_extra_data([bytes.fromhex(v) for v in validators]).hex() == docs_extra_data


def test_genesis_extra_data_holds_exactly_the_generated_validators(network: Path) -> None:
    genesis = json.loads((network / "genesis.json").read_text())
    vanity, validators, vote, round_, seals = decode_extra_data(genesis)
    assert vanity == b"\x00" * 32
    assert vote == []
    assert round_ == b""  # round 0, written by Besu as an RLP scalar: the empty string, 0x80
    assert seals == []
    assert genesis["extraData"].endswith("c080c0")

    derived = [
        read_key(network / "nodes" / name).public_key.to_canonical_address() for name in NAMES
    ]
    assert len(validators) == 4
    assert sorted(validators) == sorted(derived)
    assert validators == sorted(validators)  # ascending, as Besu writes every later block


def test_genesis_config(network: Path) -> None:
    genesis = json.loads((network / "genesis.json").read_text())
    config = genesis["config"]
    assert config["chainId"] == 31337
    assert config["berlinBlock"] == 0
    assert config["londonBlock"] == 0
    assert config["shanghaiTime"] == 0
    assert "cancunTime" not in config and "pragueTime" not in config
    assert config["zeroBaseFee"] is True
    assert config["qbft"] == {
        "blockperiodseconds": 2,
        "epochlength": 30000,
        "requesttimeoutseconds": 4,
    }
    assert "ibft2" not in config and "clique" not in config and "ethash" not in config
    assert genesis["difficulty"] == "0x1"
    assert int(genesis["gasLimit"], 16) >= 2**52
    assert genesis["mixHash"] == (
        "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
    )
    derived = {
        read_key(network / "nodes" / name).public_key.to_canonical_address().hex() for name in NAMES
    }
    assert set(genesis["alloc"]) == derived
    assert all(int(a["balance"], 16) > 0 for a in genesis["alloc"].values())


def test_chain_id_and_block_period_are_applied(tmp_path: Path) -> None:
    code, _, stderr, out = generate(
        tmp_path, founders(5), "--seed", SEED, "--chain-id", "4242", "--block-period", "5"
    )
    assert code == 0, stderr
    genesis = json.loads((out / "genesis.json").read_text())
    assert genesis["config"]["chainId"] == 4242
    assert genesis["config"]["qbft"]["blockperiodseconds"] == 5
    assert genesis["config"]["qbft"]["requesttimeoutseconds"] == 10
    assert len(decode_extra_data(genesis)[1]) == 5


# ---------------------------------------------------------------------------------------------
# Node directories


def test_node_directories_are_complete_and_keys_private(network: Path) -> None:
    assert sorted(p.name for p in network.iterdir()) == sorted([*NETWORK_FILES, "nodes"])
    assert sorted(p.name for p in (network / "nodes").iterdir()) == sorted(NAMES)
    for name in NAMES:
        node = network / "nodes" / name
        assert sorted(p.name for p in node.iterdir()) == sorted(NODE_FILES)
        assert stat.S_IMODE((node / "key").stat().st_mode) == 0o600
        assert stat.S_IMODE(node.stat().st_mode) == 0o700
        start = node / "start.sh"
        assert os.access(start, os.X_OK)
        script = start.read_text()
        assert script.startswith("#!/usr/bin/env bash\n")
        assert "set -euo pipefail" in script
        assert "--config-file=config.toml" in script and "exec " in script
        public = (node / "key.pub").read_text()
        assert public == "0x" + read_key(node).public_key.to_bytes().hex()
        # The shared files are exact copies of the network-wide ones.
        for shared in ("genesis.json", "permissions_config.toml"):
            assert (node / shared).read_bytes() == (network / shared).read_bytes()


def test_start_script_runs_besu_with_the_node_config(network: Path, tmp_path: Path) -> None:
    # A stand-in for besu records its arguments and working directory.
    fake = tmp_path / "besu"
    record = tmp_path / "record.txt"
    fake.write_text(f'#!/usr/bin/env bash\necho "$PWD $*" > {record}\n')
    fake.chmod(0o755)
    node = network / "nodes" / NAMES[0]
    subprocess.run(
        [str(node / "start.sh"), "--version"],
        env={**os.environ, "BESU": str(fake)},
        check=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert record.read_text().split() == [str(node), "--config-file=config.toml", "--version"]


def test_node_config_parses_and_points_at_existing_files(network: Path) -> None:
    for entry in founders()["validators"]:
        node = network / "nodes" / entry["name"]
        config = tomllib.loads((node / "config.toml").read_text())
        for option in (
            "genesis-file",
            "node-private-key-file",
            "permissions-nodes-config-file",
            "static-nodes-file",
        ):
            assert (node / config[option]).is_file(), option
        assert config["data-path"] == "data"
        assert config["p2p-host"] == entry["host"]
        assert config["p2p-port"] == entry["p2pPort"]
        assert config["rpc-http-enabled"] is True
        assert config["rpc-http-host"] == entry["host"]
        assert config["rpc-http-port"] == entry["rpcPort"]
        assert config["rpc-http-api"] == ["ETH", "NET", "WEB3", "QBFT"]
        assert entry["host"] in config["host-allowlist"]
        assert config["min-gas-price"] == 0
        assert config["permissions-nodes-config-file-enabled"] is True
        assert config["sync-mode"] == "FULL"
        assert config["discovery-enabled"] is False
        flat = json.dumps(config).upper()
        assert "ADMIN" not in flat and "DEBUG" not in flat


def test_allowlist_and_static_nodes_list_every_node_once(network: Path) -> None:
    expected = [
        expected_enode(network / "nodes" / name, host, port) for name, host, port in all_enodes()
    ]
    permissions = tomllib.loads((network / "permissions_config.toml").read_text())
    allowlist = permissions["nodes-allowlist"]
    assert sorted(allowlist) == sorted(expected)
    assert len(set(allowlist)) == len(allowlist) == 4
    static = json.loads((network / "static-nodes.json").read_text())
    assert static == allowlist
    for (name, _, _), own in zip(all_enodes(), expected, strict=True):
        peers = json.loads((network / "nodes" / name / "static-nodes.json").read_text())
        assert sorted(peers) == sorted(e for e in expected if e != own)


def test_gateway_files(network: Path) -> None:
    summary = json.loads((network / "network.json").read_text())
    genesis = json.loads((network / "genesis.json").read_text())
    assert summary["chainId"] == 31337
    assert summary["extraData"] == genesis["extraData"]
    # The list to feed `besu rlp encode --type=QBFT_EXTRA_DATA` is the one inside extraData.
    listed = json.loads((network / "validators.json").read_text())
    assert [bytes.fromhex(a) for a in listed] == decode_extra_data(genesis)[1]
    assert [v["rpcUrl"] for v in summary["validators"]] == [
        f"http://10.0.0.{i}:8545" for i in range(1, 5)
    ]
    env = dict(
        line.split("=", 1)
        for line in (network / "gateway.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["CROSSRETURN_CHAIN_ID"] == "31337"
    assert env["CROSSRETURN_RPC_URLS"].split(",") == [v["rpcUrl"] for v in summary["validators"]]
    addresses = {v["address"] for v in summary["validators"]}
    assert set(env["CROSSRETURN_VALIDATORS"].split(",")) == addresses
    derived = {
        read_key(network / "nodes" / name).public_key.to_checksum_address() for name in NAMES
    }
    assert addresses == derived


def test_ipv6_hosts_are_bracketed(tmp_path: Path) -> None:
    document = founders()
    document["validators"][0]["host"] = "fd00::1"
    code, _, stderr, out = generate(tmp_path, document, "--seed", SEED)
    assert code == 0, stderr
    allowlist = tomllib.loads((out / "permissions_config.toml").read_text())["nodes-allowlist"]
    assert allowlist[0].endswith("@[fd00::1]:30303")
    assert "http://[fd00::1]:8545" in (out / "gateway.env").read_text()


# ---------------------------------------------------------------------------------------------
# Reproducibility


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_output(network: Path, tmp_path: Path) -> None:
    code, _, stderr, out = generate(tmp_path, founders(), "--seed", SEED)
    assert code == 0, stderr
    assert snapshot(out) == snapshot(network)


def test_other_seed_or_no_seed_gives_other_keys(network: Path, tmp_path: Path) -> None:
    seeded = (network / "nodes" / NAMES[0] / "key").read_text()
    code, _, stderr, other = generate(tmp_path, founders(), "--seed", "01", out="other")
    assert code == 0, stderr
    code, _, stderr, fresh = generate(tmp_path, founders(), out="fresh")
    assert code == 0, stderr
    assert "warning" not in stderr
    keys_seen = {
        seeded,
        (other / "nodes" / NAMES[0] / "key").read_text(),
        (fresh / "nodes" / NAMES[0] / "key").read_text(),
    }
    assert len(keys_seen) == 3


def test_main_can_be_called_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_founders(tmp_path, founders())
    code = main(["--founders", str(path), "--out", str(tmp_path / "net"), "--seed", SEED])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["validators"]) == 4
    assert summary["reproducibleKeys"] is True


# ---------------------------------------------------------------------------------------------
# Refusals: one line on stderr, exit status 2, nothing written


def assert_refused(code: int, stderr: str, out: Path, message: str) -> None:
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert message in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_three_validators_are_refused(tmp_path: Path) -> None:
    code, _, stderr, out = generate(tmp_path, founders(3), "--seed", SEED)
    assert_refused(code, stderr, out, "at least 4 validators")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v[1].update(name=v[0]["name"]), "duplicate validator name"),
        (lambda v: v[1].update(host=v[0]["host"]), "duplicate endpoint 10.0.0.1:30303"),
        (lambda v: v[1].update(host=v[0]["host"], p2pPort=30304), "duplicate endpoint"),
        (lambda v: v[0].update(rpcPort=30303), "duplicate endpoint 10.0.0.1:30303"),
        (lambda v: v[0].update(p2pPort=0), "p2pPort must be an integer port"),
        (lambda v: v[0].update(rpcPort=65536), "rpcPort must be an integer port"),
        (lambda v: v[0].update(rpcPort="8545"), "rpcPort must be an integer port"),
        (lambda v: v[0].update(p2pPort=True), "p2pPort must be an integer port"),
        (lambda v: v[0].update(host="node1.example"), "host must be an IP address"),
        (lambda v: v[0].update(host="0.0.0.0"), "routable unicast"),
        (lambda v: v[0].update(name="Hangzhou 2900"), "name must be lowercase"),
        (lambda v: v[0].update(name="../x"), "name must be lowercase"),
        (lambda v: v[0].pop("rpcPort"), "lacks rpcPort"),
        (lambda v: v[0].update(rcpPort=1), "unknown keys rcpPort"),
    ],
)
def test_bad_validators_are_refused(tmp_path: Path, change: Any, message: str) -> None:
    document = founders()
    change(document["validators"])
    code, _, stderr, out = generate(tmp_path, document, "--seed", SEED)
    assert_refused(code, stderr, out, message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chain-id", "0"], "--chain-id"),
        (["--block-period", "0"], "--block-period"),
        (["--seed", "xyz"], "--seed must be hexadecimal"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, stderr, out = generate(tmp_path, founders(), *args)
    assert_refused(code, stderr, out, message)


def test_bad_founders_documents_are_refused(tmp_path: Path) -> None:
    code, _, stderr, out = generate(tmp_path, [1, 2, 3], "--seed", SEED)
    assert_refused(code, stderr, out, "must be a JSON object")
    path = tmp_path / "founders.json"
    path.write_text("{not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(GENERATE), "--founders", str(path), "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_refused(result.returncode, result.stderr, tmp_path / "x", "is not JSON")


def test_non_empty_out_dir_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "net"
    out.mkdir()
    (out / "genesis.json").write_text("old")
    code, _, stderr, _ = generate(tmp_path, founders(), "--seed", SEED)
    assert code == 2
    assert "not empty" in stderr and "--force" in stderr
    assert (out / "genesis.json").read_text() == "old"


def test_force_replaces_a_generated_network_only(tmp_path: Path) -> None:
    code, _, stderr, out = generate(tmp_path, founders(5), "--seed", SEED)
    assert code == 0, stderr
    code, _, stderr, out = generate(tmp_path, founders(4), "--seed", SEED, "--force")
    assert code == 0, stderr
    assert len(list((out / "nodes").iterdir())) == 4  # no stale fifth node
    (out / "notes.txt").write_text("mine")
    code, _, stderr, out = generate(tmp_path, founders(4), "--seed", SEED, "--force")
    assert code == 2 and "did not write (notes.txt)" in stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "genesis.json").is_file()
