"""The gateway's domain logic: routes call services; services use the store and the ledger."""
