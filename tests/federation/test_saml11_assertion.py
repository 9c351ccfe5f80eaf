"""SAML 1.1 holder-of-key assertions (WCF's ``SamlSecurityToken``, ADFS's SAML 1.1 tokens):
their shape, signed by an STS, read and checked by the same relying-party checker as SAML 2.0.
The checks common to both versions run for SAML 1.1 in tests/attacks/test_issued_token_attacks.py;
here: what is SAML 1.1's own (AssertionID, per-statement subjects, attribute namespaces)."""

from __future__ import annotations

import copy
import time

import pytest
from lxml import etree

from wssc.certs import Certificate
from wssc.errors import SamlAssertionRejected
from wssc.federation.assertion import assertion_id, id_value_type, read_assertion, token_type
from wssc.federation.saml2 import SamlAttribute
from wssc.federation.saml11 import build_saml11, read_saml11
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.saml_signature import sign_assertion
from wssc.security.replay import MemoryReplayCache
from wssc.xml import ns
from wssc.xml.parse import parse_xml

AUD = "https://rp.test/service"
PROOF = bytes(range(32))
S = f"{{{ns.SAML11}}}"
ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"


def issue(sts: Certificate, rp: Certificate, now: float, **kw: object) -> etree._Element:
    args: dict[str, object] = {
        "issuer": "https://sts.test/",
        "audience": AUD,
        "relying_party": rp,
        "proof_key": PROOF,
        "subject": "alice",
        "attributes": (SamlAttribute(ROLE, ("admin", "user")), SamlAttribute("email", ("a@x",))),
        "now": now,
    }
    args.update(kw)
    return sign_assertion(build_saml11(**args), sts)  # type: ignore[arg-type]


def wire(el: etree._Element) -> etree._Element:
    return parse_xml(etree.tostring(el))


def validator(sts: Certificate, rp: Certificate, **kw: object) -> IssuedTokenValidator:
    return IssuedTokenValidator(issuers=(sts,), audiences=(AUD,), relying_party=rp, **kw)  # type: ignore[arg-type]


def refused(v: IssuedTokenValidator, el: etree._Element, now: float) -> str:
    with pytest.raises(SamlAssertionRejected) as info:
        v.validate(el, now)
    assert info.value.security_failure
    return info.value.detail or ""


def test_shape_as_wcf_writes_it(sts_cert: Certificate, rp_cert: Certificate) -> None:
    a = wire(issue(sts_cert, rp_cert, time.time()))
    assert a.tag == f"{S}Assertion"
    assert (a.get("MajorVersion"), a.get("MinorVersion"), a.get("Issuer")) == ("1", "1", "https://sts.test/")
    assert a.get("ID") is None and assertion_id(a) == a.get("AssertionID") and a.get("AssertionID")
    assert a.find(f"{S}Conditions/{S}AudienceRestrictionCondition/{S}Audience").text == AUD  # type: ignore[union-attr]
    methods = [m.text for m in a.iter(f"{S}ConfirmationMethod")]
    assert methods == [ns.SAML11_HOLDER_OF_KEY] * 2  # the attribute and the authentication statement
    assert [etree.QName(c).localname for c in a][-1] == "Signature"  # last, as the schema wants
    ref = a.find(f"{{{ns.DS}}}Signature/{{{ns.DS}}}SignedInfo/{{{ns.DS}}}Reference")
    assert ref is not None and ref.get("URI") == "#" + assertion_id(a)
    assert token_type(a) == ns.WSS_SAML11_TOKEN_TYPE and id_value_type(a) == ns.WSS_SAML11_ID
    attr = a.find(f"{S}AttributeStatement/{S}Attribute")
    assert attr is not None
    assert (attr.get("AttributeNamespace"), attr.get("AttributeName")) == (ROLE.rsplit("/", 1)[0], "role")


def test_validates_with_claims_and_proof_key(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    ok = validator(sts_cert, rp_cert).validate(wire(issue(sts_cert, rp_cert, now)), now)
    assert ok.proof_key == PROOF and ok.proof_key_sha1
    assert ok.assertion.subject == "alice" and ok.assertion.token_type == ns.WSS_SAML11_TOKEN_TYPE
    # WCF/WIF: a SAML 1.1 attribute's claim type is its namespace and name
    assert [a.claim_type for a in ok.assertion.attributes] == [ROLE, ns.CLAIMS + "/email"]


def test_read_dispatches_by_version(sts_cert: Certificate, rp_cert: Certificate) -> None:
    a = wire(issue(sts_cert, rp_cert, time.time()))
    assert read_assertion(a).assertion_id == read_saml11(a).assertion_id == a.get("AssertionID")


def test_tampered_attribute(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    a = wire(issue(sts_cert, rp_cert, now))
    a.find(f"{S}AttributeStatement/{S}Attribute/{S}AttributeValue").text = "root"  # type: ignore[union-attr]
    assert "does not verify" in refused(validator(sts_cert, rp_cert), a, now)


def test_signature_wrapping_refused(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    genuine = wire(issue(sts_cert, rp_cert, now))
    forged = copy.deepcopy(genuine)
    forged.set("AssertionID", "_forged")
    for n in forged.iter(f"{S}NameIdentifier"):
        n.text = "mallory"
    forged.append(genuine)
    detail = refused(validator(sts_cert, rp_cert), wire(forged), now)
    assert "does not cover the assertion" in detail or "does not verify" in detail or "signatures" in detail


def test_statements_naming_different_subjects_refused(sts_cert: Certificate, rp_cert: Certificate) -> None:
    """Signed by the trusted issuer, yet one statement's subject is another: refused, so the
    name and the proof key a relying party takes are the same whichever statement it reads."""
    now = time.time()
    a = build_saml11(
        issuer="https://sts.test/",
        audience=AUD,
        relying_party=rp_cert,
        proof_key=PROOF,
        subject="alice",
        attributes=(SamlAttribute("r", ("x",)),),
        now=now,
    )
    names = list(a.iter(f"{S}NameIdentifier"))
    assert len(names) == 2
    names[1].text = "admin"
    detail = refused(validator(sts_cert, rp_cert), wire(sign_assertion(a, sts_cert)), now)
    assert "different subjects" in detail


def test_wrong_version_refused(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    a = build_saml11(
        issuer="https://sts.test/", audience=AUD, relying_party=rp_cert, proof_key=PROOF, subject="a", now=now
    )
    a.set("MinorVersion", "0")
    detail = refused(validator(sts_cert, rp_cert), wire(sign_assertion(a, sts_cert)), now)
    assert "not SAML 1.1" in detail


def test_replay_by_assertion_id(sts_cert: Certificate, rp_cert: Certificate) -> None:
    now = time.time()
    v = validator(sts_cert, rp_cert, replay=MemoryReplayCache(max_entries=100))
    a = wire(issue(sts_cert, rp_cert, now))
    v.validate(a, now)
    assert "replayed" in refused(v, a, now)
