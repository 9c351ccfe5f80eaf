"""Fuzz target: the session cookie codec, ``wssc.store.cookie.CookieCodec.open``.

Input: one mode byte, one record-choice byte, then the data. Mode 0: the data is a cookie
value as received in an SCT (AES-GCM sealed; mutations mostly test the framing and the
authentication). Mode 1: the data is the *plaintext* session record, which the harness seals
with the codec's key before opening it: this reaches the record decoder behind the
authentication (``SessionRecord.from_bytes``), as a leaked cookie key would.
"""

from __future__ import annotations

import common

from wssc.crypto.primitives import aes_gcm_encrypt
from wssc.store.cookie import COOKIE_VERSION, CookieCodec, KeyRing

KEY = bytes(range(100, 132))  # the seed generator's cookie key (a test value)
CODEC = CookieCodec(KeyRing({"k1": KEY}, "k1"))
CONTEXTS = [("urn:uuid:fuzz-1", None), ("urn:uuid:fuzz-2", "urn:uuid:inst")]


def target(data: bytes) -> None:
    if len(data) < 2:
        return
    mode, choice, rest = data[0] & 1, data[1] & 1, data[2:]
    context_id, instance = CONTEXTS[choice]
    if mode == 1:
        header = bytes([COOKIE_VERSION, 2]) + b"k1"
        rest = header + aes_gcm_encrypt(KEY, rest, header)
    record = CODEC.open(rest, context_id=context_id, instance=instance, now=common.T0)
    repr(record)
    record.to_bytes()


if __name__ == "__main__":
    common.main(target)
