"""The IssuedToken bootstrap, sans-IO: a client secures a message with the issued token's
proof key; the service validates the assertion, then the message under that key alone."""

from __future__ import annotations

import copy
import time

import pytest
from lxml import etree

from wssc.bootstrap.base import TransportInfo
from wssc.bootstrap.issued_token import IssuedTokenClient, IssuedTokenService
from wssc.certs import Certificate
from wssc.errors import InvalidSecurity, SamlAssertionRejected, SecurityTokenUnavailable, WsscError
from wssc.federation.saml2 import SamlAttribute, build_saml2
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.saml_signature import sign_assertion
from wssc.federation.token import IssuedToken
from wssc.security.policy import MessagePolicy
from wssc.trust.issued import saml2_reference
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, new_envelope

AUD = "https://rp.test/svc"
KEY = bytes(range(32))
TLS = TransportInfo(secure=False, peer="127.0.0.1")
POLICY = MessagePolicy(sc=ns.SC_V13)


def token(sts: Certificate, rp: Certificate, key: bytes = KEY, **kw: object) -> IssuedToken:
    args: dict[str, object] = {"issuer": "https://sts.test/", "audience": AUD, "relying_party": rp}
    args.update(proof_key=key, subject="alice", now=time.time(), attributes=(SamlAttribute("r", ("x",)),))
    args.update(kw)
    a = sign_assertion(build_saml2(**args), sts)  # type: ignore[arg-type]
    return IssuedToken(a, key, saml2_reference(a.get("ID") or ""), ns.WSS_SAML2_TOKEN_TYPE, None)


def request() -> etree._Element:
    payload = etree.Element("{urn:test}Echo")
    payload.text = "hello"
    return new_envelope(SOAP_12, action="urn:test/Echo", to=AUD, payload=payload)


def service(sts: Certificate, rp: Certificate) -> IssuedTokenService:
    return IssuedTokenService(IssuedTokenValidator(issuers=(sts,), audiences=(AUD,), relying_party=rp))


def test_round_trip(sts_cert: Certificate, rp_cert: Certificate) -> None:
    client = IssuedTokenClient(token(sts_cert, rp_cert))
    secured, ctx = client.secure(request(), POLICY)
    wire = etree.tostring(secured)
    assert b"#SAMLID" in wire and b"#SAMLV2.0" in wire and b"hello" not in wire  # body encrypted
    svc = service(sts_cert, rp_cert)
    result = svc.verify(wire, TLS, POLICY, time.time())
    assert result.identity == "alice"
    assert result.message.signing_kind == "saml2"
    assert result.message.envelope.payload is not None and result.message.envelope.payload.text == "hello"
    reply = new_envelope(SOAP_12, action="urn:test/EchoResponse", payload=etree.Element("{urn:test}R"))
    out = etree.tostring(svc.secure_reply(reply, result, POLICY, time.time()))
    assert b"<saml:Assertion" not in out  # the reply names the token, does not repeat it
    assert client.verify_reply(out, ctx, POLICY).signing_kind == "saml2"


def test_message_not_signed_with_the_proof_key(sts_cert: Certificate, rp_cert: Certificate) -> None:
    """Missing proof of possession: a genuine assertion, the message keyed with another key."""
    genuine = token(sts_cert, rp_cert)
    forged = IssuedToken(genuine.assertion, bytes(32), genuine.reference, genuine.token_type, None)
    secured, _ = IssuedTokenClient(forged).secure(request(), POLICY)
    with pytest.raises(WsscError) as info:
        service(sts_cert, rp_cert).verify(etree.tostring(secured), TLS, POLICY, time.time())
    assert info.value.security_failure
    assert "wrong key" in (info.value.detail or "")


