"""IssuedTokenOverTransport (HTTPS): an issued SAML token endorses the message's Timestamp with
its symmetric proof key, TLS does the rest (WCF's ``SecurityBindingElement
.CreateIssuedTokenOverTransportBindingElement``, which ``wsFederationHttpBinding`` and
``ws2007FederationHttpBinding`` build for ``TransportWithMessageCredential``)::

    <wsse:Security s:mustUnderstand="1">
      <wsu:Timestamp wsu:Id="_0">…</wsu:Timestamp>
      <saml:Assertion ID="_a">…holder-of-key: the proof key encrypted to the service…</…>
      <ds:Signature>(HMAC with the proof key over the Timestamp;
        KeyInfo: KeyIdentifier ValueType="…#SAMLID">_a<)</ds:Signature>
    </wsse:Security>

WCF's token parameters: the ``IssuedSecurityTokenParameters`` as an *endorsing* supporting
token, included AlwaysToRecipient, without derived keys (the binding element turns them off);
under a TransportBinding an endorsing token signs the Timestamp, as CertificateOverTransport's
certificate does. The service validates the assertion first (`wssc.federation.saml_checks`:
the issuer's signature against the configured issuer certificates, audience, lifetime with
skew, then the proof key's unwrap), then checks that the Timestamp is signed with that proof
key; the identity is the assertion's subject, its attributes the caller's claims. WCF turns
replay detection off here (TLS); the token's own replay check (``detect_replayed_tokens``)
still applies.

A Renew is signed by the session's SCT over TLS, as under CertificateOverTransport: the
session's key is the proof and the session keeps the identity it was issued to.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lxml import etree

from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.bootstrap.issued_token import ISSUED_KINDS, issued_assertion, issued_token_assertion
from wssc.errors import InvalidSecurity
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.token import IssuedToken
from wssc.policy.shapes import BindingFacts, ShapeReader
from wssc.policy.writer import PolicyWriter, transport_binding, trust_assertion, wss
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import IssuedTokenProtection, SctProtection
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope


def _policy(policy: MessagePolicy, *, signed: bool) -> MessagePolicy:
    """Over TLS: the Timestamp endorsed (``signed``) by the issued token's proof key; no body
    signature or encryption (TLS protects the message)."""
    return replace(
        policy,
        transport=True,
        derived_keys=False,
        encrypt_body=False,
        require_signature=signed,
        require_signed_body=False,
        require_encrypted_body=None,
        endorsing_tokens=frozenset({ns.WSS_SAML2_TOKEN_TYPE, ns.WSS_SAML11_TOKEN_TYPE}),
    )


@dataclass(frozen=True, slots=True)
class IssuedTokenOverTransportClient:
    """The client half: the token from the STS; its proof key endorses each bootstrap
    message's Timestamp."""

    token: IssuedToken

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        prot = IssuedTokenProtection(self.token.assertion, self.token.key)
        return protect(envelope, prot, _policy(policy, signed=True), now=now), ClientContext()

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        """WCF answers over TLS with a Timestamp alone."""
        return verify(data, policy=_policy(policy, signed=False), now=now)

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """The session's SCT endorses the Timestamp over TLS; the reply comes under it."""
        return protect(envelope, session, policy, now=now), None


@dataclass(frozen=True, slots=True)
class IssuedTokenOverTransportService:
    """The service half: over TLS, one issued token that ``validator`` accepts, and the
    Timestamp signed with its proof key."""

    validator: IssuedTokenValidator
    require_tls: bool = True

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """``replay_cache`` is unused (WCF's ``DetectReplays`` is off for this binding: TLS).
        ``endorsing`` must be None: over TLS a Renew is verified under the session's key."""
        if endorsing is not None:
            raise InvalidSecurity("over TLS a Renew is verified under the session's key")
        if self.require_tls and not transport.secure:
            raise InvalidSecurity("IssuedTokenOverTransport requires HTTPS")
        root = data if isinstance(data, etree._Element) else parse_xml(data)
        issued = self.validator.validate(issued_assertion(Envelope(root)), now, peer=transport.peer)
        if issued.proof_key is None:
            raise InvalidSecurity("the issued token has no proof key")
        ident = issued.assertion.assertion_id
        result = verify(
            root, policy=_policy(policy, signed=True), now=now, issued_keys={ident: issued.proof_key}
        )
        if result.signing_kind not in ISSUED_KINDS:
            raise InvalidSecurity("the message is not endorsed by the issued token's proof key")
        return ServiceResult(result, issued.assertion.subject or "", claims=issued.claim_set)

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """Never: over TLS a Renew is signed with the session's key."""
        return False

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        """The session's key is the proof: the session keeps the identity it was issued to."""
        return None

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        return protect(envelope, None, _policy(policy, signed=False), now=now)


class IssuedTokenOverTransportPolicy:
    """The WS-SecurityPolicy shape of IssuedTokenOverTransport (export and import)::

    <sp:TransportBinding>…sp:HttpsToken…</sp:TransportBinding>
    <sp:EndorsingSupportingTokens><wsp:Policy>
      <sp:IssuedToken sp:IncludeToken="…/AlwaysToRecipient">
        <sp:Issuer>…</sp:Issuer> <sp:RequestSecurityTokenTemplate>…</…>
        <wsp:Policy><sp:RequireInternalReference/></wsp:Policy>
      </sp:IssuedToken>
    </wsp:Policy></sp:EndorsingSupportingTokens>
    <sp:Wss11/> <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.ISSUED_TOKEN_OVER_TRANSPORT
    description = (
        "IssuedTokenOverTransport: federation over HTTPS; the client presents a SAML token from "
        "a security token service, whose proof key endorses each message (sp:TransportBinding + "
        "sp:IssuedToken as an endorsing supporting token)"
    )
    needs_service_certificate = False

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        token = issued_token_assertion(w, settings, derived=False)
        return [
            transport_binding(w, settings),
            w.wrapped("EndorsingSupportingTokens", token),
            wss(w, settings),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        if binding.transport and binding.endorsing_issued is not None and not binding.username:
            return False
        return None


__all__ = [
    "IssuedTokenOverTransportClient",
    "IssuedTokenOverTransportPolicy",
    "IssuedTokenOverTransportService",
]
