"""MutualCertificate (message mode), WS-Security 1.1: X.509 on both sides, in the shape of
WCF's ``SecurityBindingElement.CreateMutualCertificateBindingElement`` for WSS 1.1
(``wsHttpBinding`` with Message security, ``clientCredentialType="Certificate"`` and
``negotiateServiceCredential="false"``):

* a SymmetricBinding whose protection token is the service's X.509 certificate (Thumbprint,
  IncludeToken Never): an ephemeral key wrapped to it, as AnonymousForCertificate sends it;
* the client's X.509 certificate as an *endorsing* supporting token (Thumbprint, IncludeToken
  AlwaysToRecipient, no derived keys): a ``wsse:BinarySecurityToken`` and an RSA signature,
  with its private key, whose only Reference is the primary signature;
* ``RequireSignatureConfirmation``: the reply confirms every signature of the request (the
  primary and the endorsing ones), signed with the request's key::

    <wsse:Security>
      <wsu:Timestamp/>
      <xenc:EncryptedKey>…ThumbprintSHA1 of the service certificate…</xenc:EncryptedKey>
      <wsc:DerivedKeyToken/> <wsc:DerivedKeyToken/>
      <wsse:BinarySecurityToken wsu:Id="uuid-…-x509" ValueType="…#X509v3">(the client's)</…>
      <xenc:ReferenceList/>
      <xenc:EncryptedData>(ds:Signature Id="_5": Timestamp, addressing, Body; HMAC)</…>
      <xenc:EncryptedData>(ds:Signature: one Reference, #_5; RSA; KeyInfo → the BST)</…>
    </wsse:Security>

The service checks the client's certificate with its ``client_certificate_validator``
(ChainTrust, PeerTrust, None or Custom; the default trusts none) when it reads the header,
and the endorsement once the primary signature is authentic. The identity is the
certificate's subject.

Under WS-Security 1.0 (the ``WSSecurity10…`` versions: ``MessagePolicy.wss11`` False) WCF's
shape is an AsymmetricBinding instead: both halves hand over to
`wssc.bootstrap.mutual_certificate_wss10`, and so does the policy shape.

A Renew is secured as WCF sends it: as the RST (a fresh EncryptedKey), endorsed by both the
client's certificate and the session's SCT — two endorsing signatures. Its certificate must
name the session's identity (WCF's ``IsSameIdentity``), so another client's certificate
cannot renew a session it did not open.
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
from wssc.bootstrap.mutual_certificate_wss10 import (
    AsymmetricMutualCertificateClient,
    AsymmetricMutualCertificateService,
    asymmetric_assertions,
)
from wssc.certs import Certificate
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.policy.shapes import BindingFacts, BindingShape, ShapeReader, recognize
from wssc.policy.writer import PolicyWriter, symmetric_binding, trust_assertion, wss11
from wssc.security.inbound import KeyResolver, VerifiedMessage
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import EncryptedKeySha1Protection, SctProtection, X509Protection
from wssc.security.x509_validation import CertificateValidator
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.soap import Envelope


@dataclass(frozen=True, slots=True)
class MutualCertificateClient:
    """The client half: AnonymousForCertificate's protection to ``service_certificate``,
    endorsed by ``certificate`` (with its private key). The reply's SignatureConfirmation,
    when it carries any, must confirm every signature of the request;
    ``require_signature_confirmation`` also refuses a reply without."""

    service_certificate: Certificate
    certificate: Certificate
    require_signature_confirmation: bool = False

    def __post_init__(self) -> None:
        if self.certificate.key is None:
            raise ConfigurationError("MutualCertificate needs the client certificate's private key")

    @property
    def _keyed(self) -> AnonymousForCertificateClient:
        return AnonymousForCertificateClient(self.service_certificate, self.require_signature_confirmation)

    def _token(self) -> X509Protection:
        assert self.certificate.key is not None
        return X509Protection(self.certificate.cert, self.certificate.key)

    @property
    def _asymmetric(self) -> AsymmetricMutualCertificateClient:
        return AsymmetricMutualCertificateClient(self.service_certificate, self.certificate)

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        if not policy.wss11:
            return self._asymmetric.secure(envelope, policy, now)
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
        """As the RST, endorsed by the certificate and by the session's SCT; the reply
        comes under the bootstrap key."""
        if not policy.wss11:
            return self._asymmetric.secure_renew(envelope, policy, session, now)
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
        if not policy.wss11:
            return self._asymmetric.verify_reply(data, ctx, policy, now)
        return self._keyed.verify_reply(data, ctx, policy, now)


@dataclass(frozen=True, slots=True)
class MutualCertificateService:
    """The service half: the request must be secured under an EncryptedKey to
    ``certificate`` and endorsed by a client certificate ``validator`` accepts for signing."""

    certificate: Certificate
    validator: CertificateValidator
    #: Confirm the request's signatures in the reply (WCF's RequireSignatureConfirmation,
    #: on in this mode).
    signature_confirmation: bool = True

    def __post_init__(self) -> None:
        if self.certificate.key is None:
            raise ConfigurationError("MutualCertificate needs the service's private key")

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """The RST (or any request without secure conversation): one endorsement, by an
        X.509 certificate. With ``endorsing`` (the session's keys), a Renew as WCF sends it:
        two, by the certificate and by the session's SCT."""
        if not policy.wss11:
            return self._asymmetric.verify(data, transport, policy, now, replay_cache, endorsing)
        types: tuple[str, ...] = (ns.WSS_X509V3,)
        if endorsing is not None:
            types += (policy.sc.sct_token_type,)
        result = one_shot.verify_request(
            data,
            replace(one_shot.bootstrap_policy(policy), endorsing_signatures=types),
            now,
            replay_cache,
            endorsing,
            partition="peer:" + transport.peer,
            signed_by="ek",
            refusal="the request is not secured with an EncryptedKey",
            private_key=self.certificate.key,
            private_key_thumbprint=self.certificate.thumbprint_b64,
            certificate_validator=self.validator,
        )
        if result.signing_key is None or result.encrypted_key_sha1 is None:
            raise InvalidSecurity("the request is not secured with an EncryptedKey")
        cert = result.endorsing_certificate
        if cert is None:
            raise InvalidSecurity("the request is not endorsed by the client's X.509 certificate")
        return one_shot.accepted(
            result, cert.subject.rfc4514_string(), result.encrypted_key_sha1, result.signing_key
        )

    @property
    def _asymmetric(self) -> AsymmetricMutualCertificateService:
        return AsymmetricMutualCertificateService(self.certificate, self.validator)

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """A Renew as WCF sends it: an EncryptedKey in the first Security header (under
        WS-Security 1.0 too: the asymmetric request carries one)."""
        return AnonymousForCertificateService(self.certificate).secured_by_bootstrap(envelope)

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        """A Renew signed by the session's key alone (not how WCF sends one) is refused: WCF's
        service renews only through the bootstrap, so the certificate proves itself again
        (a certificate since expired or distrusted cannot keep its session alive)."""
        raise InvalidSecurity("the Renew is not endorsed by the client's X.509 certificate")

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        """Under the request's key, with a signed SignatureConfirmation of each of its
        signatures (the primary first, then the endorsing ones)."""
        if not policy.wss11:
            return self._asymmetric.secure_reply(envelope, result, policy, now)
        confirmations = None
        if self.signature_confirmation:
            confirmations = one_shot.request_confirmations(result.message)
        return one_shot.secure_reply(
            envelope,
            result,
            one_shot.bootstrap_policy(policy),
            now,
            token=EncryptedKeySha1Protection,
            missing="no EncryptedKey to secure the reply with",
            confirmations=confirmations,
        )


class MutualCertificatePolicy:
    """The WS-SecurityPolicy shape of MutualCertificate, WS-Security 1.1 (export and import)::

    <sp:SymmetricBinding>…sp:X509Token IncludeToken=Never, RequireThumbprintReference…
    </sp:SymmetricBinding>
    <sp:EndorsingSupportingTokens><wsp:Policy>
      <sp:X509Token sp:IncludeToken="…/AlwaysToRecipient"><wsp:Policy>
        <sp:RequireThumbprintReference/> <sp:WssX509V3Token10/>
      </wsp:Policy></sp:X509Token>
    </wsp:Policy></sp:EndorsingSupportingTokens>
    <sp:Wss11>…MustSupportRefThumbprint, MustSupportRefEncryptedKey,
      RequireSignatureConfirmation…</sp:Wss11>
    <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.MUTUAL_CERTIFICATE
    description = (
        "MutualCertificate: X.509 certificates on both sides. Under WS-Security 1.1 the request "
        "is protected with a key encrypted for the service's X.509 certificate and endorsed by "
        "the client's X.509 certificate (sp:SymmetricBinding, sp:X509Token IncludeToken=Never, "
        "sp:X509Token as an endorsing supporting token); under WS-Security 1.0 the client signs "
        "with its certificate's key and encrypts to the service's, which signs the reply "
        "(sp:AsymmetricBinding, X.509 initiator and recipient tokens)"
    )
    needs_service_certificate = True
    shapes = (
        # WS-Security 1.0: the importer read both tokens (X.509, IncludeToken, no derived keys)
        BindingShape(asymmetric=True),
        BindingShape("X509Token", endorsing_x509=True),
    )

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        if not settings.message_security_version.wss11:
            return asymmetric_assertions(w, settings)
        protection = w.token(
            "X509Token",
            w.d.never,
            w.flag("RequireDerivedKeys", settings.require_derived_keys),
            w.sp("RequireThumbprintReference"),
            w.sp("WssX509V3Token10"),
        )
        client = w.token(
            "X509Token", w.d.always_to_recipient, w.sp("RequireThumbprintReference"), w.sp("WssX509V3Token10")
        )
        return [
            symmetric_binding(w, settings, protection),
            w.wrapped("EndorsingSupportingTokens", client),
            wss11(
                w, "MustSupportRefThumbprint", "MustSupportRefEncryptedKey", "RequireSignatureConfirmation"
            ),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)
