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

A Renew goes over the bootstrap binding, as WCF's client sends it (its
``SecuritySessionSecurityTokenProvider`` renews through the bootstrap's channel, adding the
session's SCT as an endorsing supporting token): the certificate *and* the SCT each endorse the
Timestamp, two signatures::

    <wsse:Security s:mustUnderstand="1">
      <wsu:Timestamp wsu:Id="_0">…</wsu:Timestamp>
      <wsse:BinarySecurityToken wsu:Id="uuid-…-x509">MIIC…</…>
      <wsc:SecurityContextToken wsu:Id="uuid-…">…</wsc:SecurityContextToken>
      <ds:Signature>(RSA over the Timestamp; KeyInfo → the BinarySecurityToken)</…>
      <ds:Signature>(HMAC with the SCT's key over the Timestamp; KeyInfo → the SCT)</…>
    </wsse:Security>

The service takes the signatures in either order; it refuses a Renew without the certificate's
endorsement, and one endorsed by another certificate than the session's (its identity, the
subject, must be the session's); the reply is the bootstrap's (a Timestamp over TLS).
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
        """WCF's Renew: the certificate and the session's SCT each endorse the Timestamp;
        the reply comes as the bootstrap's (`verify_reply`)."""
        root = protect(envelope, self._token(), _policy(policy, signed=True), now=now, endorsing=session)
        return root, ClientContext()


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
        With ``endorsing`` (the session's keys) the request is a Renew: the client's
        certificate and the session's SCT must each have signed the Timestamp, in either
        order, and the result names both."""
        if self.require_tls and not transport.secure:
            raise InvalidSecurity("CertificateOverTransport requires HTTPS")
        p = _policy(policy, signed=True)
        if endorsing is not None:
            p = replace(
                p,
                require_endorsing_signature=True,
                endorsing_tokens=frozenset({ns.WSS_X509V3, policy.sc.sct_token_type}),
            )
        result = verify(data, resolver=endorsing, policy=p, now=now, certificate_validator=self.validator)
        if endorsing is None:
            cert = result.signing_certificate if result.signing_kind == "x509" else None
        elif result.signing_kind == "x509" and result.endorsing_sct is not None:
            cert = result.signing_certificate
        elif result.signing_kind == "sct" and result.signing_sct is not None:
            cert = result.endorsing_certificate
            result.endorsing_sct = result.signing_sct
        else:
            cert = None
        if cert is None:
            raise InvalidSecurity(
                "the message is not endorsed by the client's X.509 certificate"
                if endorsing is None
                else "the Renew is not endorsed by both the client's X.509 certificate and the session's SCT"
            )
        return ServiceResult(result, cert.subject.rfc4514_string())

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """A Renew as WCF sends it: a BinarySecurityToken (the client's certificate) in the
        first Security header; `verify` with ``endorsing`` decides."""
        secs = envelope.security_headers()
        return bool(secs) and secs[0].find(f"{{{ns.WSSE}}}BinarySecurityToken") is not None

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        """Never reached by a Renew as WCF sends it (`secured_by_bootstrap`): one signed by the
        session's key alone lacks the certificate's endorsement, which WCF's service requires."""
        raise InvalidSecurity("the Renew is not endorsed by the client's X.509 certificate")

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
