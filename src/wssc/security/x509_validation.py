"""X.509 certificate validation behind one seam: WCF's ``X509CertificateValidationMode``.

One `CertificateValidator` decides whether a certificate may be used, wherever a certificate
arrives: the service asks it about a client's certificate in a ``wsse:BinarySecurityToken``
(`wssc.security.processors`), the client about the service certificate it encrypts to (from
the WSDL identity or ``service_certificate=``). The modes are WCF's::

    None              no check at all (tests, or a deployment that checks elsewhere)
    PeerTrust         the certificate itself is in ``trusted_peers`` and within its validity
    ChainTrust        a chain to one of ``trusted_authorities`` (WCF's default), built and
                      checked by ``cryptography.x509.verification``: signatures, validity of
                      every certificate, CA constraints of the issuers, depth
    PeerOrChainTrust  either
    Custom            a callable: returns None or True to accept, False or raises to refuse

Key usage, in every mode but None: where the certificate has a KeyUsage extension, a
certificate that signs needs ``digitalSignature`` and one that is encrypted to needs
``keyEncipherment`` (the RSA key transport of an EncryptedKey).

Revocation: only ``X509RevocationMode.NoCheck`` (the sans-IO core fetches nothing; WCF's
default is Online). ``trusted_authorities``/``trusted_peers`` are the analogue of WCF's
``TrustedStoreLocation``: a CA bundle (file or directory of PEM files) and a list of
certificates, given explicitly; the machine's stores are never consulted.

A refusal is `wssc.errors.CertificateRejected`; its detail names the mode and why.
The work is bounded: one certificate, a chain of at most ``max_chain_depth`` built only from
the configured intermediates, and a validator with no trust anchor refuses before any work.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import (
    ClientVerifier,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from wssc.certs import Certificate
from wssc.errors import CertificateRejected, ConfigurationError
from wssc.logs import printable


class X509CertificateValidationMode(StrEnum):
    """WCF's ``X509CertificateValidationMode``; the values are WCF's names."""

    NONE = "None"
    PEER_TRUST = "PeerTrust"
    CHAIN_TRUST = "ChainTrust"
    PEER_OR_CHAIN_TRUST = "PeerOrChainTrust"
    CUSTOM = "Custom"


class X509RevocationMode(StrEnum):
    """WCF's ``X509RevocationMode``. Only ``NoCheck`` is implemented (no network, no CRLs);
    asking for another is a `ConfigurationError`, never a silent NoCheck."""

    NO_CHECK = "NoCheck"
    ONLINE = "Online"
    OFFLINE = "Offline"


class KeyPurpose(StrEnum):
    """What the certificate's key is used for here: the KeyUsage bit it needs."""

    SIGNATURE = "signature"  # digitalSignature
    ENCRYPTION = "encryption"  # keyEncipherment


#: A Custom validator (WCF's ``X509CertificateValidator.Validate``): None/True accepts,
#: False or an exception refuses.
CustomValidator = Callable[[x509.Certificate], object]

Mode = X509CertificateValidationMode
_ANY_CERT = Certificate | x509.Certificate


def _x509(c: _ANY_CERT) -> x509.Certificate:
    return c.cert if isinstance(c, Certificate) else c


def _der(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.DER)


def load_certificates(*paths: str | Path) -> tuple[x509.Certificate, ...]:
    """Every PEM certificate in ``paths``: files (a bundle may hold many) or directories
    (each ``*.pem``/``*.crt`` file in them). An unreadable file or one without a certificate
    is a `ConfigurationError` naming it."""
    out: list[x509.Certificate] = []
    for p in map(Path, paths):
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".pem", ".crt")) if p.is_dir() else [p]
        for f in files:
            try:
                out.extend(x509.load_pem_x509_certificates(f.read_bytes()))
            except (OSError, ValueError) as exc:
                raise ConfigurationError(f"cannot load certificates from {f}: {exc}") from None
    return tuple(out)


