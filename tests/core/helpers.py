"""Shared helpers for the core tests (and the unit-level attack tests in ``tests/attacks``):
message factories, ``ok``/``reject`` around ``verify``, an independent P_SHA1, re-signing, and
the "no secret in error text" check."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from collections.abc import Iterable

import pytest
from lxml import etree

from wssc.crypto import BASIC256
from wssc.crypto.suites import AlgorithmSuite
from wssc.errors import WsscError
from wssc.security import MessagePolicy, SctProtection, protect, verify
from wssc.security.inbound import VerifiedMessage
from wssc.tokens import SecurityContextToken
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.ns import SC_FEB2005, ScVersion
from wssc.xml.parse import parse_xml
from wssc.xml.soap import (
    SOAP_11,
    SOAP_12,
    Envelope,
    SoapVersion,
    fault_from_error,
    new_envelope,
    read_fault,
)

#: A fixed clock: 2027-01-15T08:00:00Z.
T0 = 1_800_000_000.0
SECRET = bytes(range(1, 33))
SCT_ID = "urn:uuid:8f1e7a2c-0d47-4a5b-9a5e-3c1d2b4f6a70"

WSSE = f"{{{ns.WSSE}}}"
WSU = f"{{{ns.WSU}}}"
DS = f"{{{ns.DS}}}"
XENC = f"{{{ns.XENC}}}"


def p_sha1_reference(secret: bytes, seed: bytes, length: int, offset: int = 0) -> bytes:
    """An independent P_SHA1 (RFC 2246 §5 P_hash), written from the RFC text.

    Builds the A(i) chain first, then the output blocks, using the streaming hmac API.
    """
    need = offset + length
    blocks = -(-need // 20) if need else 0
    chain = []
    a = seed
    for _ in range(blocks):
        mac = hmac.new(secret, digestmod=hashlib.sha1)
        mac.update(a)
        a = mac.digest()
        chain.append(a)
    out = b""
    for ai in chain:
        mac = hmac.new(secret, digestmod=hashlib.sha1)
        mac.update(ai)
        mac.update(seed)
        out += mac.digest()
    return out[offset:need]


def plain_envelope(version: SoapVersion, text: str = "hello") -> etree._Element:
    env = new_envelope(version, action="urn:test:Echo", to="https://svc.example/echo")
    body = env.find(f"{{{version.ns}}}Body")
    assert body is not None
    echo = etree.SubElement(body, "{urn:test}Echo", nsmap={"t": "urn:test"})
    etree.SubElement(echo, "{urn:test}Text").text = text
    return env


def sct(identifier: str = SCT_ID, instance: str | None = None) -> SecurityContextToken:
    return SecurityContextToken(identifier, instance)


def protect_message(
    version: SoapVersion,
    policy: MessagePolicy,
    *,
    secret: bytes = SECRET,
    token: SecurityContextToken | None = None,
    now: float = T0,
    text: str = "hello",
) -> bytes:
    root = protect(plain_envelope(version, text), SctProtection(token or sct(), secret), policy, now=now)
    return etree.tostring(root)


def resolver_for(secret: bytes = SECRET, identifier: str = SCT_ID):
    def resolve(tok, sc):
        return secret if tok.identifier == identifier else None

    return resolve


def security(root: etree._Element) -> etree._Element:
    sec = root.find(f".//{WSSE}Security")
    assert sec is not None
    return sec


def dkts(root: etree._Element) -> list[etree._Element]:
    sec = security(root)
    return [c for c in sec if isinstance(c.tag, str) and etree.QName(c).localname == "DerivedKeyToken"]


def derived_keys(root: etree._Element, secret: bytes = SECRET) -> list[bytes]:
    """Every key the DKTs of ``root`` derive from ``secret`` (computed independently)."""
    out = []
    for d in dkts(root):
        sc_ns = etree.QName(d).namespace
        q = lambda n: d.find(f"{{{sc_ns}}}{n}")  # noqa: E731
        try:
            nonce = base64.b64decode(q("Nonce").text)
            length = int(q("Length").text) if q("Length") is not None else 32
            offset = int(q("Offset").text) if q("Offset") is not None else 0
            if q("Generation") is not None:
                offset = int(q("Generation").text) * length
        except (AttributeError, TypeError, ValueError):
            continue  # not derivable: nothing to leak
        if not 0 <= offset <= 1024 or not 0 < length <= 64:
            continue  # far beyond any limit: the verifier never derives these
        label = q("Label").text if q("Label") is not None else None
        seed = (label or "WS-SecureConversationWS-SecureConversation").encode() + nonce
        out.append(p_sha1_reference(secret, seed, length, offset))
    return out


def secret_forms(keys: Iterable[bytes]) -> list[str]:
    """Textual renderings of key material that must never appear in an error message."""
    forms: list[str] = []
    for k in keys:
        if len(k) < 8:
            continue  # too short to be recognisable (and never a real key)
        b64 = base64.b64encode(k).decode()
        forms += [
            b64,
            b64.rstrip("="),
            base64.urlsafe_b64encode(k).decode().rstrip("="),
            k.hex(),
            k.hex().upper(),
            repr(k),
        ]
    return forms


def assert_no_secret(exc: BaseException, keys: Iterable[bytes]) -> None:
    texts = [str(exc), repr(exc)]
    if isinstance(exc, WsscError):
        texts += [exc.describe(), exc.reason, exc.detail or ""]
    for text in texts:
        for form in secret_forms(keys):
            assert form not in text, f"key material leaked into the error text: {text!r}"


def signing_key(root: etree._Element, secret: bytes = SECRET) -> bytes:
    """The HMAC key of the (plaintext) ds:Signature: the referenced DKT's key, or the secret."""
    sig = security(root).find(f"{DS}Signature")
    assert sig is not None, "re-signing needs an unencrypted signature"
    ref = sig.find(f"{DS}KeyInfo/{WSSE}SecurityTokenReference/{WSSE}Reference")
    assert ref is not None
    uri = ref.get("URI", "")
    for d, key in zip(dkts(root), derived_keys(root, secret), strict=True):
        if "#" + (d.get(f"{WSU}Id") or "") == uri:
            return key
    return secret


