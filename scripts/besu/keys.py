"""Validator keys, addresses, enode URLs and the QBFT genesis extraData of a Besu network
(scripts/besu/generate.py writes them into the network's files)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

import rlp  # type: ignore[import-untyped]
from coincurve import PrivateKey
from eth_utils.crypto import keccak

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def public_key_of(private_key: bytes) -> bytes:
    """The 64-byte public key (X || Y) of a secp256k1 private key."""
    return PrivateKey(private_key).public_key.format(compressed=False)[1:]


def validator_address(public_key: bytes) -> bytes:
    """A QBFT validator's address is its node key's Ethereum address: keccak256(X || Y)[-20:]."""
    if len(public_key) != 64:
        raise ValueError("public key must be 64 bytes (uncompressed, without 0x04)")
    return keccak(public_key)[-20:]


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def enode_url(public_key: bytes, host: str, port: int) -> str:
    return f"enode://{public_key.hex()}@{url_host(host)}:{port}"


def _valid_scalar(candidate: bytes) -> bool:
    return 0 < int.from_bytes(candidate, "big") < SECP256K1_N


def derive_private_key(seed: bytes, name: str) -> bytes:
    """A reproducible node key for test networks: HMAC-SHA256(seed, label), retried until the
    value is a valid secp256k1 scalar (a retry happens with probability ~2**-128)."""
    counter = 0
    while True:
        label = f"crossreturn/besu/node-key/{name}/{counter}".encode()
        candidate = hmac.new(seed, label, hashlib.sha256).digest()
        if _valid_scalar(candidate):
            return candidate
        counter += 1


def random_private_key() -> bytes:
    while True:
        candidate = secrets.token_bytes(32)
        if _valid_scalar(candidate):
            return candidate


def qbft_extra_data(validators: Sequence[bytes]) -> bytes:
    """The extraData of a QBFT genesis block with the given validators, in the given order.

    Format, from Hyperledger Besu's QbftExtraDataCodec.encode (consensus/qbft/.../
    QbftExtraDataCodec.java, used by `besu operator generate-blockchain-config`):

        RLP([vanity: 32 zero bytes,
             validators: [20-byte address, ...],
             vote: [] (an empty list when there is no vote),
             round: RLPOutput.writeIntScalar(0), i.e. the minimal bytes of 0, which are empty
                    (0x80) -- QBFT differs here from IBFT 2.0, which writes a 4-byte round,
             seals: [] (the genesis block is not sealed)])

    The QBFT genesis example of the Besu documentation ("Configure QBFT consensus", block header
    validator selection) is exactly this with 4 validators: it ends in ...c0 80 c0. The tests
    re-encode that example byte for byte.
    """
    for address in validators:
        if len(address) != 20:
            raise ValueError("validator addresses must be 20 bytes")
    encoded: bytes = rlp.encode([b"\x00" * 32, list(validators), [], b"", []])
    return encoded
