"""The client's RST/Issue signed in with UserNameForCertificate (``StsExchange(sts_certificate=)``,
``wssc call --sts-cert``), as Metro's basic STS sample asks: the RST and its UsernameToken
encrypted under a key sent to the STS's certificate, so plain HTTP is allowed. The live
exchange with Metro's STS is in tests/interop/test_metro_issued_token.py."""

from __future__ import annotations

import pytest

from wssc.certs import Certificate
from wssc.client.sts import StsExchange, request_token
from wssc.errors import ConfigurationError

RP = "http://rp.test/svc"


def test_the_rst_is_encrypted_to_the_sts(sts_cert: Certificate) -> None:
    ex = StsExchange.new("http://sts.test/sts", RP, "alice", "s3cret-pw", sts_certificate=sts_cert)
    body, ctx = ex.prepare()
    assert b"EncryptedKey" in body
    assert b"s3cret-pw" not in body and b"alice" not in body  # the UsernameToken is encrypted
    assert b"RequestSecurityToken" not in body  # and so is the Body
    assert ctx.reply_keys  # the key the STS's reply is secured with


def test_over_transport_the_password_is_in_the_tls_protected_header(sts_cert: Certificate) -> None:
    body, _ = StsExchange.new("https://sts.test/sts", RP, "alice", "s3cret-pw").prepare()
    assert b"s3cret-pw" in body and b"EncryptedKey" not in body


def test_plain_http_needs_the_sts_certificate(sts_cert: Certificate) -> None:
    with pytest.raises(ConfigurationError, match="over HTTPS"):
        request_token(StsExchange.new("http://sts.test/sts", RP, "alice", "pw"))
