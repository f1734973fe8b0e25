"""`python -m node_gateway`: the `crossreturn` command line (node_gateway.entry)."""

from node_gateway.entry import main

main()
