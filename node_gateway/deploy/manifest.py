"""The deployment manifest: the public description of one deployment of the contracts, written
by `crossreturn deploy` (and by the demo consortium, as the core of its consortium.json) and
read by every gateway of the consortium — chain id, contract addresses, sha256 of each
artifact file the code came from, deployment block, deployer, founding members, threshold,
creation time. `Manifest.load` validates it; nothing secret is ever in it.

    {"format": "crossreturn.deployment.v1", "chainId": 31337,
     "addresses": {"Consortium": "0x…", "TaxAnchor": "0x…", "ReturnLedger": "0x…"},
     "artifactSha256": {"Consortium": "<64 hex>", …}, "deploymentBlock": 4,
     "deployer": "0x…", "threshold": 2,
     "founders": [{"label": "customs-2900", "memberId": "0x…", "customsCode": "2900",
                   "role": "return_centre", "account": "0x…"}, …],
     "platforms": [{"label": …, "memberId": …, "sponsor": "customs-3100", "account": …}],
     "auditors": [{"label": …, "memberId": …, "account": …}],
     "createdAt": "2026-05-08T07:50:55Z"}

Readers ignore members they do not know (consortium.json adds the demo's "areas").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from clients.bindings import CONTRACT_NAMES, MemberKind, member_id
from clients.errors import LedgerError
from node_gateway.deploy.bootstrap import MemberSpec, check_members
from node_gateway.deploy.contracts import Deployment

FORMAT = "crossreturn.deployment.v1"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CODE = re.compile(r"^\d{4}$")
_TIME = "%Y-%m-%dT%H:%M:%SZ"


class ManifestError(LedgerError):
    """A deployment manifest that cannot be read or is not valid; says which file and why."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"deployment manifest {source}: {reason}")


@dataclass(frozen=True)
class Manifest:
    """One deployment of the contracts, as recorded in the manifest file."""

    chain_id: int
    addresses: dict[str, str]
    artifacts: dict[str, str]
    deployment_block: int
    deployer: str
    threshold: int
    members: tuple[MemberSpec, ...]
    created_at: str

    @classmethod
    def of(
        cls,
        deployment: Deployment,
        members: Sequence[MemberSpec],
        threshold: int,
        created_at: datetime | None = None,
    ) -> Manifest:
        """The manifest of a deployment made by `bootstrap.found` with these members."""
        when = created_at or datetime.now(UTC)
        return cls(
            chain_id=deployment.chain_id,
            addresses={k: to_checksum_address(v) for k, v in deployment.addresses.items()},
            artifacts=dict(deployment.artifacts),
            deployment_block=deployment.block,
            deployer=to_checksum_address(deployment.deployer),
            threshold=threshold,
            members=tuple(members),
            created_at=when.astimezone(UTC).strftime(_TIME),
        )

    def of_kind(self, kind: MemberKind) -> list[MemberSpec]:
        """The founding members of one kind, in manifest order."""
        return [m for m in self.members if m.kind == kind]

    # ------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON data."""

        def entry(m: MemberSpec) -> dict[str, Any]:
            out: dict[str, Any] = {"label": m.label, "memberId": "0x" + m.member_id.hex()}
            if m.kind == MemberKind.CUSTOMS:
                out |= {"customsCode": f"{m.customs_code:04d}", "role": m.role}
            elif m.kind == MemberKind.PLATFORM:
                out["sponsor"] = m.sponsor
            out["account"] = to_checksum_address(m.account)
            return out

        return {
            "format": FORMAT,
            "chainId": self.chain_id,
            "addresses": dict(self.addresses),
            "artifactSha256": dict(self.artifacts),
            "deploymentBlock": self.deployment_block,
            "deployer": self.deployer,
            "threshold": self.threshold,
            "founders": [entry(m) for m in self.of_kind(MemberKind.CUSTOMS)],
            "platforms": [entry(m) for m in self.of_kind(MemberKind.PLATFORM)],
            "auditors": [entry(m) for m in self.of_kind(MemberKind.AUDITOR)],
            "createdAt": self.created_at,
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "(data)") -> Manifest:
        """Validate manifest data; a ManifestError names the first problem."""
        try:
            return _parse(data)
        except (ValueError, TypeError, KeyError) as exc:
            reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ManifestError(source, reason) from None

    @classmethod
    def load(cls, path: Path | str) -> Manifest:
        """Read and validate a manifest file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ManifestError(str(path), f"cannot be read ({exc.strerror})") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ManifestError(str(path), f"not JSON ({exc})") from None
        return cls.from_json(data, str(path))

    def write(self, path: Path | str, extra: dict[str, Any] | None = None) -> None:
        """Write the manifest (with `extra` top-level members) atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({**self.to_json(), **(extra or {})}, indent=2) + "\n")
        tmp.replace(path)


# ---------------------------------------------------------------------- validation


def _int(data: dict[str, Any], key: str, minimum: int) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{what} is not an address: {value!r}")
    return str(to_checksum_address(value))


def _by_contract(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data[key]
    if not isinstance(value, dict) or set(value) != set(CONTRACT_NAMES):
        raise ValueError(f"{key} must name exactly {', '.join(CONTRACT_NAMES)}")
    return value


def _member(item: Any, kind: MemberKind, where: str) -> MemberSpec:
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object")
    label = item["label"]
    if not isinstance(label, str):
        raise ValueError(f"{where}.label must be a string")
    if item["memberId"] != "0x" + member_id(label).hex():
        raise ValueError(f"{where}.memberId is not the id of label {label!r}")
    code, role, sponsor = 0, "", ""
    if kind == MemberKind.CUSTOMS:
        if not isinstance(item["customsCode"], str) or not _CODE.match(item["customsCode"]):
            raise ValueError(f"{where}.customsCode must be 4 digits as a string")
        code, role = int(item["customsCode"]), str(item["role"])
    elif kind == MemberKind.PLATFORM:
        sponsor = str(item["sponsor"])
    account = _address(item["account"], f"{where}.account")
    return MemberSpec(label, kind, account, code, role, sponsor)


def _parse(data: Any) -> Manifest:
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object")
    if data.get("format") != FORMAT:
        raise ValueError(f"format must be {FORMAT!r}, got {data.get('format')!r}")
    addresses = {
        name: _address(value, f"addresses.{name}")
        for name, value in _by_contract(data, "addresses").items()
    }
    artifacts = _by_contract(data, "artifactSha256")
    for name, digest in artifacts.items():
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise ValueError(f"artifactSha256.{name} must be 64 lowercase hex digits")
    members: list[MemberSpec] = []
    for key, kind in (
        ("founders", MemberKind.CUSTOMS),
        ("platforms", MemberKind.PLATFORM),
        ("auditors", MemberKind.AUDITOR),
    ):
        items = data[key]
        if not isinstance(items, list):
            raise ValueError(f"{key} must be a list")
        members += [_member(item, kind, f"{key}[{i}]") for i, item in enumerate(items)]
    threshold = _int(data, "threshold", 1)
    check_members(members, threshold)
    created_at = data["createdAt"]
    try:
        datetime.strptime(str(created_at), _TIME)
    except ValueError:
        raise ValueError(
            f"createdAt must be UTC as YYYY-MM-DDTHH:MM:SSZ, got {created_at!r}"
        ) from None
    return Manifest(
        chain_id=_int(data, "chainId", 1),
        addresses=addresses,
        artifacts=dict(artifacts),
        deployment_block=_int(data, "deploymentBlock", 0),
        deployer=_address(data["deployer"], "deployer"),
        threshold=threshold,
        members=tuple(members),
        created_at=str(created_at),
    )
