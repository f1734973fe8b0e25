"""HPKE envelopes: both suites, suite negotiation, and refusal of anything tampered."""

from __future__ import annotations

import base64

import pytest

from clients.envelope import EncryptionKeys, EnvelopeError, open_envelope, seal

INFO = b"crossreturn.disclosure.v1|request-1"
HYBRID = EncryptionKeys.generate(hybrid=True)
CLASSIC = EncryptionKeys.generate(hybrid=False)


def test_seal_to_hybrid_key_uses_pq_suite_and_opens() -> None:
    env = seal(b"goods lines", HYBRID.public_bytes(), INFO)
    assert env["suite"] == "mlkem768-x25519"
    assert open_envelope(env, HYBRID, INFO) == b"goods lines"


def test_seal_to_x25519_key_or_without_pq_support_uses_x25519() -> None:
    assert seal(b"x", CLASSIC.public_bytes(), INFO)["suite"] == "x25519"
    env = seal(b"x", HYBRID.public_bytes(), INFO, hybrid_ok=False)
    assert env["suite"] == "x25519"
    assert open_envelope(env, HYBRID, INFO) == b"x"


def test_public_key_sizes_and_tags() -> None:
    assert len(CLASSIC.public_bytes()) == 33 and CLASSIC.public_bytes()[0] == 1
    assert len(HYBRID.public_bytes()) == 1 + 1184 + 32 and HYBRID.public_bytes()[0] == 2


@pytest.mark.parametrize("keys", [HYBRID, CLASSIC])
def test_private_key_file_round_trip(keys: EncryptionKeys) -> None:
    again = EncryptionKeys.from_private_bytes(keys.private_bytes())
    env = seal(b"secret", keys.public_bytes(), INFO)
    assert open_envelope(env, again, INFO) == b"secret"


def test_tampered_ciphertext_is_refused() -> None:
    env = seal(b"goods", HYBRID.public_bytes(), INFO)
    raw = bytearray(base64.b64decode(env["ciphertext"]))
    raw[-1] ^= 1
    with pytest.raises(EnvelopeError, match="tampered"):
        open_envelope({**env, "ciphertext": base64.b64encode(raw).decode()}, HYBRID, INFO)


def test_wrong_context_or_wrong_recipient_is_refused() -> None:
    env = seal(b"goods", HYBRID.public_bytes(), INFO)
    with pytest.raises(EnvelopeError):
        open_envelope(env, HYBRID, b"crossreturn.disclosure.v1|request-2")
    with pytest.raises(EnvelopeError):
        open_envelope(env, EncryptionKeys.generate(hybrid=True), INFO)


@pytest.mark.parametrize(
    "envelope",
    [{"suite": "rot13", "ciphertext": ""}, {"suite": "x25519", "ciphertext": "%%%"}],
)
def test_malformed_envelope_is_refused(envelope: dict[str, str]) -> None:
    with pytest.raises(EnvelopeError):
        open_envelope(envelope, CLASSIC, INFO)


def test_malformed_registered_key_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="malformed"):
        seal(b"x", b"\x09" * 33, INFO)
    with pytest.raises(EnvelopeError, match="malformed"):
        EncryptionKeys.from_private_bytes(b"\x05")
