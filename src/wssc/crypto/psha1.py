"""P_SHA1, the key derivation of WS-SecureConversation and WS-Trust's ComputedKey.

RFC 2246 §5 P_hash with HMAC-SHA1::

    A(0) = seed;  A(i) = HMAC(secret, A(i-1))
    P_SHA1 = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...

For a DerivedKeyToken the seed is ``UTF-8(label) + nonce`` and the key is
``P_SHA1[offset : offset + length]``.
"""

from __future__ import annotations

from wssc.crypto.hmackey import HmacKey

_BLOCK = 20


def p_sha1(secret: bytes, seed: bytes, length: int, offset: int = 0) -> bytes:
    """Return ``length`` bytes of P_SHA1(secret, seed) starting at byte ``offset``.

    >>> p_sha1(b"secret", b"seed", 4).hex()
    '5d55432b'
    """
    return p_sha1_keyed(HmacKey(secret), seed, length, offset)


def p_sha1_keyed(secret: HmacKey, seed: bytes, length: int, offset: int = 0) -> bytes:
    """`p_sha1` with the secret's HMAC-SHA1 pads already hashed (``HmacKey(secret)``), for a
    secret that derives several keys (a token's, once per message)."""
    if length < 0 or offset < 0:
        raise ValueError("length and offset must not be negative")
    end = offset + length
    mac = secret.digest  # the secret's pads hashed once for every HMAC below
    out = bytearray()
    a = seed
    while len(out) < end:
        a = mac(a)
        out += mac(a + seed)
    return bytes(out[offset:end])
