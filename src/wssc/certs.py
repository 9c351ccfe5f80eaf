"""X.509 helpers: a development certificate, loading PEM files, thumbprints.

``wssc serve`` generates a self-signed RSA-2048 certificate for ``localhost`` on first run
(in ``~/.wssc/`` or ``--cert-dir``); it is for loopback demos only.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from wssc.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate, and its private key when this side holds it (checked to match)."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey | None = None

    def __post_init__(self) -> None:
        if self.key is not None:
            check_key_matches(
                self.cert, self.key, f"the private key does not belong to the certificate {self.subject}"
            )

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        pk = self.cert.public_key()
        if not isinstance(pk, rsa.RSAPublicKey):
            raise ConfigurationError("only RSA certificates are supported")
        return pk

    @property
    def thumbprint_sha1(self) -> bytes:
        return hashlib.sha1(self.der).digest()

    @property
    def thumbprint_b64(self) -> str:
        return base64.b64encode(self.thumbprint_sha1).decode("ascii")

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()

    def __repr__(self) -> str:
        return f"Certificate({self.subject!r}, private_key={'yes' if self.key else 'no'})"


def generate_self_signed(common_name: str = "localhost", days: int = 365) -> Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(common_name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return Certificate(cert, key)


def save(c: Certificate, cert_path: Path, key_path: Path) -> None:
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(c.cert.public_bytes(serialization.Encoding.PEM))
    if c.key is not None:
        data = c.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


def load(cert_path: str | Path, key_path: str | Path | None = None) -> Certificate:
    """A PEM certificate, and its RSA private key for a service (`wssc.load_certificate`).
    An unreadable file or key raises `ConfigurationError` naming the file."""
    try:
        cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load certificate {cert_path}: {exc}") from None
    key = None
    if key_path is not None:
        try:
            k = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigurationError(f"cannot load private key {key_path}: {exc}") from None
        if not isinstance(k, rsa.RSAPrivateKey):
            raise ConfigurationError("only RSA private keys are supported")
        key = k
        check_key_matches(
            cert, key, f"the private key {key_path} does not belong to the certificate {cert_path}"
        )
    return Certificate(cert, key)


def check_key_matches(cert: x509.Certificate, key: rsa.RSAPrivateKey, message: str) -> None:
    """Refuse a private key whose public half is not the certificate's public key.

    Loaded as a pair, such a key would make every session fail later with the one generic
    fault (the peers encrypt to the certificate; nothing here could decrypt): refused at load,
    with ``message`` (which names the files and the fix)."""
    pub = cert.public_key()
    if not isinstance(pub, rsa.RSAPublicKey) or pub.public_numbers() != key.public_key().public_numbers():
        raise ConfigurationError(
            f"{message}: their public keys differ; give the key the certificate was issued for"
        )


def from_der(der: bytes) -> Certificate:
    try:
        return Certificate(x509.load_der_x509_certificate(der))
    except ValueError as exc:
        raise ConfigurationError(f"invalid certificate: {exc}") from None


def dev_certificate(directory: Path) -> tuple[Certificate, Path, Path]:
    """Load ``directory/dev-cert.pem`` + ``dev-key.pem``, creating them on first use (a key
    that does not belong to the certificate is refused: `ConfigurationError`)."""
    cert_path, key_path = directory / "dev-cert.pem", directory / "dev-key.pem"
    if not cert_path.exists() or not key_path.exists():
        save(generate_self_signed(), cert_path, key_path)
    return load(cert_path, key_path), cert_path, key_path
