"""``Compatibility.spnego``: WCF's SPNEGO dialect (the default) refuses each of Apache CXF's
departures, each with its own logged reason; CXF's dialect (``CXF_SPNEGO``) accepts them, and
still answers a WCF-shaped negotiation as WCF does. Sans-IO, over a stand-in GSS context (the
live runs against CXF are in tests/interop/test_cxf_spnego.py)."""

from __future__ import annotations

import base64
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree

from wssc.bootstrap.base import TransportInfo
from wssc.bootstrap.registry import bootstrap_kind
from wssc.bootstrap.spnego import SpnegoClient, SpnegoNegotiated, SpnegoService, neg_token_init
from wssc.errors import InvalidRequest, InvalidSecurity
from wssc.security.policy import MessagePolicy
from wssc.settings import (
    CXF_SPNEGO,
    WCF_COMPATIBLE,
    WS2007,
    WSHTTP,
    Bootstrap,
    Compatibility,
    EndpointSettings,
    MessageSecurityVersion,
    SecureConversationSettings,
)
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.trust import _xml as x
from wssc.trust.messages import Lifetime, OpaqueProof, TokenResponse
from wssc.xml import ns

KEY = bytes(range(32))
NOW = 1_800_000_000.0


class FakeGss:
    """A GSS context that completes at once and seals by tagging (the real ones are MIT's and
    the JDK's, in the interop tests)."""

    complete = True
    client_principal = "alice@WSSC.TEST"

    def step(self, in_token: bytes | None = None) -> bytes | None:
        return None if in_token is not None else b"\x60\x01\x00"

    def wrap(self, data: bytes, encrypt: bool = True) -> Any:
        return SimpleNamespace(data=b"sealed:" + data, encrypted=True)

    def unwrap(self, data: bytes) -> Any:
        assert data.startswith(b"sealed:")
        return SimpleNamespace(data=data[len(b"sealed:") :], encrypted=True)


class FakeCredentials:
    def context(self, dialect: str = "wcf") -> FakeGss:
        return FakeGss()


def policy(family: MessageSecurityVersion, compat: Compatibility, role: str = "client") -> MessagePolicy:
    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=Bootstrap.SPNEGO, message_security_version=family
        )
    )
    return bootstrap_kind(Bootstrap.SPNEGO).message_policy(settings, role, compat)  # type: ignore[arg-type]


def final_reply(p: MessagePolicy, context: str, wrap_uri: str, authenticator: bool) -> etree._Element:
    """A final RSTRC as CXF's service writes it (one RSTR), or with a second RSTR whose
    CombinedHash is wrong (not reached: the checks before it decide)."""
    sc, trust = p.sc, p.sc.trust
    sct = SecurityContextToken("urn:uuid:5f0c3a52-0000-4000-8000-000000000001")
    ek = etree.Element(f"{{{ns.XENC}}}EncryptedKey")
    etree.SubElement(ek, f"{{{ns.XENC}}}EncryptionMethod").set("Algorithm", wrap_uri)
    cv = etree.SubElement(etree.SubElement(ek, f"{{{ns.XENC}}}CipherData"), f"{{{ns.XENC}}}CipherValue")
    cv.text = base64.b64encode(b"sealed:" + KEY).decode()
    final = TokenResponse(
        sct,
        sc.sct_token_type,
        OpaqueProof(ek),
        None,
        Lifetime(NOW, NOW + 900),
        256,
        context,
        SecurityTokenReference.local(sct.wsu_id, sc.sct_token_type),
        SecurityTokenReference.external(sct.identifier, sc.sct_token_type, None, sc.ns),
    ).to_xml(sc, wrap=False)
    rstrc = x.trust_element(trust, "RequestSecurityTokenResponseCollection")
    rstrc.append(final)
    if authenticator:
        auth = x.sub(rstrc, trust, "RequestSecurityTokenResponse")
        auth.set("Context", context)
        x.sub(
            x.sub(auth, trust, "Authenticator"), trust, "CombinedHash", base64.b64encode(b"\0" * 32).decode()
        )
    return rstrc


def negotiate(p: MessagePolicy, reply: etree._Element) -> object:
    gen = SpnegoClient(FakeCredentials()).negotiate(p, NOW)  # type: ignore[arg-type]
    leg = next(gen)
    context = leg.payload.get("Context")
    assert context
    try:
        gen.send(reply(context) if callable(reply) else reply)
    except StopIteration as done:
        return done.value
    raise AssertionError("the negotiation wants another leg")


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
def test_missing_authenticator_refused_by_default_accepted_by_cxf_dialect(
    family: MessageSecurityVersion, caplog: pytest.LogCaptureFixture
) -> None:
    wcf, cxf = policy(family, WCF_COMPATIBLE), policy(family, CXF_SPNEGO)
    cxf_wrap = ns.CXF_GSS_WRAP[family.trust.ns]
    with caplog.at_level(logging.INFO, "wssc.client"):
        with pytest.raises(InvalidSecurity):
            negotiate(wcf, lambda c: final_reply(wcf, c, ns.GSS_WRAP, authenticator=False))  # type: ignore[arg-type]
        assert "the final reply does not contain an authenticator" in caplog.text
        done = negotiate(cxf, lambda c: final_reply(cxf, c, cxf_wrap, authenticator=False))  # type: ignore[arg-type]
    assert isinstance(done, SpnegoNegotiated) and done.key == KEY
    assert "without an authenticator accepted (CXF's dialect)" in caplog.text


