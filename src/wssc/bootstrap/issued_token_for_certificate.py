"""IssuedTokenForCertificate (message mode): the service's X.509 certificate protects, an issued
SAML token endorses (WCF's ``SecurityBindingElement.CreateIssuedTokenForCertificateBindingElement``,
which ``wsFederationHttpBinding``/``ws2007FederationHttpBinding`` build for ``Message`` security
with ``negotiateServiceCredential="false"``):

* a SymmetricBinding whose protection token is the service's X.509 certificate (Thumbprint,
  IncludeToken Never): an ephemeral key wrapped to it, as AnonymousForCertificate sends it;
* the issued token as an *endorsing* supporting token (IncludeToken AlwaysToRecipient, derived
  keys as the setting says): the assertion in the header and a signature with its proof key
  (on a DerivedKeyToken) whose only Reference is the primary signature;
* ``RequireSignatureConfirmation``: the reply confirms both signatures of the request, signed
  with the request's key::

    <wsse:Security>
      <wsu:Timestamp/>
      <xenc:EncryptedKey>…ThumbprintSHA1 of the service certificate…</xenc:EncryptedKey>
      <wsc:DerivedKeyToken/> <wsc:DerivedKeyToken/>   (on the EncryptedKey)
      <saml:Assertion ID="_a">…the proof key encrypted to the service…</saml:Assertion>
      <wsc:DerivedKeyToken/>                          (on the assertion: KeyIdentifier …#SAMLID)
      <xenc:ReferenceList/>
      <xenc:EncryptedData>(ds:Signature Id="_5": Timestamp, addressing, Body; HMAC)</…>
      <xenc:EncryptedData>(ds:Signature: one Reference, #_5; HMAC with the proof key)</…>
    </wsse:Security>

The service validates the assertion first (`wssc.federation.saml_checks`: the issuer's
signature against the configured issuer certificates, then audience and lifetime, and only
then the proof key's unwrap), then unwraps the EncryptedKey and verifies the message: a
forged assertion costs one RSA public operation and nothing else, a genuine one the
EncryptedKey's unwrap (the one RSA private operation before the message is authenticated)
and, once, the proof key's. A message without the proof key's endorsement, or endorsed by
another key, is refused. The identity is the assertion's subject, its attributes the claims.

A Renew is secured as WCF sends it: as the request (a fresh EncryptedKey), endorsed by both
the issued token and the session's SCT.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lxml import etree

from wssc.bootstrap import one_shot
from wssc.bootstrap.anonymous_for_certificate import (
    AnonymousForCertificateClient,
    AnonymousForCertificateService,
)
from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.bootstrap.issued_token import issued_assertion, issued_token_assertion
from wssc.certs import Certificate
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.federation.assertion import SAML11_TAG, is_assertion, read_assertion
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.token import IssuedToken
from wssc.policy.shapes import BindingFacts, BindingShape, ShapeReader, recognize
from wssc.policy.writer import PolicyWriter, symmetric_binding, trust_assertion, wss11
from wssc.security.inbound import KeyResolver, VerifiedMessage
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import EncryptedKeySha1Protection, IssuedTokenProtection, SctProtection
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope


@dataclass(frozen=True, slots=True)
class IssuedTokenForCertificateClient:
    """The client half: AnonymousForCertificate's protection to ``service_certificate``,
    endorsed by the issued token's proof key. The reply must confirm both signatures."""

    service_certificate: Certificate
    token: IssuedToken

    @property
    def _keyed(self) -> AnonymousForCertificateClient:
        return AnonymousForCertificateClient(self.service_certificate, require_signature_confirmation=True)

    def _token(self) -> IssuedTokenProtection:
        return IssuedTokenProtection(self.token.assertion, self.token.key)

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        return self._keyed.secure_with(
            envelope, policy, now, endorsing=[self._token()], confirm_endorsing=True
        )

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """As the request, endorsed by the issued token and by the session's SCT."""
        return self._keyed.secure_with(
            envelope, policy, now, endorsing=[self._token(), session], confirm_endorsing=True
        )

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        return self._keyed.verify_reply(data, ctx, policy, now)


def _token_type(assertion: etree._Element) -> str:
    return ns.WSS_SAML11_TOKEN_TYPE if assertion.tag == SAML11_TAG else ns.WSS_SAML2_TOKEN_TYPE


