"""The seams hold (issue 14): a bootstrap written and registered in this module alone, touching
no other file, runs whole sessions through the service engine and both clients.

The toy negotiates over two legs before its RST/SCT, and the client proves itself with an RSA
signature by its certificate::

    C→S  RST/Issue   <wst:RequestSecurityToken Context="uuid-…">
                       <wst:BinaryExchange ValueType="urn:wssc-test:toy">client nonce 1</…>
    S→C  RSTR/Issue  <wst:RequestSecurityTokenResponse Context="uuid-…">(service nonce 1)
    C→S  RSTR/Issue  <wst:RequestSecurityTokenResponse Context="uuid-…">(client nonce 2)
    S→C  RSTR/Issue  (service nonce 2)
    C→S  RST/SCT     Context="uuid-…", BinaryExchange = SHA-256 of the four nonces; secured by
                     an EncryptedKey for the service certificate (the primary signature and
                     the encryption) and endorsed by the client certificate (RSA)
    S→C  RSTR/SCT    under the EncryptedKey (EncryptedKeySHA1)

Renew and Cancel go under the session's key (``renew_identity`` is None: the key is the proof).
It is a test of the seams, not a protocol to deploy.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
from lxml import etree

from wssc.bootstrap.anonymous_for_certificate import build_encrypted_key
from wssc.bootstrap.base import (
    ClientContext,
    ClientNegotiation,
    NegotiatedState,
    NegotiationLeg,
    NegotiationStep,
    ServiceResult,
    TransportInfo,
)
from wssc.bootstrap.registry import (
    BOOTSTRAPS,
    BootstrapKind,
    ClientCredentials,
    ServiceCredentials,
    bootstrap_kind,
    register_bootstrap,
    unregister_bootstrap,
)
from wssc.certs import Certificate, generate_self_signed
from wssc.client import AsyncClient, Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import ConfigurationError, InvalidRequest, InvalidSecurity
from wssc.policy.shapes import BindingFacts, ShapeReader
from wssc.policy.writer import PolicyWriter
from wssc.security import MessagePolicy, protect, verify
from wssc.security.inbound import VerifiedMessage
from wssc.security.replay import ReplayCache
from wssc.security.tokens import (
    EncryptedKeyProtection,
    EncryptedKeySha1Protection,
    SctProtection,
    X509Protection,
    encrypted_key_sha1,
)
from wssc.security.x509_validation import CertificateValidator
from wssc.service.asgi import AsgiApp
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.settings import (
    WS2007,
    WSHTTP,
    Bootstrap,
    EndpointSettings,
    LocalServiceSecuritySettings,
    MessageSecurityVersion,
    SecureConversationSettings,
)
from wssc.tokens import SecurityContextToken
from wssc.xml import ns
from wssc.xml.soap import Envelope

TOY = Bootstrap("ToyTwoLegChallenge")
LEGS = 2
VALUE_TYPE = "urn:wssc-test:toy"
PROOF_TYPE = "urn:wssc-test:toy-proof"
ADDRESS = "http://toy.test/svc"
SERVICE_CERT = generate_self_signed("toy-service.test")
CLIENT_CERT = generate_self_signed("toy-client.test")


def _wst(policy: MessagePolicy, local: str) -> str:
    return f"{{{policy.sc.trust.ns}}}{local}"


def _exchange(parent: etree._Element, policy: MessagePolicy, value_type: str, data: bytes) -> None:
    be = etree.SubElement(parent, _wst(policy, "BinaryExchange"))
    be.set("ValueType", value_type)
    be.set("EncodingType", ns.WSS_BASE64)
    be.text = base64.b64encode(data).decode("ascii")


def _read_exchange(parent: etree._Element, policy: MessagePolicy, value_type: str) -> bytes:
    found = parent.findall(_wst(policy, "BinaryExchange"))
    if len(found) != 1 or found[0].get("ValueType") != value_type:
        raise InvalidRequest("the toy leg carries no BinaryExchange of its type")
    try:
        return base64.b64decode(found[0].text or "", validate=True)
    except ValueError:
        raise InvalidRequest("the toy BinaryExchange is not base64") from None


def _boot_policy(policy: MessagePolicy) -> MessagePolicy:
    return replace(
        policy,
        encrypt_body=True,
        transport=False,
        require_signature=True,
        require_signed_body=True,
        require_encrypted_body=True,
    )


# --- the client half -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ToyClient:
    """Before negotiating: it only knows how to negotiate."""

    certificate: Certificate
    service_certificate: Certificate

    def negotiate(self, policy: MessagePolicy, now: float) -> ClientNegotiation:
        context = f"uuid-{uuid.uuid4()}-1"
        trust = policy.sc.trust
        transcript = hashlib.sha256()
        for leg in range(LEGS):
            nonce = os.urandom(16)
            tag = "RequestSecurityToken" if leg == 0 else "RequestSecurityTokenResponse"
            payload = etree.Element(_wst(policy, tag), Context=context)
            if leg == 0:
                etree.SubElement(payload, _wst(policy, "TokenType")).text = policy.sc.sct_token_type
                etree.SubElement(payload, _wst(policy, "RequestType")).text = trust.issue
            _exchange(payload, policy, VALUE_TYPE, nonce)
            reply = yield NegotiationLeg(trust.rst_issue if leg == 0 else trust.rstr_issue, payload)
            if reply.tag != _wst(policy, "RequestSecurityTokenResponse") or reply.get("Context") != context:
                raise InvalidSecurity("the toy reply is not of this negotiation")
            transcript.update(nonce + _read_exchange(reply, policy, VALUE_TYPE))
        return ToyNegotiated(self.certificate, self.service_certificate, context, transcript.digest())

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        raise ConfigurationError("the toy bootstrap negotiates first")

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        raise ConfigurationError("the toy bootstrap negotiates first")

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        raise ConfigurationError("the toy bootstrap negotiates first")


@dataclass(frozen=True, slots=True)
class ToyNegotiated:
    """What the negotiation established: it secures the RST/SCT, and the Renews."""

    certificate: Certificate
    service_certificate: Certificate
    context: str
    transcript: bytes

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        rst = Envelope(envelope).payload
        assert rst is not None
        rst.set("Context", self.context)
        _exchange(rst, policy, PROOF_TYPE, self.transcript)
        key = os.urandom(policy.suite.symmetric_key_bits // 8)
        ek = build_encrypted_key(self.service_certificate, key, policy.suite.asymmetric_key_wrap)
        wrapped = base64.b64decode(ek.findtext(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue") or "")
        signatures: list[bytes] = []
        assert self.certificate.key is not None
        root = protect(
            envelope,
            EncryptedKeyProtection(ek, key),
            _boot_policy(policy),
            now=now,
            signature_values=signatures,
            endorsing=X509Protection(self.certificate.cert, self.certificate.key),
        )
        return root, ClientContext({encrypted_key_sha1(wrapped): key}, signatures)

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        result = verify(data, policy=_boot_policy(policy), encrypted_key_sha1_keys=ctx.reply_keys, now=now)
        if result.signing_kind != "ek":
            raise InvalidSecurity("the toy reply is not secured with the RST's key")
        return result

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        return protect(envelope, session, policy, now=now), None


# --- the service half ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Kept:
    """The service's state between legs: the legs done, and the running transcript hash."""

    legs: int
    transcript_hash: hashlib._Hash