def test_cxf_wrap_uri_refused_by_default(caplog: pytest.LogCaptureFixture) -> None:
    wcf = policy(WS2007, WCF_COMPATIBLE)
    with caplog.at_level(logging.INFO, "wssc.client"), pytest.raises(InvalidSecurity):
        negotiate(wcf, lambda c: final_reply(wcf, c, ns.CXF_GSS_WRAP[ns.TRUST_13], authenticator=True))  # type: ignore[arg-type]
    assert "the proof key is not wrapped with GSS_Wrap" in caplog.text


def test_cxf_dialect_still_checks_an_authenticator_it_is_sent(caplog: pytest.LogCaptureFixture) -> None:
    cxf = policy(WS2007, CXF_SPNEGO)
    with caplog.at_level(logging.INFO, "wssc.client"), pytest.raises(InvalidSecurity):
        negotiate(cxf, lambda c: final_reply(cxf, c, ns.GSS_WRAP, authenticator=True))  # type: ignore[arg-type]
    assert "CombinedHash is incorrect" in caplog.text


def rst(p: MessagePolicy, value_type: str, renewing: bool) -> etree._Element:
    trust = p.sc.trust
    el = x.trust_element(trust, "RequestSecurityToken")
    el.set("Context", "_cxf1")
    x.sub(el, trust, "TokenType", p.sc.sct_token_type)
    x.sub(el, trust, "RequestType", trust.issue)
    if renewing:
        x.sub(el, trust, "Renewing")
    x.sub(el, trust, "KeySize", "256")
    be = x.sub(el, trust, "BinaryExchange", base64.b64encode(neg_token_init(b"\x01")).decode())
    be.set("ValueType", value_type)
    be.set("EncodingType", ns.WSS_BASE64)
    return el


def serve(p: MessagePolicy, request: etree._Element) -> Any:
    return SpnegoService(FakeGss).negotiate(request, None, TransportInfo(peer="127.0.0.1"), p, NOW)


def test_service_refuses_cxfs_rst_by_default() -> None:
    wcf = policy(WS2007, WCF_COMPATIBLE, "service")
    with pytest.raises(InvalidRequest) as renewing:
        serve(wcf, rst(wcf, ns.SPNEGO_VALUE_TYPE, renewing=True))
    assert "carries Renewing" in (renewing.value.detail or "")
    with pytest.raises(InvalidRequest) as value_type:
        serve(wcf, rst(wcf, ns.CXF_SPNEGO_VALUE_TYPE[ns.TRUST_13], renewing=False))
    assert "is not SPNEGO's" in (value_type.value.detail or "")


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
def test_service_in_cxf_dialect_answers_each_client_in_its_shape(family: MessageSecurityVersion) -> None:
    cxf = policy(family, CXF_SPNEGO, "service")
    trust = family.trust
    step = serve(cxf, rst(cxf, ns.CXF_SPNEGO_VALUE_TYPE[trust.ns], renewing=True))
    if trust.ns == ns.TRUST_13:  # CXF's 1.3 client takes the first RSTR of WCF's RSTRC
        assert step.payload.tag == x.tq(trust, "RequestSecurityTokenResponseCollection")
        assert len(step.payload) == 2
    else:  # CXF's Feb 2005 client reads a bare RSTR only
        assert step.payload.tag == x.tq(trust, "RequestSecurityTokenResponse")
        assert step.action == trust.rstr_issue
    # a WCF-shaped RST (no Renewing) still gets WCF's final reply, authenticator included
    wcf_shaped = serve(cxf, rst(cxf, ns.SPNEGO_VALUE_TYPE, renewing=False))
    assert wcf_shaped.payload.tag == x.tq(trust, "RequestSecurityTokenResponseCollection")
    kids = x.children(wcf_shaped.payload)
    assert len(kids) == 2 and x.children(kids[1])[0].tag == x.tq(trust, "Authenticator")


def test_a_client_without_a_session_negotiates_again_at_60_percent() -> None:
    """establish_security_context=False over SPNEGO (CXF's shape): the negotiated token
    protects each message until 60 % of its Lifetime, then the client negotiates again."""
    from wssc.session.client import ClientSession
    from wssc.xml.soap import SOAP_12, new_envelope

    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=Bootstrap.SPNEGO, message_security_version=WS2007, establish_security_context=False
        )
    )
    s = ClientSession(settings, SpnegoClient(FakeCredentials()), "http://cxf/svc", compatibility=CXF_SPNEGO)  # type: ignore[arg-type]
    assert s.negotiation_due(NOW)
    out = s.negotiation_request(NOW)
    context = etree.fromstring(out.body).find(f".//{{{ns.TRUST_13}}}RequestSecurityToken").get("Context")  # type: ignore[union-attr]
    reply = new_envelope(
        SOAP_12,
        action=ns.TRUST_V13.rstr_issue,
        payload=final_reply(s.policy, context, ns.CXF_GSS_WRAP[ns.TRUST_13], authenticator=False),
        relates_to=out.message_id,
    )
    assert s.negotiation_step(etree.tostring(reply), out, NOW) is None
    assert not s.negotiation_due(NOW + 0.59 * 900)
    assert s.negotiation_due(NOW + 0.61 * 900)
