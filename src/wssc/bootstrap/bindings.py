"""WCF's standard bindings as presets: ``WSHttpBinding()`` means what it means in WCF.

A WCF configuration names a binding and its security, not a bootstrap::

    <wsHttpBinding><binding><security mode="Message">
        <message clientCredentialType="Windows" negotiateServiceCredential="true"
                 establishSecurityContext="true" algorithmSuite="Basic256"/>
    </security></binding></wsHttpBinding>

`WSHttpBinding` and `WS2007HttpBinding` take the same words and give the `EndpointSettings` of
that endpoint, choosing the bootstrap as WCF's ``MessageSecurityOverHttp`` does:

=================================  ====================  ==================================
security mode                      client credential     bootstrap (negotiate / not)
=================================  ====================  ==================================
Message                            Windows (default)     SspiNegotiated / Kerberos
Message                            UserName              UserNameForSslNegotiated /
                                                         UserNameForCertificate
Message                            Certificate           MutualSslNegotiated /
                                                         MutualCertificate
Message                            None                  AnonymousForSslNegotiated /
                                                         AnonymousForCertificate
Message                            IssuedToken           IssuedTokenForSslNegotiated /
                                                         IssuedTokenForCertificate
TransportWithMessageCredential     UserName              UserNameOverTransport
TransportWithMessageCredential     Certificate           CertificateOverTransport
TransportWithMessageCredential     Windows               SspiNegotiatedOverTransport
TransportWithMessageCredential     IssuedToken           IssuedTokenOverTransport
=================================  ====================  ==================================

A combination whose bootstrap is not registered (`wssc.bootstrap.registry`) is a
`ConfigurationError` that names WCF's bootstrap and the ones wssc speaks; ``Transport`` and
``None`` modes carry no message security, hence no secure session, and are refused too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final, Literal

from wssc.bootstrap.registry import BOOTSTRAPS
from wssc.errors import ConfigurationError
from wssc.settings import (
    WS2007,
    WSHTTP,
    Bootstrap,
    EndpointSettings,
    MessageSecurityVersion,
)

SecurityMode = Literal["Message", "TransportWithMessageCredential", "Transport", "None"]
CredentialType = Literal["Windows", "UserName", "Certificate", "None", "IssuedToken"]

#: (security mode, credential type, negotiate service credential) -> WCF's bootstrap name.
_MESSAGE: Final[dict[tuple[str, bool], str]] = {
    ("Windows", True): "SspiNegotiated",
    ("Windows", False): "Kerberos",
    ("UserName", True): "UserNameForSslNegotiated",
    ("UserName", False): "UserNameForCertificate",
    ("Certificate", True): "MutualSslNegotiated",
    ("Certificate", False): "MutualCertificate",
    ("None", True): "AnonymousForSslNegotiated",
    ("None", False): "AnonymousForCertificate",
    ("IssuedToken", True): "IssuedTokenForSslNegotiated",
    ("IssuedToken", False): "IssuedTokenForCertificate",
}
_OVER_TRANSPORT: Final[dict[str, str]] = {
    "UserName": "UserNameOverTransport",
    "Certificate": "CertificateOverTransport",
    "Windows": "SspiNegotiatedOverTransport",
    "IssuedToken": "IssuedTokenOverTransport",
}


def wcf_bootstrap(
    security_mode: str, client_credential_type: str, negotiate_service_credential: bool
) -> Bootstrap:
    """WCF's bootstrap for this security, whether wssc speaks it or not."""
    if security_mode == "Message":
        name = _MESSAGE.get((client_credential_type, negotiate_service_credential))
    elif security_mode == "TransportWithMessageCredential":
        name = _OVER_TRANSPORT.get(client_credential_type)
        if client_credential_type == "None":
            raise ConfigurationError(
                "TransportWithMessageCredential needs a client credential (WCF refuses "
                "clientCredentialType='None' in this mode): use security_mode='Transport' for "
                "TLS alone, or a credential type"
            )
    elif security_mode in ("Transport", "None"):
        raise ConfigurationError(
            f"security_mode={security_mode!r} carries no message security, so no secure session: "
            "wssc speaks WS-SecureConversation (security_mode 'Message' or "
            "'TransportWithMessageCredential')"
        )
    else:
        raise ConfigurationError(
            f"unknown security_mode {security_mode!r}: Message, TransportWithMessageCredential, "
            "Transport or None"
        )
    if name is None:
        raise ConfigurationError(
            f"unknown client_credential_type {client_credential_type!r}: Windows, UserName, "
            "Certificate, None or IssuedToken"
        )
    return Bootstrap(name)


