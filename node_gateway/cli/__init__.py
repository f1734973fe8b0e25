"""The `crossreturn` operator command line: one module per command group."""
