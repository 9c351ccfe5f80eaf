"""Cryptography for wssc: P_SHA1, algorithm suites and the xmldsig/xmlenc primitives."""

from wssc.crypto.primitives import (
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    aes_key_wrap_decrypt,
    aes_key_wrap_encrypt,
    block_decrypt,
    block_encrypt,
    cipher_key_length,
    digest,
    hmac_sign,
    hmac_verify,
    rsa_key_unwrap,
    rsa_key_wrap,
    rsa_sign,
    rsa_verify,
)
from wssc.crypto.psha1 import p_sha1
from wssc.crypto.suites import (
    BASIC128,
    BASIC192,
    BASIC256,
    BASIC256SHA256,
    DEFAULT_SUITE,
    SUITES,
    TRIPLEDES,
    AlgorithmSuite,
    get_suite,
)

__all__ = [
    "BASIC128", "BASIC192", "BASIC256", "BASIC256SHA256", "DEFAULT_SUITE", "SUITES", "TRIPLEDES",
    "AlgorithmSuite", "aes_gcm_decrypt", "aes_gcm_encrypt", "aes_key_wrap_decrypt",
    "aes_key_wrap_encrypt", "block_decrypt", "block_encrypt", "cipher_key_length", "digest",
    "get_suite", "hmac_sign", "hmac_verify", "p_sha1", "rsa_key_unwrap", "rsa_key_wrap",
    "rsa_sign", "rsa_verify",
]
