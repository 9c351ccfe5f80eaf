"""A real certification hierarchy for the certificate-validation tests, made with
``cryptography``: a root, an intermediate and leaves, with explicit validity windows and key
usages, so that a test states exactly what it is about.

    root CA (self-signed, keyCertSign)
      └── intermediate CA (keyCertSign, AKI -> root)
            └── leaf (digitalSignature + keyEncipherment unless told otherwise)
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from wssc.certs import Certificate

from .helpers import T0

#: T0 (the core tests' fixed clock) as a datetime.
AT = datetime.datetime.fromtimestamp(T0, datetime.UTC)
DAY = datetime.timedelta(days=1)

SIGN_AND_ENCRYPT = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
SIGN_ONLY = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
ENCRYPT_ONLY = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def certificate(self) -> Certificate:
        """As wssc's `Certificate`, with its private key."""
        return Certificate(self.cert, self.key)

    @property
    def public(self) -> Certificate:
        """As wssc's `Certificate`, without its private key (what a peer holds)."""
        return Certificate(self.cert)


def issue(
    cn: str,
    issuer: Issued | None,
    *,
    ca: bool = False,
    not_before: datetime.datetime = AT - 30 * DAY,
    not_after: datetime.datetime = AT + 30 * DAY,
    key_usage: x509.KeyUsage | None = SIGN_AND_ENCRYPT,
) -> Issued:
    """A certificate for ``cn`` issued by ``issuer`` (self-signed when None)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    usage = CA_USAGE if ca else key_usage
    if usage is not None:
        b = b.add_extension(usage, critical=True)
    cert = b.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(cert, key)


@dataclass(frozen=True)
class Pki:
    root: Issued
    intermediate: Issued
    at: datetime.datetime

    def leaf(
        self,
        cn: str = "service.example",
        *,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        key_usage: x509.KeyUsage | None = SIGN_AND_ENCRYPT,
    ) -> Issued:
        """A leaf issued by the intermediate, valid 30 days either side of ``at``."""
        return issue(
            cn,
            self.intermediate,
            key_usage=key_usage,
            not_before=not_before or self.at - 30 * DAY,
            not_after=not_after or self.at + 30 * DAY,
        )


def new_pki(name: str = "Test", at: datetime.datetime = AT) -> Pki:
    """A root and an intermediate valid from a year before ``at`` to ten years after."""
    root = issue(f"{name} Root CA", None, ca=True, not_before=at - 365 * DAY, not_after=at + 3650 * DAY)
    inter = issue(f"{name} Issuing CA", root, ca=True, not_before=at - 365 * DAY, not_after=at + 3650 * DAY)
    return Pki(root, inter, at)
