"""anvil for tests: a module-scoped node on loopback (free port, state file under tmp, always
stopped), a JSON-RPC backend on it, and a builder of founders files for `crossreturn deploy`.

Registered as a plugin in tests/conftest.py, so any test module can ask for `anvil`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from node_gateway.ledger.backends.anvil import AnvilNode


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    """One anvil for the module, its chain in a state file under tmp; stopped afterwards."""
    with AnvilNode(tmp_path_factory.mktemp("anvil") / "state.json") as node:
        yield node


def key_of(label: str) -> bytes:
    """A deterministic test key per member label."""
    return keccak(text=f"crossreturn-test-key:{label}")


def account_of(label: str) -> str:
    """The account of `key_of(label)`."""
    return str(Account.from_key(key_of(label)).address)


@dataclass(frozen=True)
class FoundersFiles:
    """A founders file, the founders' key files it points to and the funder's key file."""

    founders: Path
    funder_key: Path
    threshold: int


FOUNDERS = (
    # label, code, role, signs at founding (keyFile) or is registered by account only
    ("customs-2900", 2900, "return_centre", True),
    ("customs-3100", 3100, "origin", True),
    ("customs-4600", 4600, "origin", False),
)
PLATFORM = ("platform-demo", "customs-3100")
AUDITOR = "auditor-gacc"


def write_founders(directory: Path, funder_key: bytes, suffix: str = ".toml") -> FoundersFiles:
    """Three customs areas (4600 by account only, the others with key files), a platform
    sponsored by 3100 and an auditor (with key files: they sign their registrations),
    threshold 2 — as TOML or JSON by `suffix`."""
    directory.mkdir(parents=True, exist_ok=True)
    keys = directory / "keys"
    keys.mkdir(exist_ok=True)
    founders: list[dict[str, object]] = []
    for label, code, role, signs in FOUNDERS:
        entry: dict[str, object] = {"label": label, "customsCode": f"{code}", "role": role}
        if signs:
            (keys / f"{label}.key").write_text(key_of(label).hex() + "\n")
            entry["keyFile"] = f"keys/{label}.key"
        else:
            entry["account"] = account_of(label)
        founders.append(entry)
    data: dict[str, object] = {
        "threshold": 2,
        "founders": founders,
        "platforms": [
            {"label": PLATFORM[0], "sponsor": PLATFORM[1], "keyFile": "keys/platform.key"}
        ],
        "auditors": [{"label": AUDITOR, "keyFile": "keys/auditor.key"}],
    }
    (keys / "platform.key").write_text(key_of(PLATFORM[0]).hex() + "\n")
    (keys / "auditor.key").write_text(key_of(AUDITOR).hex() + "\n")
    path = directory / f"founders{suffix}"
    path.write_text(to_toml(data) if suffix == ".toml" else json.dumps(data, indent=2))
    funder = directory / "funder.key"
    funder.write_text("0x" + funder_key.hex() + "\n")
    return FoundersFiles(path, funder, 2)


def to_toml(data: dict[str, object]) -> str:
    """The founders data as TOML: `threshold`, then arrays of tables of strings."""
    lines = [f"threshold = {data['threshold']}"]
    for section in ("founders", "platforms", "auditors"):
        entries = data.get(section)
        assert isinstance(entries, list)
        for entry in entries:
            lines += ["", f"[[{section}]]"]
            lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"
