"""SAML 2.0 holder-of-key assertions: issued and signed by an STS, checked by a relying party.

Each refusal names its check in the error's detail (what the service logs)."""

from __future__ import annotations

import base64
import copy
import time

import pytest
from lxml import etree

from wssc.certs import Certificate
from wssc.errors import ConfigurationError, SamlAssertionRejected
from wssc.federation.saml2 import AssertionLimits, SamlAttribute, build_saml2, read_saml2
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.saml_signature import sign_assertion
from wssc.security.replay import MemoryReplayCache
from wssc.xml import ns
from wssc.xml.parse import parse_xml

AUD = "https://rp.test/service"
PROOF = bytes(range(32))
S = f"{{{ns.SAML2}}}"


def issue(sts: Certificate, rp: Certificate, now: float, **kw: object) -> etree._Element:
    args: dict[str, object] = {
        "issuer": "https://sts.test/",
        "audience": AUD,
        "relying_party": rp,
        "proof_key": PROOF,
        "subject": "alice",
        "attributes": (SamlAttribute("role", ("admin", "user")), SamlAttribute("email", ("a@x",))),
        "now": now,
    }
    args.update(kw)
    return sign_assertion(build_saml2(**args), sts)  # type: ignore[arg-type]


def wire(el: etree._Element) -> etree._Element:
    """Through bytes and wssc's hardened parser, as a service receives it."""
    return parse_xml(etree.tostring(el))


def validator(sts: Certificate, rp: Certificate, **kw: object) -> IssuedTokenValidator:
    return IssuedTokenValidator(issuers=(sts,), audiences=(AUD,), relying_party=rp, **kw)  # type: ignore[arg-type]


def refused(v: IssuedTokenValidator, el: etree._Element, now: float) -> str:
    with pytest.raises(SamlAssertionRejected) as info:
        v.validate(el, now)
    assert info.value.security_failure
    return info.value.detail or ""


def test_issued_assertion_validates_with_claims_and_proof_key(
    sts_cert: Certificate, rp_cert: Certificate
) -> None:
    now = time.time()
    el = wire(issue(sts_cert, rp_cert, now))
    sig = el.find(f"{{{ns.DS}}}Signature")
    assert sig is not None and el.index(sig) == 1  # after the Issuer, as SAML's schema wants
    assert sig.find(f".//{{{ns.DS}}}SignatureMethod").get("Algorithm") == ns.RSA_SHA256  # type: ignore[union-attr]
    ok = validator(sts_cert, rp_cert).validate(el, now + 10)
    assert ok.proof_key == PROOF
    assert ok.assertion.subject == "alice"
    assert ok.assertion.issuer == "https://sts.test/"
    assert ok.claims == {"role": ("admin", "user"), "email": ("a@x",)}
    assert ok.assertion.confirmation_method == ns.SAML2_HOLDER_OF_KEY
    assert ok.assertion.not_on_or_after - ok.assertion.not_before == pytest.approx(3600, abs=0.01)


def test_untrusted_issuer(sts_cert: Certificate, rp_cert: Certificate, stranger_cert: Certificate) -> None:
    now = time.time()
    el = wire(issue(stranger_cert, rp_cert, now))
    assert "untrusted issuer" in refused(validator(sts_cert, rp_cert), el, now)


