"""Generate the configuration of a CrossReturn Hyperledger Besu QBFT network.

    python scripts/besu/generate.py --founders founders.json --out besu-network \
        [--chain-id 31337] [--block-period 2] [--seed HEX] [--force]

founders.json names the founding validators, one per customs area (at least 4, so that the
network survives one faulty validator):

    {"validators": [{"name": "hangzhou-2900", "host": "10.0.0.1",
                     "p2pPort": 30303, "rpcPort": 8545}, ...]}

The output directory gets the network-wide files (genesis.json, permissions_config.toml,
static-nodes.json, network.json, gateway.env, validators.json) and one self-contained directory
per validator, nodes/<name>/, to copy to that validator's host as is. See scripts/besu/README.md.

Node keys come from `secrets`; `--seed` derives them from a seed instead, for reproducible test
networks only. Bad input ends with a one-line error on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from scripts.besu.keys import (  # noqa: E402
    derive_private_key,
    enode_url,
    public_key_of,
    qbft_extra_data,
    random_private_key,
    url_host,
    validator_address,
)

MIN_VALIDATORS = 4
DEFAULT_CHAIN_ID = 31337
DEFAULT_BLOCK_PERIOD = 2
EPOCH_LENGTH = 30000
# Effectively unlimited: the consortium's own gateways are the only senders, and gas is free.
GAS_LIMIT = "0x1fffffffffffff"
# The mixHash every BFT block carries ("Istanbul byzantine fault tolerance" digest, as in the
# Besu QBFT genesis examples); Besu rejects BFT blocks with another value.
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
# A balance for each validator account: harmless, since gas is free (zeroBaseFee, min-gas-price 0).
VALIDATOR_BALANCE = hex(10**24)
RPC_APIS = ("ETH", "NET", "WEB3", "QBFT")
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
VALIDATOR_KEYS = frozenset({"name", "host", "p2pPort", "rpcPort"})
NETWORK_FILES = (
    "genesis.json",
    "permissions_config.toml",
    "static-nodes.json",
    "network.json",
    "gateway.env",
    "validators.json",
)
# What --force may replace in an existing output directory: only what this script writes.
GENERATED_ENTRIES = frozenset(NETWORK_FILES) | {"nodes"}


class GenerateError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


@dataclass(frozen=True)
class Founder:
    name: str
    host: str
    p2p_port: int
    rpc_port: int


@dataclass(frozen=True)
class Node:
    founder: Founder
    private_key: bytes
    public_key: bytes  # 64 bytes: uncompressed secp256k1 point without the 0x04 prefix

    @property
    def address(self) -> bytes:
        return validator_address(self.public_key)

    @property
    def enode(self) -> str:
        return enode_url(self.public_key, self.founder.host, self.founder.p2p_port)

    @property
    def rpc_url(self) -> str:
        return f"http://{url_host(self.founder.host)}:{self.founder.rpc_port}"


# ---------------------------------------------------------------------------------------------
# Input


def _port(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise GenerateError(f"{where} must be an integer port from 1 to 65535, got {value!r}")
    return value


def _host(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise GenerateError(f"{where} must be a string IP address, got {value!r}")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        # Besu's node allowlist and static nodes take IP addresses, not DNS names
        # (unless started with the experimental --Xdns-enabled).
        raise GenerateError(f"{where} must be an IP address, got {value!r}") from None
    if address.is_unspecified or address.is_multicast:
        raise GenerateError(f"{where} must be a routable unicast address, got {value!r}")
    return str(address)


def parse_founders(document: object) -> list[Founder]:
    if not isinstance(document, dict) or set(document) != {"validators"}:
        raise GenerateError('founders file must be a JSON object {"validators": [...]}')
    entries = document["validators"]
    if not isinstance(entries, list):
        raise GenerateError("founders file: validators must be a list")
    if len(entries) < MIN_VALIDATORS:
        raise GenerateError(
            f"QBFT needs at least {MIN_VALIDATORS} validators to tolerate one fault, "
            f"got {len(entries)}"
        )
    founders: list[Founder] = []
    names: set[str] = set()
    endpoints: dict[tuple[str, int], str] = {}
    for index, entry in enumerate(entries):
        where = f"validators[{index}]"
        if not isinstance(entry, dict):
            raise GenerateError(f"{where} must be an object")
        missing = sorted(VALIDATOR_KEYS - set(entry))
        unknown = sorted(set(entry) - VALIDATOR_KEYS)
        if missing:
            raise GenerateError(f"{where} lacks {', '.join(missing)}")
        if unknown:
            raise GenerateError(f"{where} has unknown keys {', '.join(unknown)}")
        name = entry["name"]
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise GenerateError(
                f"{where}.name must be lowercase letters, digits and inner hyphens "
                f"(at most 63), got {name!r}"
            )
        if name in names:
            raise GenerateError(f"duplicate validator name {name!r}")
        names.add(name)
        founder = Founder(
            name=name,
            host=_host(entry["host"], f"{where}.host"),
            p2p_port=_port(entry["p2pPort"], f"{where}.p2pPort"),
            rpc_port=_port(entry["rpcPort"], f"{where}.rpcPort"),
        )
        for kind, port in (("p2pPort", founder.p2p_port), ("rpcPort", founder.rpc_port)):
            endpoint = (founder.host, port)
            if endpoint in endpoints:
                raise GenerateError(
                    f"duplicate endpoint {url_host(founder.host)}:{port} "
                    f"({endpoints[endpoint]} and {name}.{kind})"
                )
            endpoints[endpoint] = f"{name}.{kind}"
        founders.append(founder)
    return founders


def load_founders(path: Path) -> list[Founder]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GenerateError(f"cannot read founders file {path}: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GenerateError(f"founders file {path} is not JSON: {exc}") from None
    return parse_founders(document)


def parse_seed(text: str) -> bytes:
    digits = text.removeprefix("0x")
    try:
        seed = bytes.fromhex(digits)
    except ValueError:
        raise GenerateError("--seed must be hexadecimal") from None
    if not seed:
        raise GenerateError("--seed must not be empty")
    return seed


# ---------------------------------------------------------------------------------------------
# Rendering


def _toml_string(value: str) -> str:
    # Every string written here is ASCII (validated names, IP addresses, hex, fixed paths), and a
    # JSON string of ASCII text is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=True)


def _toml_strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def _json(document: Any) -> str:
    return json.dumps(document, indent=2) + "\n"


def render_genesis(nodes: Sequence[Node], chain_id: int, block_period: int) -> str:
    # Ascending address order, as the Besu QBFT docs ask of the validator list given to
    # `besu rlp encode --type=QBFT_EXTRA_DATA`, and as Besu writes and checks the list in every
    # later block (its BFT validators validation rule: "Validators are not sorted in ascending
    # order").
    addresses = sorted(node.address for node in nodes)
    genesis = {
        "config": {
            "chainId": chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            # The contracts are compiled for EVM version shanghai; cancun is deliberately off.
            "shanghaiTime": 0,
            "zeroBaseFee": True,
            "qbft": {
                "blockperiodseconds": block_period,
                "epochlength": EPOCH_LENGTH,
                "requesttimeoutseconds": max(4, 2 * block_period),
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": "0x" + qbft_extra_data(addresses).hex(),
        "gasLimit": GAS_LIMIT,
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        # Keys as in Besu's own genesis examples: lowercase hex without 0x.
        "alloc": {node.address.hex(): {"balance": VALIDATOR_BALANCE} for node in nodes},
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }
    return _json(genesis)


def render_permissions(nodes: Sequence[Node]) -> str:
    lines = [
        "# CrossReturn QBFT network: the nodes allowed to connect (Besu local node permissioning).",
        "# Generated by scripts/besu/generate.py; identical on every node.",
        "nodes-allowlist=[",
        ",\n".join(f"  {_toml_string(node.enode)}" for node in nodes),
        "]",
    ]
    return "\n".join(lines) + "\n"


def render_node_config(node: Node) -> str:
    f = node.founder
    lines = [
        f"# Besu configuration of CrossReturn validator {f.name}.",
        "# Generated by scripts/besu/generate.py. Relative paths are relative to this",
        "# directory: start.sh changes into it before it starts Besu.",
        f"identity={_toml_string(f.name)}",
        'data-path="data"',
        'genesis-file="genesis.json"',
        'node-private-key-file="key"',
        'logging="INFO"',
        "",
        "# P2P: static peers only, every peer on the allowlist",
        "p2p-enabled=true",
        f"p2p-host={_toml_string(f.host)}",
        'p2p-interface="0.0.0.0"',
        f"p2p-port={f.p2p_port}",
        "discovery-enabled=false",
        'static-nodes-file="static-nodes.json"',
        'nat-method="NONE"',
        "permissions-nodes-config-file-enabled=true",
        'permissions-nodes-config-file="permissions_config.toml"',
        "",
        "# JSON-RPC for the node gateways: no ADMIN, DEBUG, TXPOOL, PERM or MINER",
        "rpc-http-enabled=true",
        f"rpc-http-host={_toml_string(f.host)}",
        f"rpc-http-port={f.rpc_port}",
        f"rpc-http-api={_toml_strings(RPC_APIS)}",
        f"host-allowlist={_toml_strings(['localhost', '127.0.0.1', f.host])}",
        "rpc-ws-enabled=false",
        "graphql-http-enabled=false",
        "",
        "# Free gas (genesis zeroBaseFee); keep revert reasons for the gateways' error messages",
        "min-gas-price=0",
        "revert-reason-enabled=true",
        'sync-mode="FULL"',
    ]
    return "\n".join(lines) + "\n"


START_SH = """#!/usr/bin/env bash
# Start CrossReturn validator {name} (Hyperledger Besu >= 24.x, QBFT).
# Generated by scripts/besu/generate.py. BESU names the besu executable if it is not on PATH;
# any arguments are passed on to besu.
set -euo pipefail
umask 077
cd "$(dirname "${{BASH_SOURCE[0]}}")"
exec "${{BESU:-besu}}" --config-file=config.toml "$@"
"""


def render_gateway_env(nodes: Sequence[Node], chain_id: int) -> str:
    lines = [
        "# What the CrossReturn node gateways need to reach the QBFT network.",
        "# Generated by scripts/besu/generate.py.",
        f"CROSSRETURN_CHAIN_ID={chain_id}",
        "CROSSRETURN_RPC_URLS=" + ",".join(node.rpc_url for node in nodes),
        "CROSSRETURN_VALIDATORS="
        + ",".join(to_checksum_address(a) for a in sorted(n.address for n in nodes)),
    ]
    return "\n".join(lines) + "\n"


def network_summary(nodes: Sequence[Node], chain_id: int, block_period: int) -> dict[str, Any]:
    return {
        "consensus": "qbft",
        "chainId": chain_id,
        "blockPeriodSeconds": block_period,
        "evmVersion": "shanghai",
        "extraData": "0x" + qbft_extra_data(sorted(n.address for n in nodes)).hex(),
        "validators": [
            {
                "name": node.founder.name,
                "address": to_checksum_address(node.address),
                "enode": node.enode,
                "rpcUrl": node.rpc_url,
            }
            for node in nodes
        ],
    }


# ---------------------------------------------------------------------------------------------
# Output


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        os.fchmod(handle.fileno(), mode)  # whatever the umask
        handle.write(text)


def prepare_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise GenerateError(f"--out {out} exists and is not a directory")
    if not out.exists():
        out.mkdir(parents=True)
        return
    entries = sorted(entry.name for entry in out.iterdir())
    if not entries:
        return
    if not force:
        raise GenerateError(
            f"--out {out} is not empty; pass --force to replace a generated network"
        )
    foreign = [name for name in entries if name not in GENERATED_ENTRIES]
    if foreign:
        raise GenerateError(
            f"--out {out} holds files this script did not write ({', '.join(foreign)}); "
            "refusing even with --force"
        )
    for name in entries:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def write_network(out: Path, nodes: Sequence[Node], chain_id: int, block_period: int) -> None:
    genesis = render_genesis(nodes, chain_id, block_period)
    permissions = render_permissions(nodes)
    all_enodes = [node.enode for node in nodes]
    summary = network_summary(nodes, chain_id, block_period)

    _write(out / "genesis.json", genesis)
    _write(out / "permissions_config.toml", permissions)
    _write(out / "static-nodes.json", _json(all_enodes))
    _write(out / "network.json", _json(summary))
    _write(out / "gateway.env", render_gateway_env(nodes, chain_id))
    # Input for Besu's own encoder, to cross-check extraData on a host that has Besu:
    # besu rlp encode --from=validators.json --type=QBFT_EXTRA_DATA
    _write(out / "validators.json", _json(sorted(node.address.hex() for node in nodes)))

    for node in nodes:
        node_dir = out / "nodes" / node.founder.name
        node_dir.mkdir(parents=True)
        node_dir.chmod(0o700)
        # The key file format Besu itself writes: one line, 0x-prefixed hex (KeyPairUtil).
        _write(node_dir / "key", "0x" + node.private_key.hex(), 0o600)
        _write(node_dir / "key.pub", "0x" + node.public_key.hex())
        _write(node_dir / "config.toml", render_node_config(node))
        _write(node_dir / "start.sh", START_SH.format(name=node.founder.name), 0o755)
        # Copies of the network-wide files, so that the directory alone goes to the host.
        _write(node_dir / "genesis.json", genesis)
        _write(node_dir / "permissions_config.toml", permissions)
        # Its peers: every other validator.
        _write(
            node_dir / "static-nodes.json",
            _json([enode for enode in all_enodes if enode != node.enode]),
        )


def build_nodes(founders: Sequence[Founder], seed: bytes | None) -> list[Node]:
    nodes = []
    for founder in founders:
        key = derive_private_key(seed, founder.name) if seed else random_private_key()
        nodes.append(Node(founder=founder, private_key=key, public_key=public_key_of(key)))
    if len({node.address for node in nodes}) != len(nodes):  # pragma: no cover - 2**-160
        raise GenerateError("two validators got the same key; run again")
    return nodes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate a CrossReturn Hyperledger Besu QBFT network configuration."
    )
    parser.add_argument("--founders", type=Path, required=True, help="founders JSON file")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--chain-id", type=int, default=DEFAULT_CHAIN_ID)
    parser.add_argument(
        "--block-period", type=int, default=DEFAULT_BLOCK_PERIOD, help="seconds between blocks"
    )
    parser.add_argument(
        "--seed", help="hex seed for reproducible node keys (test networks only, never production)"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace a network previously generated in --out"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not 1 <= args.chain_id < 2**63:
        raise GenerateError(f"--chain-id must be from 1 to 2**63-1, got {args.chain_id}")
    if not 1 <= args.block_period <= 3600:
        raise GenerateError(f"--block-period must be 1 to 3600 seconds, got {args.block_period}")
    seed = parse_seed(args.seed) if args.seed is not None else None
    founders = load_founders(args.founders)
    out: Path = args.out
    prepare_out_dir(out, args.force)
    nodes = build_nodes(founders, seed)
    write_network(out, nodes, args.chain_id, args.block_period)
    summary = network_summary(nodes, args.chain_id, args.block_period)
    summary["out"] = str(out)
    summary["reproducibleKeys"] = seed is not None
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        summary = run(args)
    except GenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if summary["reproducibleKeys"]:
        print(
            "warning: --seed makes every node key reproducible; never use it in production",
            file=sys.stderr,
        )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