@dataclass(frozen=True, slots=True)
class IssuedTokenForCertificateService:
    """The service half: the request must be secured under an EncryptedKey to
    ``certificate`` and endorsed by the proof key of an issued token ``validator`` accepts."""

    certificate: Certificate
    validator: IssuedTokenValidator

    def __post_init__(self) -> None:
        if self.certificate.key is None:
            raise ConfigurationError("IssuedTokenForCertificate needs the service's private key")

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """The request: one endorsement, by the issued token. With ``endorsing`` (the
        session's keys), a Renew as WCF sends it: two, by the issued token and the SCT."""
        root = data if isinstance(data, etree._Element) else parse_xml(data)
        element = issued_assertion(Envelope(root))
        issued = self.validator.validate(element, now, peer=transport.peer)  # before any unwrap
        if issued.proof_key is None:
            raise InvalidSecurity("the issued token has no proof key")
        ident = issued.assertion.assertion_id
        types: tuple[str, ...] = (_token_type(element),)
        if endorsing is not None:
            types += (policy.sc.sct_token_type,)
        result = one_shot.verify_request(
            root,
            replace(one_shot.bootstrap_policy(policy), endorsing_signatures=types),
            now,
            replay_cache,
            endorsing,
            partition="peer:" + transport.peer,
            signed_by="ek",
            refusal="the request is not secured with an EncryptedKey",
            private_key=self.certificate.key,
            private_key_thumbprint=self.certificate.thumbprint_b64,
            issued_keys={ident: issued.proof_key},
        )
        if result.signing_key is None or result.encrypted_key_sha1 is None:
            raise InvalidSecurity("the request is not secured with an EncryptedKey")
        return ServiceResult(
            result,
            issued.assertion.subject or "",
            {result.encrypted_key_sha1: result.signing_key},
            result.encrypted_key_sha1,
            issued.claim_set,
        )

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """A Renew as WCF sends it: an EncryptedKey in the first Security header."""
        return AnonymousForCertificateService(self.certificate).secured_by_bootstrap(envelope)

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        """A Renew that carried the issued token again (validated by `verify`): its subject;
        else the session's key is the proof, and the session keeps its identity."""
        secs = message.envelope.security_headers()
        found = [el for el in secs[0] if is_assertion(el)] if secs else []
        return (read_assertion(found[0]).subject or "") if len(found) == 1 else None

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        """Under the request's key, with a signed SignatureConfirmation of each of its
        signatures (the primary first, then the endorsing ones): WCF's
        RequireSignatureConfirmation, on in this mode."""
        return one_shot.secure_reply(
            envelope,
            result,
            one_shot.bootstrap_policy(policy),
            now,
            token=EncryptedKeySha1Protection,
            missing="no EncryptedKey to secure the reply with",
            confirmations=one_shot.request_confirmations(result.message),
        )


class IssuedTokenForCertificatePolicy:
    """The WS-SecurityPolicy shape of IssuedTokenForCertificate (export and import)::

    <sp:SymmetricBinding>…sp:X509Token IncludeToken=Never, RequireThumbprintReference…
    </sp:SymmetricBinding>
    <sp:EndorsingSupportingTokens><wsp:Policy>
      <sp:IssuedToken sp:IncludeToken="…/AlwaysToRecipient">
        <sp:Issuer>…</sp:Issuer> <sp:RequestSecurityTokenTemplate>…</…>
        <wsp:Policy><sp:RequireDerivedKeys/> <sp:RequireInternalReference/></wsp:Policy>
      </sp:IssuedToken>
    </wsp:Policy></sp:EndorsingSupportingTokens>
    <sp:Wss11>…MustSupportRefThumbprint, MustSupportRefEncryptedKey,
      RequireSignatureConfirmation…</sp:Wss11>
    <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.ISSUED_TOKEN_FOR_CERTIFICATE
    description = (
        "IssuedTokenForCertificate: federation under message security; the request is protected "
        "with a key encrypted for the service's X.509 certificate and endorsed by the proof key "
        "of a SAML token from a security token service (sp:SymmetricBinding, sp:X509Token "
        "IncludeToken=Never, sp:IssuedToken as an endorsing supporting token)"
    )
    needs_service_certificate = True
    shapes = (BindingShape("X509Token", endorsing_issued=True),)

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        protection = w.token(
            "X509Token",
            w.d.never,
            w.flag("RequireDerivedKeys", settings.require_derived_keys),
            w.sp("RequireThumbprintReference"),
            w.sp("WssX509V3Token10"),
        )
        issued = issued_token_assertion(w, settings, derived=settings.require_derived_keys)
        return [
            symmetric_binding(w, settings, protection),
            w.wrapped("EndorsingSupportingTokens", issued),
            wss11(
                w, "MustSupportRefThumbprint", "MustSupportRefEncryptedKey", "RequireSignatureConfirmation"
            ),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)


__all__ = [
    "IssuedTokenForCertificateClient",
    "IssuedTokenForCertificatePolicy",
    "IssuedTokenForCertificateService",
]
