"""Service issue_key ↔ client client_key_from_rstr, over the wire, in every mode and version."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable

import pytest
from lxml import etree

from wssc.crypto import BASIC128, BASIC256, AlgorithmSuite
from wssc.errors import ConfigurationError, InvalidRequest
from wssc.settings import KeyEntropyMode
from wssc.tokens import SecurityContextToken
from wssc.trust import (
    BinarySecret,
    ComputedKey,
    IssueRequest,
    Lifetime,
    RenewRequest,
    SecretType,
    TokenResponse,
    client_key_from_rstr,
    issue_key,
    parse_rst,
    parse_rstr,
    renewed_token,
)
from wssc.xml import ns
from wssc.xml.ns import ScVersion
from wssc.xml.parse import parse_xml

PSha1 = Callable[[bytes, bytes, int], bytes]
VERSIONS = [ns.SC_FEB2005, ns.SC_V13]
MODES = list(KeyEntropyMode)
NOW = 1_800_000_000.0


def wire(el: etree._Element) -> etree._Element:
    return parse_xml(etree.tostring(el))


def xs(el: etree._Element, path: str, sc: ScVersion) -> list[str]:
    found = el.xpath(path, namespaces={"t": sc.trust.ns})
    assert isinstance(found, list)
    return [str(v) for v in found]


def exchange(
    sc: ScVersion,
    mode: KeyEntropyMode,
    suite: AlgorithmSuite,
    request: IssueRequest | RenewRequest,
    token: SecurityContextToken,
) -> tuple[bytes, bytes, etree._Element]:
    """client request → service → client; returns (service key, client key, RSTR body)."""
    req = parse_rst(wire(request.to_xml(sc)), sc.trust, request.action(sc.trust))
    assert req == request
    assert isinstance(req, IssueRequest | RenewRequest)
    issued = issue_key(req, mode, suite, sc)
    body = issued.response(sc, token, Lifetime(NOW, NOW + 15 * 3600), req.context).to_xml(sc)
    rstr = parse_rstr(wire(body), sc.trust)
    assert isinstance(rstr, TokenResponse)
    assert rstr.context == request.context
    client = client_key_from_rstr(rstr, request.entropy, mode, suite.symmetric_key_bits, suite)
    return issued.key, client, body


@pytest.mark.parametrize("sc", VERSIONS, ids=["feb2005", "v13"])
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("suite", [BASIC256, BASIC128], ids=["Basic256", "Basic128"])
def test_issue_round_trip(sc: ScVersion, mode: KeyEntropyMode, suite: AlgorithmSuite) -> None:
    request = IssueRequest.build(sc, suite, mode, context="uuid-issue")
    token = SecurityContextToken("urn:uuid:11111111-2222-3333-4444-555555555555")
    server_key, client_key, body = exchange(sc, mode, suite, request, token)
    assert server_key == client_key
    assert len(client_key) * 8 == suite.symmetric_key_bits
    proof = "//t:RequestedProofToken"
    if mode is KeyEntropyMode.COMBINED:
        assert xs(body, f"{proof}/t:ComputedKey/text()", sc) == [sc.trust.ck_psha1]
        assert len(xs(body, "//t:RequestSecurityTokenResponse/t:Entropy/t:BinarySecret", sc)) == 1
        assert xs(body, "//t:KeySize/text()", sc) == [str(suite.symmetric_key_bits)]
        assert client_key != request.entropy
    elif mode is KeyEntropyMode.SERVER:
        assert request.entropy is None
        assert xs(body, f"{proof}/t:BinarySecret/@Type", sc) == [sc.trust.symmetric_key]
        secret = xs(body, f"{proof}/t:BinarySecret/text()", sc)[0]
        assert base64.b64decode(secret) == client_key
        assert xs(body, "//t:Entropy", sc) == []
    else:
        assert client_key == request.entropy
        assert xs(body, proof, sc) == [] and xs(body, "//t:Entropy", sc) == []
        assert xs(body, "//t:KeySize", sc) == []


@pytest.mark.parametrize("sc", VERSIONS, ids=["feb2005", "v13"])
def test_combined_key_is_psha1_of_the_wire_entropies(sc: ScVersion, psha1: PSha1) -> None:
    request = IssueRequest.build(sc, BASIC256)
    issued = issue_key(request, KeyEntropyMode.COMBINED, BASIC256)
    assert request.entropy is not None and issued.server_entropy is not None
    assert len(request.entropy) == len(issued.server_entropy) == 32
    assert issued.key == psha1(request.entropy, issued.server_entropy, 32)
    assert issued.proof == ComputedKey()
    assert issued.key_size_bits == 256
    assert "key=" not in repr(issued) and issued.key.hex() not in repr(issued)


@pytest.mark.parametrize("sc", VERSIONS, ids=["feb2005", "v13"])
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_renew_round_trip(sc: ScVersion, mode: KeyEntropyMode) -> None:
    old = SecurityContextToken("urn:uuid:aaaaaaaa-0000-0000-0000-000000000001", "urn:uuid:gen-1")
    request = RenewRequest.build(sc, old, BASIC256, mode, context="uuid-renew")
    new = renewed_token(old)
    server_key, client_key, body = exchange(sc, mode, BASIC256, request, new)
    assert server_key == client_key
    rstr = parse_rstr(wire(body), sc.trust)
    assert isinstance(rstr, TokenResponse)
    assert rstr.token.identifier == old.identifier
    assert rstr.token.instance == new.instance != old.instance
    if sc is ns.SC_V13:
        assert etree.QName(body).localname == "RequestSecurityTokenResponseCollection"
    else:
        assert etree.QName(body).localname == "RequestSecurityTokenResponse"


def test_renew_keys_differ_from_issue() -> None:
    sc = ns.SC_V13
    token = SecurityContextToken("urn:uuid:x")
    first = issue_key(IssueRequest.build(sc), KeyEntropyMode.COMBINED, BASIC256).key
    second = issue_key(RenewRequest.build(sc, token), KeyEntropyMode.COMBINED, BASIC256).key
    assert first != second


# --- service-side validation ----------------------------------------------------------------
SCT13 = ns.SC_V13.sct_token_type


@pytest.mark.parametrize(
    ("suite", "key_size", "ok"),
    [
        (BASIC256, 256, True),
        (BASIC256, 128, False),
        (BASIC256, 512, False),
        (BASIC256, 260, False),
        (BASIC128, 128, True),
        (BASIC128, 192, True),
        (BASIC128, 256, True),
        (BASIC128, 64, False),
        (BASIC128, 264, False),
    ],
)
def test_requested_key_size_against_suite(suite: AlgorithmSuite, key_size: int, ok: bool) -> None:
    rst = IssueRequest(SCT13, bytes(range(1, 33)), key_size)
    if ok:
        assert len(issue_key(rst, KeyEntropyMode.COMBINED, suite).key) * 8 == key_size
        assert len(
            issue_key(dataclasses.replace(rst, entropy=None), KeyEntropyMode.SERVER, suite).key
        ) * 8 == (key_size)
    else:
        with pytest.raises(InvalidRequest):
            issue_key(rst, KeyEntropyMode.COMBINED, suite)
        with pytest.raises(InvalidRequest):
            issue_key(dataclasses.replace(rst, entropy=None), KeyEntropyMode.SERVER, suite)


def test_absent_key_size_means_suite_default() -> None:
    rst = IssueRequest(SCT13, bytes(range(1, 33)), None)
    assert len(issue_key(rst, KeyEntropyMode.COMBINED, BASIC256).key) == 32
    assert len(issue_key(rst, KeyEntropyMode.COMBINED, BASIC128).key) == 16


def test_client_entropy_length_checked_against_suite() -> None:
    rst = IssueRequest(SCT13, bytes(16), 256)
    with pytest.raises(InvalidRequest):
        issue_key(rst, KeyEntropyMode.CLIENT, BASIC256)
    assert issue_key(rst, KeyEntropyMode.CLIENT, BASIC128).key == bytes(16)


@pytest.mark.parametrize(
    ("mode", "entropy"),
    [(KeyEntropyMode.COMBINED, None), (KeyEntropyMode.CLIENT, None), (KeyEntropyMode.SERVER, bytes(32))],
)
def test_entropy_mode_mismatch(mode: KeyEntropyMode, entropy: bytes | None) -> None:
    with pytest.raises(InvalidRequest):
        issue_key(IssueRequest(SCT13, entropy, 256), mode, BASIC256)


def test_token_type_must_be_sct() -> None:
    with pytest.raises(InvalidRequest):
        issue_key(IssueRequest("urn:saml", bytes(32), 256), KeyEntropyMode.COMBINED, BASIC256)
    wrong_version = IssueRequest(ns.SC_FEB2005.sct_token_type, bytes(32), 256)
    with pytest.raises(InvalidRequest):
        issue_key(wrong_version, KeyEntropyMode.COMBINED, BASIC256, ns.SC_V13)
    # absent TokenType is allowed, as in WCF
    assert issue_key(IssueRequest(None, bytes(32), 256), KeyEntropyMode.COMBINED, BASIC256).key


# --- client-side validation -----------------------------------------------------------------
def combined_rstr(**changes: object) -> tuple[TokenResponse, bytes]:
    client_entropy = bytes(range(1, 33))
    rstr = TokenResponse.build(
        ns.SC_V13,
        SecurityContextToken("urn:uuid:c"),
        lifetime=None,
        proof=ComputedKey(),
        server_entropy=bytes(range(32, 0, -1)),
        key_size=256,
    )
    return dataclasses.replace(rstr, **changes), client_entropy  # type: ignore[arg-type]


def test_client_combined_ok(psha1: PSha1) -> None:
    rstr, ce = combined_rstr()
    key = client_key_from_rstr(rstr, ce, KeyEntropyMode.COMBINED, 256, BASIC256)
    assert key == psha1(ce, bytes(range(32, 0, -1)), 32)


@pytest.mark.parametrize(
    "changes",
    [
        {"proof": ComputedKey("http://example.com/CK/HMAC")},
        {"proof": None},
        {"proof": BinarySecret(bytes(32), SecretType.SYMMETRIC_KEY)},
        {"entropy": None},
        {"key_size": 128},  # a server shrinking the key below Basic256's 256 bits
        {"key_size": 56},
    ],
    ids=[
        "unknown-ck-algorithm",
        "no-proof",
        "binary-secret",
        "no-server-entropy",
        "key-size-below-suite",
        "key-size-below-minimum",
    ],
)
def test_client_combined_rejects(changes: dict[str, object]) -> None:
    rstr, ce = combined_rstr(**changes)
    with pytest.raises(InvalidRequest):
        client_key_from_rstr(rstr, ce, KeyEntropyMode.COMBINED, 256, BASIC256)


def test_client_combined_accepts_feb2005_algorithm_and_default_size() -> None:
    rstr, ce = combined_rstr(proof=ComputedKey(ns.TRUST_FEB2005.ck_psha1), key_size=None)
    assert len(client_key_from_rstr(rstr, ce, KeyEntropyMode.COMBINED, 256, BASIC256)) == 32


def test_client_server_entropy_rejects() -> None:
    key = bytes(range(32))
    rstr, _ = combined_rstr(proof=BinarySecret(key, SecretType.SYMMETRIC_KEY), entropy=None)
    assert client_key_from_rstr(rstr, None, KeyEntropyMode.SERVER, 256, BASIC256) == key
    for bad in (
        dataclasses.replace(rstr, proof=ComputedKey()),
        dataclasses.replace(rstr, entropy=bytes(32)),
        dataclasses.replace(rstr, proof=None),
        dataclasses.replace(rstr, proof=BinarySecret(key, SecretType.NONCE)),
        dataclasses.replace(rstr, key_size=128),
        dataclasses.replace(rstr, proof=BinarySecret(bytes(16), SecretType.SYMMETRIC_KEY), key_size=None),
    ):
        with pytest.raises(InvalidRequest):
            client_key_from_rstr(bad, None, KeyEntropyMode.SERVER, 256, BASIC256)
    with pytest.raises(ConfigurationError):
        client_key_from_rstr(rstr, bytes(32), KeyEntropyMode.SERVER, 256, BASIC256)


def test_client_client_entropy_rejects() -> None:
    ce = bytes(range(32))
    bare, _ = combined_rstr(proof=None, entropy=None, key_size=None)
    assert client_key_from_rstr(bare, ce, KeyEntropyMode.CLIENT, 256, BASIC256) == ce
    with_proof, _ = combined_rstr()
    with pytest.raises(InvalidRequest):
        client_key_from_rstr(with_proof, ce, KeyEntropyMode.CLIENT, 256, BASIC256)
    with pytest.raises(InvalidRequest):
        client_key_from_rstr(bare, bytes(16), KeyEntropyMode.CLIENT, 256, BASIC256)
    with pytest.raises(ConfigurationError):
        client_key_from_rstr(bare, None, KeyEntropyMode.CLIENT, 256, BASIC256)
