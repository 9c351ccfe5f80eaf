"""Cookie-mode SCT cookies (moved from ``tests/store/test_store_cookie.py``): every tampered,
truncated, re-keyed or mismatched cookie is refused, and nothing leaks a key."""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from typing import Any

import pytest

from wssc.errors import BadContextToken, ConfigurationError
from wssc.store import MAX_COOKIE_SIZE, CookieCodec, KeyRing, SessionRecord
from wssc.store import cookie as cookie_mod
from wssc.xml import ns

INSTANCE = "urn:uuid:11111111-2222-3333-4444-555555555555"


@pytest.fixture
def now() -> float:
    """The real clock, rounded: the records below stay live whenever the tests run."""
    return float(int(time.time()))


@pytest.fixture
def make_record(now: float) -> Any:
    """Factory for SessionRecords with realistic values around ``now``; keywords override."""

    def make(**overrides: Any) -> SessionRecord:
        fields: dict[str, Any] = {
            "context_id": f"urn:uuid:{uuid.uuid4()}",
            "instance": None,
            "key": os.urandom(32),
            "created": now,
            "expires": now + 36_000,
            "key_effective": now,
            "key_expires": now + 54_000,
            "last_used": now,
        }
        fields.update(overrides)
        return SessionRecord(**fields)

    return make


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.generate("2025-01")


@pytest.fixture
def codec(ring) -> CookieCodec:
    return CookieCodec(ring)


@pytest.fixture
def rec(make_record) -> SessionRecord:
    return make_record(instance=INSTANCE, identity="alice", activated=True)


def open_(codec, data, rec, now, **kw):
    return codec.open(data, context_id=rec.context_id, instance=rec.instance, now=now, **kw)


def test_round_trip(codec, rec, now):
    sealed = codec.seal(rec)
    assert open_(codec, sealed, rec, now) == rec


def test_layout(codec, rec):
    sealed = codec.seal(rec)
    assert sealed[0] == 2 and sealed[1:17] == cookie_mod.endpoint_tag("")
    assert sealed[17] == len(b"2025-01") and sealed[18:25] == b"2025-01"
    assert len(sealed) == 25 + 12 + len(rec.to_bytes()) + 16
    assert rec.key not in sealed and rec.identity.encode() not in sealed


def test_seals_are_randomized(codec, rec):
    assert codec.seal(rec) != codec.seal(rec)


def test_cookie_is_small(codec, rec):
    assert len(codec.seal(rec)) < 300


def test_every_tampered_byte_is_refused(codec, rec, now):
    sealed = codec.seal(rec)
    for i in range(len(sealed)):
        for flip in (0x01, 0x80):
            bad = bytearray(sealed)
            bad[i] ^= flip
            with pytest.raises(BadContextToken):
                open_(codec, bytes(bad), rec, now)


@pytest.mark.parametrize("cut", [0, 1, 2, 9, 20, -1])
def test_truncated_is_refused(codec, rec, now, cut):
    sealed = codec.seal(rec)
    with pytest.raises(BadContextToken):
        open_(codec, sealed[:cut], rec, now)


def test_tampered_ciphertext_detail(codec, rec, now):
    bad = bytearray(codec.seal(rec))
    bad[46] ^= 1
    with pytest.raises(BadContextToken, match="failed authentication"):
        open_(codec, bytes(bad), rec, now)


def test_aad_binds_key_id(rec, now):
    # Two keys with the same bytes under different ids: relabelling the id must still fail.
    key = os.urandom(32)
    ring = KeyRing({"a": key, "b": key}, "a")
    sealed = bytearray(CookieCodec(ring).seal(rec))
    sealed[18] = ord("b")
    with pytest.raises(BadContextToken, match="failed authentication"):
        open_(CookieCodec(ring), bytes(sealed), rec, now)


