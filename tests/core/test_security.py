"""protect/verify round trips, and every way a received message can be bad."""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Callable

import pytest
from lxml import etree

from wssc.crypto import BASIC128, BASIC256, BASIC256SHA256
from wssc.crypto.suites import AlgorithmSuite
from wssc.errors import (
    BadContextToken,
    FailedCheck,
    InvalidSecurity,
    InvalidSecurityToken,
    MalformedXml,
    MessageExpired,
    SecurityTokenUnavailable,
    UnknownDerivationSource,
    UnsupportedAlgorithm,
    WsscError,
)
from wssc.security import MessagePolicy, SctProtection
from wssc.tokens import SecurityContextToken
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.ns import SC_FEB2005, SC_V13, ScVersion
from wssc.xml.soap import SOAP_11, SOAP_12, Envelope, SoapVersion

from .helpers import (
    DS,
    OTHER,
    SCT_ID,
    SECRET,
    SOAPS,
    T0,
    WSSE,
    WSU,
    XENC,
    assert_no_secret,
    body_of,
    derived_keys,
    dkts,
    drop_reference,
    message,
    ok,
    policy,
    reject,
    resign,
    resolver_for,
    sct,
    security,
    signed_info,
    tree,
)

SCS = [SC_FEB2005, SC_V13]
SUITES3 = [BASIC128, BASIC256, BASIC256SHA256]


# --- round trips -------------------------------------------------------------------------
MATRIX = list(itertools.product(SOAPS, SCS, [True, False], [True, False], SUITES3))


@pytest.mark.parametrize(
    "soap,sc,encrypt,derived,suite",
    MATRIX,
    ids=[
        f"soap{s.name}-sc{c.name}-{'enc' if e else 'sign'}-{'dk' if d else 'nodk'}-{u.name}"
        for s, c, e, d, u in MATRIX
    ],
)
def test_round_trip(
    soap: SoapVersion, sc: ScVersion, encrypt: bool, derived: bool, suite: AlgorithmSuite
) -> None:
    data = message(soap, sc=sc, suite=suite, derived=derived, encrypt=encrypt)
    assert (b"hello" in data) is not encrypt
    root = tree(data)
    sec = security(root)
    assert sec.get(f"{{{soap.ns}}}mustUnderstand") == "1"
    layout = [etree.QName(c).localname for c in sec]
    n_dk = (2 if encrypt else 1) if derived else 0
    expected = ["Timestamp", "SecurityContextToken"] + ["DerivedKeyToken"] * n_dk
    expected += ["ReferenceList", "EncryptedData"] if encrypt else ["Signature"]
    assert layout == expected
    assert all(etree.QName(d).namespace == sc.ns for d in dkts(root))

    result = ok(data, policy(sc, suite, derived, encrypt))
    env = result.envelope
    assert env.version is soap
    payload = env.payload
    assert payload is not None and payload.findtext("{urn:test}Text") == "hello"
    assert result.body_signed
    assert result.body_encrypted is encrypt
    signed = [etree.QName(e).localname for e in result.signed]
    assert signed == ["Timestamp", "Action", "MessageID", "ReplyTo", "To", "Body"]
    kinds = sorted((t.rsplit("#", 1)[1], etree.QName(e).localname) for t, e in result.encrypted)
    assert kinds == ([("Content", "Body"), ("Element", "Signature")] if encrypt else [])
    assert result.signing_sct is not None and result.signing_sct.identifier == SCT_ID
    assert result.sc is sc
    assert result.signing_kind == "sct"
    assert result.signing_key == SECRET
    assert result.derived_keys_used is derived
    assert result.timestamp is not None and abs(result.timestamp.created - T0) < 0.001
    desc = "\n".join(result.describe())
    assert SCT_ID in desc and "Body" in desc
    assert_no_secret(Exception(desc + repr(result)), [SECRET, *derived_keys(root)])


