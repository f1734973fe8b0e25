"""Generated configuration for the production Hyperledger Besu QBFT network (see README.md)."""