def test_unvalidated_assertion_reference_refused(sts_cert: Certificate, rp_cert: Certificate) -> None:
    """A second assertion the validator never saw cannot supply a key."""
    secured, _ = IssuedTokenClient(token(sts_cert, rp_cert)).secure(request(), POLICY)
    sec = secured.find(f".//{{{ns.WSSE}}}Security")
    assert sec is not None
    extra = copy.deepcopy(sec.find(f"{{{ns.SAML2}}}Assertion"))
    assert extra is not None
    extra.set("ID", "_other")
    sec.append(extra)
    with pytest.raises(InvalidSecurity) as info:
        service(sts_cert, rp_cert).verify(etree.tostring(secured), TLS, POLICY, time.time())
    assert "2 issued tokens" in (info.value.detail or "")


def test_untrusted_issuer_refused_before_the_message(
    sts_cert: Certificate, rp_cert: Certificate, stranger_cert: Certificate
) -> None:
    secured, _ = IssuedTokenClient(token(stranger_cert, rp_cert)).secure(request(), POLICY)
    with pytest.raises(SamlAssertionRejected) as info:
        service(sts_cert, rp_cert).verify(etree.tostring(secured), TLS, POLICY, time.time())
    assert "untrusted issuer" in (info.value.detail or "")


def test_processor_refuses_an_assertion_not_validated() -> None:
    from wssc.security.inbound import verify

    payload = etree.Element("{urn:test}Echo")
    env = new_envelope(SOAP_12, action="urn:test/Echo", payload=payload)
    sec = etree.SubElement(env[0], f"{{{ns.WSSE}}}Security")
    a = etree.SubElement(sec, f"{{{ns.SAML2}}}Assertion")
    a.set("ID", "_x")
    with pytest.raises(SecurityTokenUnavailable):
        verify(etree.tostring(env), policy=POLICY, issued_keys={"_y": KEY})


def test_samlid_key_identifier_has_no_encoding_type(sts_cert: Certificate, rp_cert: Certificate) -> None:
    """BSP R6604 (and WCF's writer): a KeyIdentifier naming a SAML assertion carries no
    EncodingType; the ID is its text, not base64."""
    secured, _ = IssuedTokenClient(token(sts_cert, rp_cert)).secure(request(), POLICY)
    kis = [k for k in secured.iter(f"{{{ns.WSSE}}}KeyIdentifier") if k.get("ValueType") == ns.WSS_SAML2_ID]
    assert kis and all(k.get("EncodingType") is None for k in kis)


def test_saml11_round_trip_and_version_mismatch(sts_cert: Certificate, rp_cert: Certificate) -> None:
    """A SAML 1.1 assertion is named by its AssertionID (``…#SAMLAssertionID``, ``…#SAMLV1.1``);
    a reference naming it as a SAML 2.0 assertion (``…#SAMLID``) is refused."""
    from wssc.federation.assertion import token_type
    from wssc.federation.saml11 import build_saml11
    from wssc.trust.issued import assertion_reference

    a = sign_assertion(
        build_saml11(
            issuer="https://sts.test/",
            audience=AUD,
            relying_party=rp_cert,
            proof_key=KEY,
            subject="bob",
            now=time.time(),
        ),
        sts_cert,
    )
    t = IssuedToken(a, KEY, assertion_reference(a), token_type(a), None)
    secured, ctx = IssuedTokenClient(t).secure(request(), POLICY)
    wire = etree.tostring(secured)
    assert b"#SAMLAssertionID" in wire and b"#SAMLV1.1" in wire and b"#SAMLID" not in wire
    svc = service(sts_cert, rp_cert)
    result = svc.verify(wire, TLS, POLICY, time.time())
    assert result.identity == "bob" and result.message.signing_kind == "saml11"
    reply = new_envelope(SOAP_12, action="urn:test/EchoResponse", payload=etree.Element("{urn:test}R"))
    out = etree.tostring(svc.secure_reply(reply, result, POLICY, time.time()))
    assert b"#SAMLAssertionID" in out and b"AssertionID=" not in out
    assert IssuedTokenClient(t).verify_reply(out, ctx, POLICY).signing_kind == "saml11"
    mismatched = wire.replace(ns.WSS_SAML11_ID.encode(), ns.WSS_SAML2_ID.encode())
    with pytest.raises(SecurityTokenUnavailable, match="another SAML version"):
        svc.verify(mismatched, TLS, POLICY, time.time())
