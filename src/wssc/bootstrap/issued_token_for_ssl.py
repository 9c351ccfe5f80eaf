"""IssuedTokenForSslNegotiated: TLSNEGO protects, an issued SAML token endorses (WCF's
``SecurityBindingElement.CreateIssuedTokenForSslBindingElement``, which
``wsFederationHttpBinding``/``ws2007FederationHttpBinding`` build for ``Message`` security
with WCF's default ``negotiateServiceCredential="true"``).

The client negotiates as AnonymousForSslNegotiated does (`wssc.bootstrap.tlsnego`: a TLS
handshake over WS-Trust legs authenticates the service by its certificate); the message the
negotiated token then secures (the RST/SCT, or without a session every message) also carries
the issued token, whose proof key endorses the primary signature::

    <wsse:Security>
      <wsu:Timestamp/> <c:SecurityContextToken/>(the negotiated one) <c:DerivedKeyToken/>…
      <saml:Assertion ID="_a">…</saml:Assertion> <c:DerivedKeyToken/>(on the assertion)
      <e:ReferenceList/> <e:EncryptedData>(the primary ds:Signature, by the negotiated key)</…>
      <e:EncryptedData>(ds:Signature: one Reference, the primary one; by the proof key)</…>
    </wsse:Security>

The service validates the assertion first (`wssc.federation.saml_checks`), then verifies the
message under the negotiated token with exactly one endorsement, by that assertion's proof
key. The identity is the assertion's subject, its attributes the claims. Renews go under the
session's key, as TLSNEGO's.

SignatureConfirmation, as WCF does it (read in CoreWCF's ``SecurityBindingElement`` and
``WSSecurityPolicy``; facts, no code):

* ``SecurityBindingElement.CreateIssuedTokenForSslBindingElement(issuedTokenParameters,
  requireCancellation)`` builds a ``SymmetricSecurityBindingElement`` over
  ``SslSecurityTokenParameters(false, requireCancellation)``, adds the issued token as an
  *endorsing* supporting token (``MessageSecurityVersion.Default``; a bearer token would be a
  SignedEncrypted one under ``WSSXDefault``, which this module does not serve) and sets
  ``RequireSignatureConfirmation = true``. ``FederatedMessageSecurityOverHttp`` calls it for
  ``negotiateServiceCredential=true``.
* With ``establishSecurityContext`` on, ``CreateSecureConversationBindingElement`` wraps it as
  the bootstrap of a ``SymmetricSecurityBindingElement`` over the SCT with
  ``RequireSignatureConfirmation = false`` ("no need for signature confirmation on the steady
  state binding"): the RSTR to the RST/SCT confirms, the session's application replies (and
  its Renew/Cancel replies, under the SCT) do not. With it off, every reply is the bootstrap
  binding's, and each confirms.
* The TLSNEGO legs go over the issuer binding that ``CreateIssuerBindingContextForNegotiation``
  builds from the binding elements below security: they carry no WS-Security header, so
  nothing to confirm.
* The reply confirms each signature of the request: the primary one (by the negotiated key)
  and the issued token's endorsing one (`wssc.bootstrap.one_shot.request_confirmations`); the
  client requires both, signed, and matching what it sent
  (`wssc.bootstrap.anonymous_for_certificate.check_confirmation`), else ``InvalidSecurity``.
* The policy: ``WSSecurityPolicy.CreateWsspWss11Assertion`` writes
  ``sp:RequireSignatureConfirmation`` in the binding's ``sp:Wss11`` from that flag: the
  endpoint's ``sp:Wss11`` without a session, the ``sp:BootstrapPolicy``'s with one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lxml import etree

from wssc.bootstrap.anonymous_for_certificate import check_confirmation
from wssc.bootstrap.base import (
    ClientContext,
    ClientNegotiation,
    NegotiatedState,
    NegotiationStep,
    ServiceResult,
    TransportInfo,
)
from wssc.bootstrap.issued_token import issued_assertion, issued_token_assertion
from wssc.bootstrap.negotiated import secure_reply as negotiated_reply
from wssc.bootstrap.negotiated import service_result, verify_under_negotiated
from wssc.bootstrap.one_shot import request_confirmations
from wssc.bootstrap.tlsnego import TlsnegoClient, TlsnegoNegotiated, TlsnegoPolicy, TlsnegoService
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.federation.assertion import SAML11_TAG
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.token import IssuedToken
from wssc.policy.shapes import Assertions, BindingFacts, BindingShape, ShapeReader, recognize
from wssc.policy.writer import PolicyWriter, trust_assertion, wss11
from wssc.security.inbound import KeyResolver, VerifiedMessage
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import IssuedTokenProtection, SctProtection
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope


@dataclass(frozen=True, slots=True)
class _Endorsed:
    """After the negotiation: the negotiated token protects, the issued token endorses."""

    negotiated: TlsnegoNegotiated
    token: IssuedToken

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        n = self.negotiated
        endorsing = IssuedTokenProtection(self.token.assertion, self.token.key)
        signatures: list[bytes] = []
        root = protect(
            envelope,
            SctProtection(n.sct, n.key, include=True),
            policy,
            now=now,
            endorsing=endorsing,
            signature_values=signatures,
            endorsing_values=signatures,
        )
        return root, ClientContext({n.sct.identifier: n.key}, signatures)

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        """Under the negotiated token, confirming both signatures of the request (WCF's
        RequireSignatureConfirmation, on for this bootstrap)."""
        result = self.negotiated.verify_reply(data, ctx, policy, now)
        check_confirmation(result, ctx, required=True)
        return result

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        return self.negotiated.secure_renew(envelope, policy, session, now)


@dataclass(frozen=True, slots=True)
class IssuedTokenForSslClient:
    """The client half: TLSNEGO's (``tls``, anonymous), then the issued token endorses."""

    tls: TlsnegoClient
    token: IssuedToken

    def negotiate(self, policy: MessagePolicy, now: float) -> ClientNegotiation:
        negotiated = yield from self.tls.negotiate(policy, now)
        if not isinstance(negotiated, TlsnegoNegotiated):
            raise ConfigurationError("TLSNEGO did not establish a negotiated token")
        return _Endorsed(negotiated, self.token)

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        raise ConfigurationError("TLSNEGO negotiates first")

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        raise ConfigurationError("TLSNEGO negotiates first")

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        raise ConfigurationError("TLSNEGO negotiates first")


