"""Which model holds which document type."""

from __future__ import annotations

from clients.records.base import DocType, Record
from clients.records.inspection import ArrivalRecord, InspectionReport
from clients.records.outcomes import RecognitionDecision, SettlementRecord
from clients.records.returns import ReturnApplication
from clients.records.tax import TaxAssessment, TaxPayment

RECORD_TYPES: dict[DocType, type[Record]] = {
    model.doc_type: model
    for model in (
        TaxAssessment,
        TaxPayment,
        ReturnApplication,
        ArrivalRecord,
        InspectionReport,
        RecognitionDecision,
        SettlementRecord,
    )
}
if set(RECORD_TYPES) != set(DocType):  # pragma: no cover - a programming error
    raise RuntimeError("every document type needs exactly one record model")