@pytest.mark.parametrize("suite", SUITES3, ids=lambda s: s.name)
def test_suite_uris_and_dk_lengths_on_the_wire(suite: AlgorithmSuite) -> None:
    root = tree(message(suite=suite, encrypt=False))
    sig = security(root).find(f"{DS}Signature")
    assert sig is not None
    assert sig.find(f"{DS}SignedInfo/{DS}SignatureMethod").get("Algorithm") == (suite.symmetric_signature)
    assert {d.get("Algorithm") for d in sig.iter(f"{DS}DigestMethod")} == {suite.digest}
    (dk,) = dkts(root)
    length = dk.find(f"{{{ns.SC_2005}}}Length")
    if suite.signature_key_length == 32:  # pragma: no cover - none of these suites
        assert length is None
    else:
        assert length is not None and int(length.text) == suite.signature_key_length
        assert dk.findtext(f"{{{ns.SC_2005}}}Offset") == "0"
    enc = tree(message(suite=suite))
    assert {e.get("Algorithm") for e in enc.iter(f"{XENC}EncryptionMethod")} == {suite.encryption}
    enc_dk = dkts(enc)[1]
    if suite.encryption_key_length == 32:
        assert enc_dk.find(f"{{{ns.SC_2005}}}Length") is None
        assert enc_dk.find(f"{{{ns.SC_2005}}}Offset") is None
    else:
        assert enc_dk.findtext(f"{{{ns.SC_2005}}}Length") == str(suite.encryption_key_length)


def test_no_derived_keys_signs_with_sct_key() -> None:
    root = tree(message(derived=False, encrypt=False))
    assert dkts(root) == []
    ref = security(root).find(f"{DS}Signature/{DS}KeyInfo/{WSSE}SecurityTokenReference/{WSSE}Reference")
    sct_el = security(root).find(f"{{{ns.SC_2005}}}SecurityContextToken")
    assert ref is not None and sct_el is not None
    assert ref.get("URI") == "#" + sct_el.get(f"{WSU}Id")


def test_external_sct_reference_round_trip() -> None:
    from wssc.security import protect

    from .helpers import plain_envelope

    tok = SctProtection(sct(instance="urn:uuid:gen-2"), SECRET, include=False)
    root = protect(plain_envelope(SOAP_12), tok, MessagePolicy(), now=T0)
    assert security(root).find(f"{{{ns.SC_2005}}}SecurityContextToken") is None
    result = ok(etree.tostring(root))
    assert result.signing_sct is not None
    assert result.signing_sct.identifier == SCT_ID
    assert result.signing_sct.instance == "urn:uuid:gen-2"


def test_verify_accepts_parsed_element() -> None:
    assert ok(tree(message())).body_signed


def test_inclusive_namespaces_prefix_list_honoured() -> None:
    root = tree(message(derived=False, encrypt=False))
    si = security(root).find(f"{DS}Signature/{DS}SignedInfo")
    body = body_of(root)
    assert exc_c14n(body, ["a"]) != exc_c14n(body)  # the list matters for this element
    body_uri = "#" + (body.get(f"{WSU}Id") or "")
    body_ref = next(r for r in si.findall(f"{DS}Reference") if r.get("URI") == body_uri)
    transform = body_ref.find(f"{DS}Transforms/{DS}Transform")
    etree.SubElement(transform, f"{{{ns.EXC_C14N}}}InclusiveNamespaces").set("PrefixList", "a")
    import base64
    import hashlib

    body_ref.find(f"{DS}DigestValue").text = base64.b64encode(
        hashlib.sha1(exc_c14n(body, ["a"])).digest()
    ).decode()
    resign(root, update_digests=False)
    assert ok(etree.tostring(root), policy(derived=False)).body_signed
    # SignedInfo's own CanonicalizationMethod PrefixList counts as well.
    cm = si.find(f"{DS}CanonicalizationMethod")
    etree.SubElement(cm, f"{{{ns.EXC_C14N}}}InclusiveNamespaces").set("PrefixList", "s a")
    resign(root, update_digests=False)  # helper signs without the list: must now fail
    reject(FailedCheck, root, policy(derived=False))


