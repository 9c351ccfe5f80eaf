"""The bootstrap registry: one description object per WCF bootstrap kind.

The engine, the clients, the zeep integration, policy export and import, and the CLI look a
kind up here and never name one (WSS4J's ``WSSConfig`` table of processors and CoreWCF's
security protocol factories are the models)::

    kind = bootstrap_kind(settings.secure_conversation.bootstrap)
    kind.service_half(ServiceCredentials(certificate=cert), settings.service)
    kind.client_half(ClientCredentials(service_certificate=cert))
    kind.message_policy(settings, "service", compatibility)
    kind.shape.assertions(writer, scs)            # policy export
    settings_from_wsdl(wsdl)                       # policy import, with every kind's shape

Adding a bootstrap, in three steps:

1. write ``wssc/bootstrap/<name>.py`` with its client half (``secure``, ``verify_reply``,
   ``secure_renew``), its service half (``verify``, with ``endorsing`` for a Renew under
   message security, ``secure_reply``, ``renew_identity``; a one-shot bootstrap, whose key
   comes in the request itself, verifies and replies through `wssc.bootstrap.one_shot`) and
   its policy shape (``assertions``, ``recognize``: a table of
   `wssc.policy.shapes.BindingShape` rows, ``description``), as the modules beside this one do;
2. name it: ``Bootstrap("TheNameWcfGivesIt")`` (`wssc.settings.Bootstrap`);
3. add one `BootstrapKind` entry (its command-line name and aliases, its security mode, its
   version families, its two halves, its shape, and what it ``needs`` from its environment: a
   KDC, an STS, a negotiation): to ``_KINDS`` below for a built-in one, or
   with `register_bootstrap` from anywhere else (tests/session/test_toy_bootstrap.py registers
   a two-leg bootstrap from the test module alone). The test matrices (tests/e2e,
   tests/policy…) take a built-in one up by themselves.

A bootstrap that negotiates over several legs before its RST/SCT (SPNEGO, TLSNEGO) also
implements `wssc.bootstrap.base.NegotiatingClient` and `NegotiatingService`; the client flow
and the service engine then carry its legs, and the engine keeps each negotiation's state
(`wssc.session.negotiation`) under ``max_stateful_negotiations`` and ``negotiation_timeout``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Final, Literal, Self
from urllib.parse import urlsplit

from lxml import etree

from wssc.bootstrap.anonymous_for_certificate import (
    AnonymousForCertificateClient,
    AnonymousForCertificatePolicy,
    AnonymousForCertificateService,
)
from wssc.bootstrap.base import BootstrapClient, BootstrapService, UsernameValidator
from wssc.bootstrap.bearer_token_over_transport import (
    BearerTokenOverTransportClient,
    BearerTokenOverTransportPolicy,
    BearerTokenOverTransportService,
)
from wssc.bootstrap.certificate_over_transport import (
    CertificateOverTransportClient,
    CertificateOverTransportPolicy,
    CertificateOverTransportService,
)
from wssc.bootstrap.issued_token import IssuedTokenClient, IssuedTokenPolicy, IssuedTokenService
from wssc.bootstrap.issued_token_for_certificate import (
    IssuedTokenForCertificateClient,
    IssuedTokenForCertificatePolicy,
    IssuedTokenForCertificateService,
)
from wssc.bootstrap.issued_token_for_ssl import (
    IssuedTokenForSslClient,
    IssuedTokenForSslPolicy,
    IssuedTokenForSslService,
)
from wssc.bootstrap.issued_token_over_transport import (
    IssuedTokenOverTransportClient,
    IssuedTokenOverTransportPolicy,
    IssuedTokenOverTransportService,
)
from wssc.bootstrap.kerberos import KerberosClient, KerberosPolicy, KerberosService, SeenApReqs
from wssc.bootstrap.kerberos import acceptor as kerberos_acceptor
from wssc.bootstrap.mutual_certificate import (
    MutualCertificateClient,
    MutualCertificatePolicy,
    MutualCertificateService,
)
from wssc.bootstrap.spnego import SpnegoClient, SpnegoClientCredentials, SpnegoPolicy, SpnegoService
from wssc.bootstrap.spnego import acceptor as spnego_acceptor
from wssc.bootstrap.tlsnego import TlsnegoClient, TlsnegoPolicy, TlsnegoService
from wssc.bootstrap.username_auth import login_throttle
from wssc.bootstrap.username_for_certificate import (
    UserNameForCertificateClient,
    UserNameForCertificatePolicy,
    UserNameForCertificateService,
)
from wssc.bootstrap.username_over_transport import (
    UserNameOverTransportClient,
    UserNameOverTransportPolicy,
    UserNameOverTransportService,
)
from wssc.certs import Certificate
from wssc.crypto.suites import get_suite
from wssc.errors import CertificateRejected, ConfigurationError
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.token import IssuedToken
from wssc.federation.token_cache import ValidatedAssertions
from wssc.logs import printable
from wssc.policy.explain import explain_endpoint
from wssc.policy.export import binding_policy_element
from wssc.policy.model import ImportedEndpoint, ImportedPolicy
from wssc.policy.normalize import Resolver
from wssc.policy.policy_import import import_policy
from wssc.policy.shapes import BootstrapShape, SecurityMode, derived_keys_in_effect
from wssc.policy.wsdl_import import import_wsdl
from wssc.security.policy import MessagePolicy
from wssc.security.replay import MemoryReplayCache
from wssc.security.x509_validation import REFUSE_ALL, CertificateValidator, KeyPurpose
from wssc.settings import (
    WCF_COMPATIBLE,
    WS2007,
    WS2007_WSS10,
    WSHTTP,
    WSHTTP_WSS10,
    Bootstrap,
    Compatibility,
    EndpointSettings,
    LocalServiceSecuritySettings,
    MessageSecurityVersion,
    SecureConversationSettings,
)
from wssc.xml import ns

Role = Literal["client", "service"]
#: What a bootstrap needs from its environment (`BootstrapKind.requires`): a Kerberos KDC (its
#: tickets, the service's keytab), a security token service (a token issued to the client),
#: a negotiation (WS-Trust legs before its RST/SCT), TLS (it runs over https only), a bearer
#: token from the STS (KeyType Bearer: no proof key).
Need = Literal["kdc", "sts", "negotiation", "tls", "bearer"]


class _Credentials:
    """What both credential objects share: the public API's shorthand keywords."""

    __slots__ = ()

    @classmethod
    def of(cls, credentials: Self | None = None, **shorthand: Any) -> Self:
        """``credentials`` with the shorthand keywords (its field names) filled in; a
        keyword given as None is not given. A keyword that contradicts a field
        ``credentials`` already sets is a `ConfigurationError`. The public API (`Client`,
        `AsyncClient`, zeep's transports, `ServiceEngine`) takes ``credentials=`` and today's
        keywords through this, so a new kind of credential is a new field here and nothing
        else."""
        base = credentials if credentials is not None else cls()
        names = {f.name for f in fields(base)}  # type: ignore[arg-type]
        given = {k: v for k, v in shorthand.items() if v is not None}
        unknown = sorted(set(given) - names)
        if unknown:
            raise ConfigurationError(f"{cls.__name__} has no {', '.join(unknown)}")
        clash = sorted(
            k
            for k, v in given.items()
            if getattr(base, k) is not None
            and getattr(base, k) != v
            and getattr(base, k) != getattr(cls(), k)
        )
        if clash:
            raise ConfigurationError(
                f"{', '.join(clash)} given twice: in credentials= and as a keyword; give it once"
            )
        return replace(base, **given)  # type: ignore[type-var]

    def with_defaults(self, **defaults: Any) -> Self:
        """These credentials, with the fields still unset (None) taken from ``defaults``
        (e.g. the service certificate a WSDL publishes)."""
        fill = {k: v for k, v in defaults.items() if v is not None and getattr(self, k) is None}
        return replace(self, **fill) if fill else self  # type: ignore[type-var]


