"""The holder's answer to `POST /peer/v1/disclosures`: authenticate the signed request
(node_gateway.peer.auth), bound it, then let services/disclosure.py decide what to disclose.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from node_gateway.peer.auth import verify_request
from node_gateway.services.context import AreaContext
from node_gateway.services.disclosure import admit, disclose


def answer(ctx: AreaContext, conn: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    """Authenticate, bound, authorise, disclose, seal, log: the whole answer to one peer
    request."""
    request, kind, code = verify_request(ctx, conn, body)
    admit(ctx, request)
    return disclose(ctx, conn, request, kind, code)