@dataclass(frozen=True, slots=True)
class IssuedTokenForSslService:
    """The service half: TLSNEGO's negotiation (``tls``), then a message under the negotiated
    token endorsed by the proof key of an issued token ``validator`` accepts."""

    tls: TlsnegoService
    validator: IssuedTokenValidator

    def negotiate(
        self,
        request: etree._Element,
        state: object | None,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
    ) -> NegotiationStep:
        return self.tls.negotiate(request, state, transport, policy, now)

    def verify_negotiated(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        negotiated: NegotiatedState,
        replay_cache: ReplayCache | None = None,
    ) -> ServiceResult:
        root = data if isinstance(data, etree._Element) else parse_xml(data)
        element = issued_assertion(Envelope(root))
        issued = self.validator.validate(element, now, peer=transport.peer)
        if issued.proof_key is None:
            raise InvalidSecurity("the issued token has no proof key")
        ident = issued.assertion.assertion_id
        kind = ns.WSS_SAML11_TOKEN_TYPE if element.tag == SAML11_TAG else ns.WSS_SAML2_TOKEN_TYPE
        result, e = verify_under_negotiated(
            root,
            transport,
            replace(policy, endorsing_signatures=(kind,)),
            now,
            negotiated,
            replay_cache,
            "TLSNEGO",
            issued_keys={ident: issued.proof_key},
        )
        return replace(service_result(result, e, issued.assertion.subject or ""), claims=issued.claim_set)

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        raise InvalidSecurity("TLSNEGO secures nothing before its negotiation")

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        """Under the negotiated token, with a signed SignatureConfirmation of each signature
        of the request (the primary, then the issued token's endorsing one)."""
        return negotiated_reply(envelope, result, policy, now, request_confirmations(result.message))

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        return False  # its Renew comes under the session's key

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        return None  # the session's key is the proof


class IssuedTokenForSslPolicy:
    """The WS-SecurityPolicy shape: TLSNEGO's (``mssp:SslContextToken`` protects) and the
    issued token as an endorsing supporting token::

    <sp:SymmetricBinding>…<mssp:SslContextToken>…</sp:SymmetricBinding>
    <sp:EndorsingSupportingTokens><wsp:Policy>
      <sp:IssuedToken sp:IncludeToken="…/AlwaysToRecipient">…</sp:IssuedToken>
    </wsp:Policy></sp:EndorsingSupportingTokens>
    <sp:Wss11><wsp:Policy><sp:RequireSignatureConfirmation/></wsp:Policy></sp:Wss11>
    <sp:Trust10 | sp:Trust13>…</…>

    (the importer recognises the shape with or without ``sp:RequireSignatureConfirmation``;
    wssc's client requires the confirmation either way, as WCF's binding element does)
    """

    key = Bootstrap.ISSUED_TOKEN_FOR_SSL
    description = (
        "IssuedTokenForSslNegotiated: federation under message security; a TLS handshake "
        "negotiated over WS-Trust legs (TLSNEGO) authenticates the service, and the proof key "
        "of a SAML token from a security token service endorses the request "
        "(sp:SymmetricBinding, mssp:SslContextToken, sp:IssuedToken as an endorsing supporting token)"
    )
    needs_service_certificate = True
    _tls = TlsnegoPolicy(Bootstrap.TLSNEGO)

    @property
    def shapes(self) -> tuple[BindingShape, ...]:
        (row,) = self._tls.shapes
        assert isinstance(row.read, Assertions)
        return (
            BindingShape("SslContextToken", row.read, ns.MSSP, endorsing_x509=None, endorsing_issued=True),
        )

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        binding, *_ = self._tls.assertions(w, settings)
        issued = issued_token_assertion(w, settings, derived=settings.require_derived_keys)
        return [
            binding,
            w.wrapped("EndorsingSupportingTokens", issued),
            wss11(w, "RequireSignatureConfirmation"),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)


__all__ = ["IssuedTokenForSslClient", "IssuedTokenForSslPolicy", "IssuedTokenForSslService"]
