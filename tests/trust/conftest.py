"""Shared helpers for the wssc.trust tests."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import pytest


def reference_p_sha1(secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 2246 P_SHA1 written independently of wssc.crypto (hmac.new, explicit A(i) chain)."""
    out = b""
    a_i = seed
    while len(out) < length:
        a_i = hmac.new(secret, a_i, hashlib.sha1).digest()
        out += hmac.new(secret, a_i + seed, hashlib.sha1).digest()
    return out[:length]


@pytest.fixture
def psha1() -> Callable[[bytes, bytes, int], bytes]:
    return reference_p_sha1