@dataclass(frozen=True, slots=True)
class ClientCredentials(_Credentials):
    """What a client may offer a bootstrap; each kind takes what it needs."""

    service_certificate: Certificate | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    #: How ``service_certificate`` is validated (WCF's ``ClientCredentials.ServiceCertificate
    #: .Authentication``). None: the certificate given (``service_certificate=`` or the WSDL
    #: identity) is pinned, trusted as a peer (PeerTrust of that one certificate: its
    #: validity and KeyUsage are still checked). WCF's default is ChainTrust.
    service_certificate_validator: CertificateValidator | None = None
    #: The client's own certificate, with its private key: for a bootstrap in which the
    #: client signs (MutualCertificate, CertificateOverTransport, a test's toy bootstrap).
    certificate: Certificate | None = None
    #: SPNEGO: the service's principal name, ``service/host`` (WCF's ``<Spn>`` identity;
    #: WCF's default is ``host/<the address's host>``). ``username``/``password`` log on with
    #: Kerberos (or NTLM); else a ccache, a client keytab, or the default ccache (KRB5CCNAME).
    spn: str | None = None
    kerberos_ccache: str | None = None
    kerberos_keytab: str | None = None
    #: TLSNEGO: a DNS identity (the WSDL's ``wsid:Identity/wsid:Dns``) the service's TLS
    #: certificate must name.
    service_dns_identity: str | None = None
    #: IssuedToken: the token and proof key obtained from the STS (`wssc.client.sts`).
    issued_token: IssuedToken | None = field(default=None, repr=False)

    def validated_service_certificate(self, purpose: KeyPurpose) -> Certificate | None:
        """``service_certificate`` once its validator accepts it for ``purpose``, before
        anything is sent to its holder; `CertificateRejected` (with a hint) otherwise."""
        cert = self.service_certificate
        if cert is None:
            return None
        validator = self.service_certificate_validator or CertificateValidator.peer_trust(cert)
        try:
            validator.validate(cert, purpose)
        except CertificateRejected as exc:
            exc.add_note(
                "hint: nothing was sent. Trust the service certificate's CA with "
                "service_certificate_validator=CertificateValidator.chain_trust("
                "'ca.pem'), or check that it is this service's certificate"
            )
            raise
        return cert