@dataclass(frozen=True, slots=True)
class ToyService:
    certificate: Certificate
    client_validator: CertificateValidator

    def negotiate(
        self,
        request: etree._Element,
        state: object | None,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
    ) -> NegotiationStep:
        if state is not None and not isinstance(state, _Kept):
            raise InvalidRequest("not a toy negotiation's state")
        legs = 0 if state is None else state.legs
        if legs >= LEGS:
            raise InvalidRequest("the toy negotiation has no more legs")
        transcript = hashlib.sha256() if state is None else state.transcript_hash.copy()
        nonce = os.urandom(16)
        transcript.update(_read_exchange(request, policy, VALUE_TYPE) + nonce)
        reply = etree.Element(
            _wst(policy, "RequestSecurityTokenResponse"), Context=request.get("Context") or ""
        )
        _exchange(reply, policy, VALUE_TYPE, nonce)
        return NegotiationStep(policy.sc.trust.rstr_issue, reply, _Kept(legs + 1, transcript))

    def verify_negotiated(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        negotiated: NegotiatedState,
        replay_cache: ReplayCache | None = None,
    ) -> ServiceResult:
        assert self.certificate.key is not None
        boot = replace(
            _boot_policy(policy),
            require_endorsing_signature=True,
            endorsing_tokens=frozenset({ns.WSS_X509V3}),
        )
        result = verify(
            data,
            policy=boot,
            now=now,
            private_key=self.certificate.key,
            private_key_thumbprint=self.certificate.thumbprint_b64,
            replay_cache=replay_cache,
            replay_partition="peer:" + transport.peer,
            certificate_validator=self.client_validator,
        )
        rst = result.envelope.payload
        cert = result.endorsing_certificate
        if rst is None or cert is None or result.signing_key is None or result.encrypted_key_sha1 is None:
            raise InvalidSecurity("the toy RST/SCT is not secured as the toy secures it")
        state = negotiated(rst.get("Context") or "")
        if not isinstance(state, _Kept) or state.legs != LEGS:
            raise InvalidSecurity("no finished toy negotiation under this Context")
        if not hmac.compare_digest(_read_exchange(rst, policy, PROOF_TYPE), state.transcript_hash.digest()):
            raise InvalidSecurity("the toy proof does not match the negotiation")
        sha1 = result.encrypted_key_sha1
        return ServiceResult(result, cert.subject.rfc4514_string(), {sha1: result.signing_key}, sha1)

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: object | None = None,
    ) -> ServiceResult:
        raise InvalidSecurity("the toy bootstrap secures nothing before its negotiation")

    def secure_reply(
        self, envelope: etree._Element, result: ServiceResult, policy: MessagePolicy, now: float | None = None
    ) -> etree._Element:
        assert result.reply_sha1 is not None
        key = result.reply_keys[result.reply_sha1]
        return protect(
            envelope, EncryptedKeySha1Protection(result.reply_sha1, key), _boot_policy(policy), now=now
        )

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        return False  # its Renew comes under the session's key

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        return None  # the session's key is the proof


