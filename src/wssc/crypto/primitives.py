"""Symmetric and asymmetric primitives as XML Signature and XML Encryption use them.

* HMAC-SHA1 / HMAC-SHA256 (``ds:SignatureMethod``), SHA-1 / SHA-256 digests;
* block ciphers in CBC mode the xmlenc way: ``CipherValue = IV || ciphertext``, padded with
  xmlenc's ISO 10126 style (last byte = pad length; the other pad bytes are arbitrary);
* AES key wrap (RFC 3394, ``kw-aes*``) and RSA-OAEP(MGF1/SHA-1) / RSA-1.5 key transport;
* AES-GCM for wssc's own cookie encryption.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from wssc.crypto.hmackey import hmac_once
from wssc.errors import FailedCheck, UnsupportedAlgorithm
from wssc.xml import ns

_HMAC: Final = {ns.HMAC_SHA1: hashlib.sha1, ns.HMAC_SHA256: hashlib.sha256}
_DIGEST: Final = {ns.SHA1: hashlib.sha1, ns.SHA256: hashlib.sha256}
#: encryption URI -> (key length in bytes, block size in bytes)
_CIPHERS: Final = {
    ns.AES128_CBC: (16, 16),
    ns.AES192_CBC: (24, 16),
    ns.AES256_CBC: (32, 16),
    ns.TRIPLEDES_CBC: (24, 8),
}


def hmac_sign(algorithm: str, key: bytes, data: bytes) -> bytes:
    """Compute a ``ds:SignatureValue`` for an HMAC ``SignatureMethod``."""
    try:
        hash_ctor = _HMAC[algorithm]
    except KeyError:
        raise UnsupportedAlgorithm(f"signature method {algorithm}") from None
    return hmac_once(key, data, hash_ctor)


def hmac_verify(algorithm: str, key: bytes, data: bytes, signature: bytes) -> bool:
    """Constant-time check of an HMAC signature value."""
    return hmac.compare_digest(hmac_sign(algorithm, key, data), signature)


def digest(algorithm: str, data: bytes) -> bytes:
    """Compute a ``ds:DigestValue``."""
    try:
        return _DIGEST[algorithm](data).digest()
    except KeyError:
        raise UnsupportedAlgorithm(f"digest method {algorithm}") from None


def digest_constructor(algorithm: str) -> Callable[[bytes], Any] | None:
    """The hashlib constructor of a ``ds:DigestMethod`` (`digest` without the look-up per
    call); None for one not supported (`digest` raises for it)."""
    return _DIGEST.get(algorithm)


def cipher_key_length(algorithm: str) -> int:
    try:
        return _CIPHERS[algorithm][0]
    except KeyError:
        raise UnsupportedAlgorithm(f"encryption method {algorithm}") from None


def _cipher(algorithm: str, key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    klen, _ = _CIPHERS[algorithm]
    if len(key) < klen:
        raise FailedCheck("the encryption key is shorter than the algorithm needs")
    key = key[:klen]
    alg = TripleDES(key) if algorithm == ns.TRIPLEDES_CBC else algorithms.AES(key)
    return Cipher(alg, modes.CBC(iv))


def block_encrypt(algorithm: str, key: bytes, plaintext: bytes) -> bytes:
    """xmlenc block encryption: returns ``IV || ciphertext``."""
    if algorithm not in _CIPHERS:
        raise UnsupportedAlgorithm(f"encryption method {algorithm}")
    _, bs = _CIPHERS[algorithm]
    iv = os.urandom(bs)
    pad = bs - len(plaintext) % bs
    padded = plaintext + os.urandom(pad - 1) + bytes([pad])
    enc = _cipher(algorithm, key, iv).encryptor()
    return iv + enc.update(padded) + enc.finalize()


def block_decrypt(algorithm: str, key: bytes, data: bytes) -> bytes:
    """Inverse of `block_encrypt`. A wrong key or bad padding raises FailedCheck."""
    plain, padding_ok = block_decrypt_lenient(algorithm, key, data)
    if not padding_ok:
        raise FailedCheck("the decrypted data has invalid padding")
    return plain


def block_decrypt_lenient(algorithm: str, key: bytes, data: bytes) -> tuple[bytes, bool]:
    """Decrypt, and say whether the padding was valid instead of raising: with bad padding
    the whole last block is dropped, so that a caller can go on exactly as it would with
    garbage plaintext (the two must not be told apart by time)."""
    if algorithm not in _CIPHERS:
        raise UnsupportedAlgorithm(f"encryption method {algorithm}")
    _, bs = _CIPHERS[algorithm]
    if len(data) < 2 * bs or len(data) % bs:
        raise FailedCheck("the cipher text has an invalid length")
    dec = _cipher(algorithm, key, data[:bs]).decryptor()
    padded = dec.update(data[bs:]) + dec.finalize()
    pad = padded[-1]
    ok = 1 <= pad <= bs
    return padded[:-pad] if ok else padded[:-bs], ok


def aes_key_wrap_encrypt(kek: bytes, key: bytes) -> bytes:
    """RFC 3394 AES key wrap (``xenc#kw-aes128/192/256``)."""
    return aes_key_wrap(kek, key)


def aes_key_wrap_decrypt(kek: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError):
        raise FailedCheck("the wrapped key could not be unwrapped") from None


def _rsa_padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm == ns.RSA_OAEP_MGF1P:
        return padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    if algorithm == ns.RSA_15:
        return padding.PKCS1v15()
    raise UnsupportedAlgorithm(f"key transport {algorithm}")


def rsa_key_wrap(algorithm: str, public_key: rsa.RSAPublicKey, key: bytes) -> bytes:
    """Encrypt a symmetric key to an RSA public key (``xenc:EncryptedKey``)."""
    return public_key.encrypt(key, _rsa_padding(algorithm))


def rsa_key_unwrap(algorithm: str, private_key: rsa.RSAPrivateKey, wrapped: bytes) -> bytes:
    try:
        return private_key.decrypt(wrapped, _rsa_padding(algorithm))
    except ValueError:
        raise FailedCheck("the encrypted key could not be decrypted") from None


def _rsa_hash(algorithm: str) -> hashes.HashAlgorithm:
    h = {ns.RSA_SHA1: hashes.SHA1(), ns.RSA_SHA256: hashes.SHA256()}.get(algorithm)
    if h is None:
        raise UnsupportedAlgorithm(f"signature method {algorithm}")
    return h


def rsa_sign(algorithm: str, private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """Compute a ``ds:SignatureValue`` for an RSA ``SignatureMethod`` (PKCS#1 v1.5)."""
    return private_key.sign(data, padding.PKCS1v15(), _rsa_hash(algorithm))


def rsa_verify(algorithm: str, public_key: rsa.RSAPublicKey, data: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    h = _rsa_hash(algorithm)
    try:
        public_key.verify(signature, data, padding.PKCS1v15(), h)
    except InvalidSignature:
        return False
    return True


def aes_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """AES-GCM with a random 12-byte nonce: returns ``nonce || ciphertext || tag``."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aes_gcm_decrypt(key: bytes, data: bytes, aad: bytes = b"") -> bytes:
    if len(data) < 12 + 16:
        raise FailedCheck("the sealed data is too short")
    try:
        return AESGCM(key).decrypt(data[:12], data[12:], aad)
    except InvalidTag:
        raise FailedCheck("the sealed data failed authentication") from None