@dataclass(frozen=True, slots=True)
class ServiceCredentials(_Credentials):
    """What a service may offer a bootstrap; each kind takes what it needs."""

    certificate: Certificate | None = None
    username_validator: UsernameValidator | None = None
    #: UserNameOverTransport: refuse a UsernameToken that did not come over TLS.
    require_tls: bool = True
    #: Decides on a client's certificate (a BinarySecurityToken) (WCF's
    #: ``ServiceCredentials.ClientCertificate.Authentication``, ChainTrust). The default
    #: trusts no certificate: configure the CAs (ChainTrust) or peers (PeerTrust) to trust.
    client_certificate_validator: CertificateValidator = REFUSE_ALL
    #: SPNEGO: the keytab with the service's Kerberos keys (None: KRB5_KTNAME), and the file
    #: of NTLM accounts (``DOMAIN:user:password`` lines; None: NTLM_USER_FILE).
    kerberos_keytab: str | None = None
    ntlm_user_file: str | None = None
    #: The principal name a Windows-authenticated service publishes as its WSDL identity
    #: (``wsid:Spn``, e.g. ``HTTP/host.example.com``); WCF's clients and wssc's target it.
    spn: str | None = None
    #: IssuedToken: the STS certificates whose signed assertions are trusted, and the
    #: audience URIs this service answers to (WCF's ``AllowedAudienceUris``; required).
    trusted_issuers: tuple[Certificate, ...] = ()
    audiences: tuple[str, ...] = ()
    #: IssuedToken: refuse an assertion ID seen before, while the assertion is valid (WIF's
    #: ``DetectReplayedTokens``, off by default: WCF's clients reuse a token until it expires).
    detect_replayed_tokens: bool = False
    #: IssuedToken: also accept assertions signed with RSA-SHA1 and SHA-1 digests (Metro's
    #: STS signs only so; WCF accepts them). Off: SHA-256 or better.
    issuer_sha1_signatures: bool = False


@dataclass(frozen=True, slots=True)
class BootstrapKind:
    """One WCF bootstrap: its names, mode, halves, message policies and policy shape."""

    key: Bootstrap
    #: Its name on the command line (``wssc serve --bootstrap``).
    cli_name: str
    #: "message" (WS-Security protects the RST) or "transport" (TLS does): the one place an
    #: endpoint's mode is decided (the engine, the clients, export, explain and the CLI ask).
    security_mode: SecurityMode
    #: The version families (``settings.WSHTTP``, ``WS2007``) it runs in: an endpoint in
    #: another is refused when its message policy is made (client and service alike).
    families: tuple[MessageSecurityVersion, ...]
    client_half: Callable[[ClientCredentials], BootstrapClient]
    service_half: Callable[[ServiceCredentials, LocalServiceSecuritySettings], BootstrapService]
    shape: BootstrapShape
    #: Other names `parse_bootstrap` accepts for it (besides its value and ``cli_name``).
    aliases: tuple[str, ...] = ()
    #: The `ClientCredentials` fields its client half uses (the CLI, the docs and the test
    #: matrices ask which credentials to offer; a field a client gives beyond these is unused).
    client_credentials: frozenset[str] = frozenset()
    #: What it needs from its environment besides credentials (`Need`; TLS follows from
    #: ``security_mode``): the test matrices and the docs ask `requires`.
    needs: frozenset[Need] = frozenset()

    def requires(self, need: Need) -> bool:
        """Does this bootstrap need ``need`` from its environment?"""
        return need in self.needs or (need == "tls" and self.requires_tls)

    def uses(self, credential: str) -> bool:
        """Does this bootstrap's client use the `ClientCredentials` field ``credential``?"""
        return credential in self.client_credentials

    def derived_keys(self, settings: SecureConversationSettings) -> bool:
        """Whether this endpoint's SCT-secured messages use DerivedKeyTokens: the setting,
        forced off over transport (as WCF does)."""
        return derived_keys_in_effect(settings, self.security_mode)

    @property
    def description(self) -> str:
        """Its words for ``wssc inspect``."""
        return self.shape.description

    @property
    def requires_tls(self) -> bool:
        """A transport-mode bootstrap leaves the secrecy of what it sends (a password) and
        the integrity of every message to TLS: it runs over ``https`` only, as WCF's binding
        requires."""
        return self.security_mode == "transport"

    def insecure_address(self, address: str) -> str | None:
        """Why ``address`` cannot carry this bootstrap (a scheme other than ``https``), or
        None when it can."""
        if not self.requires_tls:
            return None
        scheme = urlsplit(address).scheme.lower()
        if scheme == "https":
            return None
        return (
            f"{self.key.value} relies on transport security (TLS) to protect its "
            f"credentials and every message, but the address {printable(address, 200)!r} "
            f"uses {printable(scheme or '(no scheme)', 20)}://, not https://"
        )

    def check_address(self, address: str, role: Role) -> None:
        """Refuse (`ConfigurationError`, before anything is sent) an
        address this bootstrap cannot use: a client never sends its credentials, and a
        service never publishes an endpoint, over a non-TLS scheme."""
        why = self.insecure_address(address)
        if why is None:
            return
        if role == "client":
            raise ConfigurationError(
                f"{why}; nothing was sent. Use the service's https:// address (behind a "
                "TLS-terminating proxy: the proxy's https:// address)"
            )
        raise ConfigurationError(
            f"{why}; clients refuse to send credentials there. Publish the https:// address "
            "clients use: serve HTTPS, or, behind a TLS-terminating proxy, give the proxy's "
            "https:// address and declare the proxy (forwarded_allow_ips)"
        )

    def message_policy(
        self,
        settings: EndpointSettings,
        role: Role,
        compatibility: Compatibility = WCF_COMPATIBLE,
    ) -> MessagePolicy:
        """The MessagePolicy of SCT-secured messages on this endpoint, for ``role``: what it
        writes, and what it requires of what it receives."""
        scs = settings.secure_conversation
        if scs.message_security_version not in self.families:
            offered = ", ".join(f.name for f in self.families) or "none"
            raise ConfigurationError(
                f"{self.key.value} does not run in the {scs.message_security_version.name} "
                f"family (it runs in: {offered})"
            )
        transport = self.security_mode == "transport"
        sc = scs.message_security_version.sc
        base = MessagePolicy(
            sc=sc,
            suite=get_suite(scs.algorithm_suite).read_as(compatibility.suite_signatures),
            derived_keys=self.derived_keys(scs),
            encrypt_body=not transport,
            encrypt_signature=scs.encrypt_signature,
            transport=transport,
            require_signed_body=not transport,
            local_reference_value_types=compatibility.local_reference_value_types,
            spnego=compatibility.spnego,
            wss11=scs.message_security_version.wss11,
        )
        if role == "client":
            c = settings.client
            return replace(
                base,
                max_clock_skew=c.max_clock_skew.total_seconds(),
                replay_window=c.replay_window.total_seconds(),
                timestamp_validity=c.timestamp_validity_duration.total_seconds(),
                require_signed_addressing=False,
            )
        s = settings.service
        return replace(
            base,
            sign_addressing_headers=True,
            max_clock_skew=s.max_clock_skew.total_seconds(),
            replay_window=s.replay_window.total_seconds(),
            timestamp_validity=s.timestamp_validity_duration.total_seconds(),
            require_encrypted_body=None if transport else True,
            require_encrypted_signature=(
                not transport and scs.encrypt_signature and not compatibility.accept_unencrypted_signature
            ),
            require_signed_addressing=not transport,
            max_header_elements=s.max_security_header_elements,
            max_encrypted_data=s.max_encrypted_data,
            max_references=s.max_signature_references,
            max_namespace_declarations=s.max_namespace_declarations,
        )