def resign(root: etree._Element, secret: bytes = SECRET, update_digests: bool = True) -> None:
    """Recompute digests (optionally) and the SignatureValue, as a key holder would."""
    sig = security(root).find(f"{DS}Signature")
    assert sig is not None
    si = sig.find(f"{DS}SignedInfo")
    assert si is not None
    alg = si.find(f"{DS}SignatureMethod").get("Algorithm")
    if update_digests:
        for ref in si.findall(f"{DS}Reference"):
            uri = ref.get("URI", "")[1:]
            target = [
                e
                for e in root.iter()
                if isinstance(e.tag, str) and (e.get(f"{WSU}Id") == uri or e.get("Id") == uri)
            ]
            if len(target) != 1:
                continue
            dalg = ref.find(f"{DS}DigestMethod").get("Algorithm")
            h = hashlib.sha256 if dalg == ns.SHA256 else hashlib.sha1
            ref.find(f"{DS}DigestValue").text = base64.b64encode(h(exc_c14n(target[0])).digest()).decode()
    key = signing_key(root, secret)
    h = hashlib.sha256 if alg == ns.HMAC_SHA256 else hashlib.sha1
    sig.find(f"{DS}SignatureValue").text = base64.b64encode(hmac.digest(key, exc_c14n(si), h)).decode()


def clone(root: etree._Element) -> etree._Element:
    return copy.deepcopy(root)


def suite_policy(suite: AlgorithmSuite, **kw) -> MessagePolicy:
    return MessagePolicy(suite=suite, **kw)


# --- verify: accepted or refused (with no key material in the error) ---------------------
SOAPS = [SOAP_11, SOAP_12]
RESOLVE = resolver_for()
OTHER = bytes(range(200, 232))


def policy(
    sc: ScVersion = SC_FEB2005,
    suite: AlgorithmSuite = BASIC256,
    derived: bool = True,
    encrypt: bool = True,
    **kw,
) -> MessagePolicy:
    return MessagePolicy(sc=sc, suite=suite, derived_keys=derived, encrypt_body=encrypt, **kw)


def message(soap: SoapVersion = SOAP_12, **kw) -> bytes:
    now = kw.pop("now", T0)
    secret = kw.pop("secret", SECRET)
    return protect_message(soap, policy(**kw), now=now, secret=secret)


def ok(data: bytes | etree._Element, pol: MessagePolicy | None = None, **kw) -> VerifiedMessage:
    kw.setdefault("resolver", RESOLVE)
    kw.setdefault("now", T0 + 1)
    return verify(data, policy=pol or MessagePolicy(), **kw)


def reject(
    exc_type: type[WsscError],
    data: bytes | etree._Element,
    pol: MessagePolicy | None = None,
    extra_keys: tuple[bytes, ...] = (),
    **kw,
) -> WsscError:
    raw = data if isinstance(data, bytes) else etree.tostring(data)
    try:
        keys = [SECRET, OTHER, *extra_keys, *derived_keys(parse_xml(raw))]
    except Exception:
        keys = [SECRET, OTHER, *extra_keys]
    with pytest.raises(WsscError) as info:
        ok(raw, pol, **kw)
    exc = info.value
    assert isinstance(exc, exc_type), f"expected {exc_type.__name__}, got {exc!r}"
    assert_no_secret(exc, keys)
    # The fault it maps to can be built and read back in both SOAP versions.
    for v in SOAPS:
        fault = read_fault(Envelope(parse_xml(etree.tostring(fault_from_error(v, exc)))))
        assert fault is not None and fault.code.clark == exc.code.clark
    return exc


def tree(data: bytes) -> etree._Element:
    return parse_xml(data)


def body_of(root: etree._Element) -> etree._Element:
    return Envelope(root).body


def signed_info(root: etree._Element) -> etree._Element:
    si = security(root).find(f"{DS}Signature/{DS}SignedInfo")
    assert si is not None
    return si


def drop_reference(root: etree._Element, local: str) -> None:
    si = signed_info(root)
    for ref in si.findall(f"{DS}Reference"):
        target = [
            e
            for e in root.iter()
            if isinstance(e.tag, str) and "#" + (e.get(f"{WSU}Id") or "") == ref.get("URI")
        ]
        if target and etree.QName(target[0]).localname == local:
            si.remove(ref)
            return
    raise AssertionError(local)