class ToyShape:
    key = TOY
    description = "a test's toy: two challenge legs, then an RST/SCT endorsed by an X.509 certificate"
    needs_service_certificate = True

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        return []

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return None


def _client_half(c: ClientCredentials) -> ToyClient:
    if c.certificate is None or c.service_certificate is None:
        raise ConfigurationError("the toy needs the client's certificate and the service's")
    return ToyClient(c.certificate, c.service_certificate)


def _service_half(c: ServiceCredentials, _: LocalServiceSecuritySettings) -> ToyService:
    if c.certificate is None:
        raise ConfigurationError("the toy needs the service certificate")
    return ToyService(c.certificate, c.client_certificate_validator)


KIND = BootstrapKind(
    TOY,
    "toy-two-leg",
    "message",
    (WSHTTP, WS2007),
    _client_half,
    _service_half,
    ToyShape(),
    aliases=("toy",),
    needs=frozenset({"negotiation"}),
)


@pytest.fixture
def toy() -> Iterator[BootstrapKind]:
    register_bootstrap(KIND)
    try:
        yield KIND
    finally:
        unregister_bootstrap(TOY)


def settings_for(family: MessageSecurityVersion, **service: object) -> EndpointSettings:
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(bootstrap=TOY, message_security_version=family),
        service=replace(LocalServiceSecuritySettings(), **service),  # type: ignore[arg-type]
    )


def engine_for(settings: EndpointSettings) -> ServiceEngine:
    return ServiceEngine(
        Calculator(),
        settings=settings,
        address=ADDRESS,
        credentials=ServiceCredentials(
            certificate=SERVICE_CERT,
            client_certificate_validator=CertificateValidator.peer_trust(CLIENT_CERT),
        ),
    )


CLIENT_CREDENTIALS = ClientCredentials(
    certificate=CLIENT_CERT, service_certificate=Certificate(SERVICE_CERT.cert)
)
FAMILIES = [WSHTTP, WS2007]


# --- the tests -----------------------------------------------------------------------------
def test_the_toy_is_registered_only_while_the_fixture_holds(toy: BootstrapKind) -> None:
    assert bootstrap_kind(TOY) is toy and BOOTSTRAPS[TOY] is toy