def _afc_client(c: ClientCredentials) -> BootstrapClient:
    if c.service_certificate is None:
        raise ConfigurationError(
            "AnonymousForCertificate needs the service certificate (from the WSDL identity "
            "or service_certificate=)"
        )
    cert = c.validated_service_certificate(KeyPurpose.ENCRYPTION)
    assert cert is not None
    return AnonymousForCertificateClient(cert)


def _afc_service(c: ServiceCredentials, _: LocalServiceSecuritySettings) -> BootstrapService:
    if c.certificate is None or c.certificate.key is None:
        raise ConfigurationError("AnonymousForCertificate needs the service certificate and private key")
    return AnonymousForCertificateService(c.certificate)


def _unot_client(c: ClientCredentials) -> BootstrapClient:
    if c.username is None or c.password is None:
        raise ConfigurationError("UserNameOverTransport needs a username and a password")
    return UserNameOverTransportClient(c.username, c.password)


def _unot_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    if c.username_validator is None:
        raise ConfigurationError("UserNameOverTransport needs a username_validator")
    return UserNameOverTransportService(c.username_validator, c.require_tls, login_throttle(s))


def _unfc_client(c: ClientCredentials) -> BootstrapClient:
    if c.username is None or c.password is None:
        raise ConfigurationError("UserNameForCertificate needs a username and a password")
    if c.service_certificate is None:
        raise ConfigurationError(
            "UserNameForCertificate needs the service certificate (from the WSDL identity "
            "or service_certificate=)"
        )
    cert = c.validated_service_certificate(KeyPurpose.ENCRYPTION)
    assert cert is not None
    return UserNameForCertificateClient(cert, c.username, c.password)


def _unfc_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    if c.certificate is None or c.certificate.key is None:
        raise ConfigurationError("UserNameForCertificate needs the service certificate and private key")
    if c.username_validator is None:
        raise ConfigurationError("UserNameForCertificate needs a username_validator")
    return UserNameForCertificateService(c.certificate, c.username_validator, login_throttle(s))


def _cot_client(c: ClientCredentials) -> BootstrapClient:
    if c.certificate is None or c.certificate.key is None:
        raise ConfigurationError(
            "CertificateOverTransport needs the client's certificate and private key (certificate=)"
        )
    return CertificateOverTransportClient(c.certificate)


def _cot_service(c: ServiceCredentials, _: LocalServiceSecuritySettings) -> BootstrapService:
    return CertificateOverTransportService(c.client_certificate_validator, c.require_tls)


