"""Source-format readers: CEB XML in, canonical records out, importable without the gateway.

The first step of the one-way flow (adapter -> canonical record -> commitments -> ...), shared
by the return enterprise (which converts its CEB625 return list before signing it) and the
gateways (whose area-only formats live in node_gateway.adapters and build on these parts):
`ceb625` (CEB625 return lists -> return applications), `ceb` (what every CEB message shares),
`safe_xml` (no DTD or entities, size and depth limits), `drafts` (validation with
clients.records, each broken rule reported at its path in the source) and `errors` (the
refusals, with stable codes `invalid_xml`, `invalid_json`, `invalid_record`,
`unmatched_tax_bill`).
"""

from clients.adapters.ceb625 import read_return_applications
from clients.adapters.errors import (
    AdapterError,
    InvalidJson,
    InvalidSourceRecord,
    InvalidXml,
    JsonTooLarge,
    SourceProblem,
    UnmatchedTaxBill,
    XmlTooLarge,
)
from clients.adapters.safe_xml import XmlLimits, parse_xml

__all__ = [
    "AdapterError",
    "InvalidJson",
    "InvalidSourceRecord",
    "InvalidXml",
    "JsonTooLarge",
    "SourceProblem",
    "UnmatchedTaxBill",
    "XmlLimits",
    "XmlTooLarge",
    "parse_xml",
    "read_return_applications",
]
