"""`wssc sts`'s service and the client's RST/Issue, sans-IO: the issued assertion validates at
the relying party with the very proof key the client computed."""

from __future__ import annotations

import hmac
import logging
import time

import pytest

from wssc.bootstrap.base import TransportInfo
from wssc.certs import Certificate
from wssc.client.sts import StsExchange
from wssc.errors import FailedAuthentication, InvalidRequest, RemoteFault, SecurityVerificationFailed
from wssc.federation.saml2 import SamlAttribute
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.service.sts import SecurityTokenService
from wssc.xml import ns

RP = "https://rp.test/service"
TLS = TransportInfo(secure=True, peer="127.0.0.1")


def users(name: str, password: str) -> bool:
    return name == "alice" and hmac.compare_digest(password, "secret")


def make_sts(sts_cert: Certificate, rp_cert: Certificate) -> SecurityTokenService:
    return SecurityTokenService(
        signer=sts_cert,
        issuer="https://sts.test/",
        relying_parties={RP: rp_cert},
        validator=users,
        claims=lambda who: (SamlAttribute("role", ("reader",)),),
    )


def test_issue_combined_entropy_round_trip(sts_cert: Certificate, rp_cert: Certificate) -> None:
    sts = make_sts(sts_cert, rp_cert)
    ex = StsExchange.new("https://sts.test/sts", RP, "alice", "secret")
    status, ctype, body = sts.handle(ex.request(), TLS)
    assert status == 200 and ctype == "application/soap+xml"
    assert b"RSTRC/IssueFinal" in body and b"ComputedKey" in body
    token = ex.read(body)
    assert token.reference.value_type == ns.WSS_SAML2_ID
    assert token.reference.key_identifier == token.token_id
    assert token.expires is not None and token.expires - time.time() == pytest.approx(3600, abs=30)
    rp = IssuedTokenValidator(issuers=(sts_cert,), audiences=(RP,), relying_party=rp_cert)
    ok = rp.validate(token.assertion, time.time())
    assert ok.proof_key == token.proof_key and len(token.proof_key) == 32
    assert ok.assertion.subject == "alice"
    assert ok.claims == {"role": ("reader",)}


def test_issue_without_entropy_returns_binary_secret(sts_cert: Certificate, rp_cert: Certificate) -> None:
    sts = make_sts(sts_cert, rp_cert)
    ex = StsExchange("https://sts.test/sts", RP, "alice", "secret")
    status, _, body = sts.handle(ex.request(), TLS)
    assert status == 200 and b"BinarySecret" in body and b"ComputedKey" not in body
    token = ex.read(body)
    rp = IssuedTokenValidator(issuers=(sts_cert,), audiences=(RP,), relying_party=rp_cert)
    assert rp.validate(token.assertion, time.time()).proof_key == token.proof_key


