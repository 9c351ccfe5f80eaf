"""P_SHA1, algorithm suites, and the xmldsig/xmlenc primitives."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import padding as sympad
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from wssc.crypto import (
    BASIC128,
    BASIC192,
    BASIC256,
    BASIC256SHA256,
    DEFAULT_SUITE,
    SUITES,
    TRIPLEDES,
    aes_key_wrap_decrypt,
    aes_key_wrap_encrypt,
    block_decrypt,
    block_encrypt,
    cipher_key_length,
    digest,
    get_suite,
    hmac_sign,
    hmac_verify,
    p_sha1,
    rsa_key_unwrap,
    rsa_key_wrap,
)
from wssc.errors import FailedCheck, UnsupportedAlgorithm
from wssc.xml import ns

from .helpers import assert_no_secret, p_sha1_reference

X = "http://www.w3.org/2001/04/xmlenc#"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
MORE = "http://www.w3.org/2001/04/xmldsig-more#"


# --- P_SHA1 ------------------------------------------------------------------------------
def test_p_sha1_docstring_value_matches_reference() -> None:
    assert p_sha1(b"secret", b"seed", 4) == p_sha1_reference(b"secret", b"seed", 4)
    assert p_sha1(b"secret", b"seed", 4).hex() == "5d55432b"


def test_p_sha1_first_block_by_hand() -> None:
    # First 20 bytes = HMAC(secret, HMAC(secret, seed) || seed), straight from RFC 2246 §5.
    import hashlib
    import hmac

    secret, seed = b"\x0b" * 20, b"label" + b"\x01" * 16
    a1 = hmac.new(secret, seed, hashlib.sha1).digest()
    assert p_sha1(secret, seed, 20) == hmac.new(secret, a1 + seed, hashlib.sha1).digest()


@settings(max_examples=150, deadline=None, database=None)
@given(
    secret=st.binary(min_size=0, max_size=80),
    seed=st.binary(min_size=0, max_size=200),
    length=st.integers(0, 100),
    offset=st.integers(0, 100),
)
def test_p_sha1_matches_independent_implementation(
    secret: bytes, seed: bytes, length: int, offset: int
) -> None:
    got = p_sha1(secret, seed, length, offset)
    assert len(got) == length
    assert got == p_sha1_reference(secret, seed, length, offset)
    assert got == p_sha1(secret, seed, offset + length)[offset:]


def test_p_sha1_dkt_example() -> None:
    # A DKT-style derivation: default label || 16-byte nonce, 24 bytes at offset 0 and a
    # generation-1 key (offset = 1 x 32).
    label = b"WS-SecureConversationWS-SecureConversation"
    nonce = bytes(range(16))
    secret = bytes(range(32))
    assert p_sha1(secret, label + nonce, 24) == p_sha1_reference(secret, label + nonce, 24)
    assert p_sha1(secret, label + nonce, 32, 32) == p_sha1_reference(secret, label + nonce, 64)[32:]


@pytest.mark.parametrize("length,offset", [(-1, 0), (0, -1)])
def test_p_sha1_negative(length: int, offset: int) -> None:
    with pytest.raises(ValueError):
        p_sha1(b"s", b"s", length, offset)


# --- suites ------------------------------------------------------------------------------
SUITE_TABLE = [
    # suite, encryption, sym wrap, sym sig, asym sig, digest, sig DK, enc DK, key bits
    (
        BASIC256,
        X + "aes256-cbc",
        X + "kw-aes256",
        DSIG + "hmac-sha1",
        DSIG + "rsa-sha1",
        DSIG + "sha1",
        24,
        32,
        256,
    ),
    (
        BASIC192,
        X + "aes192-cbc",
        X + "kw-aes192",
        DSIG + "hmac-sha1",
        DSIG + "rsa-sha1",
        DSIG + "sha1",
        24,
        24,
        192,
    ),
    (
        BASIC128,
        X + "aes128-cbc",
        X + "kw-aes128",
        DSIG + "hmac-sha1",
        DSIG + "rsa-sha1",
        DSIG + "sha1",
        16,
        16,
        128,
    ),
    (
        BASIC256SHA256,
        X + "aes256-cbc",
        X + "kw-aes256",
        MORE + "hmac-sha256",
        MORE + "rsa-sha256",
        X + "sha256",
        24,
        32,
        256,
    ),
    (
        TRIPLEDES,
        X + "tripledes-cbc",
        X + "kw-tripledes",
        DSIG + "hmac-sha1",
        DSIG + "rsa-sha1",
        DSIG + "sha1",
        24,
        24,
        192,
    ),
]


@pytest.mark.parametrize("row", SUITE_TABLE, ids=lambda r: r[0].name)
def test_suite_values(row: tuple) -> None:
    s, enc, kw, sym, asym, dig, sig_dk, enc_dk, bits = row
    assert (s.encryption, s.symmetric_key_wrap, s.symmetric_signature) == (enc, kw, sym)
    assert (s.asymmetric_signature, s.digest) == (asym, dig)
    assert s.asymmetric_key_wrap == X + "rsa-oaep-mgf1p"
    assert (s.signature_key_length, s.encryption_key_length) == (sig_dk, enc_dk)
    assert s.max_derived_key_length == max(sig_dk, enc_dk)
    assert s.symmetric_key_bits == bits
    assert s.c14n == "http://www.w3.org/2001/10/xml-exc-c14n#"
    rsa15 = get_suite(s.name + "Rsa15")
    assert rsa15.name == s.name + "Rsa15"
    assert rsa15.asymmetric_key_wrap == X + "rsa-1_5"
    assert rsa15.encryption == enc and rsa15.signature_key_length == sig_dk
    assert rsa15.encryption_key_length == enc_dk


def test_basic256_is_default_and_sizes() -> None:
    assert DEFAULT_SUITE is BASIC256
    assert BASIC256.signature_key_length == 24 and BASIC256.encryption_key_length == 32
    assert BASIC256.max_derived_key_length == 32


def test_suite_registry() -> None:
    assert len(SUITES) == 10
    for name in (
        "basic256",
        "Basic256",
        "BASIC128",
        "basic-256-sha256",
        "basic_128_rsa15",
        "tripledesrsa15",
        "Basic192Rsa15",
    ):
        assert get_suite(name).name.lower() == name.replace("-", "").replace("_", "").lower()


def test_unknown_suite() -> None:
    with pytest.raises(UnsupportedAlgorithm) as info:
        get_suite("Basic512")
    assert "Basic256" in str(info.value)


# --- HMAC / digests ----------------------------------------------------------------------
def test_hmac_sha1_rfc2202_case1() -> None:
    mac = hmac_sign(ns.HMAC_SHA1, b"\x0b" * 20, b"Hi There")
    assert mac.hex() == "b617318655057264e28bc0b6fb378c8ef146be00"
    assert hmac_verify(ns.HMAC_SHA1, b"\x0b" * 20, b"Hi There", mac)
    assert not hmac_verify(ns.HMAC_SHA1, b"\x0b" * 20, b"Hi there", mac)


def test_hmac_sha256_rfc4231_case1() -> None:
    mac = hmac_sign(ns.HMAC_SHA256, b"\x0b" * 20, b"Hi There")
    assert mac.hex() == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"


def test_digests() -> None:
    assert digest(ns.SHA1, b"abc").hex() == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert digest(ns.SHA256, b"abc").hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: hmac_sign(DSIG + "hmac-md5", b"k" * 16, b"x"),
        lambda: hmac_sign(DSIG + "rsa-sha1", b"k" * 16, b"x"),
        lambda: hmac_verify("urn:nope", b"k" * 16, b"x", b"y"),
        lambda: digest(DSIG + "md5", b"x"),
        lambda: digest(X + "sha512", b"x"),
        lambda: cipher_key_length(X + "aes256-gcm"),
        lambda: block_encrypt(X + "aes256-gcm", b"k" * 32, b"x"),
        lambda: block_decrypt("urn:nope", b"k" * 32, b"x" * 32),
    ],
)
def test_unknown_algorithm_uris(call) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        call()


# --- block ciphers -----------------------------------------------------------------------
CBC = [(ns.AES128_CBC, 16, 16), (ns.AES192_CBC, 24, 16), (ns.AES256_CBC, 32, 16), (ns.TRIPLEDES_CBC, 24, 8)]


@pytest.mark.parametrize("alg,klen,bs", CBC)
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100])
def test_cbc_round_trip(alg: str, klen: int, bs: int, size: int) -> None:
    key = os.urandom(klen)
    plain = os.urandom(size)
    ct = block_encrypt(alg, key, plain)
    assert cipher_key_length(alg) == klen
    assert len(ct) % bs == 0 and len(ct) >= 2 * bs  # IV || at least one block
    assert len(ct) == bs + (size // bs + 1) * bs
    assert block_decrypt(alg, key, ct) == plain


def test_cbc_iv_is_prefixed_and_random() -> None:
    key = os.urandom(32)
    a = block_encrypt(ns.AES256_CBC, key, b"same")
    b = block_encrypt(ns.AES256_CBC, key, b"same")
    assert a[:16] != b[:16]
    # Decrypt by hand with the prefixed IV: the xmlenc layout.
    dec = Cipher(algorithms.AES(key), modes.CBC(a[:16])).decryptor()
    padded = dec.update(a[16:]) + dec.finalize()
    assert padded[: -padded[-1]] == b"same"


def test_cbc_reads_pkcs7_from_other_implementations() -> None:
    key, iv = os.urandom(32), os.urandom(16)
    p = sympad.PKCS7(128).padder()
    padded = p.update(b"interop payload") + p.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = iv + enc.update(padded) + enc.finalize()
    assert block_decrypt(ns.AES256_CBC, key, ct) == b"interop payload"


def _wrong_key_with_bad_padding(key: bytes, ct: bytes) -> bytes:
    """A deterministic wrong key whose raw decryption ends in an invalid pad byte."""
    for i in range(256):
        wrong = bytes([i]) * len(key)
        if wrong == key:
            continue
        dec = Cipher(algorithms.AES(wrong), modes.CBC(ct[:16])).decryptor()
        last = (dec.update(ct[16:]) + dec.finalize())[-1]
        if not 1 <= last <= 16:
            return wrong
    raise AssertionError("no candidate")  # pragma: no cover


def test_cbc_wrong_key_failed_check() -> None:
    key = bytes(range(32))
    ct = block_encrypt(ns.AES256_CBC, key, b"<Body>secret stuff</Body>")
    wrong = _wrong_key_with_bad_padding(key, ct)
    with pytest.raises(FailedCheck) as info:
        block_decrypt(ns.AES256_CBC, wrong, ct)
    assert_no_secret(info.value, [key, wrong])


def test_cbc_wrong_key_never_returns_plaintext() -> None:
    # ISO 10126 padding only checks the last byte: a wrong key fails or yields garbage.
    key = os.urandom(32)
    ct = block_encrypt(ns.AES256_CBC, key, b"plaintext")
    for _ in range(64):
        try:
            assert block_decrypt(ns.AES256_CBC, os.urandom(32), ct) != b"plaintext"
        except FailedCheck:
            pass


@pytest.mark.parametrize("data", [b"", b"x" * 16, b"x" * 17, b"x" * 33])
def test_cbc_bad_lengths(data: bytes) -> None:
    with pytest.raises(FailedCheck):
        block_decrypt(ns.AES256_CBC, os.urandom(32), data)


def test_cbc_short_key() -> None:
    with pytest.raises(FailedCheck):
        block_decrypt(ns.AES256_CBC, b"k" * 16, b"x" * 32)


# --- AES key wrap (RFC 3394) -------------------------------------------------------------
def test_kw_aes128_rfc3394_4_1() -> None:
    kek = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    key = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    wrapped = bytes.fromhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
    assert aes_key_wrap_encrypt(kek, key) == wrapped
    assert aes_key_wrap_decrypt(kek, wrapped) == key


def test_kw_aes256_rfc3394_4_6() -> None:
    kek = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
    key = bytes.fromhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
    wrapped = bytes.fromhex(
        "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
    )
    assert aes_key_wrap_encrypt(kek, key) == wrapped
    assert aes_key_wrap_decrypt(kek, wrapped) == key


# (ids: the random value differs per process, and pytest-xdist's workers must collect alike)
@pytest.mark.parametrize(
    "wrapped", [b"", b"x" * 8, b"x" * 23, os.urandom(24)], ids=["empty", "8", "23", "24-random"]
)
def test_kw_unwrap_failures(wrapped: bytes) -> None:
    with pytest.raises(FailedCheck):
        aes_key_wrap_decrypt(bytes(16), wrapped)


def test_kw_wrong_kek() -> None:
    wrapped = aes_key_wrap_encrypt(bytes(16), os.urandom(32))
    with pytest.raises(FailedCheck):
        aes_key_wrap_decrypt(b"\x01" * 16, wrapped)


# --- RSA key transport -------------------------------------------------------------------
@pytest.fixture(scope="module")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537, 2048))


@pytest.mark.parametrize("alg", [ns.RSA_OAEP_MGF1P, ns.RSA_15])
def test_rsa_round_trip(alg: str, rsa_keys) -> None:
    priv, _ = rsa_keys
    key = os.urandom(32)
    w1 = rsa_key_wrap(alg, priv.public_key(), key)
    w2 = rsa_key_wrap(alg, priv.public_key(), key)
    assert w1 != w2  # randomized padding
    assert len(w1) == 256
    assert rsa_key_unwrap(alg, priv, w1) == key


def test_rsa_oaep_wrong_private_key(rsa_keys) -> None:
    priv, other = rsa_keys
    key = os.urandom(32)
    wrapped = rsa_key_wrap(ns.RSA_OAEP_MGF1P, priv.public_key(), key)
    with pytest.raises(FailedCheck) as info:
        rsa_key_unwrap(ns.RSA_OAEP_MGF1P, other, wrapped)
    assert_no_secret(info.value, [key])


def test_rsa15_wrong_private_key_never_yields_key(rsa_keys) -> None:
    # With OpenSSL's implicit rejection, RSA-1.5 may return a synthetic key instead of
    # failing; either way the real key must not come out.
    priv, other = rsa_keys
    key = os.urandom(32)
    wrapped = rsa_key_wrap(ns.RSA_15, priv.public_key(), key)
    try:
        assert rsa_key_unwrap(ns.RSA_15, other, wrapped) != key
    except FailedCheck:
        pass


def test_rsa_oaep_garbage(rsa_keys) -> None:
    priv, _ = rsa_keys
    for data in (b"", b"x" * 10, os.urandom(256), os.urandom(300)):
        with pytest.raises(FailedCheck):
            rsa_key_unwrap(ns.RSA_OAEP_MGF1P, priv, data)


def test_rsa_unknown_alg(rsa_keys) -> None:
    priv, _ = rsa_keys
    with pytest.raises(UnsupportedAlgorithm):
        rsa_key_unwrap(X + "rsa-oaep", priv, b"x" * 256)
    with pytest.raises(UnsupportedAlgorithm):
        rsa_key_wrap(X + "rsa-oaep", priv.public_key(), b"k" * 16)
