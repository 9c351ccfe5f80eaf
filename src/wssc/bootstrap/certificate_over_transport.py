"""CertificateOverTransport (HTTPS): the client's X.509 certificate endorses the message, TLS
does the rest (WCF's ``SecurityBindingElement.CreateCertificateOverTransportBindingElement``:
``TransportWithMessageCredential`` with ``clientCredentialType="Certificate"``)::

    <wsse:Security s:mustUnderstand="1">
      <wsu:Timestamp wsu:Id="_0">…</wsu:Timestamp>
      <wsse:BinarySecurityToken wsu:Id="uuid-…-x509" ValueType="…#X509v3">MIIC…</…>
      <ds:Signature>(RSA over the Timestamp; KeyInfo: wsse:Reference URI="#uuid-…-x509")</…>
    </wsse:Security>

WCF's token parameters: an X509 token included AlwaysToRecipient as an *endorsing* supporting
token, referenced (being in the message) by a local ``wsse:Reference`` to its
BinarySecurityToken; under a TransportBinding an endorsing token signs the Timestamp. The
service checks the certificate with its ``client_certificate_validator`` (trust, validity,
KeyUsage ``digitalSignature``; by default it trusts none) before the signature is verified,
and the identity is the certificate's subject. WCF turns replay detection off here (TLS).

A Renew is signed by the session's SCT over TLS, as any SCT-secured message: the session's key
is the proof and the session keeps the identity it was issued to. (WCF's own client sends its
Renew over the bootstrap binding: the SCT *and* the certificate each endorse the Timestamp, two
signatures, which wssc's security core does not verify yet.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lxml import etree

from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.certs import Certificate
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.policy.shapes import BindingFacts, ShapeReader
from wssc.policy.writer import PolicyWriter, transport_binding, trust_assertion, wss
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import SctProtection, X509Protection
from wssc.security.x509_validation import CertificateValidator
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.soap import Envelope


def _policy(policy: MessagePolicy, *, signed: bool) -> MessagePolicy:
    """Over TLS: the Timestamp endorsed (``signed``) by the client certificate; no body
    signature or encryption (TLS protects the message)."""
    return replace(
        policy,
        transport=True,
        derived_keys=False,
        encrypt_body=False,
        require_signature=signed,
        require_signed_body=False,
        require_encrypted_body=None,
        endorsing_tokens=frozenset({ns.WSS_X509V3}),
    )


@dataclass(frozen=True, slots=True)
class CertificateOverTransportClient:
    """The client half: ``certificate`` (with its private key) endorses each bootstrap
    message's Timestamp."""

    certificate: Certificate

    def _token(self) -> X509Protection:
        key = self.certificate.key
        if key is None:
            raise ConfigurationError("CertificateOverTransport needs the client certificate's private key")
        return X509Protection(self.certificate.cert, key)

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        root = protect(envelope, self._token(), _policy(policy, signed=True), now=now)
        return root, ClientContext()

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
class CertificateOverTransportService:
    """The service half: the request must come over TLS with its Timestamp signed by the key
    of a BinarySecurityToken whose certificate ``validator`` accepts for signing."""

    validator: CertificateValidator
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
            raise InvalidSecurity("CertificateOverTransport requires HTTPS")
        result = verify(
            data, policy=_policy(policy, signed=True), now=now, certificate_validator=self.validator
        )
        cert = result.signing_certificate
        if result.signing_kind != "x509" or cert is None:
            raise InvalidSecurity("the message is not endorsed by the client's X.509 certificate")
        return ServiceResult(result, cert.subject.rfc4514_string())

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


class CertificateOverTransportPolicy:
    """The WS-SecurityPolicy shape of CertificateOverTransport (export and import)::

    <sp:TransportBinding>…sp:HttpsToken…</sp:TransportBinding>
    <sp:EndorsingSupportingTokens><wsp:Policy>
      <sp:X509Token sp:IncludeToken="…/AlwaysToRecipient"><wsp:Policy>
        <sp:RequireThumbprintReference/> <sp:WssX509V3Token10/>
      </wsp:Policy></sp:X509Token>
    </wsp:Policy></sp:EndorsingSupportingTokens>
    <sp:Wss11/> <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.CERTIFICATE_OVER_TRANSPORT
    description = (
        "CertificateOverTransport: HTTPS protects the channel and the client's X.509 "
        "certificate endorses each message (sp:TransportBinding + sp:X509Token as an endorsing "
        "supporting token)"
    )
    needs_service_certificate = False

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        x509 = w.token(
            "X509Token", w.d.always_to_recipient, w.sp("RequireThumbprintReference"), w.sp("WssX509V3Token10")
        )
        return [
            transport_binding(w, settings),
            w.wrapped("EndorsingSupportingTokens", x509),
            wss(w, settings),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        if binding.transport and binding.endorsing_x509 is not None and not binding.username:
            return False
        return None
