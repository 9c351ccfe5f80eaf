"""Checking a UsernameToken: the pluggable `UsernameValidator` behind the login throttle.

Every bootstrap that carries a UsernameToken (UserNameOverTransport, UserNameForCertificate)
authenticates it here, so a guess counts against the same throttle keys whichever way it
came, and a validator that crashes denies.
"""

from __future__ import annotations

from lxml import etree

from wssc.bootstrap.base import TransportInfo, UsernameValidator
from wssc.errors import FailedAuthentication, InvalidSecurity
from wssc.security.throttle import FailedAuthenticationThrottle
from wssc.settings import LocalServiceSecuritySettings
from wssc.tokens.username import UsernameToken


def login_throttle(s: LocalServiceSecuritySettings) -> FailedAuthenticationThrottle:
    """The login throttle of one endpoint, from its service settings."""
    return FailedAuthenticationThrottle(
        s.max_failed_authentications,
        s.max_failed_authentications_per_peer,
        s.failed_authentication_window.total_seconds(),
        limit_per_user=s.max_failed_authentications_per_user,
        delay=s.failed_authentication_delay.total_seconds(),
    )


def authenticate_username(
    token: etree._Element | None,
    validator: UsernameValidator,
    throttle: FailedAuthenticationThrottle | None,
    transport: TransportInfo,
    now: float,
) -> str:
    """The username of ``token`` once ``validator`` accepts its password; else
    `FailedAuthentication` (a wrong password, or a key the throttle holds back: the same
    fault, the reason in the log only). No token is `InvalidSecurity`."""
    if token is None:
        raise InvalidSecurity("the request has no UsernameToken")
    ut = UsernameToken.from_xml(token)
    if throttle is not None:
        refused = throttle.check(ut.username, transport.peer, now)
        if refused is not None:
            raise FailedAuthentication(refused)  # the detail goes to the log only
    try:
        ok = bool(validator(ut.username, ut.password))
    except Exception:  # a validator that crashes denies
        ok = False
    if not ok:
        if throttle is not None:
            throttle.failed(ut.username, transport.peer, now)
        raise FailedAuthentication("wrong username or password")
    if throttle is not None:
        throttle.succeeded(ut.username, transport.peer, now)
    return ut.username


__all__ = ["authenticate_username", "login_throttle"]
