"""`HmacKey` (the pads hashed once) gives exactly `hmac.digest`'s values, and P_SHA1 built on
it matches P_SHA1 written with the one-shot HMAC of the standard library."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest

from wssc.crypto import hmac_sign, hmac_verify, p_sha1
from wssc.crypto.hmackey import HmacKey
from wssc.xml import ns


def _reference_p_sha1(secret: bytes, seed: bytes, length: int, offset: int = 0) -> bytes:
    out = b""
    a = seed
    while len(out) < offset + length:
        a = hmac.digest(secret, a, "sha1")
        out += hmac.digest(secret, a + seed, "sha1")
    return out[offset : offset + length]


@pytest.mark.parametrize("hash_ctor", [hashlib.sha1, hashlib.sha256])
@pytest.mark.parametrize("key_len", [0, 1, 16, 20, 24, 32, 63, 64, 65, 128, 300])
def test_hmac_key_equals_the_one_shot_hmac(hash_ctor: object, key_len: int) -> None:
    key = os.urandom(key_len)
    mac = HmacKey(key, hash_ctor)  # type: ignore[arg-type]
    for msg in (b"", b"x", os.urandom(64), os.urandom(1000)):
        assert mac.digest(msg) == hmac.digest(key, msg, hash_ctor)  # type: ignore[arg-type]
    # the key object can be reused: the pads' hash states are copied, never consumed
    msg = os.urandom(50)
    assert mac.digest(msg) == mac.digest(msg) == hmac.digest(key, msg, hash_ctor)  # type: ignore[arg-type]


@pytest.mark.parametrize(("algorithm", "name"), [(ns.HMAC_SHA1, "sha1"), (ns.HMAC_SHA256, "sha256")])
def test_hmac_sign_and_verify_match_the_standard_library(algorithm: str, name: str) -> None:
    key, data = os.urandom(24), os.urandom(700)
    value = hmac_sign(algorithm, key, data)
    assert value == hmac.digest(key, data, name)
    assert hmac_verify(algorithm, key, data, value)
    assert not hmac_verify(algorithm, key, data + b" ", value)
    assert not hmac_verify(algorithm, os.urandom(24), data, value)


@pytest.mark.parametrize(("length", "offset"), [(16, 0), (24, 0), (32, 0), (32, 32), (7, 45), (100, 0)])
def test_p_sha1_equals_the_one_shot_construction(length: int, offset: int) -> None:
    secret, seed = os.urandom(32), b"WS-SecureConversationWS-SecureConversation" + os.urandom(16)
    assert p_sha1(secret, seed, length, offset) == _reference_p_sha1(secret, seed, length, offset)