def test_tampered_assertion(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    el = wire(issue(sts_cert, rp_cert, now))
    el.find(f"{S}Subject/{S}NameID").text = "mallory"  # type: ignore[union-attr]
    assert "does not verify" in refused(validator(sts_cert, rp_cert), el, now)


def test_resigned_by_another_key_with_the_issuer_certificate(
    sts_cert: Certificate, rp_cert: Certificate, stranger_cert: Certificate
) -> None:
    """Re-signed by another key while the KeyInfo still shows the trusted certificate."""
    now = time.time()
    el = wire(issue(stranger_cert, rp_cert, now))
    x5 = el.find(f".//{{{ns.DS}}}X509Certificate")
    assert x5 is not None
    x5.text = base64.b64encode(sts_cert.der).decode()
    assert "does not verify" in refused(validator(sts_cert, rp_cert), el, now)


def test_signature_wrapping_refused(sts_cert: Certificate, rp_cert: Certificate) -> None:
    """A forged assertion that carries a genuine signed one inside is refused."""
    now = time.time()
    genuine = wire(issue(sts_cert, rp_cert, now))
    forged = copy.deepcopy(genuine)
    forged.set("ID", "_forged")
    forged.find(f"{S}Subject/{S}NameID").text = "mallory"  # type: ignore[union-attr]
    forged.append(genuine)
    detail = refused(validator(sts_cert, rp_cert), wire(forged), now)
    assert "does not cover the assertion" in detail or "does not verify" in detail


def test_other_audience(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    el = wire(issue(sts_cert, rp_cert, now, audience="https://other.test/"))
    assert "another audience" in refused(validator(sts_cert, rp_cert), el, now)


def test_lifetime_with_skew(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    el = wire(issue(sts_cert, rp_cert, now, lifetime=60.0))
    v = validator(sts_cert, rp_cert, skew=30.0)
    assert v.validate(el, now + 60 + 29).proof_key == PROOF  # inside NotOnOrAfter + skew
    assert "expired" in refused(v, el, now + 60 + 30)
    assert v.validate(el, now - 29).proof_key == PROOF
    assert "not yet valid" in refused(v, el, now - 31)


def test_replayed_assertion(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    el = wire(issue(sts_cert, rp_cert, now))
    v = validator(sts_cert, rp_cert, replay=MemoryReplayCache())
    v.validate(el, now)
    assert "replayed" in refused(v, el, now + 1)


def test_missing_proof_key_and_bearer(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    el = build_saml2(
        issuer="https://sts.test/", audience=AUD, relying_party=rp_cert, proof_key=PROOF, subject="a", now=now
    )
    scd = el.find(f"{S}Subject/{S}SubjectConfirmation/{S}SubjectConfirmationData")
    assert scd is not None
    scd.remove(scd[0])
    v = validator(sts_cert, rp_cert)
    assert "no holder-of-key proof key" in refused(v, wire(sign_assertion(el, sts_cert)), now)
    el.find(f"{S}Subject/{S}SubjectConfirmation").set("Method", ns.SAML2_BEARER)  # type: ignore[union-attr]
    bearer = wire(sign_assertion(el, sts_cert))
    assert "bearer assertion" in refused(v, bearer, now)
    bearer_only = validator(sts_cert, rp_cert, bearer=True, replay=MemoryReplayCache(max_entries=16))
    ok = bearer_only.validate(bearer, now)
    assert ok.proof_key is None
    assert "replayed" in refused(bearer_only, bearer, now)  # a bearer token is used once
    hok = wire(issue(sts_cert, rp_cert, now))
    assert "not a bearer assertion" in refused(bearer_only, hok, now)  # no holder-of-key either
    with pytest.raises(ConfigurationError, match="replay cache"):
        validator(sts_cert, rp_cert, bearer=True)


def test_proof_key_for_another_relying_party(
    sts_cert: Certificate, rp_cert: Certificate, stranger_cert: Certificate
) -> None:
    now = time.time()
    el = wire(issue(sts_cert, stranger_cert, now))
    assert "another certificate" in refused(validator(sts_cert, rp_cert), el, now)


def test_caps_refuse_before_cryptography(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    many = tuple(SamlAttribute(f"a{i}", ("v",)) for i in range(10))
    el = wire(issue(sts_cert, rp_cert, now, attributes=many))
    v = validator(sts_cert, rp_cert, limits=AssertionLimits(max_attributes=5))
    assert "too many attributes" in refused(v, el, now)
    assert "too many elements" in refused(
        validator(sts_cert, rp_cert, limits=AssertionLimits(max_elements=10)), el, now
    )
    assert "too large" in refused(
        validator(sts_cert, rp_cert, limits=AssertionLimits(max_bytes=512)), el, now
    )
    assert "nested too deeply" in refused(
        validator(sts_cert, rp_cert, limits=AssertionLimits(max_depth=3)), el, now
    )


def test_read_saml2_fields(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = 1_800_000_000.0
    a = read_saml2(
        build_saml2(
            issuer="i",
            audience=AUD,
            relying_party=rp_cert,
            proof_key=PROOF,
            subject=None,
            now=now,
            lifetime=10,
        )
    )
    assert (a.issue_instant, a.not_before, a.not_on_or_after) == (now, now, now + 10)
    assert a.audiences == (AUD,) and a.subject is None and a.proof_key is not None