def _mc_client(c: ClientCredentials) -> BootstrapClient:
    if c.certificate is None or c.certificate.key is None:
        raise ConfigurationError(
            "MutualCertificate needs the client's certificate and private key (certificate=)"
        )
    if c.service_certificate is None:
        raise ConfigurationError(
            "MutualCertificate needs the service certificate (from the WSDL identity or service_certificate=)"
        )
    cert = c.validated_service_certificate(KeyPurpose.ENCRYPTION)
    assert cert is not None
    return MutualCertificateClient(cert, c.certificate)


def _mc_service(c: ServiceCredentials, _: LocalServiceSecuritySettings) -> BootstrapService:
    if c.certificate is None or c.certificate.key is None:
        raise ConfigurationError("MutualCertificate needs the service certificate and private key")
    return MutualCertificateService(c.certificate, c.client_certificate_validator)


def _spnego_client(c: ClientCredentials) -> BootstrapClient:
    if not c.spn:
        raise ConfigurationError(
            "SspiNegotiated needs the service's principal name: spn='HTTP/host.example.com' "
            "(WCF's default is host/<the service's host name>)"
        )
    creds = SpnegoClientCredentials(c.spn, c.username, c.password, c.kerberos_ccache, c.kerberos_keytab)
    return SpnegoClient(creds)


def _spnego_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    lifetime = s.negotiated_token_lifetime.total_seconds()
    return SpnegoService(spnego_acceptor(c.kerberos_keytab, c.ntlm_user_file), lifetime)


def _kerberos_client(c: ClientCredentials) -> BootstrapClient:
    if not c.spn:
        raise ConfigurationError(
            "Kerberos needs the service's principal name: spn='HTTP/host.example.com' "
            "(WCF's default is host/<the service's host name>)"
        )
    creds = SpnegoClientCredentials(
        c.spn, c.username, c.password, c.kerberos_ccache, c.kerberos_keytab, protocol="kerberos"
    )
    return KerberosClient(creds)


def _kerberos_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    return KerberosService(kerberos_acceptor(c.kerberos_keytab), SeenApReqs(s.replay_cache_size))


def _it_client(c: ClientCredentials) -> BootstrapClient:
    if c.issued_token is None:
        raise ConfigurationError(
            "IssuedToken needs a token from the STS: issued_token=request_token(StsExchange.new(…))"
        )
    return IssuedTokenClient(c.issued_token)


def _it_validator(name: str, c: ServiceCredentials, s: LocalServiceSecuritySettings) -> IssuedTokenValidator:
    if c.certificate is None:
        raise ConfigurationError(f"{name} needs the service certificate (the proof keys are encrypted to it)")
    return IssuedTokenValidator(
        issuers=c.trusted_issuers,
        audiences=c.audiences,
        relying_party=c.certificate,
        skew=s.max_clock_skew.total_seconds(),
        replay=MemoryReplayCache(max_entries=s.replay_cache_size) if c.detect_replayed_tokens else None,
        cache=ValidatedAssertions(s.max_cached_issued_tokens) if s.max_cached_issued_tokens > 0 else None,
        allow_sha1_signatures=c.issuer_sha1_signatures,
    )


def _it_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    return IssuedTokenService(_it_validator("IssuedToken", c, s))


def _itot_client(c: ClientCredentials) -> BootstrapClient:
    if c.issued_token is None:
        raise ConfigurationError(
            "IssuedTokenOverTransport needs a token from the STS: "
            "issued_token=request_token(StsExchange.new(…))"
        )
    return IssuedTokenOverTransportClient(c.issued_token)


def _btot_client(c: ClientCredentials) -> BootstrapClient:
    if c.issued_token is None:
        raise ConfigurationError(
            "IssuedTokenOverTransport with a bearer token needs a token from the STS: "
            "issued_token=request_token(StsExchange.new(…, bearer=True))"
        )
    return BearerTokenOverTransportClient(c.issued_token)


def _btot_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    """Bearer tokens: no proof key (no service certificate needed), and replay detection on
    whatever ``detect_replayed_tokens`` says (a bearer token is a password)."""
    validator = IssuedTokenValidator(
        issuers=c.trusted_issuers,
        audiences=c.audiences,
        relying_party=c.certificate,
        skew=s.max_clock_skew.total_seconds(),
        bearer=True,
        replay=MemoryReplayCache(max_entries=s.replay_cache_size),
        cache=ValidatedAssertions(s.max_cached_issued_tokens) if s.max_cached_issued_tokens > 0 else None,
        allow_sha1_signatures=c.issuer_sha1_signatures,
    )
    return BearerTokenOverTransportService(validator, c.require_tls)


def _itfc_client(c: ClientCredentials) -> BootstrapClient:
    if c.issued_token is None:
        raise ConfigurationError(
            "IssuedTokenForCertificate needs a token from the STS: "
            "issued_token=request_token(StsExchange.new(…))"
        )
    if c.service_certificate is None:
        raise ConfigurationError(
            "IssuedTokenForCertificate needs the service certificate "
            "(from the WSDL identity or service_certificate=)"
        )
    cert = c.validated_service_certificate(KeyPurpose.ENCRYPTION)
    assert cert is not None
    return IssuedTokenForCertificateClient(cert, c.issued_token)


