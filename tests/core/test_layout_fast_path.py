"""The checked fast paths for WCF's layout of ds:Signature, ds:SignedInfo, xenc:EncryptedData
and ds:KeyInfo (`wssc.security.layout`, issue 19).

Each reader answers only for the exact child sequence WCF writes and steps aside (None) for
any departure; verify then takes the general path (find/findall/only), with its answer or its
error. ``wssc.tokens.paths.PATHS`` says which path ran.
"""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.errors import InvalidSecurity
from wssc.security.layout import (
    encrypted_data_parts,
    key_info_str,
    signature_parts,
    signed_info_parts,
)
from wssc.tokens.paths import PATHS
from wssc.xml import ns

from .helpers import body_of, message, ok, reject, security, tree

DS, XENC, WSSE = f"{{{ns.DS}}}", f"{{{ns.XENC}}}", f"{{{ns.WSSE}}}"


def make(tag: str, *children: str | etree._Element) -> etree._Element:
    el = etree.Element(tag)
    for c in children:
        el.append(c if isinstance(c, etree._Element) else etree.Element(c))
    return el


def sig(*tags: str) -> etree._Element:
    return make(f"{DS}Signature", *tags)


def ed(*children: str | etree._Element) -> etree._Element:
    return make(f"{XENC}EncryptedData", *children)


def cd(*tags: str) -> etree._Element:
    return make(f"{XENC}CipherData", *tags)


SIG_IN_FORM = sig(f"{DS}SignedInfo", f"{DS}SignatureValue", f"{DS}KeyInfo")
SI_IN_FORM = make(f"{DS}SignedInfo", f"{DS}CanonicalizationMethod", f"{DS}SignatureMethod", f"{DS}Reference")
ED_IN_FORM = ed(f"{XENC}EncryptionMethod", f"{DS}KeyInfo", cd(f"{XENC}CipherValue"))
KI_IN_FORM = make(f"{DS}KeyInfo", f"{WSSE}SecurityTokenReference")


def with_pi(el: etree._Element, index: int) -> etree._Element:
    el.insert(index, etree.ProcessingInstruction("pi", "x"))
    return el


def test_in_form() -> None:
    assert signature_parts(SIG_IN_FORM) == tuple(SIG_IN_FORM)
    c14n, sm, refs = signed_info_parts(SI_IN_FORM) or (None, None, [])
    assert (c14n, sm, refs) == (SI_IN_FORM[0], SI_IN_FORM[1], [SI_IN_FORM[2]])
    many = make(
        f"{DS}SignedInfo", f"{DS}CanonicalizationMethod", f"{DS}SignatureMethod", *[f"{DS}Reference"] * 5
    )
    assert signed_info_parts(many) is not None and len(signed_info_parts(many)[2]) == 5  # type: ignore[index]
    assert encrypted_data_parts(ED_IN_FORM) == (ED_IN_FORM[0], ED_IN_FORM[1], ED_IN_FORM[2][0])
    assert key_info_str(KI_IN_FORM) is KI_IN_FORM[0]


@pytest.mark.parametrize(
    "el",
    [
        sig(f"{DS}SignedInfo", f"{DS}SignatureValue"),
        sig(f"{DS}SignatureValue", f"{DS}SignedInfo", f"{DS}KeyInfo"),
        sig(f"{DS}SignedInfo", f"{DS}SignatureValue", f"{DS}KeyInfo", f"{DS}Object"),
        sig(f"{DS}SignedInfo", f"{DS}SignedInfo", f"{DS}KeyInfo"),
        with_pi(sig(f"{DS}SignedInfo", f"{DS}SignatureValue"), 1),
    ],
)
def test_signature_departures(el: etree._Element) -> None:
    assert signature_parts(el) is None


@pytest.mark.parametrize(
    "el",
    [
        make(f"{DS}SignedInfo", f"{DS}CanonicalizationMethod", f"{DS}SignatureMethod"),
        make(f"{DS}SignedInfo", f"{DS}SignatureMethod", f"{DS}CanonicalizationMethod", f"{DS}Reference"),
        make(
            f"{DS}SignedInfo",
            f"{DS}CanonicalizationMethod",
            f"{DS}SignatureMethod",
            f"{DS}Reference",
            f"{DS}SignatureMethod",
        ),
        make(f"{DS}SignedInfo", f"{DS}CanonicalizationMethod", f"{DS}SignatureMethod", f"{DS}Ref"),
        with_pi(
            make(f"{DS}SignedInfo", f"{DS}CanonicalizationMethod", f"{DS}SignatureMethod", f"{DS}Reference"),
            3,
        ),
    ],
)
def test_signed_info_departures(el: etree._Element) -> None:
    assert signed_info_parts(el) is None


