"""Gateway-to-gateway sharing: the disclosure policy (and, next, the signed peer protocol)."""
