"""The `crossreturn` command groups of the SDK, one per audience: `platform` (return
enterprises), `officer` (customs officers) and `auditor`; node_gateway.cli.main
mounts them beside the operator commands."""
