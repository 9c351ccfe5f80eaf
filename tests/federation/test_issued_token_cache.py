"""The cache of validated assertions (`wssc.federation.token_cache`), in process: counting the
RSA operations a message with an issued token costs the service. The first costs one public
(the issuer's signature) and one private (the proof-key unwrap); the same assertion again
costs none; a one-byte change to it costs both again; the proof of possession and the replay
check still run on every message."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from lxml import etree

import wssc.federation.saml_checks as checks
from wssc.bootstrap.base import TransportInfo
from wssc.bootstrap.issued_token import IssuedTokenClient, IssuedTokenService
from wssc.certs import Certificate
from wssc.errors import SamlAssertionRejected, WsscError
from wssc.federation.assertion import token_type
from wssc.federation.saml2 import build_saml2
from wssc.federation.saml11 import build_saml11
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.saml_signature import sign_assertion
from wssc.federation.token import IssuedToken
from wssc.federation.token_cache import ValidatedAssertions
from wssc.security.policy import MessagePolicy
from wssc.security.replay import MemoryReplayCache
from wssc.trust.issued import assertion_reference
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, new_envelope

AUD = "https://rp.test/svc"
KEY = bytes(range(32))
PEER = TransportInfo(secure=False, peer="127.0.0.1")
POLICY = MessagePolicy(sc=ns.SC_V13)


@dataclass
class Counts:
    public: int = 0
    private: int = 0


@pytest.fixture
def rsa(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """Counts the validator's RSA operations: the issuer signature check (public) and the
    proof-key unwrap (private)."""
    counts = Counts()
    verify, unwrap = checks.verify_assertion, checks.rsa_key_unwrap

    def counting_verify(*a: object, **kw: object) -> etree._Element:
        counts.public += 1
        return verify(*a, **kw)  # type: ignore[arg-type]

    def counting_unwrap(*a: object, **kw: object) -> bytes:
        counts.private += 1
        return unwrap(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(checks, "verify_assertion", counting_verify)
    monkeypatch.setattr(checks, "rsa_key_unwrap", counting_unwrap)
    yield counts


def token(sts: Certificate, rp: Certificate, version: str) -> IssuedToken:
    build = build_saml11 if version == "saml11" else build_saml2
    a = sign_assertion(
        build(
            issuer="https://sts.test/",
            audience=AUD,
            relying_party=rp,
            proof_key=KEY,
            subject="alice",
            now=time.time(),
        ),
        sts,
    )
    return IssuedToken(a, KEY, assertion_reference(a), token_type(a), None)


def message(t: IssuedToken) -> bytes:
    env = new_envelope(SOAP_12, action="urn:test/Echo", to=AUD, payload=etree.Element("{urn:test}Echo"))
    return etree.tostring(IssuedTokenClient(t).secure(env, POLICY)[0])


def service(sts: Certificate, rp: Certificate, **kw: object) -> IssuedTokenService:
    v = IssuedTokenValidator(
        issuers=(sts,), audiences=(AUD,), relying_party=rp, cache=ValidatedAssertions(10), **kw
    )  # type: ignore[arg-type]
    return IssuedTokenService(v)


@pytest.mark.parametrize("version", ["saml20", "saml11"])
def test_a_resent_assertion_costs_no_rsa_operation(
    sts_cert: Certificate, rp_cert: Certificate, rsa: Counts, version: str
) -> None:
    svc = service(sts_cert, rp_cert)
    t = token(sts_cert, rp_cert, version)
    assert svc.verify(message(t), PEER, POLICY, time.time()).identity == "alice"
    assert (rsa.public, rsa.private) == (1, 1)
    for _ in range(3):  # fresh messages (new signatures, timestamps), the same assertion
        assert svc.verify(message(t), PEER, POLICY, time.time()).identity == "alice"
    assert (rsa.public, rsa.private) == (1, 1)
    # one byte more, where the signature does not look (the certificate's base64 text): still
    # genuine, but not the cached bytes, so it costs both operations again
    changed_assertion = copy.deepcopy(t.assertion)
    x5 = changed_assertion.find(f".//{{{ns.DS}}}X509Certificate")
    assert x5 is not None
    x5.text = (x5.text or "") + "\n"
    changed = IssuedToken(changed_assertion, KEY, t.reference, t.token_type, None)
    assert svc.verify(message(changed), PEER, POLICY, time.time()).identity == "alice"
    assert (rsa.public, rsa.private) == (2, 2)


def test_proof_of_possession_is_checked_on_a_cache_hit(
    sts_cert: Certificate, rp_cert: Certificate, rsa: Counts
) -> None:
    """A captured assertion, cached by its holder's use, resent with a key the sender chose."""
    svc = service(sts_cert, rp_cert)
    t = token(sts_cert, rp_cert, "saml11")
    svc.verify(message(t), PEER, POLICY, time.time())
    stolen = IssuedToken(t.assertion, bytes(32), t.reference, t.token_type, None)
    with pytest.raises(WsscError) as info:
        svc.verify(message(stolen), PEER, POLICY, time.time())
    assert "wrong key" in (info.value.detail or "")
    assert (rsa.public, rsa.private) == (1, 1)  # refused by the message layer, from the cache


def test_replay_is_checked_on_a_cache_hit_and_an_expired_entry_is_not_served(
    sts_cert: Certificate, rp_cert: Certificate, rsa: Counts
) -> None:
    replay = MemoryReplayCache(max_entries=100)
    v = IssuedTokenValidator(
        issuers=(sts_cert,), audiences=(AUD,), relying_party=rp_cert, cache=ValidatedAssertions(10)
    )
    t = token(sts_cert, rp_cert, "saml20")
    now = time.time()
    v.validate(t.assertion, now)
    strict = IssuedTokenValidator(
        issuers=(sts_cert,), audiences=(AUD,), relying_party=rp_cert, replay=replay, cache=v.cache
    )
    strict.validate(t.assertion, now)  # a hit (no RSA), first use under replay detection
    with pytest.raises(SamlAssertionRejected, match="replayed"):
        strict.validate(t.assertion, now)
    assert (rsa.public, rsa.private) == (1, 1)
    with pytest.raises(SamlAssertionRejected, match="expired"):
        v.validate(t.assertion, now + 3600 + checks.DEFAULT_SKEW)
    assert rsa.public == 2  # the entry ended with the assertion: validated (and refused) again


def test_the_cache_is_bounded_and_only_successes_enter(
    sts_cert: Certificate, rp_cert: Certificate, stranger_cert: Certificate, rsa: Counts
) -> None:
    cache = ValidatedAssertions(3)
    v = IssuedTokenValidator(issuers=(sts_cert,), audiences=(AUD,), relying_party=rp_cert, cache=cache)
    now = time.time()
    forged = token(stranger_cert, rp_cert, "saml11").assertion
    for _ in range(2):
        with pytest.raises(SamlAssertionRejected):
            v.validate(forged, now)
    assert len(cache) == 0
    tokens = [token(sts_cert, rp_cert, "saml20") for _ in range(4)]
    for t in tokens:
        v.validate(t.assertion, now)
    assert len(cache) == 3
    before = rsa.public
    v.validate(tokens[0].assertion, now)  # the least recently used was evicted: validated again
    v.validate(tokens[3].assertion, now)  # the newest is still there
    assert rsa.public == before + 1
