"""The gateway one customs area runs in front of the shared ledger."""
