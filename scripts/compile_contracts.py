"""Compile contracts/*.sol with the pinned solc and write contracts/build/<Contract>.json.

The artifacts are committed so that running CrossReturn never needs a compiler; `--check`
recompiles and exits non-zero when any committed artifact differs from what the sources give.

Compiler resolution order: `SOLC_BINARY`, a py-solc-x-installed solc of the pinned version, then
the npm solcjs wrapper in tools/solc (installed by `make solc`). Imports are resolved here and
every source is passed inline, so any compiler front end sees the same input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import solcx
import solcx.install
import solcx.wrapper

ROOT = Path(__file__).resolve().parents[1]
SOLC_VERSION = "0.8.28"
EVM_VERSION = "shanghai"
DEPLOYABLE = ("Consortium", "TaxAnchor", "ReturnLedger")
NODE_MODULES = ROOT / "tools" / "solc" / "node_modules"
NPM_WRAPPER = ROOT / "tools" / "solc" / "solc-wrapper.js"
SETTINGS: dict[str, Any] = {
    "evmVersion": EVM_VERSION,
    "optimizer": {"enabled": True, "runs": 200},
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
    },
}
_IMPORT = re.compile(r'^\s*import\s+(?:[^"\']*\s+from\s+)?["\']([^"\']+)["\']', re.MULTILINE)


class CompileError(Exception):
    """The compiler could not be found or the sources do not compile."""


def resolve_solc() -> Path:
    """Find a compiler of the pinned version, in the documented order."""
    env = os.environ.get("SOLC_BINARY")
    if env:
        return Path(env)
    try:
        return Path(solcx.install.get_executable(SOLC_VERSION))
    except solcx.exceptions.SolcNotInstalled:
        pass
    if (NODE_MODULES / "solc").is_dir():
        return NPM_WRAPPER
    raise CompileError(
        f"no solc {SOLC_VERSION}: set SOLC_BINARY, or run `make solc` to install npm's solcjs"
    )


def _unit_path(unit: str, contracts_dir: Path) -> Path:
    if unit.startswith("@"):
        return NODE_MODULES / unit
    return contracts_dir.parent / unit


def _resolve(importer: str, target: str) -> str:
    if not target.startswith("."):
        return target
    parts = importer.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def collect_sources(contracts_dir: Path) -> dict[str, str]:
    """Every .sol under contracts_dir plus its transitive imports, keyed by source unit name."""
    pending = [
        f"contracts/{p.relative_to(contracts_dir).as_posix()}"
        for p in sorted(contracts_dir.rglob("*.sol"))
    ]
    sources: dict[str, str] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        path = _unit_path(unit, contracts_dir)
        if not path.is_file():
            raise CompileError(f"import not found: {unit} (looked at {path})")
        text = path.read_text(encoding="utf-8")
        sources[unit] = text
        pending.extend(_resolve(unit, target) for target in _IMPORT.findall(text))
    return dict(sorted(sources.items()))


def check_version(solc: Path) -> None:
    """Refuse any compiler but the pinned one."""
    version = str(solcx.wrapper.get_solc_version(solc, with_commit_hash=True))
    if not version.startswith(SOLC_VERSION):
        raise CompileError(f"{solc} is solc {version}; CrossReturn pins {SOLC_VERSION}")


def standard_input(
    sources: dict[str, str], output_selection: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The standard-JSON input of `sources` with the artifacts' settings (and, for other
    tools such as slither, a wider output selection)."""
    settings = (
        SETTINGS if output_selection is None else {**SETTINGS, "outputSelection": output_selection}
    )
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": settings,
    }


def compile_all(contracts_dir: Path, solc: Path) -> dict[str, dict[str, Any]]:
    """Compile and return one artifact per deployable contract."""
    check_version(solc)
    sources = collect_sources(contracts_dir)
    try:
        output = solcx.compile_standard(standard_input(sources), solc_binary=solc)
    except solcx.exceptions.SolcError as exc:
        raise CompileError(str(exc)) from exc
    artifacts: dict[str, dict[str, Any]] = {}
    for unit, contracts in output["contracts"].items():
        for name, data in contracts.items():
            if name not in DEPLOYABLE or not unit.startswith("contracts/"):
                continue
            metadata = json.loads(data["metadata"])
            artifacts[name] = {
                "contractName": name,
                "sourceName": unit,
                "compiler": metadata["compiler"]["version"],
                "settings": {
                    "evmVersion": metadata["settings"]["evmVersion"],
                    "optimizer": metadata["settings"]["optimizer"],
                },
                "sourceHash": hashlib.sha256(sources[unit].encode()).hexdigest(),
                "sources": {
                    src: meta["keccak256"] for src, meta in sorted(metadata["sources"].items())
                },
                "abi": data["abi"],
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
            }
    missing = set(DEPLOYABLE) - set(artifacts)
    if missing:
        raise CompileError(f"contracts missing from the output: {sorted(missing)}")
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    """The committed text of an artifact (stable key order, trailing newline)."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def stale_artifacts(artifacts: dict[str, dict[str, Any]], build_dir: Path) -> list[str]:
    """Names of contracts whose committed artifact is missing or differs from `artifacts`."""
    return [
        name
        for name, artifact in artifacts.items()
        if not (build_dir / f"{name}.json").is_file()
        or (build_dir / f"{name}.json").read_text(encoding="utf-8") != render(artifact)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if build/ differs from sources")
    parser.add_argument("--contracts-dir", type=Path, default=ROOT / "contracts")
    parser.add_argument("--build-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    build_dir: Path = args.build_dir or args.contracts_dir / "build"
    try:
        solc = resolve_solc()
        artifacts = compile_all(args.contracts_dir, solc)
    except CompileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_artifacts(artifacts, build_dir)
        if stale:
            print(f"stale artifacts: {', '.join(stale)}; run scripts/compile_contracts.py")
            return 1
        print(f"artifacts match the sources ({len(artifacts)} contracts, solc via {solc.name})")
        return 0
    build_dir.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        (build_dir / f"{name}.json").write_text(render(artifact), encoding="utf-8")
        size = (len(artifact["deployedBytecode"]) - 2) // 2
        print(f"{name}: {size} bytes deployed -> {build_dir / (name + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
