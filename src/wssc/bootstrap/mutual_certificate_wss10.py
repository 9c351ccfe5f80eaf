"""MutualCertificate (message mode), WS-Security 1.0: an AsymmetricBinding, the shape of WCF's
``SecurityBindingElement.CreateMutualCertificateBindingElement`` for the ``WSSecurity10…``
message security versions:

* the initiator token is the client's X.509 certificate (``IncludeToken=AlwaysToRecipient``,
  no derived keys): a ``wsse:BinarySecurityToken`` in each request, whose private key makes
  the request's RSA signature (Timestamp, addressing headers, Body);
* the recipient token is the service's X.509 certificate (``IncludeToken=Never``, no derived
  keys): the request is encrypted under an ephemeral key wrapped to it, and the reply is
  signed with its private key and pointed at by an external reference (Subject Key
  Identifier, else issuer and serial: `wssc.security.x509_refs`);
* the reply is encrypted under a fresh key wrapped to the client's certificate;
* no SignatureConfirmation (a WS-Security 1.1 feature): the reply is bound to the request by
  its signed ``wsa:RelatesTo``. ::

    <wsse:Security>                                    (a request)
      <wsu:Timestamp/>
      <wsse:BinarySecurityToken wsu:Id="uuid-…-x509">(the client's certificate)</…>
      <xenc:EncryptedKey>…KeyInfo → the service's certificate (SKI or IssuerSerial)…
        <xenc:ReferenceList>(the Body, the Signature)</xenc:ReferenceList></xenc:EncryptedKey>
      <xenc:EncryptedData>(ds:Signature, RSA; KeyInfo → the BinarySecurityToken)</…>
    </wsse:Security>

Work before authentication on the service: one RSA private-key operation (the unwrap), then
the RSA signature check that authenticates the sender (public-key operations, as is the
validation of the client's certificate, which the ``client_certificate_validator`` decides
on when the header is read).

A Renew is secured as a request and endorsed by the session's SCT (a second signature, by the
SCT's key, whose only Reference is the primary signature); its certificate must name the
session's identity (the engine compares them, WCF's ``IsSameIdentity``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from wssc.bootstrap import one_shot
from wssc.bootstrap.anonymous_for_certificate import build_encrypted_key
from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.certs import Certificate
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.policy.writer import PolicyWriter, asymmetric_binding, trust_assertion
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import EncryptedKeyProtection, SctProtection, X509Protection
from wssc.security.x509_refs import external_reference
from wssc.security.x509_validation import CertificateValidator
from wssc.settings import SecureConversationSettings
from wssc.xml import ns
from wssc.xml.soap import Envelope


def asymmetric_policy(policy: MessagePolicy) -> MessagePolicy:
    """The policy of a bootstrap message: signed with the sender's X.509 key, encrypted under
    an EncryptedKey to the receiver's certificate, no derived keys (WCF's X.509 token
    parameters here: RequireDerivedKeys false)."""
    return replace(
        one_shot.bootstrap_policy(policy), asymmetric=True, derived_keys=False, endorsing_signatures=()
    )


def _encrypted_key(cert: Certificate, policy: MessagePolicy) -> EncryptedKeyProtection:
    key = os.urandom(policy.suite.symmetric_key_bits // 8)
    ek = build_encrypted_key(cert, key, policy.suite.asymmetric_key_wrap, external_reference(cert.cert))
    return EncryptedKeyProtection(ek, key)


def _same(a: Certificate, b: object) -> bool:
    der = getattr(b, "public_bytes", None)
    return der is not None and a.cert.public_bytes(Encoding.DER) == der(Encoding.DER)


@dataclass(frozen=True, slots=True)
class AsymmetricMutualCertificateClient:
    """The client half: signs with ``certificate`` (with its private key), encrypts to
    ``service_certificate``; the reply must be signed by ``service_certificate``."""

    service_certificate: Certificate
    certificate: Certificate

    def __post_init__(self) -> None:
        if self.certificate.key is None:
            raise ConfigurationError("MutualCertificate needs the client certificate's private key")

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        assert self.certificate.key is not None
        p = asymmetric_policy(policy)
        signatures: list[bytes] = []
        root = protect(
            envelope,
            X509Protection(self.certificate.cert, self.certificate.key),
            p,
            now=now,
            signature_values=signatures,
            encrypt_with=_encrypted_key(self.service_certificate, p),
        )
        return root, ClientContext({}, signatures)

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """As a request, endorsed by the session's SCT (a second signature, by its key, over
        the primary one); the reply comes under this bootstrap, as the RSTR did."""
        assert self.certificate.key is not None
        p = asymmetric_policy(policy)
        root = protect(
            envelope,
            X509Protection(self.certificate.cert, self.certificate.key),
            p,
            now=now,
            endorsing=session,
            encrypt_with=_encrypted_key(self.service_certificate, p),
        )
        return root, ClientContext()

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        service = self.service_certificate
        result = verify(
            data,
            policy=asymmetric_policy(policy),
            now=now,
            private_key=self.certificate.key,
            known_certificates=(service.cert,),
            certificate_validator=CertificateValidator.peer_trust(service.cert),
        )
        if result.signing_kind != "x509" or not _same(service, result.signing_certificate):
            raise InvalidSecurity("the reply is not signed by the service's certificate")
        return result


@dataclass(frozen=True, slots=True)
class AsymmetricMutualCertificateService:
    """The service half: the request must be encrypted to ``certificate`` and signed by a
    client certificate ``validator`` accepts for signing; the reply is signed with
    ``certificate``'s key and encrypted to that client certificate."""

    certificate: Certificate
    validator: CertificateValidator

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
        p = asymmetric_policy(policy)
        if endorsing is not None:  # a Renew: endorsed by the session's SCT as well
            p = replace(p, endorsing_signatures=(policy.sc.sct_token_type,))
        result = verify(
            data,
            policy=p,
            now=now,
            private_key=self.certificate.key,
            replay_cache=replay_cache,
            replay_partition="peer:" + transport.peer,
            certificate_validator=self.validator,
            resolver=endorsing,
        )
        cert = result.signing_certificate
        if result.signing_kind != "x509" or cert is None:
            raise InvalidSecurity("the request is not signed by the client's X.509 certificate")
        return ServiceResult(result, cert.subject.rfc4514_string())

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """An EncryptedKey or a BinarySecurityToken in a Security header: this bootstrap's
        (an SCT-secured message carries neither)."""
        return any(
            el.tag in (f"{{{ns.XENC}}}EncryptedKey", f"{{{ns.WSSE}}}BinarySecurityToken")
            for sec in envelope.security_headers()
            for el in sec
        )

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        return None

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        client = result.message.signing_certificate
        assert client is not None and self.certificate.key is not None
        p = asymmetric_policy(policy)
        return protect(
            envelope,
            X509Protection(self.certificate.cert, self.certificate.key, include=False),
            p,
            now=now,
            encrypt_with=_encrypted_key(Certificate(client), p),
        )


