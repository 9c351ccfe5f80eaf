"""WCF's federation bindings as presets: ``WSFederationHttpBinding`` and
``WS2007FederationHttpBinding``, in WCF's words and with WCF's defaults
(``FederatedMessageSecurityOverHttp``: ``Message`` security, ``IssuedKeyType.SymmetricKey``,
``NegotiateServiceCredential=true``, ``EstablishSecurityContext=true``, Basic256)::

    <ws2007FederationHttpBinding><binding><security mode="Message">
      <message issuedKeyType="SymmetricKey" negotiateServiceCredential="false"
               issuedTokenType="…#SAMLV2.0">
        <issuer address="https://sts/…/usernamemixed"/>
        <issuerMetadata address="https://sts/…/mex"/>
    </message></security></binding></ws2007FederationHttpBinding>

WCF builds the issued-token security from the mode and ``negotiateServiceCredential``
(``FederatedMessageSecurityOverHttp.CreateSecurityBindingElement``):

=================================  =========  ============================================
security mode                      negotiate  WCF's bootstrap (its security binding element)
=================================  =========  ============================================
Message                            true       IssuedTokenForSslNegotiated: TLSNEGO protects,
                                              the issued token endorses
Message                            false      IssuedTokenForCertificate: the service's X.509
                                              protects, the issued token endorses (or, bearer,
                                              is a signed encrypted supporting token)
TransportWithMessageCredential     (either)   IssuedTokenOverTransport: HTTPS, the issued
                                              token endorses the timestamp (or, bearer, is
                                              a signed supporting token)
=================================  =========  ============================================

wssc speaks all three (`wssc.bootstrap.issued_token_for_ssl`,
`wssc.bootstrap.issued_token_for_certificate`, `wssc.bootstrap.issued_token_over_transport`),
so every combination with a ``SymmetricKey`` gives settings, and ``BearerKey`` does under
``TransportWithMessageCredential`` (`wssc.bootstrap.bearer_token_over_transport`); another
key type (a public proof key; a bearer token under Message security) and
``security_mode="None"`` are refused with `BindingNotSupported`,
naming the combination and what works instead. The token type is checked after it: wssc's
issued tokens are SAML 2.0 or 1.1 with a symmetric proof key. WCF's *IssuedToken*
authentication mode (a customBinding, the token's proof key the protection token) is
`wssc.bootstrap.issued_token`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final, Literal

from wssc.bootstrap.registry import BOOTSTRAPS
from wssc.errors import BindingNotSupported, ConfigurationError
from wssc.settings import WS2007, WSHTTP, Bootstrap, EndpointSettings, MessageSecurityVersion
from wssc.xml import ns

FederationSecurityMode = Literal["Message", "TransportWithMessageCredential", "None"]
IssuedKeyType = Literal["SymmetricKey", "AsymmetricKey", "BearerKey"]

#: The issued token types wssc's issued-token bootstraps take, by the TokenType the policy
#: asks for (None: WCF's default, no TokenType in the request; the STS chooses, and wssc's
#: asks for SAML 2.0).
SAML2_TYPES: Final = frozenset({ns.WSS_SAML2_TOKEN_TYPE, ns.SAML2})
SAML11_TYPES: Final = frozenset({ns.WSS_SAML11_TOKEN_TYPE, ns.SAML11})
_KEY_TYPES: Final = ("SymmetricKey", "AsymmetricKey", "BearerKey")
#: What to use instead, for every refusal.
WORKS_INSTEAD: Final = (
    "wssc serves the federation bindings with issued_key_type='SymmetricKey' in every mode: "
    "Message (IssuedTokenForSslNegotiated; with negotiate_service_credential=False "
    "IssuedTokenForCertificate) and TransportWithMessageCredential (IssuedTokenOverTransport), "
    "SAML 2.0 or 1.1, both families, with or without a security context; issued_key_type="
    "'BearerKey' with security_mode='TransportWithMessageCredential'; and WCF's IssuedToken "
    'authentication mode (a customBinding with <security authenticationMode="IssuedToken">: '
    "SecureConversationSettings(bootstrap=Bootstrap.ISSUED_TOKEN, issuer_address=…); "
    "wssc serve --bootstrap issued-token)"
)


def wcf_federation_bootstrap(security_mode: str, negotiate_service_credential: bool) -> Bootstrap:
    """WCF's bootstrap for a federation binding's security, whether wssc speaks it or not."""
    if security_mode == "Message":
        name = "IssuedTokenForSslNegotiated" if negotiate_service_credential else "IssuedTokenForCertificate"
    elif security_mode == "TransportWithMessageCredential":
        name = "IssuedTokenOverTransport"
    elif security_mode == "None":
        raise BindingNotSupported(
            "security_mode='None' carries no message security, so no issued token and no "
            f"secure session; {WORKS_INSTEAD}"
        )
    else:
        raise ConfigurationError(
            f"unknown security_mode {security_mode!r}: Message, TransportWithMessageCredential or None "
            "(WSFederationHttpSecurityMode)"
        )
    return Bootstrap(name)


def _federation_preset(
    family: MessageSecurityVersion,
    binding: str,
    security_mode: str,
    issued_key_type: str,
    issued_token_type: str | None,
    issuer_address: str | None,
    issuer_metadata_address: str | None,
    establish_security_context: bool,
    negotiate_service_credential: bool,
    algorithm_suite: str,
    settings: EndpointSettings | None,
) -> EndpointSettings:
    if issued_key_type not in _KEY_TYPES:
        raise ConfigurationError(
            f"unknown issued_key_type {issued_key_type!r}: SymmetricKey, AsymmetricKey or BearerKey"
        )
    combination = (
        f"{binding}(security_mode={security_mode!r}, issued_key_type={issued_key_type!r}, "
        f"negotiate_service_credential={negotiate_service_credential})"
    )
    bootstrap = wcf_federation_bootstrap(security_mode, negotiate_service_credential)
    if bootstrap not in BOOTSTRAPS:
        raise BindingNotSupported(
            f"{combination} is WCF's {bootstrap.value} bootstrap, which wssc does not speak yet; "
            f"{WORKS_INSTEAD}"
        )
    bootstrap = BOOTSTRAPS[bootstrap].key  # the registry's own value (the export compares it)
    if issued_key_type == "BearerKey" and bootstrap == Bootstrap.ISSUED_TOKEN_OVER_TRANSPORT:
        # WCF: the bearer token a signed supporting token over HTTPS
        bootstrap = BOOTSTRAPS[Bootstrap.BEARER_TOKEN_OVER_TRANSPORT].key
    elif issued_key_type != "SymmetricKey":
        raise BindingNotSupported(
            f"{combination}: wssc's issued tokens carry a symmetric proof key (SymmetricKey), or "
            f"are bearer tokens over transport, not {issued_key_type} here; {WORKS_INSTEAD}"
        )
    if issued_token_type is not None and issued_token_type not in SAML2_TYPES | SAML11_TYPES:
        raise BindingNotSupported(
            f"{combination}: issued_token_type {issued_token_type[:200]!r} is not SAML 2.0 "
            f"({ns.WSS_SAML2_TOKEN_TYPE}) or SAML 1.1 ({ns.WSS_SAML11_TOKEN_TYPE}), the tokens "
            "wssc's issued-token bootstraps take"
        )
    saml11 = issued_token_type in SAML11_TYPES
    base = settings or EndpointSettings()
    return replace(
        base,
        secure_conversation=replace(
            base.secure_conversation,
            bootstrap=bootstrap,
            message_security_version=family,
            establish_security_context=establish_security_context,
            algorithm_suite=algorithm_suite,
            issuer_address=issuer_address,
            issuer_metadata=issuer_metadata_address,
            issued_token_type=ns.WSS_SAML11_TOKEN_TYPE if saml11 else ns.WSS_SAML2_TOKEN_TYPE,
        ),
    )


def WSFederationHttpBinding(
    *,
    security_mode: FederationSecurityMode = "Message",
    issued_key_type: IssuedKeyType = "SymmetricKey",
    issued_token_type: str | None = None,
    issuer_address: str | None = None,
    issuer_metadata_address: str | None = None,
    establish_security_context: bool = True,
    negotiate_service_credential: bool = True,
    algorithm_suite: str = "Basic256",
    settings: EndpointSettings | None = None,
) -> EndpointSettings:
    """WCF's ``WSFederationHttpBinding`` (WS-Trust/SC February 2005, WS-SecurityPolicy 1.1),
    with WCF's defaults. ``issuer_address``/``issuer_metadata_address``: the STS and its
    metadata (``<issuer>``, ``<issuerMetadata>``), published in the policy's ``sp:Issuer``.
    ``security_mode="TransportWithMessageCredential"`` is WCF's IssuedTokenOverTransport,
    ``"Message"`` its IssuedTokenForSslNegotiated (with ``negotiate_service_credential=False``
    its IssuedTokenForCertificate). Raises `BindingNotSupported` for a combination wssc cannot
    serve (another key type than SymmetricKey, ``"None"``; see the module docstring)."""
    return _federation_preset(
        WSHTTP,
        "WSFederationHttpBinding",
        security_mode,
        issued_key_type,
        issued_token_type,
        issuer_address,
        issuer_metadata_address,
        establish_security_context,
        negotiate_service_credential,
        algorithm_suite,
        settings,
    )


def WS2007FederationHttpBinding(
    *,
    security_mode: FederationSecurityMode = "Message",
    issued_key_type: IssuedKeyType = "SymmetricKey",
    issued_token_type: str | None = None,
    issuer_address: str | None = None,
    issuer_metadata_address: str | None = None,
    establish_security_context: bool = True,
    negotiate_service_credential: bool = True,
    algorithm_suite: str = "Basic256",
    settings: EndpointSettings | None = None,
) -> EndpointSettings:
    """WCF's ``WS2007FederationHttpBinding`` (WS-Trust/SC 1.3, WS-SecurityPolicy 1.2); the
    same words and defaults as `WSFederationHttpBinding`."""
    return _federation_preset(
        WS2007,
        "WS2007FederationHttpBinding",
        security_mode,
        issued_key_type,
        issued_token_type,
        issuer_address,
        issuer_metadata_address,
        establish_security_context,
        negotiate_service_credential,
        algorithm_suite,
        settings,
    )


__all__ = ["WS2007FederationHttpBinding", "WSFederationHttpBinding", "wcf_federation_bootstrap"]
