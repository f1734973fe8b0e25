"""`python -m node_gateway`: the `crossreturn` command line (node_gateway.cli.entry)."""

from node_gateway.cli.entry import main

main()
