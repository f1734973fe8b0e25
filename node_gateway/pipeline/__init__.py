"""The gateway's pipeline: anchoring (records -> batches -> roots), the sender (outbox ->
ledger) and the indexer (ledger events -> index)."""
