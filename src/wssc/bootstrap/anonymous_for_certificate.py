"""AnonymousForCertificate (message mode): the client knows the service's X.509 certificate.

The client makes an ephemeral key (the suite's key size), wraps it to the certificate with
RSA-OAEP, and secures the message with keys derived from it::

    <wsse:Security>
      <wsu:Timestamp/>
      <xenc:EncryptedKey Id="uuid-…">
        <xenc:EncryptionMethod Algorithm="…#rsa-oaep-mgf1p">
          <ds:DigestMethod Algorithm="…#sha1"/></xenc:EncryptionMethod>
        <ds:KeyInfo><wsse:SecurityTokenReference>
          <wsse:KeyIdentifier ValueType="…#ThumbprintSHA1">base64 SHA-1 of the cert</…>
        </wsse:SecurityTokenReference></ds:KeyInfo>
        <xenc:CipherData><xenc:CipherValue>…</xenc:CipherValue></xenc:CipherData>
      </xenc:EncryptedKey>
      <wsc:DerivedKeyToken>… → #EncryptedKey …</wsc:DerivedKeyToken>  (signature)
      <wsc:DerivedKeyToken>… → #EncryptedKey …</wsc:DerivedKeyToken>  (encryption)
      <xenc:ReferenceList/> <xenc:EncryptedData>(ds:Signature)</xenc:EncryptedData>
    </wsse:Security>

The reply uses the same key, pointed at by ``KeyIdentifier ValueType="…#EncryptedKeySHA1"``.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from wssc.bootstrap import one_shot
from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.certs import Certificate
from wssc.crypto.primitives import rsa_key_wrap
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.policy.shapes import BindingFacts, BindingShape, ShapeReader, recognize
from wssc.policy.writer import PolicyWriter, symmetric_binding, trust_assertion, wss11
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import (
    EncryptedKeyProtection,
    EncryptedKeySha1Protection,
    ProtectionToken,
    SctProtection,
    encrypted_key_sha1,
)
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.soap import Envelope


def build_encrypted_key(
    cert: Certificate, key: bytes, algorithm: str, reference: SecurityTokenReference | None = None
) -> etree._Element:
    """An EncryptedKey wrapping ``key`` to ``cert``, which it names by ``reference`` (by
    default its SHA-1 thumbprint, WS-Security 1.1's KeyIdentifier)."""
    ek = etree.Element(f"{{{ns.XENC}}}EncryptedKey", nsmap={"e": ns.XENC})
    ek.set("Id", f"uuid-{uuid.uuid4()}-1")
    m = etree.SubElement(ek, f"{{{ns.XENC}}}EncryptionMethod")
    m.set("Algorithm", algorithm)
    if algorithm == ns.RSA_OAEP_MGF1P:
        dm = etree.SubElement(m, f"{{{ns.DS}}}DigestMethod", nsmap={"ds": ns.DS})
        dm.set("Algorithm", ns.SHA1)
    ki = etree.SubElement(ek, f"{{{ns.DS}}}KeyInfo", nsmap={"ds": ns.DS})
    if reference is None:
        reference = SecurityTokenReference(
            key_identifier=cert.thumbprint_b64,
            value_type=ns.WSS_THUMBPRINT,
            encoding_type=ns.WSS_BASE64,
        )
    ki.append(reference.to_xml())
    cd = etree.SubElement(ek, f"{{{ns.XENC}}}CipherData")
    etree.SubElement(cd, f"{{{ns.XENC}}}CipherValue").text = base64.b64encode(
        rsa_key_wrap(algorithm, cert.public_key, key)
    ).decode("ascii")
    return ek


def check_confirmation(result: VerifiedMessage, ctx: ClientContext, *, required: bool) -> None:
    """The client's check of a reply's ``wsse11:SignatureConfirmation`` (WSS 1.1 §8.5): when
    the reply carries any, each is signed and together they confirm exactly the signatures of
    the request we sent (``ctx.request_signatures``); ``required`` (the policy's
    ``sp:RequireSignatureConfirmation``) also refuses a reply without one."""
    confirmations = [
        el
        for sec in result.envelope.security_headers()
        for el in sec
        if el.tag == f"{{{ns.WSSE11}}}SignatureConfirmation"
    ]
    if not confirmations:
        if required:
            raise InvalidSecurity("the reply carries no SignatureConfirmation")
        return
    if any(not any(s is el for s in result.signed) for el in confirmations):
        raise InvalidSecurity("a SignatureConfirmation in the reply is not signed")
    # One confirmation per signature of the request.
    if sorted(result.signature_confirmations) != sorted(ctx.request_signatures):
        raise InvalidSecurity("the reply's SignatureConfirmation does not match the request's signature")


@dataclass(frozen=True, slots=True)
class AnonymousForCertificateClient:
    """The client half. The reply must be signed with the bootstrap key, and its
    ``wsse11:SignatureConfirmation`` (WSS 1.1 §8.5; WCF's AnonymousForCertificate sends one)
    is checked: when the reply carries any, there must be exactly one, signed, whose ``Value``
    is the SignatureValue of the request we sent. ``require_signature_confirmation`` (the
    policy's ``sp:RequireSignatureConfirmation``) also refuses a reply without one."""

    service_certificate: Certificate
    require_signature_confirmation: bool = False

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        return self.secure_with(envelope, policy, now)

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """WCF's Renew: a fresh EncryptedKey secures it as it secured the RST, and the
        session's SCT (with a DerivedKeyToken on it) signs the primary signature::

            EncryptedKey, DKT, DKT (on the EncryptedKey), SecurityContextToken, DKT (on it),
            ReferenceList, EncryptedData (the primary ds:Signature, Id="_5"),
            EncryptedData (ds:Signature by the SCT's DKT; one Reference: #_5)

        (both signatures in the clear under SignBeforeEncrypt)

        The reply is secured with the bootstrap key, as the RSTR to the RST was."""
        return self.secure_with(envelope, policy, now, endorsing=session)

    def secure_with(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        now: float | None,
        endorsing: ProtectionToken | Sequence[ProtectionToken] | None = None,
        supporting: Sequence[etree._Element] = (),
        confirm_endorsing: bool = False,
    ) -> tuple[etree._Element, ClientContext]:
        """Secure ``envelope`` under a fresh EncryptedKey to the service certificate, with
        ``supporting`` tokens (protected as ``policy`` says) and the session's SCT
        ``endorsing`` it (a Renew). UserNameForCertificate secures its messages so too;
        MutualCertificate's client certificate endorses them (``confirm_endorsing``: the
        reply's SignatureConfirmation must confirm the endorsing signatures too)."""
        suite = policy.suite
        key = os.urandom(suite.symmetric_key_bits // 8)
        ek = build_encrypted_key(self.service_certificate, key, suite.asymmetric_key_wrap)
        cv = ek.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
        assert cv is not None and cv.text
        sha1 = encrypted_key_sha1(base64.b64decode(cv.text))
        signatures: list[bytes] = []
        root = protect(
            envelope,
            EncryptedKeyProtection(ek, key),
            one_shot.bootstrap_policy(policy),
            now=now,
            signature_values=signatures,
            endorsing=endorsing,
            supporting=supporting,
            endorsing_values=signatures if confirm_endorsing else None,
        )
        return root, ClientContext({sha1: key}, signatures)

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        result = verify(
            data,
            policy=one_shot.bootstrap_policy(policy),
            encrypted_key_sha1_keys=ctx.reply_keys,
            now=now,
        )
        if result.signing_kind != "ek":
            raise InvalidSecurity("the reply is not secured with the bootstrap key")
        check_confirmation(result, ctx, required=self.require_signature_confirmation)
        return result


@dataclass(frozen=True, slots=True)
class AnonymousForCertificateService:
    certificate: Certificate

    def __post_init__(self) -> None:
        if self.certificate.key is None:
            raise ConfigurationError("AnonymousForCertificate needs the service's private key")

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """The RST (or, without secure conversation, any request); with ``endorsing``, a
        Renew as `AnonymousForCertificateClient.secure_renew` shapes it."""
        result = one_shot.verify_request(
            data,
            one_shot.bootstrap_policy(policy),
            now,
            replay_cache,
            endorsing,
            partition="peer:" + transport.peer,
            signed_by="ek",
            refusal="the request is not secured with an EncryptedKey",
            private_key=self.certificate.key,
            private_key_thumbprint=self.certificate.thumbprint_b64,
        )
        if result.signing_key is None or result.encrypted_key_sha1 is None:
            raise InvalidSecurity("the request is not secured with an EncryptedKey")
        return one_shot.accepted(result, "", result.encrypted_key_sha1, result.signing_key)

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """A Renew as WCF and Metro send it under message security: secured like the RST (an
        EncryptedKey in the first Security header), with the session's SCT endorsing it."""
        secs = envelope.security_headers()
        return bool(secs) and secs[0].find(f"{{{ns.XENC}}}EncryptedKey") is not None

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str:
        """Anonymous: the session's key, which signed the Renew, is all the identity there is."""
        return ""

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        return one_shot.secure_reply(
            envelope,
            result,
            one_shot.bootstrap_policy(policy),
            now,
            token=EncryptedKeySha1Protection,
            missing="no EncryptedKey to secure the reply with",
        )


class AnonymousForCertificatePolicy:
    """The WS-SecurityPolicy shape of AnonymousForCertificate (export and import)::

    <sp:SymmetricBinding><wsp:Policy>
      <sp:ProtectionToken><wsp:Policy>
        <sp:X509Token sp:IncludeToken="…/Never"><wsp:Policy>
          <sp:RequireDerivedKeys/> <sp:RequireThumbprintReference/> <sp:WssX509V3Token10/>
        </wsp:Policy></sp:X509Token>
      </wsp:Policy></sp:ProtectionToken>
      <sp:AlgorithmSuite>…</sp:AlgorithmSuite> <sp:Layout>…Strict…</sp:Layout>
      <sp:IncludeTimestamp/> <sp:EncryptSignature/> <sp:OnlySignEntireHeadersAndBody/>
    </wsp:Policy></sp:SymmetricBinding>
    <sp:Wss11>…MustSupportRefThumbprint, MustSupportRefEncryptedKey…</sp:Wss11>
    <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.ANONYMOUS_FOR_CERTIFICATE
    description = (
        "AnonymousForCertificate: the client stays anonymous; the request for the session token "
        "is protected with a key encrypted for the service's X.509 certificate "
        "(sp:SymmetricBinding, sp:X509Token IncludeToken=Never)"
    )
    needs_service_certificate = True
    shapes = (BindingShape("X509Token"),)

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        x509 = w.token(
            "X509Token",
            w.d.never,
            w.flag("RequireDerivedKeys", settings.require_derived_keys),
            w.sp("RequireThumbprintReference"),
            w.sp("WssX509V3Token10"),
        )
        return [
            symmetric_binding(w, settings, x509),
            wss11(w, "MustSupportRefThumbprint", "MustSupportRefEncryptedKey"),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)
