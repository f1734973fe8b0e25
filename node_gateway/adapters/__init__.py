"""Adapters: each customs area's own system formats in, canonical records out.

The first step of the gateway's one-way flow (adapter -> canonical record -> commitments ->
vault + ledger): `ceb621` (CEB621 inventory lists + CEB816 tax bills -> tax assessments),
`ceb625` (CEB625 return lists -> return applications), `json_mapping` (an area system's JSON,
through a mapping file in `mappings/`). XML is parsed by `safe_xml` (no DTD or entities, size
and depth limits); `drafts` validates with clients.records and reports each broken rule at its
path in the source; `errors` holds the refusals (problem+json codes `invalid_xml`,
`invalid_json`, `invalid_record`, `unmatched_tax_bill`).

Adapters import nothing of the gateway but `api.problems.DomainError` (in `errors`), so they
can move to the SDK if return enterprises are to run them on their side.
"""

from node_gateway.adapters.ceb621 import read_tax_assessments
from node_gateway.adapters.ceb625 import read_return_applications
from node_gateway.adapters.errors import (
    AdapterError,
    InvalidJson,
    InvalidSourceRecord,
    InvalidXml,
    JsonTooLarge,
    MappingError,
    SourceProblem,
    UnmatchedTaxBill,
    XmlTooLarge,
)
from node_gateway.adapters.json_mapping import JsonMapping, load_mapping, read_mapped
from node_gateway.adapters.safe_xml import XmlLimits, parse_xml

__all__ = [
    "AdapterError",
    "InvalidJson",
    "InvalidSourceRecord",
    "InvalidXml",
    "JsonMapping",
    "JsonTooLarge",
    "MappingError",
    "SourceProblem",
    "UnmatchedTaxBill",
    "XmlLimits",
    "XmlTooLarge",
    "load_mapping",
    "parse_xml",
    "read_mapped",
    "read_return_applications",
    "read_tax_assessments",
]