def _preset(
    family: MessageSecurityVersion,
    binding: str,
    security_mode: str,
    client_credential_type: str,
    negotiate_service_credential: bool,
    establish_security_context: bool,
    algorithm_suite: str | None,
    settings: EndpointSettings | None,
) -> EndpointSettings:
    bootstrap = wcf_bootstrap(security_mode, client_credential_type, negotiate_service_credential)
    if bootstrap not in BOOTSTRAPS:
        spoken = ", ".join(k.key.value for k in BOOTSTRAPS.values())
        raise ConfigurationError(
            f"{binding}(security_mode={security_mode!r}, client_credential_type="
            f"{client_credential_type!r}, negotiate_service_credential="
            f"{negotiate_service_credential}) is WCF's {bootstrap.value} bootstrap, which wssc "
            f"does not speak (it speaks: {spoken})"
        )
    if algorithm_suite is None:  # WCF's default; Kerberos' own (KerberosDefault) when it is chosen
        algorithm_suite = "Basic128" if bootstrap == Bootstrap.KERBEROS else "Basic256"
    base = settings or EndpointSettings()
    return replace(
        base,
        secure_conversation=replace(
            base.secure_conversation,
            bootstrap=bootstrap,
            message_security_version=family,
            establish_security_context=establish_security_context,
            algorithm_suite=algorithm_suite,
        ),
    )


def WSHttpBinding(
    *,
    security_mode: SecurityMode = "Message",
    client_credential_type: CredentialType = "Windows",
    negotiate_service_credential: bool = True,
    establish_security_context: bool = True,
    algorithm_suite: str | None = None,
    settings: EndpointSettings | None = None,
) -> EndpointSettings:
    """WCF's ``WSHttpBinding`` (WS-Trust/SC Feb 2005, WS-SecurityPolicy 1.1), with WCF's
    defaults: Message security, a Windows credential, the service credential negotiated:
    SPNEGO. ``algorithm_suite``: None is WCF's default, Basic256 (Basic128, WCF's
    ``KerberosDefault``, for the Kerberos bootstrap). ``settings``: the rest of the endpoint's
    settings to start from."""
    return _preset(
        WSHTTP,
        "WSHttpBinding",
        security_mode,
        client_credential_type,
        negotiate_service_credential,
        establish_security_context,
        algorithm_suite,
        settings,
    )


def WS2007HttpBinding(
    *,
    security_mode: SecurityMode = "Message",
    client_credential_type: CredentialType = "Windows",
    negotiate_service_credential: bool = True,
    establish_security_context: bool = True,
    algorithm_suite: str | None = None,
    settings: EndpointSettings | None = None,
) -> EndpointSettings:
    """WCF's ``WS2007HttpBinding`` (WS-Trust/SC 1.3, WS-SecurityPolicy 1.2); the same words and
    defaults as `WSHttpBinding`."""
    return _preset(
        WS2007,
        "WS2007HttpBinding",
        security_mode,
        client_credential_type,
        negotiate_service_credential,
        establish_security_context,
        algorithm_suite,
        settings,
    )


__all__ = ["WS2007HttpBinding", "WSHttpBinding", "wcf_bootstrap"]
