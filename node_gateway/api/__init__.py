"""The HTTP layer: thin routes, auth dependencies, RFC 9457 problem details."""
