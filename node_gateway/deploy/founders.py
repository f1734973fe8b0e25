"""The founders file of `crossreturn deploy`, JSON or TOML (by its suffix): the founding
customs areas, the platforms they sponsor, the auditors and the vote threshold — parsed into
bootstrap's member specs and checked before anything is sent to a node.

    threshold = 2

    [[founders]]
    label = "customs-2900"        # member label, 1-32 ASCII characters
    customsCode = "2900"          # 4 digits (a string, or an integer)
    role = "return_centre"        # return_centre | origin | both (its gateway's role)
    account = "0x…"               # its signing account, or instead / as well:
    keyFile = "keys/2900.key"     # its key (hex; relative to this file), needed when the area
                                  # signs at founding: sponsoring a platform, voting an auditor

    [[platforms]]                 # optional: registered by their sponsor
    label = "platform-demo"
    sponsor = "customs-3100"
    keyFile = "keys/platform.key" # its key: it signs its own registration (account optional)

    [[auditors]]                  # optional: admitted by `threshold` founders' votes
    label = "auditor-gacc"
    keyFile = "keys/auditor.key"  # its key: it signs its own registration (account optional)

A JSON file has the same members: {"threshold": 2, "founders": [{…}], "platforms": [], …}.
Every problem is an InputFileError naming the file and the entry.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.address import is_address, to_checksum_address

from clients.bindings import MemberKind
from clients.errors import InputFileError
from node_gateway.deploy.bootstrap import MemberSpec, check_members
from node_gateway.ledger.signer import read_key_file

_KEYS = {
    "founders": ({"label", "customsCode", "role"}, {"account", "keyFile"}),
    "platforms": ({"label", "sponsor"}, {"account", "keyFile"}),
    "auditors": ({"label"}, {"account", "keyFile"}),
}
_TOP = {"threshold", "founders", "platforms", "auditors"}


@dataclass(frozen=True)
class FoundingPlan:
    """What to found: the members in file order, the threshold, and the keys given (label ->
    private key; never printed)."""

    members: tuple[MemberSpec, ...]
    threshold: int
    signing_keys: dict[str, bytes] = field(repr=False)


def load_founders(path: Path) -> FoundingPlan:
    """Read and check a founders file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read the founders file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputFileError(str(path), "not UTF-8 text") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise InputFileError(str(path), f"not {kind}: {exc}") from None
    try:
        return _plan(data, path.parent)
    except ValueError as exc:
        raise InputFileError(str(path), str(exc)) from None


def _plan(data: Any, base: Path) -> FoundingPlan:
    if not isinstance(data, dict):
        raise ValueError("must be an object with threshold, founders, platforms, auditors")
    unknown = set(data) - _TOP
    if unknown:
        raise ValueError(f"unknown member(s) {', '.join(sorted(unknown))}")
    threshold = data.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise ValueError("threshold must be an integer")
    members: list[MemberSpec] = []
    keys: dict[str, bytes] = {}
    for section, kind in (
        ("founders", MemberKind.CUSTOMS),
        ("platforms", MemberKind.PLATFORM),
        ("auditors", MemberKind.AUDITOR),
    ):
        entries = data.get(section, [])
        if not isinstance(entries, list):
            raise ValueError(f"{section} must be a list")
        for i, entry in enumerate(entries):
            where = f"{section}[{i}]"
            members.append(_member(entry, kind, section, where, base, keys))
    check_members(members, threshold, keys)
    return FoundingPlan(tuple(members), threshold, keys)


def _member(
    entry: Any, kind: MemberKind, section: str, where: str, base: Path, keys: dict[str, bytes]
) -> MemberSpec:
    required, optional = _KEYS[section]
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be an object")
    missing = required - set(entry)
    if missing:
        raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = set(entry) - required - optional
    if unknown:
        raise ValueError(f"{where}: unknown member(s) {', '.join(sorted(unknown))}")
    label = entry["label"]
    if not isinstance(label, str):
        raise ValueError(f"{where}: label must be a string")
    account = entry.get("account")
    if account is not None and (not isinstance(account, str) or not is_address(account)):
        raise ValueError(f"{where}: account {account!r} is not an address")
    if "keyFile" in entry:
        key_path = base / str(entry["keyFile"])
        try:
            key = read_key_file(key_path)
        except InputFileError as exc:
            raise ValueError(f"{where}: keyFile {exc}") from None
        own = Account.from_key(key).address
        if account is not None and to_checksum_address(account) != own:
            raise ValueError(f"{where}: keyFile is the key of {own}, not of account {account}")
        account = own
        keys[label] = key
    if account is None:
        raise ValueError(f"{where}: give account or keyFile")
    if kind == MemberKind.CUSTOMS:
        return MemberSpec(
            label,
            kind,
            to_checksum_address(account),
            customs_code=_code(entry["customsCode"], where),
            role=str(entry["role"]),
        )
    return MemberSpec(
        label, kind, to_checksum_address(account), sponsor=str(entry.get("sponsor", ""))
    )


def _code(value: Any, where: str) -> int:
    if isinstance(value, str) and len(value) == 4 and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 9999:
        return value
    raise ValueError(f"{where}: customsCode must be 4 digits, got {value!r}")
