"""The shipped JSON mapping files, one per area system format (see adapters.json_mapping)."""
