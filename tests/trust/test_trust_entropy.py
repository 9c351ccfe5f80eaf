"""computed_key = P_SHA1(secret = requestor entropy, seed = issuer entropy), and its bounds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wssc.crypto import BASIC128, BASIC192, BASIC256, BASIC256SHA256, AlgorithmSuite
from wssc.errors import InvalidRequest
from wssc.trust import MAX_ENTROPY_BYTES, check_key_size, computed_key, new_entropy
from wssc.xml import ns

PSha1 = Callable[[bytes, bytes, int], bytes]

# dotnet/wcf WSTrustChannelSecurityTokenProviderTest: TestEntropy1 = {1..16}, TestEntropy2 = {16..1}
CLIENT = bytes(range(1, 17))
SERVER = bytes(range(16, 0, -1))


def test_dotnet_wcf_entropy_256_bits(psha1: PSha1) -> None:
    key = computed_key(CLIENT, SERVER, 256)
    assert key == psha1(CLIENT, SERVER, 32)
    # The same value pinned as a literal, so a change in both implementations is noticed too.
    assert key.hex() == "6ca3fe468db10169686fc0e030e7718a19d551a505b938f5207be1de7b3865b1"


def test_requestor_entropy_is_the_hmac_key(psha1: PSha1) -> None:
    """The Psha1KeyGenerator parameter-order trap: swapping the roles gives another key."""
    assert computed_key(CLIENT, SERVER, 256) != psha1(SERVER, CLIENT, 32)
    assert computed_key(SERVER, CLIENT, 256) == psha1(SERVER, CLIENT, 32)


@pytest.mark.parametrize("bits", [64, 128, 160, 192, 256, 320, 512, 1024, 8000])
def test_sizes_match_the_rule(psha1: PSha1, bits: int) -> None:
    client, server = bytes(range(32)), bytes(range(100, 140))
    key = computed_key(client, server, bits)
    assert len(key) == bits // 8
    assert key == psha1(client, server, bits // 8)


def test_shorter_keys_are_prefixes() -> None:
    assert computed_key(CLIENT, SERVER, 512)[:16] == computed_key(CLIENT, SERVER, 128)


def test_largest_key() -> None:
    assert len(computed_key(CLIENT, SERVER, 131072)) == 16384


@pytest.mark.parametrize("bits", [0, -8, 8, 56, 63, 130, 255, 131080, 1 << 20])
def test_key_size_out_of_bounds(bits: int) -> None:
    with pytest.raises(InvalidRequest) as exc:
        computed_key(CLIENT, SERVER, bits)
    # WCF uses the Feb 2005 trust namespace for InvalidRequest under both versions.
    assert exc.value.code.clark == f"{{{ns.TRUST_2005}}}InvalidRequest"


@pytest.mark.parametrize(
    ("client", "server"),
    [
        (b"", SERVER),
        (CLIENT, b""),
        (bytes(MAX_ENTROPY_BYTES + 1), SERVER),
        (CLIENT, bytes(MAX_ENTROPY_BYTES + 1)),
    ],
)
def test_bad_entropy(client: bytes, server: bytes) -> None:
    with pytest.raises(InvalidRequest):
        computed_key(client, server, 256)


def test_entropy_at_the_limit(psha1: PSha1) -> None:
    big = bytes(range(256)) * 4
    assert computed_key(big, SERVER, 256) == psha1(big, SERVER, 32)


@pytest.mark.parametrize(
    ("suite", "ok", "bad"),
    [
        (BASIC256, [256], [128, 192, 264, 512]),
        (BASIC256SHA256, [256], [128, 192]),
        (BASIC192, [192, 200, 256], [128, 184, 264]),
        (BASIC128, [128, 192, 256], [64, 120, 264]),
    ],
)
def test_suite_key_sizes(suite: AlgorithmSuite, ok: list[int], bad: list[int]) -> None:
    for bits in ok:
        check_key_size(bits, suite)
    for bits in bad:
        with pytest.raises(InvalidRequest):
            check_key_size(bits, suite)


def test_new_entropy() -> None:
    a, b = new_entropy(256), new_entropy(256)
    assert len(a) == 32 and a != b
    with pytest.raises(InvalidRequest):
        new_entropy(12)
