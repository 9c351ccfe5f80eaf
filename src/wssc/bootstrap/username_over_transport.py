"""UserNameOverTransport (HTTPS): a UsernameToken in the security header, TLS does the rest::

    <wsse:Security s:mustUnderstand="1">
      <wsu:Timestamp wsu:Id="_0">…</wsu:Timestamp>
      <wsse:UsernameToken>…</wsse:UsernameToken>
    </wsse:Security>

The service checks the name and password with a pluggable :data:`UsernameValidator`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from lxml import etree

from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.errors import FailedAuthentication, InvalidSecurity
from wssc.security.inbound import VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.throttle import FailedAuthenticationThrottle
from wssc.tokens.username import UsernameToken

#: (username, password) -> accepted?
UsernameValidator = Callable[[str, str], bool]


def _policy(policy: MessagePolicy) -> MessagePolicy:
    return replace(
        policy, transport=True, derived_keys=False, encrypt_body=False, require_signature=False,
        require_signed_body=False, require_encrypted_body=None,
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
        self, data: bytes | etree._Element, ctx: ClientContext, policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        return verify(data, policy=_policy(policy), now=now)


@dataclass(frozen=True, slots=True)
class UserNameOverTransportService:
    validator: UsernameValidator
    require_tls: bool = True
    #: Failed authentications per username and peer; past the limit every attempt fails
    #: with the same FailedAuthentication as a wrong password.
    throttle: FailedAuthenticationThrottle | None = None

    def verify(
        self, data: bytes | etree._Element, transport: TransportInfo, policy: MessagePolicy,
        now: float, replay_cache: ReplayCache | None = None,
    ) -> ServiceResult:
        """``replay_cache`` is unused: over TLS there is no signature to remember (WCF turns
        replay detection off for transport security)."""
        if self.require_tls and not transport.secure:
            raise InvalidSecurity("UserNameOverTransport requires HTTPS")
        result = verify(data, policy=_policy(policy), now=now)
        if result.username_token is None:
            raise InvalidSecurity("the request has no UsernameToken")
        ut = UsernameToken.from_xml(result.username_token)
        throttle = self.throttle
        if throttle is not None and throttle.locked(ut.username, transport.peer, now):
            raise FailedAuthentication("too many failed authentications (throttled)")
        try:
            ok = bool(self.validator(ut.username, ut.password))
        except Exception:  # a validator that crashes denies
            ok = False
        if not ok:
            if throttle is not None:
                throttle.failed(ut.username, transport.peer, now)
            raise FailedAuthentication()
        return ServiceResult(result, ut.username)

    def secure_reply(
        self, envelope: etree._Element, result: ServiceResult, policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        return protect(envelope, None, _policy(policy), now=now)