def test_unregistered_the_toy_is_unknown() -> None:
    assert TOY not in BOOTSTRAPS
    with pytest.raises(ConfigurationError, match="no bootstrap ToyTwoLegChallenge is registered"):
        bootstrap_kind(TOY)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_a_whole_session_with_the_sync_client(toy: BootstrapKind, family: MessageSecurityVersion) -> None:
    settings = settings_for(family)
    engine = engine_for(settings)
    events: list[str] = []
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=CLIENT_CREDENTIALS,
        http=http,
        on_event=lambda e, d: events.append(e),
    ) as c:
        assert c.Add(a=2, b=3) == 5
        sct = c.session.sct
        assert sct is not None
        record = engine.sessions.store.get(sct.identifier)
        assert record is not None
        # the service knows the client by the certificate that endorsed the RST/SCT
        assert record.identity == CLIENT_CERT.cert.subject.rfc4514_string()
        c.renew()
        renewed = c.session.sct
        assert renewed is not None and renewed.identifier == sct.identifier
        assert renewed.instance != sct.instance
        assert c.Add(a=4, b=5) == 9
    # two legs, then the RST/SCT (the "negotiate" events are the second leg and the RST/SCT)
    assert events == ["negotiate", "negotiate", "issue", "call", "renew", "call", "cancel"]
    assert engine.sessions.store.get(sct.identifier) is None  # cancelled
    assert engine.negotiations is not None and len(engine.negotiations) == 0  # the RST/SCT took it


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_a_whole_session_with_the_async_client(toy: BootstrapKind, family: MessageSecurityVersion) -> None:
    settings = settings_for(family)
    engine = engine_for(settings)

    async def main() -> list[object]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=AsgiApp(engine)))
        async with AsyncClient(
            ADDRESS, get_contract(Calculator), settings=settings, credentials=CLIENT_CREDENTIALS, http=http
        ) as c:
            first = await c.call("Add", 20, 22)
            before = c.session.sct
            await c.renew()
            after = c.session.sct
            second = await c.call("Add", 1, 1)
            assert before is not None and after is not None and after.instance != before.instance
            return [first, second, len(engine.sessions.store)]

    assert asyncio.run(main()) == [42, 2, 1]
    assert len(engine.sessions.store) == 0  # the Cancel went through


# --- what the service refuses, and what a negotiation costs it ----------------------------
def _leg(engine: ServiceEngine, settings: EndpointSettings, action: str, payload: etree._Element) -> bytes:
    from wssc.xml.soap import SOAP_12, new_envelope

    env = new_envelope(SOAP_12, action=action, to=ADDRESS, payload=payload)
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    body = etree.tostring(env)
    return http.post(ADDRESS, content=body, headers={"content-type": "application/soap+xml"}).content


def _first_leg(policy: MessagePolicy, context: str) -> etree._Element:
    payload = etree.Element(_wst(policy, "RequestSecurityToken"), Context=context)
    _exchange(payload, policy, VALUE_TYPE, b"n" * 16)
    return payload


