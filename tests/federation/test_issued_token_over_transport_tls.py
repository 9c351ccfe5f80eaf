"""IssuedTokenOverTransport's service half, in process: it runs over TLS only, and over TLS a
Renew is verified under the session's key, never by the bootstrap; a message over TLS signed
with the proof key is accepted (the control), with the assertion's subject and claims."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from wssc.bootstrap.base import TransportInfo
from wssc.bootstrap.issued_token_over_transport import (
    IssuedTokenOverTransportClient,
    IssuedTokenOverTransportService,
)
from wssc.certs import Certificate
from wssc.errors import InvalidSecurity
from wssc.federation.assertion import token_type
from wssc.federation.saml2 import build_saml2
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.saml_signature import sign_assertion
from wssc.federation.token import IssuedToken
from wssc.security.policy import MessagePolicy
from wssc.trust.issued import assertion_reference
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, new_envelope

AUD = "https://rp.test/svc"
KEY = bytes(range(32))
POLICY = MessagePolicy(sc=ns.SC_V13)
TLS = TransportInfo(secure=True, peer="127.0.0.1")


def message(sts: Certificate, rp: Certificate) -> bytes:
    now = time.time()
    a = sign_assertion(
        build_saml2(
            issuer="https://sts.test/",
            audience=AUD,
            relying_party=rp,
            proof_key=KEY,
            subject="alice",
            now=now,
        ),
        sts,
    )
    t = IssuedToken(a, KEY, assertion_reference(a), token_type(a), None)
    env = new_envelope(SOAP_12, action="urn:test/Echo", to=AUD, payload=etree.Element("{urn:test}Echo"))
    return etree.tostring(IssuedTokenOverTransportClient(t).secure(env, POLICY)[0])


def service(sts: Certificate, rp: Certificate) -> IssuedTokenOverTransportService:
    return IssuedTokenOverTransportService(
        IssuedTokenValidator(issuers=(sts,), audiences=(AUD,), relying_party=rp)
    )


def test_over_tls_the_proof_key_signs_the_timestamp(sts_cert: Certificate, rp_cert: Certificate) -> None:
    result = service(sts_cert, rp_cert).verify(message(sts_cert, rp_cert), TLS, POLICY, time.time())
    assert result.identity == "alice" and result.message.signing_kind == "saml2"
    assert result.message.timestamp is not None


def test_plain_http_is_refused(sts_cert: Certificate, rp_cert: Certificate) -> None:
    plain = TransportInfo(secure=False, peer="127.0.0.1")
    with pytest.raises(InvalidSecurity) as info:
        service(sts_cert, rp_cert).verify(message(sts_cert, rp_cert), plain, POLICY, time.time())
    assert info.value.detail == "IssuedTokenOverTransport requires HTTPS"


def test_a_renew_is_not_verified_by_the_bootstrap(sts_cert: Certificate, rp_cert: Certificate) -> None:
    with pytest.raises(InvalidSecurity) as info:
        service(sts_cert, rp_cert).verify(
            message(sts_cert, rp_cert), TLS, POLICY, time.time(), endorsing=lambda sct, sc: None
        )
    assert "session's key" in (info.value.detail or "")
