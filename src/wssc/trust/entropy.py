"""Key material of an SCT issue or renew: entropy, key sizes and the computed key.

WS-Trust §4.4.3 ``…/CK/PSHA1``, as WCF computes it (reference §A.3)::

    key = P_SHA1(secret = requestor (client) entropy,
                 seed   = issuer (server) entropy)[: key_size_bits / 8]

The requestor entropy is the HMAC key. (``Psha1KeyGenerator.ComputeCombinedKey`` of
Microsoft.IdentityModel takes the issuer entropy *first* in its parameter list but still keys the
HMAC with the requestor entropy; `computed_key` names its parameters to avoid that trap.)

Bounds follow WCF: a key is 64…131072 bits and a whole number of bytes; one BinarySecret of
entropy is at most `MAX_ENTROPY_BYTES`. An issued key must also fit the algorithm suite
(`check_key_size`: Basic256 wants exactly 256 bits, Basic128 128…256, …).
"""

from __future__ import annotations

import secrets
from typing import Final

from wssc.crypto.psha1 import p_sha1
from wssc.crypto.suites import AlgorithmSuite
from wssc.errors import InvalidRequest

#: WCF's ``RequestSecurityTokenResponse.ComputeCombinedKey`` sanity bounds, in bits.
MIN_KEY_BITS: Final = 64
MAX_KEY_BITS: Final = 128 * 1024
#: Largest entropy accepted in one ``BinarySecret`` (WCF's reader quota is of the same order).
MAX_ENTROPY_BYTES: Final = 1024


def check_key_bits(key_size_bits: int) -> None:
    """Refuse a key size outside 64…131072 bits or not a multiple of 8 (`InvalidRequest`)."""
    if isinstance(key_size_bits, bool) or not isinstance(key_size_bits, int):
        raise InvalidRequest("the key size must be an integer number of bits")
    if key_size_bits % 8 or not MIN_KEY_BITS <= key_size_bits <= MAX_KEY_BITS:
        raise InvalidRequest(
            f"the key size {key_size_bits} is not a multiple of 8 between "
            f"{MIN_KEY_BITS} and {MAX_KEY_BITS} bits"
        )


def check_key_size(key_size_bits: int, suite: AlgorithmSuite) -> None:
    """WCF's ``ValidateRequestedKeySize``: a multiple of 8 that the suite supports.

    >>> from wssc.crypto import BASIC256
    >>> check_key_size(256, BASIC256)
    >>> check_key_size(128, BASIC256)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    wssc.errors.InvalidRequest: key size
    """
    check_key_bits(key_size_bits)
    if not suite.min_symmetric_key_bits <= key_size_bits <= suite.max_symmetric_key_bits:
        raise InvalidRequest(
            f"the key size {key_size_bits} is not supported by the {suite.name} algorithm suite "
            f"({suite.min_symmetric_key_bits}…{suite.max_symmetric_key_bits} bits)"
        )


def check_entropy(entropy: bytes, who: str = "the") -> None:
    """Refuse empty or oversize (> `MAX_ENTROPY_BYTES`) entropy."""
    if not entropy:
        raise InvalidRequest(f"{who} entropy is empty")
    if len(entropy) > MAX_ENTROPY_BYTES:
        raise InvalidRequest(f"{who} entropy is longer than {MAX_ENTROPY_BYTES} bytes")


def new_entropy(key_size_bits: int) -> bytes:
    """Fresh random entropy of ``key_size_bits / 8`` bytes (what WCF sends on either side)."""
    check_key_bits(key_size_bits)
    return secrets.token_bytes(key_size_bits // 8)


def computed_key(requestor_entropy: bytes, issuer_entropy: bytes, key_size_bits: int) -> bytes:
    """The ``…/CK/PSHA1`` proof key: ``P_SHA1(requestor_entropy, issuer_entropy)``, truncated.

    ``requestor_entropy`` is the client's ``Entropy/BinarySecret`` from the RST, and
    ``issuer_entropy`` the server's from the RSTR. Raises `InvalidRequest` for a key
    size outside 64…131072 bits or not a multiple of 8, or for empty or oversize entropy.

    >>> computed_key(bytes(range(1, 17)), bytes(range(16, 0, -1)), 64).hex()
    '6ca3fe468db10169'
    """
    check_key_bits(key_size_bits)
    check_entropy(requestor_entropy, "the requestor")
    check_entropy(issuer_entropy, "the issuer")
    return p_sha1(requestor_entropy, issuer_entropy, key_size_bits // 8)
