"""keccak256 for the hot paths: safe-pysha3's C implementation (~0.5 us per short input).

eth-hash would pick pycryptodome first, about 7x slower per call here; committing a record hashes
one leaf per field, so the backend decides commitment throughput (see README, Performance).
"""

from __future__ import annotations

from sha3 import keccak_256


def keccak256(data: bytes) -> bytes:
    """The 32-byte Keccak-256 digest (Ethereum's, not NIST SHA3-256)."""
    digest: bytes = keccak_256(data).digest()
    return digest
