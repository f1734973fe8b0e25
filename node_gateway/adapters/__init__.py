"""Adapters the gateways alone run: each customs area's own system formats in, canonical
records out.

`ceb621` (CEB621 inventory lists + CEB816 tax bills -> tax assessments) and `json_mapping` (an
area system's JSON, through a mapping file in `mappings/`; `json_guard` bounds its nesting).
They build on the SDK's source-format core, clients.adapters (safe XML, the CEB basics, drafts,
the refusals, and the CEB625 reader return enterprises run on their side); the API answers
those refusals as problem+json (node_gateway.api.problems).
"""

from node_gateway.adapters.ceb621 import read_tax_assessments
from node_gateway.adapters.json_mapping import JsonMapping, MappingError, load_mapping, read_mapped

__all__ = [
    "JsonMapping",
    "MappingError",
    "load_mapping",
    "read_mapped",
    "read_tax_assessments",
]
