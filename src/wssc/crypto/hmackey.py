"""HMAC (RFC 2104) with the key's pads hashed once, for keys that sign several messages.

OpenSSL 3's one-shot HMAC (`hmac.digest`) looks the digest algorithm up on every call, which
costs more than hashing a short message. `HmacKey` hashes the two padded keys once and then
copies those hash states per message: ``H((K ^ opad) || H((K ^ ipad) || m))``, the same value
`hmac.digest` returns (``tests/core/test_hmac_key.py`` compares them for every key length
class and both digests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Final

_IPAD: Final = bytes(x ^ 0x36 for x in range(256))
_OPAD: Final = bytes(x ^ 0x5C for x in range(256))


#: The block size of the digests HMAC is used with here (`hmac_once`).
_BLOCK: Final[dict[Callable[..., Any], int]] = {hashlib.sha1: 64, hashlib.sha256: 64}


def hmac_once(key: bytes, msg: bytes, hash_ctor: Callable[..., Any] = hashlib.sha1) -> bytes:
    """``HMAC(key, msg)`` for a key that signs one message (a derived signature key): the
    padded keys hashed together with the message, ``H((K ^ opad) || H((K ^ ipad) || m))``,
    with no hash state kept or copied. The same value as ``HmacKey(key, hash_ctor).digest``
    (which it is, for a digest of another block size)."""
    block = _BLOCK.get(hash_ctor)
    if block is None:
        return HmacKey(key, hash_ctor).digest(msg)
    if len(key) > block:
        key = hash_ctor(key).digest()
    key = key.ljust(block, b"\0")
    inner = hash_ctor(key.translate(_IPAD) + msg).digest()
    out: bytes = hash_ctor(key.translate(_OPAD) + inner).digest()
    return out


class HmacKey:
    """One key, one digest (``hashlib.sha1``, ``hashlib.sha256``): `digest` per message."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, hash_ctor: Callable[..., Any] = hashlib.sha1) -> None:
        inner = hash_ctor()
        block = inner.block_size
        if len(key) > block:  # RFC 2104: a key longer than the block is hashed first
            key = hash_ctor(key).digest()
        key = key.ljust(block, b"\0")
        inner.update(key.translate(_IPAD))
        outer = hash_ctor()
        outer.update(key.translate(_OPAD))
        self._inner = inner
        self._outer = outer

    def digest(self, msg: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        out: bytes = outer.digest()
        return out
