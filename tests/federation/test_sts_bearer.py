"""`wssc sts` issues a bearer token when the RST asks KeyType Bearer (WS-Trust 1.3's
``…/Bearer``, February 2005's ``…/identity/NoProofKey``): a SAML assertion with a bearer
subject confirmation, no proof key in it or in the RSTR, no entropy; the client asks for one
and refuses an answer with a proof key. Sans-IO, both trust versions and SAML versions."""

from __future__ import annotations

import hmac
import time
from dataclasses import replace

import pytest
from lxml import etree

from wssc.bootstrap.base import TransportInfo
from wssc.certs import Certificate
from wssc.client.sts import StsExchange
from wssc.errors import ConfigurationError, InvalidRequest, SamlAssertionRejected
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.security.replay import MemoryReplayCache
from wssc.service.sts import SecurityTokenService
from wssc.trust.issued import IssuedTokenRequest
from wssc.xml import ns
from wssc.xml.ns import TrustVersion
from wssc.xml.soap import SOAP_11, SOAP_12

RP = "https://rp.test/service"
TLS = TransportInfo(secure=True, peer="127.0.0.1")
TRUSTS = [(ns.TRUST_V13, SOAP_12), (ns.TRUST_FEB2005, SOAP_11)]
TYPES = [ns.WSS_SAML2_TOKEN_TYPE, ns.WSS_SAML11_TOKEN_TYPE]


def make_sts(sts_cert: Certificate, rp_cert: Certificate, trust: TrustVersion) -> SecurityTokenService:
    return SecurityTokenService(
        signer=sts_cert,
        issuer="https://sts.test/",
        relying_parties={RP: rp_cert},
        validator=lambda u, p: u == "alice" and hmac.compare_digest(p, "secret"),
        trust=trust,
        soap=SOAP_12 if trust is ns.TRUST_V13 else SOAP_11,
    )


@pytest.mark.parametrize(("trust", "soap"), TRUSTS, ids=["trust13", "feb2005"])
@pytest.mark.parametrize("token_type", TYPES, ids=["saml20", "saml11"])
def test_a_bearer_rst_gets_a_bearer_assertion(
    sts_cert: Certificate, rp_cert: Certificate, trust: TrustVersion, soap: object, token_type: str
) -> None:
    sts = make_sts(sts_cert, rp_cert, trust)
    ex = replace(
        StsExchange.new("https://sts.test/sts", RP, "alice", "secret", token_type, bearer=True),
        trust=trust,
        soap=soap,
    )  # type: ignore[arg-type]
    request = ex.request()
    assert trust.bearer_key.encode() in request and b"Entropy" not in request and b"KeySize" not in request
    status, _, body = sts.handle(request, TLS)
    assert status == 200, body[:500]
    assert b"RequestedProofToken" not in body and b"Entropy" not in body and b"EncryptedKey" not in body
    token = ex.read(body)
    assert token.proof_key is None and token.token_type == token_type
    bearer_only = IssuedTokenValidator(
        issuers=(sts_cert,),
        audiences=(RP,),
        relying_party=None,
        bearer=True,
        replay=MemoryReplayCache(max_entries=8),
    )
    ok = bearer_only.validate(token.assertion, time.time())
    assert ok.proof_key is None and ok.assertion.subject == "alice"
    assert ok.assertion.confirmation_method in (ns.SAML2_BEARER, ns.SAML11_BEARER)
    # a holder-of-key relying party refuses it (no downgrade)
    hok = IssuedTokenValidator(issuers=(sts_cert,), audiences=(RP,), relying_party=rp_cert)
    with pytest.raises(SamlAssertionRejected, match="bearer assertion where a proof key is required"):
        hok.validate(token.assertion, time.time())
    # and a holder-of-key token cannot be used where a bearer token is (the client says so)
    with pytest.raises(ConfigurationError, match="bearer token"):
        _ = token.key


def test_the_client_refuses_a_proof_key_when_it_asked_for_a_bearer_token(
    sts_cert: Certificate, rp_cert: Certificate
) -> None:
    """An STS that answers a bearer RST with a holder-of-key token (and a proof key)."""
    sts = make_sts(sts_cert, rp_cert, ns.TRUST_V13)
    symmetric = StsExchange.new("https://sts.test/sts", RP, "alice", "secret")
    _, _, body = sts.handle(symmetric.request(), TLS)
    asked_bearer = replace(symmetric, bearer=True)
    with pytest.raises(InvalidRequest, match="did not return a bearer token"):
        asked_bearer.read(body)


def test_an_unknown_key_type_is_refused() -> None:
    rst = IssuedTokenRequest(ns.WSS_SAML2_TOKEN_TYPE, RP, None, key_type=ns.TRUST_13 + "/PublicKey")
    el = etree.fromstring(etree.tostring(rst.to_xml(ns.TRUST_V13)))
    with pytest.raises(InvalidRequest, match="unsupported KeyType"):
        IssuedTokenRequest.from_xml(el, ns.TRUST_V13)
