"""IssuedTokenForCertificate, in process: what a request costs the service in RSA operations.
The assertion is validated before anything in the message is unwrapped, so a forged one costs
one RSA public operation (the issuer's signature) and no private one; a genuine one costs the
proof key's unwrap (once: the validated-assertion cache) and the EncryptedKey's unwrap (the one
RSA private operation per message before the message is authenticated)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from lxml import etree

import wssc.federation.saml_checks as checks
import wssc.security.processors as processors
from wssc.bootstrap.base import TransportInfo
from wssc.bootstrap.issued_token_for_certificate import (
    IssuedTokenForCertificateClient,
    IssuedTokenForCertificateService,
)
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
    proof_unwraps: int = 0
    message_unwraps: int = 0


@pytest.fixture
def rsa(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """Counts the issuer-signature checks, the proof-key unwraps and the EncryptedKey unwraps
    of the message (the security header's processor)."""
    counts = Counts()
    verify, proof, message = checks.verify_assertion, checks.rsa_key_unwrap, processors.rsa_key_unwrap

    def counting_verify(*a: object, **kw: object) -> etree._Element:
        counts.public += 1
        return verify(*a, **kw)  # type: ignore[arg-type]

    def counting_proof(*a: object, **kw: object) -> bytes:
        counts.proof_unwraps += 1
        return proof(*a, **kw)  # type: ignore[arg-type]

    def counting_message(*a: object, **kw: object) -> bytes:
        counts.message_unwraps += 1
        return message(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(checks, "verify_assertion", counting_verify)
    monkeypatch.setattr(checks, "rsa_key_unwrap", counting_proof)
    monkeypatch.setattr(processors, "rsa_key_unwrap", counting_message)
    yield counts


def token(sts: Certificate, rp: Certificate, version: str) -> IssuedToken:
    build = build_saml11 if version == "saml11" else build_saml2
    now = time.time()
    a = sign_assertion(
        build(
            issuer="https://sts.test/",
            audience=AUD,
            relying_party=rp,
            proof_key=KEY,
            subject="alice",
            now=now,
        ),
        sts,
    )
    return IssuedToken(a, KEY, assertion_reference(a), token_type(a), None)


def message(rp: Certificate, t: IssuedToken) -> bytes:
    env = new_envelope(SOAP_12, action="urn:test/Echo", to=AUD, payload=etree.Element("{urn:test}Echo"))
    return etree.tostring(IssuedTokenForCertificateClient(Certificate(rp.cert), t).secure(env, POLICY)[0])


def service(sts: Certificate, rp: Certificate) -> IssuedTokenForCertificateService:
    v = IssuedTokenValidator(
        issuers=(sts,), audiences=(AUD,), relying_party=rp, cache=ValidatedAssertions(10)
    )
    return IssuedTokenForCertificateService(rp, v)


@pytest.mark.parametrize("version", ["saml20", "saml11"])
def test_a_request_costs_one_unwrap_before_authentication(
    sts_cert: Certificate, rp_cert: Certificate, rsa: Counts, version: str
) -> None:
    svc = service(sts_cert, rp_cert)
    t = token(sts_cert, rp_cert, version)
    result = svc.verify(message(rp_cert, t), PEER, POLICY, time.time())
    assert result.identity == "alice" and result.message.endorsing_signature_values
    assert (rsa.public, rsa.proof_unwraps, rsa.message_unwraps) == (1, 1, 1)
    for _ in range(3):  # the same assertion: its validation is cached, the EncryptedKey is new
        svc.verify(message(rp_cert, t), PEER, POLICY, time.time())
    assert (rsa.public, rsa.proof_unwraps, rsa.message_unwraps) == (1, 1, 4)


def test_a_forged_assertion_costs_no_private_operation(
    sts_cert: Certificate, rp_cert: Certificate, stranger_cert: Certificate, rsa: Counts
) -> None:
    svc = service(sts_cert, rp_cert)
    forged = token(stranger_cert, rp_cert, "saml20")
    with pytest.raises(SamlAssertionRejected, match="untrusted issuer"):
        svc.verify(message(rp_cert, forged), PEER, POLICY, time.time())
    assert (rsa.public, rsa.proof_unwraps, rsa.message_unwraps) == (1, 0, 0)


def test_a_garbage_encrypted_key_costs_one_private_operation(
    sts_cert: Certificate, rp_cert: Certificate, rsa: Counts
) -> None:
    """A genuine (captured) assertion with a corrupted EncryptedKey: the proof key's unwrap
    comes from the cache, the EncryptedKey's is the one private operation, and it is refused."""
    svc = service(sts_cert, rp_cert)
    t = token(sts_cert, rp_cert, "saml20")
    svc.verify(message(rp_cert, t), PEER, POLICY, time.time())
    root = etree.fromstring(message(rp_cert, t))
    cv = root.find(f".//{{{ns.XENC}}}EncryptedKey/{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
    assert cv is not None and cv.text
    cv.text = "A" + cv.text[1:] if cv.text[0] != "A" else "B" + cv.text[1:]
    with pytest.raises(WsscError):
        svc.verify(etree.tostring(root), PEER, POLICY, time.time())
    assert (rsa.public, rsa.proof_unwraps, rsa.message_unwraps) == (1, 1, 2)
