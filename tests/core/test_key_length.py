"""The minimum signing-key length (16 bytes), at its boundary, through ``verify``.

Each pair of messages differs only in the length of the key that signs it: 15 bytes is
refused, 16 accepted. A shorter HMAC key would let a forger search the key space (a 1-byte
key is 256 tries). Covered: a derived key (its DKT ``Length``), an SCT key used directly
(no derived keys), and an EncryptedKey unwrapped by the service (the bootstrap).
"""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.bootstrap.anonymous_for_certificate import build_encrypted_key
from wssc.certs import generate_self_signed
from wssc.errors import FailedCheck
from wssc.security import MessagePolicy, protect, verify
from wssc.security.tokens import EncryptedKeyProtection, SctProtection
from wssc.xml import ns
from wssc.xml.soap import SOAP_12

from .helpers import SCT_ID, T0, dkts, plain_envelope, resign, sct

# Signed, not encrypted: the signature stays in the clear so the test can re-sign it. The
# absolute floor holds whatever the suite: with strict_algorithms=False (the debugging
# verifier) a key of 15 bytes is still refused. The suite's own lengths: see the end.
SIGNED = MessagePolicy(
    encrypt_body=False, encrypt_signature=False, require_encrypted_body=None, strict_algorithms=False
)
CERT = generate_self_signed()


def _derived_key_message(length: int) -> bytes:
    secret = bytes(range(1, 33))
    root = protect(plain_envelope(SOAP_12), SctProtection(sct(), secret), SIGNED, now=T0)
    (dk,) = dkts(root)  # the signature's DKT (nothing is encrypted)
    sc_ns = etree.QName(dk).namespace
    old = dk.find(f"{{{sc_ns}}}Length")
    if old is not None:
        dk.remove(old)
    # Length goes before Nonce in WCF's order, after Offset/Generation
    nonce = dk.find(f"{{{sc_ns}}}Nonce")
    assert nonce is not None
    el = etree.Element(f"{{{sc_ns}}}Length")
    el.text = str(length)
    nonce.addprevious(el)
    resign(root, secret)
    return etree.tostring(root)


@pytest.mark.parametrize(("length", "accepted"), [(15, False), (16, True), (32, True)])
def test_derived_signing_key_boundary(length: int, accepted: bool) -> None:
    data = _derived_key_message(length)
    resolve = lambda tok, sc: bytes(range(1, 33)) if tok.identifier == SCT_ID else None  # noqa: E731
    if accepted:
        assert verify(data, resolver=resolve, policy=SIGNED, now=T0).body_signed
    else:
        with pytest.raises(FailedCheck, match="the signature key is too short"):
            verify(data, resolver=resolve, policy=SIGNED, now=T0)


@pytest.mark.parametrize(("length", "accepted"), [(15, False), (16, True)])
def test_direct_sct_key_boundary(length: int, accepted: bool) -> None:
    """No derived keys: the SCT's own key signs, and it must be 16 bytes or more."""
    policy = MessagePolicy(
        derived_keys=False,
        encrypt_body=False,
        encrypt_signature=False,
        require_encrypted_body=None,
        enforce_derived_keys=False,
        strict_algorithms=False,
    )
    secret = bytes(range(1, length + 1))
    root = protect(plain_envelope(SOAP_12), SctProtection(sct(), secret), policy, now=T0)
    data = etree.tostring(root)
    resolve = lambda tok, sc: secret if tok.identifier == SCT_ID else None  # noqa: E731
    if accepted:
        assert verify(data, resolver=resolve, policy=policy, now=T0).body_signed
    else:
        with pytest.raises(FailedCheck, match="the signature key is too short"):
            verify(data, resolver=resolve, policy=policy, now=T0)


@pytest.mark.parametrize(("length", "accepted"), [(15, False), (16, True)])
def test_encrypted_key_boundary(length: int, accepted: bool) -> None:
    """The bootstrap's ephemeral key, unwrapped by the service: 15 bytes are refused. (The
    Signature is left in the clear, so that the refusal is the key length check's own, not
    the encrypted Signature failing to decrypt under the random key that replaces it.)"""
    policy = MessagePolicy(strict_algorithms=False, encrypt_signature=False)
    key = bytes(range(1, length + 1))
    ek = build_encrypted_key(CERT, key, ns.RSA_OAEP_MGF1P)
    root = protect(plain_envelope(SOAP_12), EncryptedKeyProtection(ek, key), policy, now=T0)
    data = etree.tostring(root)
    kw = {"policy": policy, "now": T0, "private_key": CERT.key, "private_key_thumbprint": CERT.thumbprint_b64}
    if accepted:
        result = verify(data, **kw)
        assert result.signing_kind == "ek" and result.body_encrypted
    else:
        with pytest.raises(FailedCheck, match="the encrypted key has an unacceptable length"):
            verify(data, **kw)


@pytest.mark.parametrize(("length", "accepted"), [(23, False), (24, True)])
def test_a_service_takes_the_suites_signature_key_length(length: int, accepted: bool) -> None:
    """An endpoint takes exactly its suite's key lengths (no downgrade): Basic256 signs with
    24-byte derived keys, so 23 is refused even though it is above the 16-byte floor."""
    from dataclasses import replace

    strict = replace(SIGNED, strict_algorithms=True)
    data = _derived_key_message(length)
    resolve = lambda tok, sc: bytes(range(1, 33)) if tok.identifier == SCT_ID else None  # noqa: E731
    if accepted:
        assert verify(data, resolver=resolve, policy=strict, now=T0).body_signed
    else:
        with pytest.raises(FailedCheck, match="the signature key length does not fit the suite"):
            verify(data, resolver=resolve, policy=strict, now=T0)