def asymmetric_assertions(w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
    """The WS-SecurityPolicy shape WCF publishes for it::

    <sp:AsymmetricBinding><wsp:Policy>
      <sp:InitiatorToken>…<sp:X509Token IncludeToken=…/AlwaysToRecipient>
        <wsp:Policy><sp:WssX509V3Token10/></wsp:Policy></sp:X509Token>…</sp:InitiatorToken>
      <sp:RecipientToken>…<sp:X509Token IncludeToken=…/Never>…</sp:RecipientToken>
      <sp:AlgorithmSuite/> <sp:Layout/> <sp:IncludeTimestamp/> [<sp:EncryptSignature/>]
      <sp:OnlySignEntireHeadersAndBody/>
    </wsp:Policy></sp:AsymmetricBinding>
    <sp:Wss10>…MustSupportRefKeyIdentifier, MustSupportRefIssuerSerial…</sp:Wss10>
    <sp:Trust10 | sp:Trust13>…</…>
    """
    initiator = w.token("X509Token", w.d.always_to_recipient, w.sp("WssX509V3Token10"))
    recipient = w.token("X509Token", w.d.never, w.sp("WssX509V3Token10"))
    binding = asymmetric_binding(w, settings, initiator, recipient)
    wss10 = w.wrapped("Wss10", w.sp("MustSupportRefKeyIdentifier"), w.sp("MustSupportRefIssuerSerial"))
    return [binding, wss10, trust_assertion(w, settings.key_entropy_mode)]


__all__ = [
    "AsymmetricMutualCertificateClient",
    "AsymmetricMutualCertificateService",
    "asymmetric_assertions",
    "asymmetric_policy",
]
