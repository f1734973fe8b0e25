"""The gateway's only web3 importer: ledger backends, local signing, deployment.

Everything above this package talks to the ledger through it, so the embedded chain and a
JSON-RPC node (anvil, Besu) are interchangeable.
"""
