"""Issue 14, item 7: a certificate presented in a ``wsse:BinarySecurityToken`` is validated
(`wssc.security.x509_validation`) before its key counts for anything.

The attacker adds a self-signed certificate of its own (a key it holds) to an otherwise valid
issue request. ``wssc serve`` trusts no CA for client certificates (nothing is configured), so
the request is refused with the generic fault, and the log names the validation mode and the
check. The same request without the token is accepted: the certificate alone made the
difference. (The cap on BinarySecurityTokens a header, which bounds the chain validations
when a validator trusts them, is tested in tests/core/test_rsa_signature.py.)
"""

from __future__ import annotations

import base64
import datetime
import time
from collections.abc import Callable

import pytest
from attack_kit import (
    assert_refused_by,
    log_mark,
    post,
    read_fault_bytes,
    security,
    serve_args,
    tostring,
    tree,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from servers import Server
from wssc.client import Client
from wssc.xml import ns

pytestmark = pytest.mark.e2e


def attacker_certificate() -> bytes:
    """A self-signed certificate, valid now, with a key the attacker holds (DER)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def with_tokens(request: bytes, der: bytes, count: int) -> bytes:
    """``request`` with ``count`` BinarySecurityTokens of ``der`` after its Timestamp."""
    root = tree(request)
    sec = security(root)
    for i in range(count):
        bst = etree.Element(f"{{{ns.WSSE}}}BinarySecurityToken")
        bst.set("ValueType", ns.WSS_X509V3)
        bst.set("EncodingType", ns.WSS_BASE64)
        bst.set(f"{{{ns.WSU}}}Id", f"attacker-{i}")
        bst.text = base64.b64encode(der).decode()
        sec.insert(1, bst)
    return tostring(root)


def test_a_certificate_no_one_trusts_is_refused(server: Callable[..., Server]) -> None:
    srv = server(*serve_args("wshttp", "session"))
    der = attacker_certificate()
    with Client.from_wsdl(srv.wsdl_url) as c:
        request = c.session.issue_request(time.time()).body
        mark = log_mark(srv)
        r = post(srv, with_tokens(request, der, 1))
        line = assert_refused_by(
            srv,
            r,
            "ChainTrust: the certificate 'CN=attacker' was refused: no trusted "
            "certification authority is configured",
            since=mark,
        )
        assert "InvalidSecurityToken" in line  # CertificateRejected's code, in the log only
        # the same request without the certificate is issued a session
        ok = post(srv, request)
        assert ok.status_code == 200 and read_fault_bytes(ok.content) is None
