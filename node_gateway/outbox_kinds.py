"""The kinds of ledger write the outbox holds: one name per contract call, stored in the
outbox's `kind` column and read back by the ledger's transaction builder. Every layer may
import it (the services queue writes, the pipeline sends them, the ledger builds them)."""

from __future__ import annotations

from enum import StrEnum


class OutboxKind(StrEnum):
    """An outbox row's kind (its value is what the `kind` column holds)."""

    ANCHOR = "anchor"  # TaxAnchor.anchor: a batch root
    OPEN_AND_APPLY = "open_and_apply"  # ReturnLedger.openCaseAndApply: a case's first return
    APPLY = "apply"  # ReturnLedger.applyForReturn
    ARRIVAL = "arrival"
    INSPECTION = "inspection"
    RECOGNITION = "recognition"
    DISPUTE = "dispute"
    SETTLE_NOT_LEVIED = "settle_not_levied"
    SETTLE_REFUNDED = "settle_refunded"
    DISCLOSE = "disclose"  # ReturnLedger.logDisclosure
    PROPOSE = "propose"  # Consortium.propose
    VOTE = "vote"  # Consortium.vote
    NONCE_FILLER = "nonce_filler"  # a transfer that takes a refused row's nonce