def refusal(
    sts: SecurityTokenService, ex: StsExchange, transport: TransportInfo, caplog: pytest.LogCaptureFixture
) -> tuple[Exception, str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        status, _, body = sts.handle(ex.request(), transport)
    assert status == 500
    with pytest.raises(RemoteFault) as info:
        ex.read(body)
    return info.value, caplog.text


def test_wrong_password_refused(
    sts_cert: Certificate, rp_cert: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    err, logged = refusal(
        make_sts(sts_cert, rp_cert), StsExchange.new("https://s/", RP, "alice", "nope"), TLS, caplog
    )
    assert isinstance(err, FailedAuthentication)
    assert "FailedAuthentication" in logged


def test_plain_http_refused(
    sts_cert: Certificate, rp_cert: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    plain = TransportInfo(secure=False, peer="127.0.0.1")
    err, logged = refusal(
        make_sts(sts_cert, rp_cert), StsExchange.new("https://s/", RP, "alice", "secret"), plain, caplog
    )
    assert isinstance(err, SecurityVerificationFailed)
    assert "requires HTTPS" in logged


def test_unknown_relying_party_refused(
    sts_cert: Certificate, rp_cert: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    ex = StsExchange.new("https://s/", "https://elsewhere.test/", "alice", "secret")
    err, logged = refusal(make_sts(sts_cert, rp_cert), ex, TLS, caplog)
    assert isinstance(err, InvalidRequest)
    assert "no relying party" in logged


@pytest.mark.parametrize(
    ("asked", "tag", "value_type"),
    [
        (ns.WSS_SAML11_TOKEN_TYPE, f"{{{ns.SAML11}}}Assertion", ns.WSS_SAML11_ID),
        (ns.SAML11, f"{{{ns.SAML11}}}Assertion", ns.WSS_SAML11_ID),
        (ns.WSS_SAML2_TOKEN_TYPE, f"{{{ns.SAML2}}}Assertion", ns.WSS_SAML2_ID),
        ("", f"{{{ns.SAML11}}}Assertion", ns.WSS_SAML11_ID),  # none asked: the STS's default, SAML 1.1
    ],
)
def test_issues_the_token_type_asked_for(
    sts_cert: Certificate, rp_cert: Certificate, asked: str, tag: str, value_type: str
) -> None:
    sts = make_sts(sts_cert, rp_cert)
    ex = StsExchange.new("https://sts.test/sts", RP, "alice", "secret", token_type=asked)
    assert (b"TokenType>" in ex.request()) == bool(asked)
    status, _, body = sts.handle(ex.request(), TLS)
    assert status == 200
    token = ex.read(body)
    assert token.assertion.tag == tag and token.reference.value_type == value_type
    assert token.reference.key_identifier == token.token_id
    rp = IssuedTokenValidator(issuers=(sts_cert,), audiences=(RP,), relying_party=rp_cert)
    ok = rp.validate(token.assertion, time.time())
    assert ok.proof_key == token.proof_key and ok.assertion.subject == "alice"


def test_default_token_type_is_configurable(sts_cert: Certificate, rp_cert: Certificate) -> None:
    import dataclasses

    sts = dataclasses.replace(make_sts(sts_cert, rp_cert), token_type=ns.WSS_SAML2_TOKEN_TYPE)
    ex = StsExchange.new("https://sts.test/sts", RP, "alice", "secret", token_type="")
    assert ex.read(sts.handle(ex.request(), TLS)[2]).assertion.tag == f"{{{ns.SAML2}}}Assertion"


def test_unknown_token_type_refused(
    sts_cert: Certificate, rp_cert: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    ex = StsExchange.new("https://s/", RP, "alice", "secret", token_type="urn:example:jwt")
    err, logged = refusal(make_sts(sts_cert, rp_cert), ex, TLS, caplog)
    assert isinstance(err, InvalidRequest)
    assert "issues SAML 1.1 and 2.0 tokens, not" in logged


def test_claim_options_become_attributes(sts_cert: Certificate, rp_cert: Certificate) -> None:
    """``wssc sts --claim TYPE=VALUE``: a repeated type's values in one attribute, in every token."""
    import dataclasses

    from wssc.cli.sts import _claims
    from wssc.errors import ConfigurationError

    role = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    attrs = _claims([f"{role}=reader", f"{role}=writer", "urn:dept=sales"])
    assert attrs == (SamlAttribute(role, ("reader", "writer")), SamlAttribute("urn:dept", ("sales",)))
    with pytest.raises(ConfigurationError):
        _claims(["no-equals-sign"])
    sts = dataclasses.replace(make_sts(sts_cert, rp_cert), claims=lambda who: attrs)
    ex = StsExchange.new("https://sts.test/sts", RP, "alice", "secret", token_type=ns.WSS_SAML11_TOKEN_TYPE)
    token = ex.read(sts.handle(ex.request(), TLS)[2])
    rp = IssuedTokenValidator(issuers=(sts_cert,), audiences=(RP,), relying_party=rp_cert)
    got = rp.validate(token.assertion, time.time()).claim_set
    assert [(c.type, c.value) for c in got] == [
        (ns.CLAIM_NAME, "alice"),
        (role, "reader"),
        (role, "writer"),
        # SAML 1.1 splits a claim type into AttributeNamespace/AttributeName at its last '/';
        # one without a '/' gets WCF's claims namespace (WIF refuses such a type outright)
        (ns.CLAIMS + "/urn:dept", "sales"),
    ]