def test_wrong_ring(codec, rec, now):
    other = CookieCodec(KeyRing.generate("2025-01"))  # same id, other key
    with pytest.raises(BadContextToken, match="failed authentication"):
        open_(other, codec.seal(rec), rec, now)


def test_unknown_key_id(codec, rec, now):
    other = CookieCodec(KeyRing.generate("zzz"))
    with pytest.raises(BadContextToken) as info:
        open_(other, codec.seal(rec), rec, now)
    assert info.value.detail == "unknown cookie key id"


def test_rotation_and_retirement(ring, codec, rec, now):
    old_cookie = codec.seal(rec)
    ring.rotate("2025-07")
    assert ring.current_id == b"2025-07"
    new_cookie = codec.seal(rec)
    assert new_cookie[18:25] == b"2025-07"
    assert open_(codec, old_cookie, rec, now) == rec
    assert open_(codec, new_cookie, rec, now) == rec
    ring.retire("2025-01")
    with pytest.raises(BadContextToken, match="unknown cookie key id"):
        open_(codec, old_cookie, rec, now)
    assert open_(codec, new_cookie, rec, now) == rec


def test_rotate_with_given_key(ring, rec, now):
    key = os.urandom(32)
    ring.rotate(b"k2", key)
    other = CookieCodec(KeyRing({"k2": key}, "k2"))
    assert open_(other, CookieCodec(ring).seal(rec), rec, now) == rec


def test_ring_rules(ring):
    with pytest.raises(ConfigurationError, match="current"):
        ring.retire("2025-01")
    with pytest.raises(ConfigurationError, match="not in"):
        ring.retire("nope")
    with pytest.raises(ConfigurationError, match="already"):
        ring.rotate("2025-01")
    for bad_id in ("", "x" * 17, "has space", "ü", b"\x00"):
        with pytest.raises(ConfigurationError, match="key id"):
            ring.rotate(bad_id)
    for bad_key in (b"short", os.urandom(16), os.urandom(33)):
        with pytest.raises(ConfigurationError, match="32 bytes"):
            ring.rotate("ok", bad_key)
    with pytest.raises(ConfigurationError, match="current"):
        KeyRing({"a": os.urandom(32)}, "b")
    assert ring.key_ids == (b"2025-01",)


def test_expired(codec, rec):
    sealed = codec.seal(rec)
    with pytest.raises(BadContextToken) as info:
        open_(codec, sealed, rec, rec.expires)
    assert info.value.detail == "cookie expired"
    assert open_(codec, sealed, rec, rec.expires - 0.001) == rec


def test_context_id_mismatch(codec, rec, now):
    sealed = codec.seal(rec)
    with pytest.raises(BadContextToken, match="does not belong"):
        codec.open(sealed, context_id="urn:uuid:other", instance=rec.instance, now=now)


@pytest.mark.parametrize("instance", [None, "urn:uuid:other", ""])
def test_instance_mismatch(codec, rec, now, instance):
    sealed = codec.seal(rec)
    with pytest.raises(BadContextToken, match="key generation"):
        codec.open(sealed, context_id=rec.context_id, instance=instance, now=now)


def test_no_instance(codec, make_record, now):
    rec = make_record(instance=None)
    assert codec.open(codec.seal(rec), context_id=rec.context_id, instance=None, now=now) == rec


def test_oversized_refused_before_decrypting(codec, rec, now, monkeypatch):
    sealed = codec.seal(rec)

    def boom(*a, **k):
        raise AssertionError("decrypted an oversized cookie")

    monkeypatch.setattr(cookie_mod, "aes_gcm_decrypt", boom)
    big = sealed + b"\x00" * (MAX_COOKIE_SIZE + 1 - len(sealed))
    with pytest.raises(BadContextToken, match="too large"):
        open_(codec, big, rec, now)


def test_seal_refuses_what_open_would_refuse(codec, make_record):
    with pytest.raises(ConfigurationError, match="does not fit"):
        codec.seal(make_record(identity="x" * MAX_COOKIE_SIZE))