# --- wrong key, tampering ----------------------------------------------------------------
@pytest.mark.parametrize("encrypt", [True, False])
@pytest.mark.parametrize("derived", [True, False])
@pytest.mark.parametrize("sc", SCS, ids=["sc2005", "sc13"])
def test_wrong_secret(encrypt: bool, derived: bool, sc: ScVersion) -> None:
    data = message(sc=sc, encrypt=encrypt, derived=derived)
    reject(FailedCheck, data, policy(sc, derived=derived), resolver=resolver_for(OTHER))


def test_tampered_body() -> None:
    root = tree(message(encrypt=False))
    body_of(root).find(".//{urn:test}Text").text = "HELLO"
    reject(FailedCheck, root)


@pytest.mark.parametrize("what", ["Action", "To", "MessageID"])
def test_tampered_addressing_header(what: str) -> None:
    root = tree(message(encrypt=False))
    h = root.find(f".//{{{ns.WSA10}}}{what}")
    h.text = "urn:evil"
    reject(FailedCheck, root)


def test_tampered_timestamp() -> None:
    root = tree(message(encrypt=False))
    security(root).find(f"{WSU}Timestamp/{WSU}Expires").text = "2099-01-01T00:00:00Z"
    reject(FailedCheck, root)


def test_tampered_attribute_on_signed_element() -> None:
    root = tree(message(encrypt=False))
    body_of(root).set("{urn:evil}x", "1")
    reject(FailedCheck, root)


def test_tampered_signature_value() -> None:
    root = tree(message(encrypt=False))
    sv = security(root).find(f"{DS}Signature/{DS}SignatureValue")
    import base64

    raw = bytearray(base64.b64decode(sv.text))
    raw[0] ^= 1
    sv.text = base64.b64encode(bytes(raw)).decode()
    reject(FailedCheck, root)
    sv.text = base64.b64encode(bytes(raw[:10])).decode()  # truncated HMAC
    reject(FailedCheck, root)
    sv.text = "!!!"
    reject(InvalidSecurity, root)


@pytest.mark.parametrize("where", [0, 5, 20, -20, -1])
def test_tampered_cipher_value(where: int) -> None:
    import base64

    root = tree(message())
    cv = body_of(root).find(f".//{XENC}CipherValue")
    raw = bytearray(base64.b64decode(cv.text))
    raw[where] ^= 0x41
    cv.text = base64.b64encode(bytes(raw)).decode()
    reject(FailedCheck, root)


def test_tampered_dkt_nonce() -> None:
    import base64

    root = tree(message(encrypt=False))
    (dk,) = dkts(root)
    dk.find(f"{{{ns.SC_2005}}}Nonce").text = base64.b64encode(os.urandom(16)).decode()
    reject(FailedCheck, root)


# --- algorithms --------------------------------------------------------------------------
_signed_info = signed_info
_drop_reference = drop_reference
UNKNOWN = "http://example.org/unknown-algorithm"


def test_unknown_signature_method() -> None:
    for alg in (UNKNOWN, ns.RSA_SHA1, "http://www.w3.org/2001/04/xmldsig-more#hmac-md5"):
        root = tree(message(derived=False, encrypt=False))
        _signed_info(root).find(f"{DS}SignatureMethod").set("Algorithm", alg)
        reject(UnsupportedAlgorithm, root, policy(derived=False))


