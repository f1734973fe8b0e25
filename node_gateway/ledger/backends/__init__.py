"""Ledger backends: the embedded chain (eth-tester), any JSON-RPC node, a local anvil, and
the embedded chain's read-only JSON-RPC front."""
