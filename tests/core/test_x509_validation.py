"""WCF's certificate validation modes (`wssc.security.x509_validation`), against a real
hierarchy made in the test (root -> intermediate -> leaves, `pki`): each mode accepts what it
should and refuses, naming the mode and why, what it should not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from wssc.errors import CertificateRejected, ConfigurationError, SecurityVerificationFailed, on_the_wire
from wssc.security.x509_validation import (
    REFUSE_ALL,
    CertificateValidator,
    KeyPurpose,
    X509CertificateValidationMode,
    X509RevocationMode,
    load_certificates,
)

from .helpers import T0
from .pki import AT, DAY, ENCRYPT_ONLY, SIGN_ONLY, issue, new_pki

PKI = new_pki("Test")
OTHER = new_pki("Other")  # a hierarchy nobody trusts
LEAF = PKI.leaf()
SIGN = KeyPurpose.SIGNATURE
ENCRYPT = KeyPurpose.ENCRYPTION
CHAIN = CertificateValidator.chain_trust(PKI.root.cert, intermediates=[PKI.intermediate.cert])


def refused(
    validator: CertificateValidator,
    cert: x509.Certificate,
    why: str,
    purpose: KeyPurpose = SIGN,
    now: float = T0,
) -> CertificateRejected:
    """The validator refuses ``cert``; the reason names the mode and matches ``why``."""
    with pytest.raises(CertificateRejected) as info:
        validator.validate(cert, purpose, now=now)
    err = info.value
    assert err.detail is not None and err.detail.startswith(f"{validator.mode.value}: ")
    assert re.search(why, err.detail), err.detail
    # a service sends only the generic fault; the reason stays in its log
    assert isinstance(on_the_wire(err), SecurityVerificationFailed)
    return err


# --- ChainTrust --------------------------------------------------------------------------------
def test_chain_trust_accepts_a_leaf_issued_under_a_trusted_root() -> None:
    for purpose in KeyPurpose:
        CHAIN.validate(LEAF.cert, purpose, now=T0)
    CHAIN.validate(LEAF.certificate, SIGN, now=T0)  # wssc's Certificate as well


def test_chain_trust_needs_the_intermediate_or_an_anchor_for_it() -> None:
    refused(CertificateValidator.chain_trust(PKI.root.cert), LEAF.cert, "no valid chain")
    # an intermediate may itself be the trust anchor
    CertificateValidator.chain_trust(PKI.intermediate.cert).validate(LEAF.cert, SIGN, now=T0)


def test_chain_trust_refuses_an_untrusted_root() -> None:
    refused(CHAIN, OTHER.leaf().cert, "no valid chain to a trusted authority")


def test_chain_trust_refuses_a_self_signed_certificate() -> None:
    refused(CHAIN, issue("self-signed", None).cert, "no valid chain")


def test_chain_trust_refuses_an_expired_or_not_yet_valid_leaf() -> None:
    expired = PKI.leaf(not_before=AT - 30 * DAY, not_after=AT - DAY)
    refused(CHAIN, expired.cert, "no valid chain")
    early = PKI.leaf(not_before=AT + DAY, not_after=AT + 30 * DAY)
    refused(CHAIN, early.cert, "no valid chain")
    # the same leaf is fine once its time has come: the clock is the validator's input
    CHAIN.validate(early.cert, SIGN, now=T0 + 2 * 86400)


def test_chain_trust_with_no_authority_refuses_everything() -> None:
    assert REFUSE_ALL.mode is X509CertificateValidationMode.CHAIN_TRUST
    refused(REFUSE_ALL, LEAF.cert, "no trusted certification authority is configured")
    refused(REFUSE_ALL, PKI.root.cert, "no trusted certification authority is configured")


def test_chain_trust_reads_a_ca_bundle_file_and_directory(tmp_path: Path) -> None:
    pem = serialization.Encoding.PEM
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(PKI.root.cert.public_bytes(pem) + PKI.intermediate.cert.public_bytes(pem))
    CertificateValidator.chain_trust(bundle).validate(LEAF.cert, SIGN, now=T0)
    folder = tmp_path / "cas"
    folder.mkdir()
    (folder / "inter.crt").write_bytes(PKI.intermediate.cert.public_bytes(pem))
    (folder / "notes.txt").write_text("not a certificate")  # not read
    assert load_certificates(folder) == (PKI.intermediate.cert,)
    CertificateValidator.chain_trust(folder).validate(LEAF.cert, SIGN, now=T0)
    (tmp_path / "bad.pem").write_text("garbage")
    with pytest.raises(ConfigurationError, match=r"bad\.pem"):
        CertificateValidator.chain_trust(tmp_path / "bad.pem")


# --- key usage (every mode but None) ---------------------------------------------------------
def test_key_usage_is_checked_where_the_extension_is_present() -> None:
    sign_only = PKI.leaf(key_usage=SIGN_ONLY)
    encrypt_only = PKI.leaf(key_usage=ENCRYPT_ONLY)
    no_usage = PKI.leaf(key_usage=None)
    CHAIN.validate(sign_only.cert, SIGN, now=T0)
    refused(CHAIN, sign_only.cert, "does not allow keyEncipherment", ENCRYPT)
    CHAIN.validate(encrypt_only.cert, ENCRYPT, now=T0)
    refused(CHAIN, encrypt_only.cert, "does not allow digitalSignature", SIGN)
    for purpose in KeyPurpose:  # no KeyUsage extension: any use
        CHAIN.validate(no_usage.cert, purpose, now=T0)
    peer = CertificateValidator.peer_trust(sign_only.cert)
    refused(peer, sign_only.cert, "does not allow keyEncipherment", ENCRYPT)


# --- PeerTrust ---------------------------------------------------------------------------------
def test_peer_trust_accepts_exactly_the_listed_certificates(tmp_path: Path) -> None:
    self_signed = issue("pinned", None)
    peer = CertificateValidator.peer_trust(self_signed.certificate)
    peer.validate(self_signed.cert, ENCRYPT, now=T0)  # no chain needed
    refused(peer, LEAF.cert, "not among the trusted peer certificates")
    # the same name and key usage, another key: not the listed certificate
    refused(peer, issue("pinned", None).cert, "not among the trusted peer certificates")
    path = tmp_path / "peer.pem"
    path.write_bytes(self_signed.cert.public_bytes(serialization.Encoding.PEM))
    CertificateValidator.peer_trust(path).validate(self_signed.cert, SIGN, now=T0)


def test_peer_trust_still_checks_validity() -> None:
    old = issue("old", None, not_before=AT - 60 * DAY, not_after=AT - DAY)
    refused(CertificateValidator.peer_trust(old.cert), old.cert, "it expired at")
    early = issue("early", None, not_before=AT + DAY, not_after=AT + 60 * DAY)
    refused(CertificateValidator.peer_trust(early.cert), early.cert, "not valid before")


# --- PeerOrChainTrust ----------------------------------------------------------------------------
def test_peer_or_chain_trust_accepts_either_and_refuses_neither() -> None:
    pinned = issue("pinned", None)
    either = CertificateValidator(
        X509CertificateValidationMode.PEER_OR_CHAIN_TRUST,
        trusted_authorities=(PKI.root.cert,),
        trusted_peers=(pinned.cert,),
        intermediates=(PKI.intermediate.cert,),
    )
    either.validate(pinned.cert, SIGN, now=T0)
    either.validate(LEAF.cert, SIGN, now=T0)
    refused(either, OTHER.leaf().cert, "not a trusted peer, and no valid chain")


# --- None and Custom -----------------------------------------------------------------------------
def test_none_accepts_anything() -> None:
    expired = issue("x", None, not_after=AT - DAY, key_usage=ENCRYPT_ONLY)
    CertificateValidator.none().validate(expired.cert, SIGN, now=T0)


def test_a_custom_validator_decides() -> None:
    seen: list[x509.Certificate] = []

    def by_name(cert: x509.Certificate) -> bool:
        seen.append(cert)
        return "service.example" in cert.subject.rfc4514_string()

    custom = CertificateValidator.custom_check(by_name)
    custom.validate(LEAF.cert, SIGN, now=T0)
    assert seen == [LEAF.cert]
    refused(custom, OTHER.root.cert, "the custom validator returned False")

    def raises(cert: x509.Certificate) -> None:
        raise PermissionError("not on the list\nforged log line")

    err = refused(
        CertificateValidator.custom_check(raises), LEAF.cert, "refused it .PermissionError: not on the list"
    )
    assert "\n" not in (err.detail or "")  # the reason is escaped for the log
    CertificateValidator.custom_check(lambda cert: None).validate(LEAF.cert, SIGN, now=T0)
    # the custom validator does not lift the key usage check
    refused(
        CertificateValidator.custom_check(lambda cert: True),
        PKI.leaf(key_usage=SIGN_ONLY).cert,
        "keyEncipherment",
        ENCRYPT,
    )


def test_configuration_mistakes_are_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="Custom validation mode needs"):
        CertificateValidator(X509CertificateValidationMode.CUSTOM)
    with pytest.raises(ConfigurationError, match="Custom validation mode needs"):
        CertificateValidator(custom=lambda cert: True)
    for mode in (X509RevocationMode.ONLINE, X509RevocationMode.OFFLINE):
        with pytest.raises(ConfigurationError, match=r"revocation mode .* is not supported"):
            CertificateValidator(revocation_mode=mode)
    assert CertificateValidator().revocation_mode is X509RevocationMode.NO_CHECK
    # WCF's names are accepted as values
    assert CertificateValidator("PeerTrust").mode is X509CertificateValidationMode.PEER_TRUST