def test_unknown_digest_method_even_when_correctly_signed() -> None:
    root = tree(message(derived=False, encrypt=False))
    for dm in _signed_info(root).iter(f"{DS}DigestMethod"):
        dm.set("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
    resign(root)
    reject(UnsupportedAlgorithm, root, policy(derived=False))


def test_unknown_digest_method_with_derived_keys() -> None:
    root = tree(message(encrypt=False))
    _signed_info(root).find(f"{DS}Reference/{DS}DigestMethod").set("Algorithm", UNKNOWN)
    resign(root)
    reject(UnsupportedAlgorithm, root)


def test_unknown_c14n_method() -> None:
    root = tree(message(derived=False, encrypt=False))
    _signed_info(root).find(f"{DS}CanonicalizationMethod").set(
        "Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    )
    reject(UnsupportedAlgorithm, root, policy(derived=False))


@pytest.mark.parametrize("extra", [False, True])
def test_unknown_or_extra_transform(extra: bool) -> None:
    root = tree(message(derived=False, encrypt=False))
    tr = _signed_info(root).find(f"{DS}Reference/{DS}Transforms")
    if extra:
        etree.SubElement(tr, f"{DS}Transform").set(
            "Algorithm", "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
        )
    else:
        tr[0].set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
    resign(root)
    reject(UnsupportedAlgorithm, root, policy(derived=False))


@pytest.mark.parametrize("which", ["body", "signature"])
def test_unknown_encryption_method(which: str) -> None:
    root = tree(message())
    if which == "body":
        em = body_of(root).find(f"{XENC}EncryptedData/{XENC}EncryptionMethod")
    else:
        em = security(root).find(f"{XENC}EncryptedData/{XENC}EncryptionMethod")
    em.set("Algorithm", "http://www.w3.org/2009/xmlenc11#aes256-gcm")
    reject(UnsupportedAlgorithm, root)


def test_missing_encryption_method() -> None:
    root = tree(message())
    ed = body_of(root).find(f"{XENC}EncryptedData")
    ed.remove(ed.find(f"{XENC}EncryptionMethod"))
    reject(InvalidSecurity, root)


def test_hmac_output_length_rejected() -> None:
    for resigned in (False, True):
        root = tree(message(derived=False, encrypt=False))
        sm = _signed_info(root).find(f"{DS}SignatureMethod")
        etree.SubElement(sm, f"{DS}HMACOutputLength").text = "80"
        if resigned:
            resign(root)
        reject(InvalidSecurity, root, policy(derived=False))


# --- missing / broken references -----------------------------------------------------------
@pytest.mark.parametrize("local", ["Body", "Timestamp"])
def test_missing_reference(local: str) -> None:
    root = tree(message(derived=False, encrypt=False))
    _drop_reference(root, local)
    resign(root)
    reject(InvalidSecurity, root, policy(derived=False))


def test_missing_reference_without_resigning() -> None:
    root = tree(message(encrypt=False))
    _drop_reference(root, "Body")
    reject(FailedCheck, root)


def test_unsigned_addressing_header_when_required() -> None:
    root = tree(message(derived=False, encrypt=False))
    _drop_reference(root, "To")
    resign(root)
    ok(etree.tostring(root), policy(derived=False))  # default: accepted
    reject(InvalidSecurity, root, policy(derived=False, require_signed_addressing=True))


@pytest.mark.parametrize("uri", ["#does-not-exist", "http://example.org/doc#_0", "", "#", "cid:part1"])
def test_reference_to_nothing(uri: str) -> None:
    root = tree(message(derived=False, encrypt=False))
    _signed_info(root).find(f"{DS}Reference").set("URI", uri)
    resign(root)
    reject(InvalidSecurity, root, policy(derived=False))


def test_signed_element_removed() -> None:
    root = tree(message(encrypt=False))
    header = Envelope(root).header
    header.remove(header.find(f"{{{ns.WSA10}}}To"))
    reject(InvalidSecurity, root)


def test_no_references() -> None:
    root = tree(message(derived=False, encrypt=False))
    si = _signed_info(root)
    for r in si.findall(f"{DS}Reference"):
        si.remove(r)
    resign(root)
    reject(InvalidSecurity, root, policy(derived=False))


def test_too_many_references() -> None:
    root = tree(message(derived=False, encrypt=False))
    resign(root)
    reject(InvalidSecurity, root, policy(derived=False, max_references=3))


def test_signature_without_keyinfo() -> None:
    root = tree(message(encrypt=False))
    sig = security(root).find(f"{DS}Signature")
    sig.remove(sig.find(f"{DS}KeyInfo"))
    reject(InvalidSecurity, root)


def test_signature_key_reference_to_unknown_token() -> None:
    root = tree(message(encrypt=False))
    ref = security(root).find(f"{DS}Signature/{DS}KeyInfo/{WSSE}SecurityTokenReference/{WSSE}Reference")
    ref.set("URI", "#nope")
    reject(SecurityTokenUnavailable, root)


def test_unsigned_message() -> None:
    root = tree(message(encrypt=False))
    sec = security(root)
    sec.remove(sec.find(f"{DS}Signature"))
    reject(InvalidSecurity, root)


# --- timestamps and replay -------------------------------------------------------------------
def test_expired_timestamp() -> None:
    data = message()
    ok(data, now=T0 + 599)  # 300 s validity + 300 s skew
    exc = reject(MessageExpired, data, now=T0 + 601)
    assert exc.code.clark == f"{{{ns.WSSE}}}MessageExpired"


def test_future_timestamp_beyond_skew() -> None:
    data = message(now=T0 + 400)
    reject(MessageExpired, data, now=T0)
    ok(data, now=T0 + 101)  # within the 5-minute skew


def test_custom_skew_and_ignore_expiry() -> None:
    data = message()
    reject(MessageExpired, data, MessagePolicy(max_clock_skew=0), now=T0 + 301)
    ok(data, MessagePolicy(check_expiry=False), now=T0 + 10**6)


def test_missing_timestamp() -> None:
    root = tree(message(derived=False, encrypt=False))
    _drop_reference(root, "Timestamp")
    sec = security(root)
    sec.remove(sec.find(f"{WSU}Timestamp"))
    resign(root)
    reject(InvalidSecurity, root, policy(derived=False))
    ok(etree.tostring(root), policy(derived=False, require_timestamp=False))


def test_two_timestamps() -> None:
    root = tree(message(encrypt=False))
    sec = security(root)
    ts = copy.deepcopy(sec.find(f"{WSU}Timestamp"))
    del ts.attrib[f"{WSU}Id"]
    sec.insert(1, ts)
    reject(InvalidSecurity, root)


# --- derivation from context ---------------------------------------------------------------
def _strip_dkt_strs(root: etree._Element) -> None:
    for d in dkts(root):
        d.remove(d.find(f"{WSSE}SecurityTokenReference"))


def _remove_sct(root: etree._Element, sc: ScVersion) -> None:
    sec = security(root)
    sec.remove(sec.find(f"{{{sc.ns}}}SecurityContextToken"))


@pytest.mark.parametrize("encrypt", [True, False])
@pytest.mark.parametrize("sc", SCS, ids=["sc2005", "sc13"])
def test_dkt_without_str_one_sct_in_header(sc: ScVersion, encrypt: bool) -> None:
    root = tree(message(sc=sc, encrypt=encrypt))
    _strip_dkt_strs(root)
    r = ok(etree.tostring(root))
    assert r.derived_keys_used and r.signing_sct is not None
    assert r.signing_sct.identifier == SCT_ID and r.sc is sc


@pytest.mark.parametrize("sc", SCS, ids=["sc2005", "sc13"])
def test_dkt_without_str_no_key_in_scope(sc: ScVersion) -> None:
    root = tree(message(sc=sc))
    _strip_dkt_strs(root)
    _remove_sct(root, sc)
    exc = reject(UnknownDerivationSource, root)
    assert exc.code.namespace == sc.ns
    assert exc.code.local == "UnknownDerivationSource"
    assert exc.code.clark == f"{{{sc.ns}}}UnknownDerivationSource"


@pytest.mark.parametrize("sc", SCS, ids=["sc2005", "sc13"])
def test_dkt_without_str_context_sct(sc: ScVersion) -> None:
    root = tree(message(sc=sc))
    _strip_dkt_strs(root)
    _remove_sct(root, sc)
    r = ok(etree.tostring(root), context_sct=SecurityContextToken(SCT_ID))
    assert r.signing_sct is not None and r.signing_sct.identifier == SCT_ID
    assert r.body_encrypted and r.body_signed
    # The context's key must be the right one.
    reject(BadContextToken, root, context_sct=SecurityContextToken("urn:uuid:unknown"))
    reject(
        FailedCheck,
        root,
        context_sct=SecurityContextToken(SCT_ID),
        resolver=resolver_for(OTHER),
    )


@pytest.mark.parametrize("sc", SCS, ids=["sc2005", "sc13"])
def test_dkt_without_str_two_scts(sc: ScVersion) -> None:
    root = tree(message(sc=sc))
    _strip_dkt_strs(root)
    sec = security(root)
    sct_el = sec.find(f"{{{sc.ns}}}SecurityContextToken")
    twin = copy.deepcopy(sct_el)
    twin.set(f"{WSU}Id", "uuid-twin-1")
    sec.insert(list(sec).index(sct_el) + 1, twin)
    exc = reject(UnknownDerivationSource, root)
    assert exc.code.namespace == sc.ns


def test_dkt_without_str_sct_without_id() -> None:
    root = tree(message())
    _strip_dkt_strs(root)
    del security(root).find(f"{{{ns.SC_2005}}}SecurityContextToken").attrib[f"{WSU}Id"]
    ok(etree.tostring(root))


@pytest.mark.parametrize("sc", SCS, ids=["sc2005", "sc13"])
def test_unknown_sct(sc: ScVersion) -> None:
    exc = reject(BadContextToken, message(sc=sc), resolver=lambda t, v: None)
    assert exc.code.clark == f"{{{sc.ns}}}BadContextToken"


# --- DKT limits inside a message -----------------------------------------------------------
def _add_dkt_copies(root: etree._Element, n: int) -> None:
    sec = security(root)
    first = dkts(root)[0]
    for i in range(n):
        c = copy.deepcopy(first)
        c.set(f"{WSU}Id", f"extra-{len(dkts(root))}-{i}")
        sec.insert(list(sec).index(first) + 1, c)


def test_too_many_dkts() -> None:
    root = tree(message())  # two DKTs
    _add_dkt_copies(root, 2)
    ok(etree.tostring(root))  # four is the limit
    _add_dkt_copies(root, 1)
    exc = reject(InvalidSecurity, root)
    assert "DerivedKeyToken" in str(exc)
    reject(InvalidSecurity, message(), MessagePolicy(max_derived_keys=1))


def _set_dkt(root: etree._Element, index: int, local: str, text: str, sc: ScVersion) -> None:
    d = dkts(root)[index]
    el = d.find(f"{{{sc.ns}}}{local}")
    if el is None:
        el = etree.Element(f"{{{sc.ns}}}{local}")
        d.insert(1, el)
    el.text = text


@pytest.mark.parametrize("sc", SCS, ids=["sc2005", "sc13"])
@pytest.mark.parametrize(
    "local,text",
    [
        ("Offset", "65"),
        ("Offset", "4294967296"),
        ("Nonce", __import__("base64").b64encode(bytes(129)).decode()),
        ("Label", "L" * 129),
        ("Length", "33"),
        ("Length", "0"),
    ],
    ids=["offset-65", "offset-2^32", "nonce-129", "label-129", "length-33", "length-0"],
)
@pytest.mark.parametrize("index", [0, 1], ids=["sig-dk", "enc-dk"])
def test_oversized_dkt_fields(sc: ScVersion, local: str, text: str, index: int) -> None:
    root = tree(message(sc=sc))
    _set_dkt(root, index, local, text, sc)
    exc = reject(InvalidSecurityToken, root)
    assert exc.code.clark == f"{{{ns.WSSE}}}InvalidSecurityToken"


def test_dkt_length_limit_follows_suite() -> None:
    root = tree(message(suite=BASIC128))
    _set_dkt(root, 0, "Length", "24", SC_FEB2005)
    reject(InvalidSecurityToken, root, policy(suite=BASIC128))


def test_dkt_generation_beyond_limit() -> None:
    root = tree(message())
    d = dkts(root)[0]
    off = d.find(f"{{{ns.SC_2005}}}Offset")
    off.tag = f"{{{ns.SC_2005}}}Generation"
    off.text = "3"  # 3 x 24 = 72 > 64
    reject(InvalidSecurityToken, root)


def test_dkt_unknown_algorithm_in_message() -> None:
    root = tree(message())
    dkts(root)[0].set("Algorithm", UNKNOWN)
    reject(UnsupportedAlgorithm, root)


# --- header structure and policy -------------------------------------------------------------
def test_missing_security_header() -> None:
    root = tree(message())
    sec = security(root)
    sec.getparent().remove(sec)
    reject(InvalidSecurity, root)


def test_missing_header_element() -> None:
    root = tree(message())
    root.remove(Envelope(root).header)
    reject(InvalidSecurity, root)


def test_two_security_headers() -> None:
    root = tree(message())
    sec = security(root)
    twin = etree.SubElement(sec.getparent(), f"{WSSE}Security")
    twin.text = ""
    reject(InvalidSecurity, root)


def test_unknown_element_in_security_header() -> None:
    root = tree(message())
    security(root).insert(0, etree.Element("{urn:evil}Thing"))
    reject(InvalidSecurity, root)


def test_unreferenced_encrypted_data_in_header() -> None:
    root = tree(message())
    sec = security(root)
    sec.remove(sec.find(f"{XENC}ReferenceList"))
    reject(InvalidSecurity, root)


@pytest.mark.parametrize("sent,expected", [(True, False), (False, True)])
def test_policy_derived_keys_mismatch(sent: bool, expected: bool) -> None:
    data = message(derived=sent)
    exc = reject(InvalidSecurity, data, policy(derived=expected))
    assert "derived keys" in str(exc)
    ok(data, policy(derived=expected, enforce_derived_keys=None))


def test_require_encrypted_body() -> None:
    reject(InvalidSecurity, message(encrypt=False), MessagePolicy(require_encrypted_body=True))
    ok(message(), MessagePolicy(require_encrypted_body=True))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"<a/>",
        b"<s:Envelope xmlns:s='urn:not-soap'/>",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
    ],
)
def test_not_a_secured_envelope(data: bytes) -> None:
    with pytest.raises(MalformedXml):
        ok(data)


