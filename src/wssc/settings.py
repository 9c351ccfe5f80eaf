"""Settings with WCF's names and defaults.

=====================================  ==========================================
WCF                                    wssc
=====================================  ==========================================
SecureConversationSecurityTokenParams  `SecureConversationSettings`
LocalServiceSecuritySettings           `LocalServiceSecuritySettings`
LocalClientSecuritySettings            `LocalClientSecuritySettings`
MessageSecurityVersion                 `MessageSecurityVersion`
=====================================  ==========================================

Defaults come from ``../shared/reference/wcf-secure-sessions.md`` §A.7.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar, Final, Literal

from wssc.xml import ns

#: Whose table gives an algorithm suite's signature algorithms: WCF's, or WS-SecurityPolicy's
#: (`Compatibility.suite_signatures`; `wssc.crypto.suites` applies it).
SuiteReading = Literal["wcf", "ws-sp", "mono"]
#: Whose SPNEGO wire format a negotiation accepts: WCF's, or Apache CXF's departures from it
#: (`Compatibility.spnego`; `wssc.bootstrap.spnego` applies it).
SpnegoDialect = Literal["wcf", "cxf"]


@dataclass(frozen=True, slots=True)
class MessageSecurityVersion:
    """One version family. Never mixed on one endpoint."""

    name: str
    sc: ns.ScVersion
    sp_ns: str
    wss11: bool = True

    @property
    def trust(self) -> ns.TrustVersion:
        return self.sc.trust

    @property
    def is_sp12(self) -> bool:
        return self.sp_ns == ns.SP12


#: WSHttpBinding: WSS 1.1, WS-Trust/WS-SC February 2005, WS-SecurityPolicy 1.1.
WSHTTP: Final = MessageSecurityVersion("wshttp", ns.SC_FEB2005, ns.SP11)
#: WS2007HttpBinding: WSS 1.1, WS-Trust/WS-SC 1.3, WS-SecurityPolicy 1.2.
WS2007: Final = MessageSecurityVersion("ws2007", ns.SC_V13, ns.SP12)
MESSAGE_SECURITY_VERSIONS: Final = {"wshttp": WSHTTP, "ws2007": WS2007}
#: The same families under WS-Security 1.0 (WCF's ``WSSecurity10…`` versions, ``sp:Wss10``), as
#: read from a policy. Only a transport bootstrap runs in them (its messages use no WS-Security
#: 1.1 construct); a message-security bootstrap needs 1.1 and is refused at import.
WSHTTP_WSS10: Final = MessageSecurityVersion("wshttp-wss10", ns.SC_FEB2005, ns.SP11, wss11=False)
WS2007_WSS10: Final = MessageSecurityVersion("ws2007-wss10", ns.SC_V13, ns.SP12, wss11=False)


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """How the client proves itself before the SCT exists: a bootstrap's name, as WCF names
    its authentication mode. What each one is (its halves, mode, command-line name and
    aliases) is a `wssc.bootstrap.registry` entry; a new bootstrap is a new value here and one
    entry there (``register_bootstrap``), and nothing else names it."""

    value: str

    @property
    def name(self) -> str:
        return self.value

    def __str__(self) -> str:
        return self.value

    ANONYMOUS_FOR_CERTIFICATE: ClassVar[Bootstrap]
    USERNAME_OVER_TRANSPORT: ClassVar[Bootstrap]
    USERNAME_FOR_CERTIFICATE: ClassVar[Bootstrap]
    CERTIFICATE_OVER_TRANSPORT: ClassVar[Bootstrap]
    MUTUAL_CERTIFICATE: ClassVar[Bootstrap]
    SPNEGO: ClassVar[Bootstrap]
    KERBEROS: ClassVar[Bootstrap]
    TLSNEGO: ClassVar[Bootstrap]
    USERNAME_FOR_SSL: ClassVar[Bootstrap]
    MUTUAL_SSL: ClassVar[Bootstrap]
    ISSUED_TOKEN: ClassVar[Bootstrap]
    ISSUED_TOKEN_OVER_TRANSPORT: ClassVar[Bootstrap]
    ISSUED_TOKEN_FOR_CERTIFICATE: ClassVar[Bootstrap]
    ISSUED_TOKEN_FOR_SSL: ClassVar[Bootstrap]
    BEARER_TOKEN_OVER_TRANSPORT: ClassVar[Bootstrap]


Bootstrap.ANONYMOUS_FOR_CERTIFICATE = Bootstrap("AnonymousForCertificate")
Bootstrap.USERNAME_OVER_TRANSPORT = Bootstrap("UserNameOverTransport")
Bootstrap.USERNAME_FOR_CERTIFICATE = Bootstrap("UserNameForCertificate")
Bootstrap.CERTIFICATE_OVER_TRANSPORT = Bootstrap("CertificateOverTransport")
Bootstrap.MUTUAL_CERTIFICATE = Bootstrap("MutualCertificate")
#: WCF's IssuedToken (federation): a SAML token from an STS, its proof key the message key.
Bootstrap.ISSUED_TOKEN = Bootstrap("IssuedToken")
#: The federation bindings' own: the issued token endorses, over HTTPS or over the service's
#: X.509 certificate (WCF's CreateIssuedTokenOverTransport/ForCertificateBindingElement).
Bootstrap.ISSUED_TOKEN_OVER_TRANSPORT = Bootstrap("IssuedTokenOverTransport")
Bootstrap.ISSUED_TOKEN_FOR_CERTIFICATE = Bootstrap("IssuedTokenForCertificate")
Bootstrap.ISSUED_TOKEN_FOR_SSL = Bootstrap("IssuedTokenForSslNegotiated")
#: IssuedTokenOverTransport with ``IssuedKeyType.BearerKey``: a bearer token, a signed supporting token.
Bootstrap.BEARER_TOKEN_OVER_TRANSPORT = Bootstrap("IssuedBearerTokenOverTransport")
#: WCF's SspiNegotiated: SPNEGO (Kerberos, NTLM fallback) negotiated over WS-Trust legs.
Bootstrap.SPNEGO = Bootstrap("SspiNegotiated")
#: WCF's Kerberos (``negotiateServiceCredential="false"``): a Kerberos AP-REQ in the RST/SCT.
Bootstrap.KERBEROS = Bootstrap("Kerberos")
#: WCF's SslNegotiated (TLSNEGO): a TLS handshake over WS-Trust legs; anonymous client, a
#: UsernameToken after it, or the client's certificate in it.
Bootstrap.TLSNEGO = Bootstrap("AnonymousForSslNegotiated")
Bootstrap.USERNAME_FOR_SSL = Bootstrap("UserNameForSslNegotiated")
Bootstrap.MUTUAL_SSL = Bootstrap("MutualSslNegotiated")


class KeyEntropyMode(enum.Enum):
    COMBINED = "CombinedEntropy"
    SERVER = "ServerEntropy"
    CLIENT = "ClientEntropy"


@dataclass(frozen=True, slots=True)
class SecureConversationSettings:
    """``SecureConversationSecurityTokenParameters`` plus the binding-level choices around it."""

    require_cancellation: bool = True
    can_renew_session: bool = True
    require_derived_keys: bool = True
    bootstrap: Bootstrap = Bootstrap.ANONYMOUS_FOR_CERTIFICATE
    algorithm_suite: str = "Basic256"
    message_security_version: MessageSecurityVersion = WSHTTP
    establish_security_context: bool = True
    key_entropy_mode: KeyEntropyMode = KeyEntropyMode.COMBINED
    #: SignBeforeEncryptAndEncryptSignature (WCF default) encrypts the Body and the Signature.
    encrypt_signature: bool = True
    #: IssuedToken: the STS the policy names (``sp:Issuer``'s address) and its metadata
    #: (``IssuerMetadata``: its mex or WSDL address), as WCF's ``IssuerAddress``/``IssuerMetadataAddress``.
    issuer_address: str | None = None
    issuer_metadata: str | None = None
    #: IssuedToken: the ``wst:TokenType`` of ``sp:RequestSecurityTokenTemplate`` (WCF's
    #: ``IssuedSecurityTokenParameters.TokenType``), which the client asks its STS for.
    issued_token_type: str = ns.WSS_SAML2_TOKEN_TYPE


@dataclass(frozen=True, slots=True)
class LocalServiceSecuritySettings:
    inactivity_timeout: timedelta = timedelta(minutes=2)
    max_pending_sessions: int = 128
    session_key_renewal_interval: timedelta = timedelta(hours=15)
    session_key_rollover_interval: timedelta = timedelta(minutes=5)
    issued_cookie_lifetime: timedelta = timedelta(hours=10)
    max_clock_skew: timedelta = timedelta(minutes=5)
    replay_window: timedelta = timedelta(minutes=5)
    replay_cache_size: int = 900_000
    detect_replays: bool = True
    timestamp_validity_duration: timedelta = timedelta(minutes=5)
    #: WCF closes idle *established* sessions after the binding's ReceiveTimeout (10 min).
    receive_timeout: timedelta = timedelta(minutes=10)
    #: Negotiations (SPNEGO, TLSNEGO legs) in progress at once, and how long one may take
    #: from its first leg (WCF's MaxStatefulNegotiations and NegotiationTimeout).
    max_stateful_negotiations: int = 128
    negotiation_timeout: timedelta = timedelta(minutes=1)
    #: Tokens finished negotiations issued, cached apart from the negotiations in progress
    #: until their RST/SCT (or, without a session, their Lifetime): WCF's MaxCachedCookies.
    max_cached_cookies: int = 1000
    #: The Lifetime of the SCT a negotiation issues (WCF's transition token: 15 minutes).
    negotiated_token_lifetime: timedelta = timedelta(minutes=15)
    # --- wssc's own limits, beyond WCF's (0 turns one off) ----------------------------------
    #: Pending sessions one peer address may hold, so one source cannot take every slot of
    #: ``max_pending_sessions``.
    max_pending_sessions_per_peer: int = 16
    #: Negotiated tokens one peer address may hold of ``max_cached_cookies`` (a tenth).
    max_cached_cookies_per_peer: int = 100
    #: IssuedToken: validated assertions kept (LRU, until their NotOnOrAfter) so that a resent
    #: assertion costs no RSA operation (`wssc.federation.token_cache`; WCF has no such knob).
    max_cached_issued_tokens: int = 1000
    #: Live replay-cache entries one session (or one peer, for bootstrap requests) may hold.
    replay_quota_per_session: int = 60_000
    #: Live replay-cache entries one peer address may hold over all of its sessions (a tenth
    #: of ``replay_cache_size``: it takes ten addresses to fill the cache).
    replay_quota_per_peer: int = 90_000
    #: Free failed authentications per (username, peer address); past it the pair backs off
    #: (`wssc.security.throttle`): blocked ``failed_authentication_delay``, doubling per
    #: failure, at most ``failed_authentication_window``; a blocked attempt gets the same
    #: fault as a wrong password.
    max_failed_authentications: int = 5
    #: Backstops, for pairs that never logged in successfully: per username over all
    #: addresses, and per address over all usernames.
    max_failed_authentications_per_user: int = 20
    max_failed_authentications_per_peer: int = 100
    failed_authentication_delay: timedelta = timedelta(seconds=1)
    failed_authentication_window: timedelta = timedelta(minutes=5)
    # --- quotas on one message's security header (WCF's ReaderQuotas are the model) --------
    max_security_header_elements: int = 64
    max_encrypted_data: int = 16
    max_signature_references: int = 32
    max_namespace_declarations: int = 64


@dataclass(frozen=True, slots=True)
class LocalClientSecuritySettings:
    session_key_renewal_interval: timedelta = timedelta(hours=10)
    session_key_renewal_threshold_percentage: int = 60
    session_key_rollover_interval: timedelta = timedelta(minutes=5)
    cookie_renewal_threshold_percentage: int = 60
    max_clock_skew: timedelta = timedelta(minutes=5)
    replay_window: timedelta = timedelta(minutes=5)
    #: Refuse a reply whose signature was seen before (WCF's DetectReplays, on by default).
    detect_replays: bool = True
    replay_cache_size: int = 900_000
    timestamp_validity_duration: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Compatibility:
    """Quirks of particular peers, in one place. The defaults write what WCF writes, which
    WSS4J and Metro accept too; a preset per peer says what differs and why.

    ============  =====================================================================
    peer          quirk
    ============  =====================================================================
    WCF, WSS4J,   none: `WCF_COMPATIBLE` (the default)
    Metro
    Mono          refuses ``ValueType`` on ``#id`` references to DerivedKeyTokens and
                  other tokens of the same header ("Unexpected ValueType", "Malformed
                  reference element"), sends its signature unencrypted, and signs with
                  RSA-SHA256 under every suite (``suite_signatures="mono"``):
                  `MONO_COMPATIBLE`
    Metro, CXF    under the ``…Sha256`` suites sign with HMAC-SHA1 / RSA-SHA1, WS-Security-
                  Policy's reading of the suite, where WCF signs with HMAC-SHA256 / RSA-SHA256:
                  `WS_SP_SUITES` (``suite_signatures="ws-sp"``)
    CXF           SPNEGO (``sp:SpnegoContextToken``) in its own dialect: no authenticator,
                  no mutual authentication, ``wst:Renewing`` in the RST, Trust 1.3's own
                  ValueType, final ``RSTR/Issue``: `CXF_SPNEGO` (``spnego="cxf"``)
    ============  =====================================================================
    """

    #: Write ``ValueType`` on ``#id`` references to tokens in the same header (``…/sc/dk``,
    #: ``…#EncryptedKey``, ``…/sc/sct``), as WCF and WSS4J do.
    local_reference_value_types: bool = True
    #: Accept a primary signature in the clear where the policy encrypts it (Mono's WCF
    #: signs but does not encrypt its signature). A weakening: only for such a peer.
    accept_unencrypted_signature: bool = False
    #: Whose table gives the suite's signature algorithms (`wssc.crypto.suites`): ``"wcf"``
    #: (HMAC-SHA256 / RSA-SHA256 under the ``…Sha256`` suites) or ``"ws-sp"`` (HMAC-SHA1 /
    #: RSA-SHA1 in every suite, as Metro and CXF read WS-SecurityPolicy) or ``"mono"`` (RSA-SHA256
    #: in every suite, as Mono's WCF signs). Both what is sent
    #: and what is accepted: the other reading's signature is refused (no fallback).
    suite_signatures: SuiteReading = "wcf"
    #: SPNEGO's wire dialect (`wssc.bootstrap.spnego`): ``"wcf"`` (WCF's only) or ``"cxf"``,
    #: which also accepts Apache CXF's departures (interop/cxf/FINDINGS.md, S1-S11): a final
    #: reply without the authenticator (CombinedHash) and without mutual authentication, the
    #: ``…/200512/spnego`` ValueType, ``RSTR/Issue`` as the final action, ``wst:Renewing`` in
    #: the RST. A weakening (SECURITY.md): only for a CXF peer.
    spnego: SpnegoDialect = "wcf"


WCF_COMPATIBLE: Final = Compatibility()
MONO_COMPATIBLE: Final = Compatibility(
    local_reference_value_types=False, accept_unencrypted_signature=True, suite_signatures="mono"
)
WS_SP_SUITES: Final = Compatibility(suite_signatures="ws-sp")
CXF_SPNEGO: Final = Compatibility(spnego="cxf")


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    """Everything a client or service needs to know about one endpoint's security."""

    secure_conversation: SecureConversationSettings = field(default_factory=SecureConversationSettings)
    service: LocalServiceSecuritySettings = field(default_factory=LocalServiceSecuritySettings)
    client: LocalClientSecuritySettings = field(default_factory=LocalClientSecuritySettings)
    soap_version: str = "1.2"
    #: How the service's address filter compares the host of ``wsa:To`` with its own
    #: (WCF's HostNameComparisonMode): ``"StrongWildcard"`` (WCF's default) ignores it,
    #: ``"Exact"`` compares it; scheme, port and path always (`wssc.service.address`).
    host_name_comparison_mode: str = "StrongWildcard"
    #: WCF's ``MaxReceivedMessageSize`` (64 KiB): a service answers a bigger request with HTTP
    #: 413 before it reads the body past the limit, and before parsing anything. Raise it
    #: (``wssc serve --max-received-message-size``) for bigger messages.
    max_received_message_size: int = 64 * 1024
    #: WCF's ``readerQuotas.MaxStringContentLength``, but 64 Ki characters (WCF: 8192): the
    #: longest text of one value of a contract's body (string, lexical form, base64 text, any
    #: text or attribute of a raw-XML value), read by a service and a client, and checked by a
    #: client before it sends (`wssc.contract.ContractLimits.max_string_length`).
    max_string_content_length: int = 64 * 1024
