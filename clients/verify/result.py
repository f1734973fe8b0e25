"""What a verification yields: the named checks, their outcomes, and the exception a check
raises to fail with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHECKS = ("integrity", "anchored", "not_revoked", "issuer", "ledger_state")


class CheckFailed(Exception):
    """A check failed; the message says why."""


@dataclass(frozen=True)
class Check:
    """One named check and its outcome."""

    name: str
    passed: bool
    detail: str


@dataclass
class VerificationResult:
    """Every check run on one document."""

    doc_type: str
    digest: bytes
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return len(self.checks) == len(CHECKS) and all(c.passed for c in self.checks)

    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "docType": self.doc_type,
            "digest": "0x" + self.digest.hex(),
            "ok": self.ok,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
        }


__all__ = ["CHECKS", "Check", "CheckFailed", "VerificationResult"]
