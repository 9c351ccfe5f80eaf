"""The crypto shortcuts protect's fast writer uses give the standard library's values:
`hmac_once` (a derived signature key's one HMAC) is `hmac.digest`, `p_sha1_keyed` (the token's
pads hashed once per plan) is `p_sha1`, and `digest_constructor` names the same digests as
`digest` (and refuses the same)."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest

from wssc.crypto.hmackey import HmacKey, hmac_once
from wssc.crypto.primitives import digest, digest_constructor
from wssc.crypto.psha1 import p_sha1, p_sha1_keyed
from wssc.errors import UnsupportedAlgorithm
from wssc.security import MessagePolicy, protect_wire
from wssc.xml import ns
from wssc.xml.parse import parse_xml

from .helpers import T0, ok
from .test_protect_fast_header import _token, envelope


@pytest.mark.parametrize("hash_ctor", [hashlib.sha1, hashlib.sha256, hashlib.sha512])
@pytest.mark.parametrize("key_len", [0, 1, 20, 24, 32, 63, 64, 65, 128, 129, 300])
def test_hmac_once_equals_the_one_shot_hmac(hash_ctor: object, key_len: int) -> None:
    """sha512 (a 128-byte block) is not in the table: it takes `HmacKey`, with the same value."""
    key = os.urandom(key_len)
    for msg in (b"", b"x", os.urandom(64), os.urandom(1300)):
        want = hmac.digest(key, msg, hash_ctor)  # type: ignore[arg-type]
        assert hmac_once(key, msg, hash_ctor) == want  # type: ignore[arg-type]
        assert HmacKey(key, hash_ctor).digest(msg) == want  # type: ignore[arg-type]


@pytest.mark.parametrize(("length", "offset"), [(0, 0), (16, 0), (24, 0), (32, 0), (32, 32), (7, 45)])
def test_p_sha1_keyed_equals_p_sha1(length: int, offset: int) -> None:
    secret, seed = os.urandom(32), b"WS-SecureConversationWS-SecureConversation" + os.urandom(16)
    mac = HmacKey(secret)
    assert p_sha1_keyed(mac, seed, length, offset) == p_sha1(secret, seed, length, offset)
    assert p_sha1_keyed(mac, seed, length, offset) == p_sha1(secret, seed, length, offset)  # reusable
    with pytest.raises(ValueError):
        p_sha1_keyed(mac, seed, -1)


def test_digest_constructor_names_the_digests_digest_computes() -> None:
    data = os.urandom(100)
    for uri in (ns.SHA1, ns.SHA256):
        ctor = digest_constructor(uri)
        assert ctor is not None and ctor(data).digest() == digest(uri, data)
    assert digest_constructor("urn:no-such-digest") is None
    with pytest.raises(UnsupportedAlgorithm):
        digest("urn:no-such-digest", data)


def test_root_attributes_survive_the_wsu_rebuild() -> None:
    """The root is rebuilt to declare ``u``: its attributes (and other declarations) are kept."""
    plain = envelope(extra_ns=' xmlns:x="urn:x" x:flag="1&amp;2"')
    wire = protect_wire(parse_xml(plain), _token(), MessagePolicy(), now=T0)
    root = parse_xml(wire)
    assert root.get("{urn:x}flag") == "1&2" and root.nsmap["u"] == ns.WSU
    res = ok(wire, MessagePolicy(), now=T0 + 1)
    assert res.body_signed and res.body_encrypted