def test_envelope_without_body() -> None:
    reject(InvalidSecurity, f"<s:Envelope xmlns:s='{ns.SOAP12}'><s:Header/></s:Envelope>".encode())
    root = tree(message())
    root.remove(body_of(root))
    exc = reject(InvalidSecurity, root)
    assert exc.detail == "a DataReference does not name an EncryptedData"  # the Body's
    root = tree(message(encrypt=False))
    root.remove(body_of(root))
    exc = reject(InvalidSecurity, root, policy(encrypt=False))
    assert exc.detail == "a signed element is missing"


def test_plain_envelope_without_security() -> None:
    from .helpers import plain_envelope

    reject(InvalidSecurity, etree.tostring(plain_envelope(SOAP_11)))


# --- secrets never in text ----------------------------------------------------------------
def test_protection_token_repr_hides_key() -> None:
    assert_no_secret(Exception(repr(SctProtection(sct(), SECRET))), [SECRET])


def test_many_failures_never_show_key_material() -> None:
    """A sweep: every error from a family of single mutations is typed and secret-free."""
    base = tree(message(encrypt=False))
    keys = [SECRET, *derived_keys(base)]
    mutations: list[Callable[[etree._Element], None]] = []
    for el_index in range(len(list(base.iter()))):

        def drop(root: etree._Element, i: int = el_index) -> None:
            el = list(root.iter())[i]
            if el.getparent() is not None:
                el.getparent().remove(el)

        mutations.append(drop)

        def blank(root: etree._Element, i: int = el_index) -> None:
            list(root.iter())[i].text = "AAAA"

        mutations.append(blank)
    seen: set[str] = set()
    for m in mutations:
        root = copy.deepcopy(base)
        m(root)
        try:
            ok(etree.tostring(root))
        except WsscError as exc:
            assert_no_secret(exc, keys)
            seen.add(type(exc).__name__)
    assert {"FailedCheck", "InvalidSecurity"} <= seen
