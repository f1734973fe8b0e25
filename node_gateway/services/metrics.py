"""Prometheus metrics of one gateway, computed from the store at scrape time (text format 0.0.4),
plus the requests the rate limit refused, counted in this process since it started."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from node_gateway.services.context import AreaContext
from node_gateway.store import batches, index, outbox, records


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


def render(
    ctx: AreaContext | None, conn: sqlite3.Connection, rate_limited: Mapping[str, int] | None = None
) -> str:
    """The exposition text; `rate_limited` counts refused requests per API key id."""
    out: list[str] = []

    def gauge(name: str, help_text: str, values: dict[str, int] | int, label: str = "") -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} gauge")
        if isinstance(values, int):
            out.append(_line(name, values))
        else:
            for key, value in sorted(values.items()):
                out.append(_line(name, value, {label: key}))

    gauge(
        "crossreturn_outbox_rows",
        "Outbox rows per status.",
        dict.fromkeys(("pending", "sent", "confirmed", "failed"), 0) | outbox.counts(conn),
        "status",
    )
    gauge(
        "crossreturn_batches",
        "Tax-record batches per status.",
        batches.status_counts(conn),
        "status",
    )
    gauge(
        "crossreturn_anchorings_failed",
        "Sealed batches whose anchoring failed and is not queued again"
        " (crossreturn admin anchoring --retry).",
        len(batches.failed_anchorings(conn)),
    )
    gauge(
        "crossreturn_tax_records", "Tax records held in the vault.", records.count_tax_records(conn)
    )
    gauge(
        "crossreturn_returns",
        "Returns on the ledger per state (indexed).",
        index.state_counts(conn),
        "state",
    )
    checkpoint = index.checkpoint(conn)
    gauge("crossreturn_index_block", "Last ledger block indexed.", checkpoint)
    if ctx is not None and ctx.ledger.is_up():
        gauge("crossreturn_ledger_head_block", "The ledger's head block.", ctx.ledger.head_block())
    out.append(
        "# HELP crossreturn_rate_limited_requests_total "
        "Requests refused by the per-key rate limit since the process started."
    )
    out.append("# TYPE crossreturn_rate_limited_requests_total counter")
    for key_id, count in sorted((rate_limited or {}).items()):
        out.append(_line("crossreturn_rate_limited_requests_total", count, {"key_id": key_id}))
    return "\n".join(out) + "\n"
