"""Run slither over contracts/*.sol and exit non-zero on any High or Medium finding not excluded.

slither lives in its own venv, tools/slither/.venv (`make slither` installs it from
tools/slither/requirements.txt; `SLITHER` overrides the path). It compiles with the compiler and
the standard-JSON input that build the committed artifacts: the compiler `compile_contracts`
resolves (SOLC_BINARY, py-solc-x's solc, else the npm solcjs wrapper), the same inlined sources and
the same settings (optimizer, evmVersion, metadata), fed to crytic-compile's `solc-json` platform.
Only the output selection differs: slither also reads the AST and the source maps.

Accepted High/Medium findings are in EXCLUDED, each with its reason beside it. slither's other ways
of hiding findings (inline `slither-disable` comments, a triage database, a slither.config.json)
are switched off, so that list is the only one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.compile_contracts import (  # noqa: E402
    NODE_MODULES,
    ROOT,
    CompileError,
    check_version,
    collect_sources,
    resolve_solc,
    standard_input,
)

SLITHER = ROOT / "tools" / "slither" / ".venv" / "bin" / "slither"
GATED = ("High", "Medium")
IMPACTS = ("High", "Medium", "Low", "Informational", "Optimization")
OUTPUT_SELECTION = {
    "*": {
        "*": [
            "abi",
            "devdoc",
            "userdoc",
            "evm.bytecode.object",
            "evm.bytecode.sourceMap",
            "evm.deployedBytecode.object",
            "evm.deployedBytecode.sourceMap",
        ],
        "": ["ast"],
    }
}


@dataclass(frozen=True)
class Exclusion:
    """An accepted finding: its detector, the function it is in and, optionally, the statement."""

    check: str
    where: str  # "Contract.signature" as slither names the function
    node: str | None = None  # the statement as slither prints it; None: any in `where`


# Every accepted High/Medium finding, and why. Matched on detector, function and statement, not on
# line numbers, so an edit elsewhere keeps it; a new finding in the same place is not hidden.
EXCLUDED: tuple[Exclusion, ...] = (
    # OpenZeppelin 5.4.0 (tools/solc/package.json), reached through ECDSA/EIP712 -> Strings -> Math.
    # None of these functions is called by CrossReturn (Strings uses only Math.log10/log256).
    # `inverse = (3 * denominator) ^ 2` is the intended XOR: the seed of the Newton-Raphson inverse,
    # correct mod 2^4 (Math.sol says so beside it); it is not a mistyped exponentiation.
    Exclusion("incorrect-exp", "Math.mulDiv(uint256,uint256,uint256)"),
    # 512-bit mulDiv divides by `twos`, the largest power of two dividing the denominator, before
    # multiplying by the modular inverse: the division is exact by construction, nothing is lost.
    Exclusion("divide-before-multiply", "Math.mulDiv(uint256,uint256,uint256)"),
    # Extended Euclid: the floored quotient `gcd / remainder` times `remainder` is the algorithm.
    Exclusion("divide-before-multiply", "Math.invMod(uint256,uint256)"),
    # ReturnLedger (unused-return): each ignored value is unneeded by design.
    # The member's status does not matter here: a case stays with its origin area even when that
    # area is suspended (the function's NatSpec); only kind and customs code are read.
    Exclusion(
        "unused-return",
        "ReturnLedger._customsCodeOf(bytes32)",
        "(kind,None,customsCode) = _consortium.memberInfo(memberId)",
    ),
    # requireActiveLeaf is a guard that reverts on any failure (unknown, foreign, revoked root or
    # leaf, wrong batch kind, bad proof); its return value, the root's anchoring time, is not used.
    Exclusion(
        "unused-return",
        "ReturnLedger.settleRefunded(bytes32,uint128,uint32[],bytes32,bool,"
        "IReturnLedger.PaymentProof)",
        "_taxAnchor.requireActiveLeaf(payment.root,leaf,payment.proof,originCode,"
        "ITaxAnchor.BatchKind.Payment)",
    ),
    # tryRecover's third value only details the error (a bad length or s): any error gives
    # signer zero, which no check accepts.
    Exclusion(
        "unused-return",
        "Consortium._signerOf(bytes32,bytes)",
        "(signer,err,None) = ECDSA.tryRecover(_hashTypedDataV4(structHash),signature)",
    ),
)


class SlitherError(Exception):
    """slither could not be found or could not analyse the sources."""


@dataclass(frozen=True)
class Finding:
    """One slither result, keyed as EXCLUDED keys them."""

    check: str
    impact: str
    where: str
    node: str | None
    description: str

    def key(self) -> str:
        return f"{self.impact:<8} {self.check:<24} {self.where}" + (
            f"  [{self.node}]" if self.node else ""
        )


@dataclass(frozen=True)
class Verdict:
    """Gated findings split into failing and excluded, plus exclusions that matched nothing."""

    failing: list[Finding]
    excluded: list[Finding]
    unused: list[Exclusion]


def _where(element: dict[str, Any]) -> str:
    fields = element.get("type_specific_fields", {})
    parent = fields.get("parent", {}).get("name")
    name = fields.get("signature") or element.get("name", "")
    return f"{parent}.{name}" if parent else str(name)


def parse(report: dict[str, Any]) -> list[Finding]:
    """The detector results of slither's `--json` report."""
    findings = []
    for result in report["results"].get("detectors", []):
        elements = result.get("elements", [])
        nodes = [e["name"] for e in elements if e.get("type") == "node"]
        findings.append(
            Finding(
                check=result["check"],
                impact=result["impact"],
                where=_where(elements[0]) if elements else "",
                node=nodes[0] if nodes else None,
                description=result["description"].strip(),
            )
        )
    return findings