def test_abandoned_negotiations_cost_bounded_state_and_expire(
    toy: BootstrapKind, caplog: pytest.LogCaptureFixture
) -> None:
    """max_stateful_negotiations and negotiation_timeout are real: past the quota a new
    negotiation gets ServerTooBusy (and the log names the quota); once the timeout passes the
    slots are free again."""
    t = [1000.0]
    settings = settings_for(WSHTTP, max_stateful_negotiations=3, max_pending_sessions_per_peer=0)
    engine = engine_for(settings)
    engine.clock = lambda: t[0]
    policy = engine.policy
    trust = policy.sc.trust
    for n in range(3):
        reply = _leg(engine, settings, trust.rst_issue, _first_leg(policy, f"uuid-abandoned-{n}"))
        assert b"RequestSecurityTokenResponse" in reply
    assert engine.negotiations is not None and len(engine.negotiations) == 3
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        reply = _leg(engine, settings, trust.rst_issue, _first_leg(policy, "uuid-one-too-many"))
    assert b"ServerTooBusy" in reply
    assert "max_stateful_negotiations (3) negotiations are in progress" in caplog.text
    t[0] += settings.service.negotiation_timeout.total_seconds() + 1
    reply = _leg(engine, settings, trust.rst_issue, _first_leg(policy, "uuid-after-timeout"))
    assert b"RequestSecurityTokenResponse" in reply
    assert len(engine.negotiations) == 1  # the abandoned ones were purged


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown-context", "no negotiation is in progress under this Context"),
        ("context-in-use", "a negotiation with this Context is already in progress"),
        ("no-context", "the negotiation's Context is missing or too long"),
        ("too-many-legs", "the toy negotiation has no more legs"),
        ("wrong-element", "must carry a wst:RequestSecurityTokenResponse"),
    ],
)
def test_legs_out_of_place_are_refused(
    toy: BootstrapKind, caplog: pytest.LogCaptureFixture, case: str, reason: str
) -> None:
    settings = settings_for(WSHTTP)
    engine = engine_for(settings)
    policy = engine.policy
    trust = policy.sc.trust
    rstr = _wst(policy, "RequestSecurityTokenResponse")

    def later(context: str) -> etree._Element:
        el = etree.Element(rstr, Context=context)
        _exchange(el, policy, VALUE_TYPE, b"m" * 16)
        return el

    if case != "unknown-context" and case != "no-context" and case != "wrong-element":
        _leg(engine, settings, trust.rst_issue, _first_leg(policy, "uuid-live"))
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        if case == "unknown-context":
            reply = _leg(engine, settings, trust.rstr_issue, later("uuid-nobody"))
        elif case == "context-in-use":
            reply = _leg(engine, settings, trust.rst_issue, _first_leg(policy, "uuid-live"))
        elif case == "no-context":
            reply = _leg(engine, settings, trust.rst_issue, _first_leg(policy, ""))
        elif case == "wrong-element":
            reply = _leg(engine, settings, trust.rstr_issue, _first_leg(policy, "uuid-x"))
        else:
            for _ in range(LEGS):
                reply = _leg(engine, settings, trust.rstr_issue, later("uuid-live"))
    # WCF's fault for a leg out of place (trust InvalidRequest); the log names the check
    assert b"<s:Fault>" in reply and b":InvalidRequest</s:Value>" in reply
    assert reason in caplog.text
    if case == "too-many-legs":  # a failed leg drops the negotiation
        assert engine.negotiations is not None and len(engine.negotiations) == 0


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown-context", "no finished toy negotiation under this Context"),
        ("unfinished", "no finished toy negotiation under this Context"),
        ("wrong-proof", "the toy proof does not match the negotiation"),
    ],
)
def test_the_rst_sct_needs_the_finished_negotiation(
    toy: BootstrapKind, caplog: pytest.LogCaptureFixture, case: str, reason: str
) -> None:
    """An RST/SCT that is signed, encrypted and endorsed by a trusted certificate is still
    refused, with the generic fault, unless it names a finished negotiation and proves it."""
    from wssc.session.client import ClientSession
    from wssc.trust import IssueRequest
    from wssc.xml.soap import new_envelope

    settings = settings_for(WS2007)
    engine = engine_for(settings)
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    session = ClientSession(settings, KIND.client_half(CLIENT_CREDENTIALS), ADDRESS)
    now = time.time()
    context = "uuid-never-negotiated"
    if case != "unknown-context":
        out = session.issue_request(now)
        context = (
            etree.fromstring(out.body)
            .find(f".//{_wst(session.policy, 'RequestSecurityToken')}")
            .get("Context")
        )
        for _ in range(LEGS if case == "wrong-proof" else LEGS - 1):
            step = session.issue_step(http.post(ADDRESS, content=out.body).content, out, now)
            assert not isinstance(step, SecurityContextToken)
            out = step
    forged = ToyNegotiated(CLIENT_CERT, Certificate(SERVICE_CERT.cert), context, bytes(32))
    sc = session.policy.sc
    rst = IssueRequest.build(sc, session.policy.suite, settings.secure_conversation.key_entropy_mode)
    env = new_envelope(session.soap, action=sc.trust.rst_sct, to=ADDRESS, payload=rst.to_xml(sc))
    root, _ = forged.secure(env, session.policy, now)
    with caplog.at_level(logging.INFO, logger="wssc.service"):
        reply = http.post(
            ADDRESS, content=etree.tostring(root), headers={"content-type": "application/soap+xml"}
        )
    assert reply.status_code == 500 and b"InvalidSecurity" in reply.content
    assert reason in caplog.text
    assert len(engine.sessions.store) == 0


def test_the_client_refuses_a_leg_reply_that_answers_another_request(toy: BootstrapKind) -> None:
    from wssc.session.client import ClientSession

    settings = settings_for(WSHTTP)
    engine = engine_for(settings)
    session = ClientSession(settings, KIND.client_half(CLIENT_CREDENTIALS), ADDRESS)
    first = session.issue_request(0.0)
    other = session.issue_request(0.0)  # a second negotiation: the first one is dropped
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    reply = http.post(ADDRESS, content=first.body, headers={"content-type": first.content_type}).content
    with pytest.raises(InvalidSecurity, match="does not answer the negotiation leg"):
        session.issue_step(reply, other, 0.0)


@pytest.mark.parametrize("legs", [1, 5])
def test_any_number_of_legs_runs(toy: BootstrapKind, monkeypatch: pytest.MonkeyPatch, legs: int) -> None:
    """The seam carries any number of legs (the toy with one, and with five)."""
    monkeypatch.setattr(sys.modules[__name__], "LEGS", legs)
    settings = settings_for(WSHTTP)
    engine = engine_for(settings)
    events: list[str] = []
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=CLIENT_CREDENTIALS,
        http=http,
        on_event=lambda e, d: events.append(e),
    ) as c:
        assert c.Add(a=legs, b=1) == legs + 1
    assert events == ["negotiate"] * legs + ["issue", "call", "cancel"]
