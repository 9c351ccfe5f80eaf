"""IssuedTokenOverTransport with a bearer token (HTTPS): a SAML assertion without a proof key
rides in the security header as a *signed supporting token*, covered by TLS (WCF's
``SecurityBindingElement.CreateIssuedTokenOverTransportBindingElement`` with
``IssuedSecurityTokenParameters.KeyType == BearerKey``, which
``ws2007FederationHttpBinding``/``wsFederationHttpBinding`` build for
``TransportWithMessageCredential`` and ``issuedKeyType="BearerKey"``)::

    <wsse:Security s:mustUnderstand="1">
      <wsu:Timestamp wsu:Id="_0">…</wsu:Timestamp>
      <saml:Assertion ID="_a">…SubjectConfirmation Method="…:cm:bearer", no key…</…>
    </wsse:Security>

A bearer token proves nothing but that its sender holds it: it is a password. So the
service takes one only over HTTPS (as WCF's binding requires), checks it as any issued
token (`wssc.federation.saml_checks` with ``bearer=True``: the issuer's signature against
the configured issuer certificates, audience, lifetime with skew) and *always* refuses one
seen before while it is valid, whatever ``detect_replayed_tokens`` says: each bearer
assertion is good for one message (one-shot) or one session (its RST/SCT). It takes bearer
assertions and nothing else, and the holder-of-key bootstraps take no bearer assertion: no
endpoint can be downgraded from a proof of possession to a bare token. The identity is the
assertion's subject, its attributes the caller's claims.

A Renew is signed by the session's SCT over TLS, as under IssuedTokenOverTransport.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lxml import etree

from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.bootstrap.issued_token import issued_assertion, issued_token_assertion
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.token import IssuedToken
from wssc.policy.shapes import BindingFacts, ShapeReader
from wssc.policy.writer import PolicyWriter, transport_binding, trust_assertion, wss
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import SctProtection
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope


def _policy(policy: MessagePolicy) -> MessagePolicy:
    """Over TLS: a Timestamp and the token, no signature (TLS protects the message)."""
    return replace(
        policy,
        transport=True,
        derived_keys=False,
        encrypt_body=False,
        require_signature=False,
        require_signed_body=False,
        require_encrypted_body=None,
    )


@dataclass(frozen=True, slots=True)
class BearerTokenOverTransportClient:
    """The client half: the bearer token from the STS, after the Timestamp."""

    token: IssuedToken

    def __post_init__(self) -> None:
        if self.token.proof_key is not None:
            raise ConfigurationError(
                "this endpoint takes a bearer token (KeyType Bearer); the token has a proof key "
                "(ask the STS for a bearer token: StsExchange(…, bearer=True))"
            )

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        root = protect(envelope, None, _policy(policy), supporting=[self.token.assertion], now=now)
        return root, ClientContext()

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        """WCF answers over TLS with a Timestamp alone."""
        return verify(data, policy=_policy(policy), now=now)

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """The session's SCT endorses the Timestamp over TLS (the bearer token was spent on
        the session's RST); the reply comes under it."""
        return protect(envelope, session, policy, now=now), None


@dataclass(frozen=True, slots=True)
class BearerTokenOverTransportService:
    """The service half: over TLS, one bearer assertion that ``validator`` (``bearer=True``,
    with a replay cache) accepts."""

    validator: IssuedTokenValidator
    require_tls: bool = True

    def __post_init__(self) -> None:
        if not self.validator.bearer or self.validator.replay is None:
            raise ConfigurationError("a bearer-token endpoint needs a bearer validator with a replay cache")

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """``replay_cache`` is unused (TLS; the token's own replay is the validator's).
        ``endorsing`` must be None: over TLS a Renew is verified under the session's key."""
        if endorsing is not None:
            raise InvalidSecurity("over TLS a Renew is verified under the session's key")
        if self.require_tls and not transport.secure:
            raise InvalidSecurity("a bearer token is taken over HTTPS only")
        root = data if isinstance(data, etree._Element) else parse_xml(data)
        element = issued_assertion(Envelope(root))
        # The token is not a key: it leaves the header (the header's processing takes an
        # assertion as a proof key), and the rest of the message (its Timestamp) is checked
        # first, so that a stale message does not spend the token.
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)
        result = verify(root, policy=_policy(policy), now=now)
        issued = self.validator.validate(element, now, peer=transport.peer)
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
        return protect(envelope, None, _policy(policy), now=now)


class BearerTokenOverTransportPolicy:
    """The WS-SecurityPolicy shape (export and import)::

    <sp:TransportBinding>…sp:HttpsToken…</sp:TransportBinding>
    <sp:SignedSupportingTokens><wsp:Policy>
      <sp:IssuedToken sp:IncludeToken="…/AlwaysToRecipient">
        <sp:Issuer>…</sp:Issuer>
        <sp:RequestSecurityTokenTemplate>
          <t:TokenType>…</t:TokenType> <t:KeyType>…/Bearer (Feb 2005: …/NoProofKey)</t:KeyType>
        </sp:RequestSecurityTokenTemplate>
        <wsp:Policy><sp:RequireInternalReference/></wsp:Policy>
      </sp:IssuedToken>
    </wsp:Policy></sp:SignedSupportingTokens>
    <sp:Wss11/> <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.BEARER_TOKEN_OVER_TRANSPORT
    description = (
        "IssuedTokenOverTransport with a bearer token: federation over HTTPS; the client presents "
        "a SAML bearer token (no proof key) from a security token service, each token used once "
        "(sp:TransportBinding + sp:IssuedToken KeyType Bearer as a signed supporting token)"
    )
    needs_service_certificate = False

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        token = issued_token_assertion(w, settings, derived=False, bearer=True)
        return [
            transport_binding(w, settings),
            w.wrapped("SignedSupportingTokens", token),
            wss(w, settings),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        if binding.transport and binding.signed_issued is not None and binding.endorsing_issued is None:
            return False
        return None


__all__ = [
    "BearerTokenOverTransportClient",
    "BearerTokenOverTransportPolicy",
    "BearerTokenOverTransportService",
]