@pytest.mark.parametrize(
    "el",
    [
        ed(f"{XENC}EncryptionMethod", cd(f"{XENC}CipherValue")),
        ed(f"{DS}KeyInfo", f"{XENC}EncryptionMethod", cd(f"{XENC}CipherValue")),
        ed(
            f"{XENC}EncryptionMethod", f"{DS}KeyInfo", cd(f"{XENC}CipherValue"), f"{XENC}EncryptionProperties"
        ),
        ed(f"{XENC}EncryptionMethod", f"{DS}KeyInfo", cd(f"{XENC}CipherReference")),
        ed(f"{XENC}EncryptionMethod", f"{DS}KeyInfo", cd(f"{XENC}CipherValue", f"{XENC}CipherValue")),
        ed(f"{XENC}EncryptionMethod", f"{DS}KeyInfo", cd()),
        ed(f"{XENC}EncryptionMethod", f"{DS}KeyInfo", with_pi(cd(f"{XENC}CipherValue"), 0)),
    ],
)
def test_encrypted_data_departures(el: etree._Element) -> None:
    assert encrypted_data_parts(el) is None


@pytest.mark.parametrize(
    "el",
    [
        make(f"{DS}KeyInfo"),
        make(f"{DS}KeyInfo", f"{WSSE}SecurityTokenReference", f"{WSSE}SecurityTokenReference"),
        make(f"{DS}KeyInfo", f"{DS}KeyName"),
        with_pi(make(f"{DS}KeyInfo", f"{WSSE}SecurityTokenReference"), 0),
    ],
)
def test_key_info_departures(el: etree._Element) -> None:
    assert key_info_str(el) is None


def _delta(before: dict[str, int]) -> dict[str, int]:
    return {k: PATHS[k] - before.get(k, 0) for k in PATHS if PATHS[k] != before.get(k, 0)}


def _body_encrypted_data(root: etree._Element) -> etree._Element:
    found = body_of(root).find(f"{XENC}EncryptedData")
    assert found is not None
    return found


def test_verify_takes_the_layout_fast_paths() -> None:
    before = PATHS.copy()
    assert ok(message()).body_signed
    got = _delta(before)
    assert got.get("encrypted_data.fast") == 2 and got.get("key_info.fast") == 3
    assert got.get("signature.fast") == 2 and got.get("signed_info.fast") == 2
    assert not any(k.endswith(".general") for k in got), got


def test_verify_falls_back_on_an_encrypted_data_departure_and_accepts() -> None:
    # An EncryptionProperties after the CipherData: not WCF's layout, legal, and (the Body is
    # signed before it is encrypted) outside every digest: the general path decrypts it.
    root = tree(message())
    _body_encrypted_data(root).append(etree.Element(f"{XENC}EncryptionProperties"))
    before = PATHS.copy()
    assert ok(etree.tostring(root)).body_encrypted
    got = _delta(before)
    assert got.get("encrypted_data.general") == 1 and got.get("encrypted_data.fast") == 1


def test_verify_falls_back_on_a_key_info_departure_and_refuses() -> None:
    root = tree(message())
    ki = _body_encrypted_data(root).find(f"{DS}KeyInfo")
    assert ki is not None
    ki.append(etree.fromstring(etree.tostring(ki[0])))  # a second STR
    before = PATHS.copy()
    exc = reject(InvalidSecurity, etree.tostring(root))
    assert "exactly one SecurityTokenReference" in str(exc)
    assert _delta(before).get("key_info.general") == 1


def test_verify_falls_back_on_a_signature_departure_and_accepts() -> None:
    # A clear Signature with a ds:Object after its KeyInfo (outside SignedInfo, so outside
    # the HMAC): the general path finds SignedInfo, SignatureValue and KeyInfo by name.
    root = tree(message(encrypt_signature=False))
    signature = security(root).find(f"{DS}Signature")
    assert signature is not None
    signature.append(etree.Element(f"{DS}Object"))
    before = PATHS.copy()
    assert ok(etree.tostring(root)).body_signed
    got = _delta(before)
    assert got.get("signature.general") == 2 and not got.get("signature.fast"), got


def test_verify_falls_back_on_a_signed_info_departure_and_refuses() -> None:
    # Two SignatureMethods: the fast reader steps aside, the general path refuses.
    root = tree(message(encrypt_signature=False))
    si = security(root).find(f"{DS}Signature/{DS}SignedInfo")
    assert si is not None
    si.append(etree.fromstring(etree.tostring(si[1])))
    before = PATHS.copy()
    exc = reject(InvalidSecurity, etree.tostring(root))
    assert "expected exactly one SignatureMethod" in str(exc)
    assert _delta(before).get("signed_info.general") == 1