def test_fault_namespace_follows_sc_version(codec, rec, now):
    with pytest.raises(BadContextToken) as info:
        open_(codec, b"\x09", rec, now, sc_ns=ns.SC_13)
    assert info.value.code.namespace == ns.SC_13
    assert info.value.code.local == "BadContextToken"


def test_unknown_version(codec, rec, now):
    sealed = bytearray(codec.seal(rec))
    for version in (1, 3):  # 1: the layout before the endpoint tag
        sealed[0] = version
        with pytest.raises(BadContextToken, match="version"):
            open_(codec, bytes(sealed), rec, now)


def test_a_cookie_names_its_endpoint(ring, rec, now):
    """Same key ring, another endpoint: refused before decryption, with its own reason."""
    a = CookieCodec(ring, endpoint="http://127.0.0.1:8001/svc")
    b = CookieCodec(ring, endpoint="http://127.0.0.1:8002/svc")
    sealed = a.seal(rec)
    assert open_(a, sealed, rec, now) == rec
    with pytest.raises(BadContextToken) as info:
        open_(b, sealed, rec, now)
    assert info.value.detail == "cookie was issued by another endpoint"


def test_aad_binds_endpoint_tag(ring, rec, now):
    """Relabelling the tag to the other endpoint's passes the tag check, not GCM."""
    a = CookieCodec(ring, endpoint="http://a/svc")
    b = CookieCodec(ring, endpoint="http://b/svc")
    sealed = bytearray(a.seal(rec))
    sealed[1:17] = b.tag
    with pytest.raises(BadContextToken, match="failed authentication"):
        open_(b, bytes(sealed), rec, now)


def test_malformed_plaintext(ring, rec, now):
    kid, key = ring.current()
    header = bytes([2]) + cookie_mod.endpoint_tag("") + bytes([len(kid)]) + kid
    sealed = header + cookie_mod.aes_gcm_encrypt(key, b"not a record", header)
    with pytest.raises(BadContextToken, match="malformed cookie content"):
        open_(CookieCodec(ring), sealed, rec, now)


def test_errors_and_reprs_hide_keys(ring, codec, rec, now):
    _, key = ring.current()
    texts = [repr(ring), str(ring), repr(codec), repr(rec)]
    for data in (b"\x01\x03abc" + b"\x00" * 40, codec.seal(rec)[:-1]):
        try:
            open_(codec, data, rec, now)
        except BadContextToken as exc:
            texts.append(str(exc))
    for t in texts:
        for secret in (key, rec.key):
            assert secret.hex() not in t and repr(secret) not in t
    assert repr(ring) == "KeyRing(current='2025-01', ids=[2025-01])"


def test_keyring_file(ring, tmp_path, rec, now):
    ring.rotate("2025-07")
    path = tmp_path / "cookie-keys.json"
    ring.to_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["current"] == "2025-07" and set(doc["keys"]) == {"2025-01", "2025-07"}
    loaded = KeyRing.from_file(path)
    assert loaded.current() == ring.current()
    assert open_(CookieCodec(loaded), CookieCodec(ring).seal(rec), rec, now) == rec
    # Overwriting an existing, wider-mode file still leaves 0600.
    path.chmod(0o644)
    ring.to_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["cookie-keys.json"]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"format": "other", "version": 1, "current": "a", "keys": {}}),
        json.dumps(
            {"format": "wssc-cookie-keyring", "version": 1, "current": "a", "keys": {"a": "!!notbase64"}}
        ),
        json.dumps({"format": "wssc-cookie-keyring", "version": 1, "current": "a"}),
        json.dumps({"format": "wssc-cookie-keyring", "version": 1, "current": "a", "keys": {"a": "AAAA"}}),
    ],
)
def test_keyring_bad_json(text):
    with pytest.raises(ConfigurationError):
        KeyRing.from_json(text)
