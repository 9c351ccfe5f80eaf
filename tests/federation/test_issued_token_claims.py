"""Claims reach the operation: an issued token's subject and SAML attributes (1.1 and 2.0) become
`caller_claims()`, through a secure session (memory store), in cookie mode and one-shot; a
session keeps them in its record, bounded (`wssc.claims`)."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from wssc.bootstrap.registry import ClientCredentials, ServiceCredentials
from wssc.certs import Certificate
from wssc.claims import MAX_SESSION_CLAIMS, Claim
from wssc.client import Client
from wssc.contract import get_contract, operation, service_contract
from wssc.errors import RemoteFault
from wssc.federation.assertion import token_type
from wssc.federation.saml2 import SamlAttribute, build_saml2
from wssc.federation.saml11 import build_saml11
from wssc.federation.saml_signature import sign_assertion
from wssc.federation.token import IssuedToken
from wssc.service.caller import caller_claims, caller_identity, with_caller
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.settings import WS2007, Bootstrap, EndpointSettings, SecureConversationSettings
from wssc.store.record import SessionRecord
from wssc.trust.issued import assertion_reference
from wssc.xml import ns

ADDRESS = "http://rp.wssc.test/svc"
STS = "https://sts.test/"
ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
EMAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
ATTRS = (SamlAttribute(ROLE, ("reader", "writer")), SamlAttribute(EMAIL, ("alice@example.test",)))
EXPECTED = [
    f"{ns.CLAIM_NAME}|alice|{STS}",
    f"{ROLE}|reader|{STS}",
    f"{ROLE}|writer|{STS}",
    f"{EMAIL}|alice@example.test|{STS}",
]


@service_contract(namespace="http://tempuri.org/", name="IClaims")
class Claims:
    @operation
    def MyClaims(self, text: str) -> list[str]:
        return [text, caller_identity() or ""] + [f"{c.type}|{c.value}|{c.issuer}" for c in caller_claims()]


def mint(
    sts: Certificate, rp: Certificate, version: str, attributes: tuple[SamlAttribute, ...]
) -> IssuedToken:
    key = bytes(range(32))
    build = build_saml11 if version == "saml11" else build_saml2
    a = sign_assertion(
        build(
            issuer=STS,
            audience=ADDRESS,
            relying_party=rp,
            proof_key=key,
            subject="alice",
            attributes=attributes,
            now=time.time(),
        ),
        sts,
    )
    return IssuedToken(a, key, assertion_reference(a), token_type(a), None)


def endpoint(mode: str) -> EndpointSettings:
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=Bootstrap.ISSUED_TOKEN,
            message_security_version=WS2007,
            establish_security_context=mode != "one-shot",
            require_cancellation=mode != "cookie",
        )
    )


def call(
    sts: Certificate, rp: Certificate, mode: str, version: str, attributes: tuple[SamlAttribute, ...] = ATTRS
) -> tuple[list[list[str]], SessionRecord | None]:
    settings = endpoint(mode)
    engine = ServiceEngine(
        Claims(),
        settings=settings,
        address=ADDRESS,
        credentials=ServiceCredentials(certificate=rp, trusted_issuers=(sts,), audiences=(ADDRESS,)),
    )
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    with Client(
        ADDRESS,
        get_contract(Claims),
        settings=settings,
        credentials=ClientCredentials(issued_token=mint(sts, rp, version, attributes)),
        http=http,
    ) as c:
        answers = [c.MyClaims(text=str(n)) for n in range(2)]
        kept = engine.sessions.store.get(c.session.sct.identifier) if mode == "session" else None  # type: ignore[union-attr]
        return answers, kept


@pytest.mark.parametrize("version", ["saml20", "saml11"])
@pytest.mark.parametrize("mode", ["session", "cookie", "one-shot"])
def test_the_operation_reads_the_tokens_claims(
    sts_cert: Certificate, rp_cert: Certificate, mode: str, version: str
) -> None:
    answers, kept = call(sts_cert, rp_cert, mode, version)
    # every message of the session (the second under the SCT alone) sees the same claims
    assert answers == [[str(n), "alice", *EXPECTED] for n in range(2)]
    if mode == "session":  # the session's record keeps them (the second message carried no token)
        assert kept is not None and [f"{c.type}|{c.value}|{c.issuer}" for c in kept.claims] == EXPECTED


def test_too_many_claims_refuse_the_session(
    sts_cert: Certificate, rp_cert: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    """More claims than a session keeps: the SCT is not issued (the generic fault), and the
    service log says why; the same token one-shot (nothing kept) is served."""
    many = tuple(SamlAttribute(f"urn:c:{n}", ("v",)) for n in range(MAX_SESSION_CLAIMS))  # + the name claim
    with caplog.at_level(logging.INFO, logger="wssc.service"), pytest.raises(RemoteFault) as info:
        call(sts_cert, rp_cert, "session", "saml11", many)
    assert "An error occurred when verifying security for the message." in str(info.value)
    assert f"the caller has {MAX_SESSION_CLAIMS + 1} claims; a session keeps at most" in caplog.text
    answers, _ = call(sts_cert, rp_cert, "one-shot", "saml11", many)
    assert len(answers[0]) == 2 + MAX_SESSION_CLAIMS + 1


def test_too_many_claim_bytes_refuse_the_session(
    sts_cert: Certificate, rp_cert: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    big = (SamlAttribute(ROLE, ("x" * 1000, "y" * 1000, "z" * 1000)),)
    with caplog.at_level(logging.INFO, logger="wssc.service"), pytest.raises(RemoteFault):
        call(sts_cert, rp_cert, "cookie", "saml20", big)
    assert "bytes; a session keeps at most" in caplog.text


def test_record_round_trip_with_claims() -> None:
    """The binary form Redis and the cookies carry keeps the claims; a record without claims
    is byte for byte what it was."""
    base = SessionRecord("urn:uuid:1", None, b"k" * 32, 1.0, 2.0, 1.0, 2.0, identity="alice")
    claims = (Claim(ns.CLAIM_NAME, "alice", STS), Claim(ROLE, "réader", STS))
    with_claims = SessionRecord.from_bytes(
        SessionRecord(
            "urn:uuid:1", None, b"k" * 32, 1.0, 2.0, 1.0, 2.0, identity="alice", claims=claims
        ).to_bytes()
    )
    assert with_claims.claims == claims
    assert SessionRecord.from_bytes(base.to_bytes()).claims == ()
    assert base.to_bytes()[1] & 16 == 0


def test_other_bootstraps_give_the_identity_claim() -> None:
    assert with_caller(lambda: caller_claims(), "bob")() == (Claim(ns.CLAIM_NAME, "bob"),)
    assert with_caller(lambda: caller_claims(), "")() == ()
    assert caller_claims() == ()


def test_claims_near_the_cap_fit_in_a_cookie(sts_cert: Certificate, rp_cert: Certificate) -> None:
    """As many claim bytes as a session keeps, in cookie mode: the SCT's cookie holds them
    (under its 4096 bytes) and every message of the session sees them all."""
    from wssc.claims import MAX_SESSION_CLAIM_BYTES, encode_claims

    name = Claim(ns.CLAIM_NAME, "alice", STS)
    fixed = len(encode_claims((name, Claim(ROLE, "", STS)))) + len("alice")
    value = "v" * (MAX_SESSION_CLAIM_BYTES - fixed)
    answers, _ = call(sts_cert, rp_cert, "cookie", "saml20", (SamlAttribute(ROLE, (value,)),))
    assert answers == [
        [str(n), "alice", f"{ns.CLAIM_NAME}|alice|{STS}", f"{ROLE}|{value}|{STS}"] for n in range(2)
    ]