def _itfc_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    if c.certificate is None or c.certificate.key is None:
        raise ConfigurationError("IssuedTokenForCertificate needs the service certificate and private key")
    return IssuedTokenForCertificateService(c.certificate, _it_validator("IssuedTokenForCertificate", c, s))


def _itot_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    return IssuedTokenOverTransportService(_it_validator("IssuedTokenOverTransport", c, s), c.require_tls)


def _tls_client(variant: Bootstrap) -> Callable[[ClientCredentials], BootstrapClient]:
    def make(c: ClientCredentials) -> BootstrapClient:
        if variant == Bootstrap.USERNAME_FOR_SSL and (c.username is None or c.password is None):
            raise ConfigurationError("UserNameForSslNegotiated needs a username and a password")
        if variant == Bootstrap.MUTUAL_SSL and (c.certificate is None or c.certificate.key is None):
            raise ConfigurationError("MutualSslNegotiated needs the client's certificate and private key")
        return TlsnegoClient(
            c.service_certificate_validator,
            c.service_certificate,
            c.service_dns_identity,
            c.certificate if variant == Bootstrap.MUTUAL_SSL else None,
            c.username if variant == Bootstrap.USERNAME_FOR_SSL else None,
            c.password if variant == Bootstrap.USERNAME_FOR_SSL else None,
        )

    return make


