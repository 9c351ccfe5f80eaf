"""UserNameOverTransport (HTTPS): a UsernameToken in the security header, TLS does the rest::

    <wsse:Security s:mustUnderstand="1">
      <wsu:Timestamp wsu:Id="_0">…</wsu:Timestamp>
      <wsse:UsernameToken>…</wsse:UsernameToken>
    </wsse:Security>

The service checks the name and password with a pluggable `UsernameValidator`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from lxml import etree

from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo, UsernameValidator
from wssc.bootstrap.username_auth import authenticate_username
from wssc.errors import InvalidSecurity
from wssc.policy.shapes import BindingFacts, BindingShape, ShapeReader, recognize
from wssc.policy.writer import PolicyWriter, transport_binding, trust_assertion, wss
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.throttle import FailedAuthenticationThrottle
from wssc.security.tokens import SctProtection
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.tokens.username import UsernameToken
from wssc.xml.soap import Envelope


def _policy(policy: MessagePolicy) -> MessagePolicy:
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
class UserNameOverTransportClient:
    username: str
    password: str = field(repr=False)

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        ut = UsernameToken(self.username, self.password).to_xml()
        root = protect(envelope, None, _policy(policy), supporting=[ut], now=now)
        return root, ClientContext()

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        return verify(data, policy=_policy(policy), now=now)

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """Over TLS the SCT endorses the Timestamp and the Renew repeats the UsernameToken
        (Metro refuses one without it: "UsernameToken not found in message but occurs in
        configured policy"). The reply comes under the session's key."""
        ut = UsernameToken(self.username, self.password).to_xml()
        return protect(envelope, session, policy, now=now, supporting=[ut]), None


@dataclass(frozen=True, slots=True)
class UserNameOverTransportService:
    validator: UsernameValidator
    require_tls: bool = True
    #: Back-off after failed authentications (per username and address first, then per
    #: username and per address as backstops); while a key backs off every attempt fails
    #: with the same FailedAuthentication as a wrong password.
    throttle: FailedAuthenticationThrottle | None = None

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """``replay_cache`` is unused: over TLS there is no signature to remember (WCF turns
        replay detection off for transport security). ``endorsing`` must be None: over TLS a
        Renew is signed with the session's key and verified as any SCT-secured message."""
        if endorsing is not None:
            raise InvalidSecurity("over TLS a Renew is verified under the session's key")
        if self.require_tls and not transport.secure:
            raise InvalidSecurity("UserNameOverTransport requires HTTPS")
        result = verify(data, policy=_policy(policy), now=now)
        return ServiceResult(result, self._authenticate(result, transport, now))

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """Never: over TLS a Renew is signed with the session's key and verified as any
        SCT-secured message (`renew_identity` then authenticates its UsernameToken)."""
        return False

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str:
        """Over TLS the Renew repeats the UsernameToken (as WCF's and Metro's clients send it):
        it is authenticated again, throttled like any other attempt."""
        return self._authenticate(message, transport, now)

    def _authenticate(self, result: VerifiedMessage, transport: TransportInfo, now: float) -> str:
        return authenticate_username(result.username_token, self.validator, self.throttle, transport, now)

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        return protect(envelope, None, _policy(policy), now=now)


class UserNameOverTransportPolicy:
    """The WS-SecurityPolicy shape of UserNameOverTransport (export and import)::

    <sp:TransportBinding><wsp:Policy>
      <sp:TransportToken><wsp:Policy><sp:HttpsToken …/></wsp:Policy></sp:TransportToken>
      <sp:AlgorithmSuite>…</sp:AlgorithmSuite> <sp:Layout>…</sp:Layout> <sp:IncludeTimestamp/>
    </wsp:Policy></sp:TransportBinding>
    <sp:SignedSupportingTokens | sp:SignedEncryptedSupportingTokens><wsp:Policy>
      <sp:UsernameToken sp:IncludeToken="…/AlwaysToRecipient">…WssUsernameToken10…
    </wsp:Policy></…>
    <sp:Wss11/> <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.USERNAME_OVER_TRANSPORT
    description = (
        "UserNameOverTransport: HTTPS protects the channel and the client signs in with a "
        "UsernameToken (sp:TransportBinding + sp:UsernameToken)"
    )
    needs_service_certificate = False
    shapes = (BindingShape(transport=True, username=True),)

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        username = w.token("UsernameToken", w.d.always_to_recipient, w.sp("WssUsernameToken10"))
        return [
            transport_binding(w, settings),
            w.wrapped(w.d.username_supporting, username),
            wss(w, settings),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)
