"""UserNameForCertificate (message mode): a UsernameToken inside the symmetric binding keyed to
the service's X.509 certificate (WCF's ``SecurityBindingElement
.CreateUserNameForCertificateBindingElement``: ``wsHttpBinding`` with Message security,
``clientCredentialType="UserName"`` and ``negotiateServiceCredential="false"``).

The message is secured as AnonymousForCertificate secures it (an ephemeral key wrapped to the
certificate, DerivedKeyTokens on it), and the UsernameToken is a *SignedEncrypted* supporting
token: covered by the message signature and sent as an ``xenc:EncryptedData`` under the
message's encryption key, so the password never crosses the wire in the clear::

    <wsse:Security>
      <wsu:Timestamp/>
      <xenc:EncryptedData Id="_3" Type="…#Element">(wsse:UsernameToken)</xenc:EncryptedData>
      <xenc:EncryptedKey>…ThumbprintSHA1 of the service certificate…</xenc:EncryptedKey>
      <wsc:DerivedKeyToken/> <wsc:DerivedKeyToken/>
      <xenc:ReferenceList>(#Body, #_3)</xenc:ReferenceList>
      <xenc:EncryptedData>(ds:Signature: Timestamp, UsernameToken, addressing, Body)</…>
    </wsse:Security>

The service refuses a UsernameToken that is not both signed and encrypted, then checks the
name and password with the pluggable `UsernameValidator` behind the login throttle (the same
as UserNameOverTransport's, `wssc.bootstrap.username_auth`). The identity is the username.

A Renew is secured as the RST was (a fresh EncryptedKey and the UsernameToken, signed and
encrypted) with the session's SCT endorsing it, as WCF's bootstrap security protocol sends it;
the UsernameToken is authenticated again and must name the session's user. The reply is
secured with the request's key (``EncryptedKeySHA1``); WCF asks no SignatureConfirmation in
this mode (``RequireSignatureConfirmation`` stays at its default, false).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from lxml import etree

from wssc.bootstrap.anonymous_for_certificate import (
    AnonymousForCertificateClient,
    AnonymousForCertificatePolicy,
    AnonymousForCertificateService,
)
from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo, UsernameValidator
from wssc.bootstrap.username_auth import authenticate_username
from wssc.certs import Certificate
from wssc.policy.shapes import BindingFacts, BindingShape, ShapeReader, recognize
from wssc.policy.writer import PolicyWriter
from wssc.security.inbound import KeyResolver, VerifiedMessage
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.throttle import FailedAuthenticationThrottle
from wssc.security.tokens import SctProtection
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.tokens.username import UsernameToken
from wssc.xml.soap import Envelope


def _with_username(policy: MessagePolicy) -> MessagePolicy:
    """The bootstrap's policy with the UsernameToken a SignedEncrypted supporting token: signed
    and encrypted on the way out, required signed and encrypted on the way in."""
    return replace(
        policy,
        sign_supporting_tokens=True,
        encrypt_supporting_tokens=True,
        require_signed_supporting=True,
        require_encrypted_supporting=True,
    )


@dataclass(frozen=True, slots=True)
class UserNameForCertificateClient:
    """The client half: AnonymousForCertificate's protection, plus the UsernameToken."""

    service_certificate: Certificate
    username: str
    password: str = field(repr=False)

    @property
    def _keyed(self) -> AnonymousForCertificateClient:
        return AnonymousForCertificateClient(self.service_certificate)

    def _token(self) -> etree._Element:
        return UsernameToken(self.username, self.password).to_xml()

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        return self._keyed.secure_with(envelope, _with_username(policy), now, supporting=[self._token()])

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """As the RST, with the session's SCT endorsing the primary signature; the reply
        comes under the bootstrap key."""
        return self._keyed.secure_with(
            envelope, _with_username(policy), now, endorsing=session, supporting=[self._token()]
        )

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        """Signed (and encrypted) with the request's key; a SignatureConfirmation, if the
        service sends one, must match the request's signature."""
        return self._keyed.verify_reply(data, ctx, policy, now)


@dataclass(frozen=True, slots=True)
class UserNameForCertificateService:
    """The service half: the request must be secured under an EncryptedKey to ``certificate``
    and carry one signed and encrypted UsernameToken that ``validator`` accepts."""

    certificate: Certificate
    validator: UsernameValidator
    #: The endpoint's login throttle (`wssc.bootstrap.username_auth.login_throttle`).
    throttle: FailedAuthenticationThrottle | None = None

    @property
    def _keyed(self) -> AnonymousForCertificateService:
        return AnonymousForCertificateService(self.certificate)

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """The message's protection first (one RSA decryption, then HMACs), then the
        password: a guess costs the guesser a valid EncryptedKey and signature each time."""
        result = self._keyed.verify(data, transport, _with_username(policy), now, replay_cache, endorsing)
        result.identity = self._authenticate(result.message, transport, now)
        return result

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """A Renew as WCF sends it: an EncryptedKey in the first Security header."""
        return self._keyed.secured_by_bootstrap(envelope)

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str:
        """A Renew signed by the session's key alone (not how WCF sends one) must still carry
        the UsernameToken, signed and encrypted, and it is authenticated again."""
        token = message.username_token
        if token is not None and not any(e is token for e in message.signed):
            token = None  # an unsigned one proves nothing
        if token is not None and not any(e is token for _, e in message.encrypted):
            token = None
        return self._authenticate_token(token, transport, now)

    def _authenticate(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str:
        return self._authenticate_token(message.username_token, transport, now)

    def _authenticate_token(self, token: etree._Element | None, transport: TransportInfo, now: float) -> str:
        return authenticate_username(token, self.validator, self.throttle, transport, now)

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        return self._keyed.secure_reply(envelope, result, policy, now)


class UserNameForCertificatePolicy:
    """The WS-SecurityPolicy shape of UserNameForCertificate (export and import)::

    <sp:SymmetricBinding>…sp:X509Token IncludeToken=Never, RequireThumbprintReference…
    </sp:SymmetricBinding>
    <sp:SignedSupportingTokens | sp:SignedEncryptedSupportingTokens><wsp:Policy>
      <sp:UsernameToken sp:IncludeToken="…/AlwaysToRecipient">…WssUsernameToken10…
    </wsp:Policy></…>
    <sp:Wss11>…MustSupportRefThumbprint, MustSupportRefEncryptedKey…</sp:Wss11>
    <sp:Trust10 | sp:Trust13>…</…>

    (WS-SecurityPolicy 1.1 has no SignedEncryptedSupportingTokens: WCF writes
    SignedSupportingTokens there and encrypts the token all the same.)
    """

    key = Bootstrap.USERNAME_FOR_CERTIFICATE
    description = (
        "UserNameForCertificate: the client signs in with a UsernameToken, signed and encrypted "
        "with a key encrypted for the service's X.509 certificate (sp:SymmetricBinding, "
        "sp:X509Token IncludeToken=Never, sp:UsernameToken as a signed supporting token)"
    )
    needs_service_certificate = True
    shapes = (BindingShape("X509Token", username=True),)

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        binding, wss, trust = AnonymousForCertificatePolicy().assertions(w, settings)
        username = w.token("UsernameToken", w.d.always_to_recipient, w.sp("WssUsernameToken10"))
        return [binding, w.wrapped(w.d.username_supporting, username), wss, trust]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)