@dataclass(frozen=True)
class CertificateValidator:
    """Whether a certificate may be used (WCF's ``X509ServiceCertificateAuthentication`` /
    ``X509ClientCertificateAuthentication``). ``validate`` returns or raises
    `CertificateRejected`."""

    mode: X509CertificateValidationMode = Mode.CHAIN_TRUST
    #: Trust anchors for ChainTrust (WCF: the Trusted Root store): roots or CAs.
    trusted_authorities: tuple[x509.Certificate, ...] = ()
    #: Certificates trusted themselves, for PeerTrust (WCF: the TrustedPeople store).
    trusted_peers: tuple[x509.Certificate, ...] = ()
    #: Untrusted intermediate CAs that chain building may use.
    intermediates: tuple[x509.Certificate, ...] = ()
    custom: CustomValidator | None = None
    revocation_mode: X509RevocationMode = X509RevocationMode.NO_CHECK
    max_chain_depth: int = 8
    _peer_der: frozenset[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("trusted_authorities", "trusted_peers", "intermediates"):
            set_(self, name, tuple(_x509(c) for c in getattr(self, name)))
        set_(self, "mode", X509CertificateValidationMode(self.mode))
        set_(self, "revocation_mode", X509RevocationMode(self.revocation_mode))
        if self.revocation_mode is not X509RevocationMode.NO_CHECK:
            raise ConfigurationError(
                f"revocation mode {self.revocation_mode.value} is not supported (wssc checks "
                "no CRL or OCSP); use NoCheck"
            )
        if (self.mode is Mode.CUSTOM) != (self.custom is not None):
            raise ConfigurationError(
                "the Custom validation mode needs custom=callable, and custom= needs the Custom mode"
            )
        if not 1 <= self.max_chain_depth <= 16:
            raise ConfigurationError("max_chain_depth must be between 1 and 16")
        set_(self, "_peer_der", frozenset(_der(c) for c in self.trusted_peers))

    # --- construction shorthands ---------------------------------------------------------------
    @classmethod
    def chain_trust(
        cls, *authorities: _ANY_CERT | str | Path, intermediates: Iterable[_ANY_CERT] = ()
    ) -> CertificateValidator:
        """ChainTrust to ``authorities``: certificates, or CA bundle files/directories."""
        return cls(
            Mode.CHAIN_TRUST,
            trusted_authorities=_certs(authorities),
            intermediates=tuple(_x509(c) for c in intermediates),
        )

    @classmethod
    def peer_trust(cls, *peers: _ANY_CERT | str | Path) -> CertificateValidator:
        """PeerTrust: exactly these certificates (objects or PEM files) are trusted."""
        return cls(Mode.PEER_TRUST, trusted_peers=_certs(peers))

    @classmethod
    def none(cls) -> CertificateValidator:
        """No validation at all (WCF's ``None``): only where another layer decides."""
        return cls(Mode.NONE)

    @classmethod
    def custom_check(cls, check: CustomValidator) -> CertificateValidator:
        return cls(Mode.CUSTOM, custom=check)

    # --- the check ------------------------------------------------------------------------
    def validate(self, certificate: _ANY_CERT, purpose: KeyPurpose, *, now: float | None = None) -> None:
        """Accept ``certificate`` for ``purpose`` at ``now`` (default: the clock), or raise
        `CertificateRejected` naming the mode and the reason."""
        cert = _x509(certificate)
        if self.mode is Mode.NONE:
            return
        when = datetime.datetime.fromtimestamp(time.time() if now is None else now, datetime.UTC)
        why = self._key_usage(cert, purpose) or self._trust(cert, when)
        if why is not None:
            raise CertificateRejected(
                f"{self.mode.value}: the certificate "
                f"{printable(cert.subject.rfc4514_string(), 200)!r} was refused: {why}"
            )

    def _trust(self, cert: x509.Certificate, when: datetime.datetime) -> str | None:
        """Why the mode refuses ``cert``, or None."""
        mode = self.mode
        if mode is Mode.CUSTOM:
            return self._custom(cert)
        if mode is Mode.PEER_TRUST:
            return self._peer(cert, when)
        if mode is Mode.CHAIN_TRUST:
            return self._chain(cert, when)
        # PeerOrChainTrust: peer first (cheap), then the chain
        if _der(cert) in self._peer_der:
            return self._peer(cert, when)
        why = self._chain(cert, when)
        return None if why is None else f"it is not a trusted peer, and {why}"

    @staticmethod
    def _key_usage(cert: x509.Certificate, purpose: KeyPurpose) -> str | None:
        try:
            ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            return None
        except ValueError as exc:  # a malformed extension
            return f"its extensions cannot be read ({printable(exc, 200)})"
        if purpose is KeyPurpose.SIGNATURE and not ku.digital_signature:
            return "its KeyUsage does not allow digitalSignature (it cannot sign)"
        if purpose is KeyPurpose.ENCRYPTION and not ku.key_encipherment:
            return "its KeyUsage does not allow keyEncipherment (keys cannot be encrypted to it)"
        return None

    @staticmethod
    def _validity(cert: x509.Certificate, when: datetime.datetime) -> str | None:
        if when < cert.not_valid_before_utc:
            return f"it is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S}Z"
        if when > cert.not_valid_after_utc:
            return f"it expired at {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S}Z"
        return None

    def _peer(self, cert: x509.Certificate, when: datetime.datetime) -> str | None:
        if _der(cert) not in self._peer_der:
            return "it is not among the trusted peer certificates"
        return self._validity(cert, when)

    def _chain(self, cert: x509.Certificate, when: datetime.datetime) -> str | None:
        if not self.trusted_authorities:
            return "no trusted certification authority is configured"
        try:
            self._verifier(when).verify(cert, list(self.intermediates))
        except VerificationError as exc:
            return f"no valid chain to a trusted authority ({printable(exc, 300)})"
        return None

    def _verifier(self, when: datetime.datetime) -> ClientVerifier:
        # WCF's ChainTrust is the platform's chain engine, which does not require the Web
        # PKI's leaf extensions (subjectAltName, authorityKeyIdentifier, serverAuth):
        # issuers are held to the Web PKI's CA rules, the leaf only to its signature and
        # validity (and to the KeyUsage check above).
        return (
            PolicyBuilder()
            .store(Store(list(self.trusted_authorities)))
            .time(when)
            .max_chain_depth(self.max_chain_depth)
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all()
            )
            .build_client_verifier()
        )

    def _custom(self, cert: x509.Certificate) -> str | None:
        assert self.custom is not None
        try:
            verdict = self.custom(cert)
        except Exception as exc:  # any exception of the user's code refuses
            return f"the custom validator refused it ({type(exc).__name__}: {printable(exc, 200)})"
        if verdict is not None and verdict is not True:
            return f"the custom validator returned {printable(verdict, 40)}"
        return None


def _certs(items: Iterable[_ANY_CERT | str | Path]) -> tuple[x509.Certificate, ...]:
    out: list[x509.Certificate] = []
    for item in items:
        if isinstance(item, (str, Path)):
            out.extend(load_certificates(item))
        else:
            out.append(_x509(item))
    return tuple(out)


#: What a service does with a certificate in a BinarySecurityToken when nothing is configured:
#: ChainTrust (WCF's default) with no trusted authority, so every certificate is refused
#: until a deployment says which CAs or peers it trusts (fail closed).
REFUSE_ALL: CertificateValidator = CertificateValidator()


__all__ = [
    "REFUSE_ALL",
    "CertificateValidator",
    "CustomValidator",
    "KeyPurpose",
    "X509CertificateValidationMode",
    "X509RevocationMode",
    "load_certificates",
]