def _excludes(exclusion: Exclusion, finding: Finding) -> bool:
    return (
        exclusion.check == finding.check
        and exclusion.where == finding.where
        and exclusion.node in (None, finding.node)
    )


def judge(findings: list[Finding], exclusions: tuple[Exclusion, ...] = EXCLUDED) -> Verdict:
    """Split the High/Medium findings by EXCLUDED; list the exclusions nothing matched."""
    gated = [f for f in findings if f.impact in GATED]
    excluded = [f for f in gated if any(_excludes(x, f) for x in exclusions)]
    failing = [f for f in gated if f not in excluded]
    unused = [x for x in exclusions if not any(_excludes(x, f) for f in findings)]
    return Verdict(failing, excluded, unused)


def slither_binary() -> Path:
    path = Path(os.environ.get("SLITHER", SLITHER))
    if not path.is_file():
        raise SlitherError(f"slither not found at {path}: run `make slither` (or set SLITHER)")
    return path


def scan(contracts_dir: Path) -> list[Finding]:
    """Compile contracts_dir as compile_contracts does and return slither's findings."""
    contracts_dir = contracts_dir.resolve()
    solc = resolve_solc()
    solc = solc.resolve() if solc.exists() else solc
    check_version(solc)
    compiler_input = standard_input(collect_sources(contracts_dir), OUTPUT_SELECTION)
    with tempfile.TemporaryDirectory(prefix="slither-") as tmp:
        target = Path(tmp) / "contracts.standard.json"
        target.write_text(json.dumps(compiler_input), encoding="utf-8")
        config = Path(tmp) / "slither.config.json"
        config.write_text("{}", encoding="utf-8")  # no stray slither.config.json in cwd applies
        command = [
            str(slither_binary()),
            str(target),
            "--compile-force-framework",
            "solc-json",
            "--solc",
            str(solc),
            # Source unit names are resolved by crytic-compile from its working directory:
            # "contracts/..." from cwd (contracts_dir's parent), "@openzeppelin/..." from here.
            "--solc-working-dir",
            str(NODE_MODULES.parent),
            "--solc-disable-warnings",
            "--config-file",
            str(config),
            "--show-ignored-findings",
            "--fail-none",
            "--disable-color",
            "--json",
            "-",
        ]
        result = subprocess.run(
            command,
            cwd=contracts_dir.parent,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise SlitherError(f"slither failed ({result.returncode}):\n{result.stderr}") from None
    if not report.get("success"):
        raise SlitherError(f"slither failed: {report.get('error')}\n{result.stderr}")
    return parse(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts-dir", type=Path, default=ROOT / "contracts")
    parser.add_argument("--all", action="store_true", help="also print every Low/Info finding")
    args = parser.parse_args(argv)
    try:
        findings = scan(args.contracts_dir)
    except (CompileError, SlitherError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verdict = judge(findings)
    counts = Counter(f.impact for f in findings)
    print(
        f"slither: {len(findings)} findings in {args.contracts_dir} — "
        + ", ".join(f"{impact} {counts[impact]}" for impact in IMPACTS)
    )
    if args.all:
        for finding in findings:
            if finding.impact not in GATED:
                print(f"\n[{finding.impact}/{finding.check}] {finding.description}")
    if verdict.excluded:
        print(f"excluded ({len(verdict.excluded)}, reasons in EXCLUDED of {Path(__file__).name}):")
        for finding in verdict.excluded:
            print(f"  {finding.key()}")
    if args.contracts_dir.resolve() == (ROOT / "contracts").resolve():
        for x in verdict.unused:
            print(f"warning: exclusion matches nothing, remove it: {x.check} {x.where} [{x.node}]")
    for finding in verdict.failing:
        print(f"\n[{finding.impact}/{finding.check}] {finding.description}")
    print(f"\n{len(verdict.failing)} High/Medium finding(s) not excluded")
    return 1 if verdict.failing else 0


if __name__ == "__main__":
    sys.exit(main())