def _tls_service(
    variant: Bootstrap,
) -> Callable[[ServiceCredentials, LocalServiceSecuritySettings], BootstrapService]:
    def make(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
        if c.certificate is None or c.certificate.key is None:
            raise ConfigurationError(f"{variant.value} needs the service certificate and private key")
        lifetime = s.negotiated_token_lifetime.total_seconds()
        if variant == Bootstrap.USERNAME_FOR_SSL:
            if c.username_validator is None:
                raise ConfigurationError("UserNameForSslNegotiated needs a username_validator")
            return TlsnegoService(c.certificate, None, c.username_validator, login_throttle(s), lifetime)
        if variant == Bootstrap.MUTUAL_SSL:
            return TlsnegoService(c.certificate, c.client_certificate_validator, token_lifetime=lifetime)
        return TlsnegoService(c.certificate, token_lifetime=lifetime)

    return make


def _itssl_client(c: ClientCredentials) -> BootstrapClient:
    if c.issued_token is None:
        raise ConfigurationError(
            "IssuedTokenForSslNegotiated needs a token from the STS: "
            "issued_token=request_token(StsExchange.new(…))"
        )
    tls = _tls_client(Bootstrap.TLSNEGO)(c)
    assert isinstance(tls, TlsnegoClient)
    return IssuedTokenForSslClient(tls, c.issued_token)


def _itssl_service(c: ServiceCredentials, s: LocalServiceSecuritySettings) -> BootstrapService:
    tls = _tls_service(Bootstrap.TLSNEGO)(c, s)
    assert isinstance(tls, TlsnegoService)
    return IssuedTokenForSslService(tls, _it_validator("IssuedTokenForSslNegotiated", c, s))


#: (or, instead of the pinned certificate, service_certificate_validator; and optionally
#: service_dns_identity)
_TLS_TRUST = frozenset({"service_certificate"})

#: Every bootstrap this process speaks, by its settings value: the three built in, and those
#: added with `register_bootstrap`.
_KINDS: dict[Bootstrap, BootstrapKind] = {
    k.key: k
    for k in (
        BootstrapKind(
            Bootstrap.ANONYMOUS_FOR_CERTIFICATE,
            "anonymous-for-certificate",
            "message",
            (WSHTTP, WS2007),
            _afc_client,
            _afc_service,
            AnonymousForCertificatePolicy(),
            aliases=("anonymous", "cert"),
            client_credentials=frozenset({"service_certificate"}),
        ),
        BootstrapKind(
            Bootstrap.USERNAME_OVER_TRANSPORT,
            "username-over-transport",
            "transport",
            (WSHTTP, WS2007, WSHTTP_WSS10, WS2007_WSS10),
            _unot_client,
            _unot_service,
            UserNameOverTransportPolicy(),
            aliases=("username", "transport"),
            client_credentials=frozenset({"username", "password"}),
        ),
        BootstrapKind(
            Bootstrap.USERNAME_FOR_CERTIFICATE,
            "username-for-certificate",
            "message",
            (WSHTTP, WS2007),
            _unfc_client,
            _unfc_service,
            UserNameForCertificatePolicy(),
            client_credentials=frozenset({"service_certificate", "username", "password"}),
        ),
        BootstrapKind(
            Bootstrap.CERTIFICATE_OVER_TRANSPORT,
            "certificate-over-transport",
            "transport",
            (WSHTTP, WS2007),
            _cot_client,
            _cot_service,
            CertificateOverTransportPolicy(),
            client_credentials=frozenset({"certificate"}),
        ),
        BootstrapKind(
            Bootstrap.MUTUAL_CERTIFICATE,
            "mutual-certificate",
            "message",
            (WSHTTP, WS2007, WSHTTP_WSS10, WS2007_WSS10),
            _mc_client,
            _mc_service,
            MutualCertificatePolicy(),
            aliases=("mutual",),
            client_credentials=frozenset({"service_certificate", "certificate"}),
        ),
        BootstrapKind(
            Bootstrap.SPNEGO,
            "spnego",
            "message",
            (WSHTTP, WS2007),
            _spnego_client,
            _spnego_service,
            SpnegoPolicy(),
            aliases=("windows", "sspi-negotiated"),
            client_credentials=frozenset({"spn"}),
            needs=frozenset({"kdc", "negotiation"}),
        ),
        BootstrapKind(
            Bootstrap.KERBEROS,
            "kerberos",
            "message",
            (WSHTTP, WS2007),
            _kerberos_client,
            _kerberos_service,
            KerberosPolicy(),
            aliases=("kerberos-ap-req",),
            client_credentials=frozenset({"spn"}),
            needs=frozenset({"kdc"}),
        ),
        BootstrapKind(
            Bootstrap.TLSNEGO,
            "tlsnego",
            "message",
            (WSHTTP, WS2007),
            _tls_client(Bootstrap.TLSNEGO),
            _tls_service(Bootstrap.TLSNEGO),
            TlsnegoPolicy(Bootstrap.TLSNEGO),
            aliases=("ssl-negotiated", "anonymous-tlsnego"),
            client_credentials=_TLS_TRUST,
            needs=frozenset({"negotiation"}),
        ),
        BootstrapKind(
            Bootstrap.USERNAME_FOR_SSL,
            "username-tlsnego",
            "message",
            (WSHTTP, WS2007),
            _tls_client(Bootstrap.USERNAME_FOR_SSL),
            _tls_service(Bootstrap.USERNAME_FOR_SSL),
            TlsnegoPolicy(Bootstrap.USERNAME_FOR_SSL, username=True),
            client_credentials=_TLS_TRUST | {"username", "password"},
            needs=frozenset({"negotiation"}),
        ),
        BootstrapKind(
            Bootstrap.MUTUAL_SSL,
            "mutual-tlsnego",
            "message",
            (WSHTTP, WS2007),
            _tls_client(Bootstrap.MUTUAL_SSL),
            _tls_service(Bootstrap.MUTUAL_SSL),
            TlsnegoPolicy(Bootstrap.MUTUAL_SSL, mutual=True),
            client_credentials=_TLS_TRUST | {"certificate"},
            needs=frozenset({"negotiation"}),
        ),
        BootstrapKind(
            Bootstrap.ISSUED_TOKEN,
            "issued-token",
            "message",
            (WSHTTP, WS2007),
            _it_client,
            _it_service,
            IssuedTokenPolicy(),
            aliases=("federation", "saml"),
            client_credentials=frozenset({"issued_token"}),
            needs=frozenset({"sts"}),
        ),
        BootstrapKind(
            Bootstrap.ISSUED_TOKEN_OVER_TRANSPORT,
            "issued-token-over-transport",
            "transport",
            (WSHTTP, WS2007),
            _itot_client,
            _itot_service,
            IssuedTokenOverTransportPolicy(),
            client_credentials=frozenset({"issued_token"}),
            needs=frozenset({"sts"}),
        ),
        BootstrapKind(
            Bootstrap.BEARER_TOKEN_OVER_TRANSPORT,
            "bearer-token-over-transport",
            "transport",
            (WSHTTP, WS2007),
            _btot_client,
            _btot_service,
            BearerTokenOverTransportPolicy(),
            aliases=("issued-bearer-token-over-transport",),
            client_credentials=frozenset({"issued_token"}),
            needs=frozenset({"sts", "bearer"}),
        ),
        BootstrapKind(
            Bootstrap.ISSUED_TOKEN_FOR_CERTIFICATE,
            "issued-token-for-certificate",
            "message",
            (WSHTTP, WS2007),
            _itfc_client,
            _itfc_service,
            IssuedTokenForCertificatePolicy(),
            client_credentials=frozenset({"service_certificate", "issued_token"}),
            needs=frozenset({"sts"}),
        ),
        BootstrapKind(
            Bootstrap.ISSUED_TOKEN_FOR_SSL,
            "issued-token-for-ssl",
            "message",
            (WSHTTP, WS2007),
            _itssl_client,
            _itssl_service,
            IssuedTokenForSslPolicy(),
            aliases=("issued-token-for-ssl-negotiated",),
            client_credentials=_TLS_TRUST | {"issued_token"},
            needs=frozenset({"sts", "negotiation"}),
        ),
    )
}
BOOTSTRAPS: Final[Mapping[Bootstrap, BootstrapKind]] = MappingProxyType(_KINDS)


def shapes() -> tuple[BootstrapShape, ...]:
    """The policy shape of every registered bootstrap (policy import recognises these)."""
    return tuple(k.shape for k in _KINDS.values())


def register_bootstrap(kind: BootstrapKind) -> None:
    """Add a bootstrap (step 3 of the module docstring). Its key, command-line name and
    aliases must be new: a clash is a `ConfigurationError`, nothing is replaced."""
    if kind.key in _KINDS:
        raise ConfigurationError(f"a bootstrap {kind.key.value} is already registered")
    taken = {_folded(n) for k in _KINDS.values() for n in (k.key.value, k.cli_name, *k.aliases)}
    clash = sorted(n for n in (kind.key.value, kind.cli_name, *kind.aliases) if _folded(n) in taken)
    if clash:
        raise ConfigurationError(f"the bootstrap name(s) {', '.join(clash)} are taken")
    _KINDS[kind.key] = kind


def unregister_bootstrap(key: Bootstrap) -> BootstrapKind:
    """Remove a registered bootstrap (a test's, say); returns its entry."""
    try:
        return _KINDS.pop(key)
    except KeyError:
        raise ConfigurationError(f"no bootstrap {key.value} is registered") from None


def bootstrap_kind(key: Bootstrap) -> BootstrapKind:
    try:
        return BOOTSTRAPS[key]
    except KeyError:
        raise ConfigurationError(f"no bootstrap {key.value} is registered") from None


def username_over_tls() -> BootstrapKind:
    """The kind that signs in with a username over HTTPS: a security token service's own
    bootstrap (ADFS's ``usernamemixed`` endpoint; `wssc.service.sts`, `wssc.client.sts`)."""
    for kind in BOOTSTRAPS.values():
        if kind.security_mode == "transport" and kind.client_credentials == {"username", "password"}:
            return kind
    raise ConfigurationError("no bootstrap signs in with a username over HTTPS")


def username_encrypted_to_certificate() -> BootstrapKind:
    """The kind that signs in with a username encrypted to the service's certificate, without
    a negotiation and over plain HTTP allowed: a security token service's other bootstrap
    (Metro's STS sample; `wssc.client.sts` with ``sts_certificate``)."""
    for kind in BOOTSTRAPS.values():
        if (
            kind.security_mode == "message"
            and kind.client_credentials == {"username", "password", "service_certificate"}
            and not kind.needs
        ):
            return kind
    raise ConfigurationError("no bootstrap signs in with a username encrypted to a certificate")


def certificate_over_tls() -> BootstrapKind:
    """The kind that signs in with the client's certificate over HTTPS (the certificate
    endorses the Timestamp): a security token service's certificate sign-in (ADFS's
    ``certificatemixed`` endpoint; `wssc.service.sts`, `wssc.client.sts` with a client
    certificate)."""
    for kind in BOOTSTRAPS.values():
        if kind.security_mode == "transport" and kind.client_credentials == {"certificate"}:
            return kind
    raise ConfigurationError("no bootstrap signs in with a client certificate over HTTPS")


def _folded(name: str) -> str:
    return name.replace("-", "").replace("_", "").lower()


def parse_bootstrap(text: str) -> Bootstrap:
    """The registered bootstrap named ``text``: its WCF name, its ``cli_name`` or one of its
    aliases, ignoring case, ``-`` and ``_``. Raises ValueError naming the choices."""
    key = _folded(text)
    for kind in BOOTSTRAPS.values():
        if key in {_folded(n) for n in (kind.key.value, kind.cli_name, *kind.aliases)}:
            return kind.key
    raise ValueError(
        f"unknown bootstrap {printable(text, 80)!r}; choose one of: "
        + ", ".join(k.cli_name for k in BOOTSTRAPS.values())
    )


# --- policy export and import, with the registry's shapes --------------------------------------
def policy_for(
    settings: SecureConversationSettings, *, policy_id: str, wsp_ns: str = ns.WSP15
) -> etree._Element:
    """The endpoint policy WCF would publish (`wssc.policy.export.binding_policy_element`
    with this bootstrap's shape and mode)."""
    kind = bootstrap_kind(settings.bootstrap)
    return binding_policy_element(
        settings, policy_id=policy_id, wsp_ns=wsp_ns, bootstrap=kind.shape, mode=kind.security_mode
    )


def settings_from_policy(policy: etree._Element, *, resolve: Resolver | None = None) -> ImportedPolicy:
    """`wssc.policy.policy_import.import_policy`, recognising every kind."""
    return import_policy(policy, bootstraps=shapes(), resolve=resolve)


def settings_from_wsdl(wsdl: bytes | etree._Element, *, port: str | None = None) -> ImportedEndpoint:
    """`wssc.policy.wsdl_import.import_wsdl`, recognising every kind."""
    return import_wsdl(wsdl, bootstraps=shapes(), port=port)


def explain(endpoint: ImportedEndpoint) -> str:
    """`wssc.policy.explain.explain_endpoint` in this bootstrap's words."""
    kind = bootstrap_kind(endpoint.settings.bootstrap)
    return explain_endpoint(endpoint, kind.shape, kind.security_mode)


__all__ = [
    "BOOTSTRAPS",
    "BootstrapKind",
    "ClientCredentials",
    "Need",
    "ServiceCredentials",
    "bootstrap_kind",
    "certificate_over_tls",
    "explain",
    "parse_bootstrap",
    "policy_for",
    "register_bootstrap",
    "settings_from_policy",
    "settings_from_wsdl",
    "shapes",
    "unregister_bootstrap",
    "username_over_tls",
]
