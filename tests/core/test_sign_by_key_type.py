"""Outbound signs by key type (issue 14): HMAC for a symmetric key, RSA (the suite's
asymmetric signature) for an RSA private key; inbound checks by the key type it resolves.
Supporting tokens are signed and encrypted where the MessagePolicy says, and inbound demands it.

The RSA path is checked with `cryptography` directly (the WSS4J peer harness secures and
verifies SCT/HMAC messages only), and round-trips through `verify`."""

from __future__ import annotations

import base64
from dataclasses import replace
from functools import partial

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from wssc.certs import generate_self_signed
from wssc.crypto import BASIC256, BASIC256SHA256, rsa_sign
from wssc.crypto.suites import AlgorithmSuite
from wssc.errors import FailedCheck, InvalidSecurity
from wssc.security import MessagePolicy, SctProtection, protect
from wssc.security import verify as _verify
from wssc.security.tokens import X509Protection
from wssc.security.x509_validation import CertificateValidator
from wssc.tokens import SecurityContextToken
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.soap import SOAP_12

from .helpers import DS, T0, WSSE, XENC, plain_envelope, security

CERT = generate_self_signed("client.example")
#: The receiver trusts the sender's certificate as a peer (a BinarySecurityToken's certificate
#: must pass a validator: by default none is trusted).
verify = partial(_verify, certificate_validator=CertificateValidator.peer_trust(CERT))
X509 = X509Protection(CERT.cert, CERT.key)
SCT = SecurityContextToken("urn:uuid:cccccccc-0000-4000-8000-000000000003")
SECRET = bytes(range(7, 39))
#: An X.509 primary token: signed, not encrypted, no derived keys (nothing to derive from).
ASYM = MessagePolicy(derived_keys=False, encrypt_body=False, encrypt_signature=False)


def resolve(tok: SecurityContextToken, sc: ns.ScVersion) -> bytes | None:
    return SECRET if tok.identifier == SCT.identifier else None


@pytest.mark.parametrize(
    ("suite", "hash_"),
    [(BASIC256, hashes.SHA1()), (BASIC256SHA256, hashes.SHA256())],
    ids=["rsa-sha1", "rsa-sha256"],
)
def test_an_rsa_key_signs_with_the_suites_asymmetric_signature(
    suite: AlgorithmSuite, hash_: hashes.HashAlgorithm
) -> None:
    policy = replace(ASYM, suite=suite)
    root = protect(plain_envelope(SOAP_12), X509, policy, now=T0)
    sig = security(root).find(f"{DS}Signature")
    assert sig is not None
    si = sig.find(f"{DS}SignedInfo")
    assert si is not None
    method = si.find(f"{DS}SignatureMethod")
    assert method is not None and method.get("Algorithm") == suite.asymmetric_signature
    value = base64.b64decode(sig.findtext(f"{DS}SignatureValue") or "")
    # Checked with cryptography itself (raises InvalidSignature if not).
    CERT.cert.public_key().verify(value, exc_c14n(si), padding.PKCS1v15(), hash_)
    bst = security(root).find(f"{WSSE}BinarySecurityToken")
    assert bst is not None and bst.get("ValueType") == ns.WSS_X509V3
    r = verify(etree.tostring(root), policy=policy, now=T0)
    assert r.body_signed and r.signing_kind == "x509" and r.signing_key is None


def test_rsa_sign_is_pkcs1_v15() -> None:
    data = b"<ds:SignedInfo/>"
    assert rsa_sign(ns.RSA_SHA256, CERT.key, data) == CERT.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def test_an_rsa_signed_body_changed_after_signing_fails() -> None:
    root = protect(plain_envelope(SOAP_12, "hello"), X509, ASYM, now=T0)
    text = next(e for e in root.iter("{urn:test}Text"))
    text.text = "HELLO"
    with pytest.raises(FailedCheck, match="a digest did not match"):
        verify(etree.tostring(root), policy=ASYM, now=T0)


def test_an_x509_token_does_not_encrypt() -> None:
    with pytest.raises(ValueError, match="cannot encrypt"):
        protect(plain_envelope(SOAP_12), X509, MessagePolicy(derived_keys=False), now=T0)


def test_an_x509_token_endorses_where_the_policy_names_it() -> None:
    sent = MessagePolicy()
    root = protect(plain_envelope(SOAP_12), SctProtection(SCT, SECRET), sent, now=T0, endorsing=X509)
    wire = etree.tostring(root)
    received = replace(sent, require_endorsing_signature=True)
    x509_ok = replace(received, endorsing_tokens=frozenset({ns.WSS_X509V3}))
    r = verify(wire, resolver=resolve, policy=x509_ok, now=T0)
    assert r.signing_sct is not None and r.signing_sct.identifier == SCT.identifier
    with pytest.raises(InvalidSecurity, match="the endorsing signature is not made with"):
        verify(wire, resolver=resolve, policy=received, now=T0)


# --- supporting tokens ----------------------------------------------------------------------
def username_token() -> etree._Element:
    ut = etree.Element(f"{WSSE}UsernameToken", nsmap={"o": ns.WSSE})
    etree.SubElement(ut, f"{WSSE}Username").text = "alice"
    return ut


def with_ut(policy: MessagePolicy) -> bytes:
    root = protect(
        plain_envelope(SOAP_12), SctProtection(SCT, SECRET), policy, now=T0, supporting=[username_token()]
    )
    return etree.tostring(root)


STRICT = MessagePolicy(require_signed_supporting=True, require_encrypted_supporting=True)
BOTH = replace(MessagePolicy(), sign_supporting_tokens=True, encrypt_supporting_tokens=True)


def test_a_username_token_is_signed_and_encrypted_where_the_policy_says() -> None:
    wire = with_ut(BOTH)
    assert b"alice" not in wire
    sec = security(etree.fromstring(wire))
    assert sec.find(f"{WSSE}UsernameToken") is None
    assert len(sec.findall(f"{XENC}EncryptedData")) == 2  # the UsernameToken, the Signature
    r = verify(wire, resolver=resolve, policy=STRICT, now=T0)
    ut = r.username_token
    assert ut is not None and ut.findtext(f"{WSSE}Username") == "alice"
    assert any(e is ut for e in r.signed) and any(e is ut for _, e in r.encrypted)


def test_an_encrypted_username_token_alone_can_be_the_rule() -> None:
    wire = with_ut(replace(MessagePolicy(), encrypt_supporting_tokens=True))
    r = verify(wire, resolver=resolve, policy=replace(STRICT, require_signed_supporting=False), now=T0)
    assert r.username_token is not None


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (MessagePolicy(), "the supporting token UsernameToken is not signed"),
        (
            replace(MessagePolicy(), encrypt_supporting_tokens=True),
            "the supporting token UsernameToken is not signed",
        ),
        (
            replace(MessagePolicy(), sign_supporting_tokens=True),
            "the supporting token UsernameToken is not encrypted",
        ),
    ],
    ids=["plain", "encrypted-only", "signed-only"],
)
def test_a_username_token_the_policy_protects_must_arrive_protected(sent: MessagePolicy, reason: str) -> None:
    with pytest.raises(InvalidSecurity, match=reason):
        verify(with_ut(sent), resolver=resolve, policy=STRICT, now=T0)
    verify(with_ut(sent), resolver=resolve, policy=MessagePolicy(), now=T0)  # not demanded
