"""Canonical record schemas: one pydantic model per off-chain document, the field class of every
leaf (for the disclosure policy), validation with rule codes per JSON pointer, and the canonical
JSON form that clients.commitments hashes.

Modules: base (Record, DocType, FieldClass), scalars (validated types), tax / returns /
inspection / outcomes (the documents), classes (field-class tables), codec (canonical form and
parsing), checks (cross-record rules), samples (builders for tests and demos).
"""

from clients.records.base import DocType, FieldClass, Part, Record, field
from clients.records.checks import (
    declared_pieces,
    pro_rata,
    return_problems,
    settlement_for,
    validate_return_against_assessment,
)
from clients.records.classes import FIELD_CLASSES, UnknownFieldPath, field_class, of_classes
from clients.records.codec import canonical, parse_record
from clients.records.errors import FieldError, RecordValidationError
from clients.records.inspection import ArrivalRecord, InspectionLine, InspectionReport
from clients.records.outcomes import (
    QuotaAdjustment,
    RecognitionDecision,
    SettlementLine,
    SettlementRecord,
)
from clients.records.registry import RECORD_TYPES
from clients.records.returns import ReturnApplication, ReturnLine
from clients.records.tax import (
    AssessmentLine,
    Buyer,
    DeclaredTotals,
    PaymentItem,
    TaxAssessment,
    TaxPayment,
    TaxTotals,
)

__all__ = [
    "FIELD_CLASSES",
    "RECORD_TYPES",
    "ArrivalRecord",
    "AssessmentLine",
    "Buyer",
    "DeclaredTotals",
    "DocType",
    "FieldClass",
    "FieldError",
    "InspectionLine",
    "InspectionReport",
    "Part",
    "PaymentItem",
    "QuotaAdjustment",
    "RecognitionDecision",
    "Record",
    "RecordValidationError",
    "ReturnApplication",
    "ReturnLine",
    "SettlementLine",
    "SettlementRecord",
    "TaxAssessment",
    "TaxPayment",
    "TaxTotals",
    "UnknownFieldPath",
    "canonical",
    "field",
    "field_class",
    "of_classes",
    "parse_record",
    "return_problems",
    "settlement_for",
    "declared_pieces",
    "pro_rata",
    "validate_return_against_assessment",
]
