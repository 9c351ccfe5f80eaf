"""protect's one-string ``wsse:Security`` header for WCF's default layout (issue 19).

The fast writer (`wssc.security.outbound_fast`) must write the very bytes of the general
writer: each envelope below is protected with the random stream and the clock pinned, as
protect chooses, with the fast writer switched off, and through `protect_wire` (the header's
text spliced into the serialized envelope, in ASCII and in UTF-8), and the wire messages are
compared byte for byte (and the fast one verified). Every departure from the layout it knows
is forced once: the general writer must run instead (``PATHS`` counts which ran), and its
message must verify; so is every departure from what the splice can write (its bytes then
come from the element).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator

import pytest
from lxml import etree

from wssc.certs import generate_self_signed
from wssc.crypto import BASIC128, BASIC256SHA256, TRIPLEDES
from wssc.security import MessagePolicy, SctProtection, outbound_fast, protect, protect_wire
from wssc.security.outbound_fast import dkt_xml, sct_xml
from wssc.security.tokens import KerberosProtection, X509Protection
from wssc.security.xmlsig import _attr
from wssc.tokens import DerivedKeyToken, SecurityContextToken
from wssc.tokens.paths import PATHS
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.parse import parse_xml

from .helpers import RESOLVE, SCT_ID, SECRET, T0, ok

S12, S11 = ns.SOAP12, ns.SOAP11
WSA = ns.WSA10
BODY = '<t:Echo xmlns:t="urn:test"><t:Text>hello &amp; more</t:Text><t:N>1</t:N></t:Echo>'


def envelope(
    soap: str = S12,
    *,
    prefix: str = "s",
    extra_ns: str = "",
    header: str | None = "default",
    wsa: str = WSA,
) -> bytes:
    p = f"{prefix}:" if prefix else ""
    decl = f'xmlns:{prefix}="{soap}"' if prefix else f'xmlns="{soap}"'
    if header == "default":
        header = (
            f'<a:Action {p}mustUnderstand="1">urn:test:Echo</a:Action>'
            "<a:MessageID>urn:uuid:0b4a3c1e-9a4b-4c1d-8d2e-6f0a1b2c3d4e</a:MessageID>"
            f'<a:To {p}mustUnderstand="1">https://svc.example/echo</a:To>'
        )
    head = "" if header is None else f"<{p}Header>{header}</{p}Header>"
    return (
        f'<{p}Envelope {decl} xmlns:a="{wsa}"{extra_ns}>{head}<{p}Body>{BODY}</{p}Body></{p}Envelope>'
    ).encode()


def _token(instance: str | None = None, include: bool = True) -> SctProtection:
    sct = SecurityContextToken(SCT_ID, instance, wsu_id="uuid-6c1e0f4a-2b7d-4e11-9a3f-1d2c3b4a5f60-1")
    return SctProtection(sct, SECRET, include)


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Iterator[None]]:
    """Restart a deterministic os.urandom stream."""

    def restart() -> Iterator[None]:
        counter = [0]

        def fake(n: int) -> bytes:
            out = b""
            while len(out) < n:
                counter[0] += 1
                out += hashlib.sha256(b"pinned" + counter[0].to_bytes(8, "big")).digest()
            return out[:n]

        monkeypatch.setattr(os, "urandom", fake)
        yield

    return restart


def _both(
    pinned: Callable[[], Iterator[None]],
    monkeypatch: pytest.MonkeyPatch,
    plain: bytes,
    token: object,
    policy: MessagePolicy,
    **kw: object,
) -> tuple[bytes, bytes, str, str]:
    """(as protect chooses, the general writer alone, which writer protect chose, which path
    `protect_wire` took: "splice" or "element"), having checked that `protect_wire` writes
    the general writer's bytes."""
    before = PATHS.copy()
    next(pinned())
    chosen = etree.tostring(protect(parse_xml(plain), token, policy, now=T0, **kw))  # type: ignore[arg-type]
    ran = "fast" if PATHS["protect.header.fast"] > before["protect.header.fast"] else "general"
    assert PATHS["protect.header.fast"] + PATHS["protect.header.general"] == (
        before["protect.header.fast"] + before["protect.header.general"] + 1
    )
    with monkeypatch.context() as m:
        m.setattr(outbound_fast, "protect_wcf_layout", lambda *a, **k: False)
        next(pinned())
        general_root = protect(parse_xml(plain), token, policy, now=T0, **kw)  # type: ignore[arg-type]
        general = etree.tostring(general_root)
        general_utf8 = etree.tostring(general_root, encoding="utf-8")
    # protect_wire: the same bytes, spliced when it can (else serialized from the element)
    paths = set()
    for encoding, want in ((None, general), ("utf-8", general_utf8)):
        before_wire = PATHS.copy()
        next(pinned())
        wire = protect_wire(parse_xml(plain), token, policy, now=T0, encoding=encoding, **kw)  # type: ignore[arg-type]
        assert wire == want
        spliced = PATHS["protect.wire.splice"] - before_wire["protect.wire.splice"]
        element = PATHS["protect.wire.element"] - before_wire["protect.wire.element"]
        assert spliced + element == 1
        paths.add("splice" if spliced else "element")
    (wire_path,) = paths
    return chosen, general, ran, wire_path


FAST_CASES = {
    "soap12": (envelope(), MessagePolicy()),
    "soap11": (envelope(S11), MessagePolicy()),
    "prefix soap": (envelope(prefix="soap"), MessagePolicy()),
    "sc 1.3": (envelope(), MessagePolicy(sc=ns.SC_V13)),
    "basic128": (envelope(), MessagePolicy(suite=BASIC128)),
    "basic256sha256": (envelope(), MessagePolicy(suite=BASIC256SHA256)),
    "tripledes": (envelope(), MessagePolicy(suite=TRIPLEDES)),
    "no value types": (envelope(), MessagePolicy(local_reference_value_types=False)),
    "addressing unsigned": (envelope(), MessagePolicy(sign_addressing_headers=False)),
    "wsa 2004": (envelope(wsa=ns.WSA2004), MessagePolicy()),
    "no header": (envelope(header=None), MessagePolicy()),
    "empty header": (envelope(header=""), MessagePolicy()),
    "ids in use": (
        envelope(
            header='<a:Action u:Id="_0">urn:test:Echo</a:Action><a:To u:Id="_2">x</a:To>',
            extra_ns=f' xmlns:u="{ns.WSU}"',
        ),
        MessagePolicy(),
    ),
    "wsu declared as u": (envelope(extra_ns=f' xmlns:u="{ns.WSU}"'), MessagePolicy()),
    "other headers": (
        envelope(header='<x:Extra xmlns:x="urn:x">&lt;1&gt;</x:Extra><a:Action>urn:a</a:Action>'),
        MessagePolicy(),
    ),
    "validity": (envelope(), MessagePolicy(timestamp_validity=60.5)),
}


@pytest.mark.parametrize("case", sorted(FAST_CASES))
def test_fast_header_writes_the_general_writers_bytes(
    case: str, pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, policy = FAST_CASES[case]
    chosen, general, ran, wire = _both(pinned, monkeypatch, plain, _token(), policy)
    assert ran == "fast" and wire == "splice"
    assert chosen == general
    res = ok(chosen, policy, now=T0 + 1)
    assert res.body_signed and res.body_encrypted


def test_other_tokens_and_signature_values(
    pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    values: list[bytes] = []
    chosen, general, ran, wire = _both(
        pinned, monkeypatch, envelope(), _token(), MessagePolicy(), signature_values=values
    )
    assert ran == "fast" and wire == "splice" and chosen == general
    # protect, the general writer, protect_wire in ASCII and in UTF-8: one value each, equal
    assert len(values) == 4 and len(set(values)) == 1 and len(values[0]) == 20
    # still the layout: an SCT referenced by its Identifier (not included), a Kerberos token,
    # SCTs written as elements (a cookie; an Identifier that needs escaping)
    odd = SecurityContextToken("urn:x y&z<1>\"'\t", None, wsu_id="uuid-a.b_c-1")
    tokens = (
        _token(include=False),
        KerberosProtection(b"ap-req", SECRET, "uuid-krb-1"),
        SctProtection(SecurityContextToken(SCT_ID, None, b"cookie&<bytes>", "uuid-c-1"), SECRET),
        SctProtection(odd, SECRET),
    )
    # protect_wire splices the header's text only: a token written as an element (Kerberos,
    # a cookie, an Identifier to escape) takes the element
    wires = ("splice", "element", "element", "element")
    for token, want_wire in zip(tokens, wires, strict=True):
        chosen, general, ran, wire = _both(pinned, monkeypatch, envelope(), token, MessagePolicy())
        assert ran == "fast" and chosen == general and wire == want_wire
    assert sct_xml(tokens[2], ns.SC_FEB2005) is None and sct_xml(tokens[3], ns.SC_FEB2005) is None
    assert sct_xml(_token(), ns.SC_FEB2005) is not None


def test_attr_escapes_as_exclusive_c14n() -> None:
    for value in ("plain-value_1", 'a&b<c"d\te\nf\rg>h', "&amp;", ""):
        el = etree.Element("x", a=value)
        assert etree.tostring(el, method="c14n", exclusive=True) == f'<x a="{_attr(value)}"></x>'.encode()


DEPARTURES: dict[str, tuple[bytes, MessagePolicy, dict[str, object], SctProtection]] = {
    "renewed sct (Instance)": (envelope(), MessagePolicy(), {}, _token(instance="urn:uuid:inst-2")),
    "transport": (envelope(), MessagePolicy(transport=True), {}, _token()),
    "no derived keys": (envelope(), MessagePolicy(derived_keys=False), {}, _token()),
    "body not encrypted": (envelope(), MessagePolicy(encrypt_body=False), {}, _token()),
    "signature not encrypted": (envelope(), MessagePolicy(encrypt_signature=False), {}, _token()),
    "confirmations": (envelope(), MessagePolicy(), {"confirmations": [b"v" * 20]}, _token()),
    "endorsing": (envelope(), MessagePolicy(), {"endorsing": _token(include=False)}, _token()),
    "supporting": (
        envelope(),
        MessagePolicy(),
        {"supporting": [etree.fromstring(f'<o:Extra xmlns:o="{ns.WSSE}"/>')]},
        _token(),
    ),
    "default soap namespace": (envelope(prefix=""), MessagePolicy(), {}, _token()),
    "soap namespace twice": (envelope(extra_ns=f' xmlns:s2="{S12}"'), MessagePolicy(), {}, _token()),
    "o prefix in scope": (envelope(extra_ns=' xmlns:o="urn:other"'), MessagePolicy(), {}, _token()),
    "wsse in scope": (envelope(extra_ns=f' xmlns:w="{ns.WSSE}"'), MessagePolicy(), {}, _token()),
    "xenc in scope": (envelope(extra_ns=f' xmlns:x="{ns.XENC}"'), MessagePolicy(), {}, _token()),
    "wsu as wsu": (envelope(extra_ns=f' xmlns:wsu="{ns.WSU}"'), MessagePolicy(), {}, _token()),
    "u taken": (envelope(extra_ns=' xmlns:u="urn:not-wsu"'), MessagePolicy(), {}, _token()),
}


@pytest.mark.parametrize("case", sorted(DEPARTURES))
def test_each_departure_takes_the_general_writer(
    case: str, pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, policy, kw, token = DEPARTURES[case]
    chosen, general, ran, wire = _both(pinned, monkeypatch, plain, token, policy, **kw)
    assert ran == "general" and wire == "element"
    assert chosen == general
    if not kw:  # the others need the peer's own context to verify (tested where they live)
        res = ok(chosen, policy, now=T0 + 1, resolver=RESOLVE)
        assert res.body_signed or policy.transport  # over TLS only the Timestamp is signed
        assert res.timestamp is not None


def test_the_x509_signer_takes_the_general_writer(
    pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = generate_self_signed("fast-header.test")
    token = X509Protection(cert.cert, cert.key, "uuid-x509-1")  # type: ignore[arg-type]
    policy = MessagePolicy(encrypt_body=False, encrypt_signature=False)
    chosen, general, ran, wire = _both(pinned, monkeypatch, envelope(), token, policy)
    assert ran == "general" and wire == "element" and chosen == general


def test_dkt_xml_is_the_elements_serialization() -> None:
    """The DKT text is what `DerivedKeyToken.to_xml` serializes to (with ``o`` and ``u``
    declared by the enclosing Security header), and it refuses forms protect never writes."""
    ref = SecurityTokenReference.local("uuid-1", ns.SC_FEB2005.sct_token_type)
    wrapper = f'<o:Security xmlns:o="{ns.WSSE}" xmlns:u="{ns.WSU}">{{}}</o:Security>'
    for length in (16, 24, 32):
        dk = DerivedKeyToken(ref, bytes(range(16)), length, offset=0, wsu_id="_1")
        sec = etree.fromstring(wrapper.format(""))
        sec.append(dk.to_xml(ns.SC_FEB2005))
        assert etree.tostring(sec) == wrapper.format(dkt_xml(dk, ns.SC_FEB2005, ref)).encode()
    for odd in (
        DerivedKeyToken(ref, b"n" * 16, 32, generation=1),
        DerivedKeyToken(ref, b"n" * 16, 32, label="L"),
        DerivedKeyToken(ref, b"n" * 16, 32, algorithm=ns.SC_FEB2005.p_sha1),
    ):
        with pytest.raises(ValueError, match="dkt_xml"):
            dkt_xml(odd, ns.SC_FEB2005, ref)


def _wire_and_general(
    pinned: Callable[[], Iterator[None]],
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[], etree._Element],
    token: object,
    encoding: str | None = None,
) -> tuple[bytes, bytes, str]:
    """(`protect_wire`'s bytes, the general writer's serialized, the path protect_wire took)."""
    before = PATHS.copy()
    next(pinned())
    wire = protect_wire(make(), token, MessagePolicy(), now=T0, encoding=encoding)  # type: ignore[arg-type]
    spliced = PATHS["protect.wire.splice"] - before["protect.wire.splice"]
    assert spliced + PATHS["protect.wire.element"] - before["protect.wire.element"] == 1
    with monkeypatch.context() as m:
        m.setattr(outbound_fast, "protect_wcf_layout", lambda *a, **k: False)
        next(pinned())
        general = etree.tostring(protect(make(), token, MessagePolicy(), now=T0), encoding=encoding)  # type: ignore[arg-type]
    return wire, general, "splice" if spliced else "element"


def _with_comment(where: str, text: str) -> Callable[[], etree._Element]:
    """The default envelope (parsed without dropping comments) with a comment holding
    ``text`` in its Header or after its Body."""

    def make() -> etree._Element:
        root = etree.fromstring(envelope())
        parent = root[0] if where == "header" else root
        parent.append(etree.Comment(text))
        return root

    return make


_SEC_STAND_IN = f'<o:Security xmlns:o="{ns.WSSE}" s:mustUnderstand="1"/>'
_ED_STAND_IN = f'<e:EncryptedData xmlns:e="{ns.XENC}"/>'
_ODD_REF = SecurityContextToken('urn:x y&z<1>"', None, wsu_id="uuid-o-1")

#: Calls in WCF's layout that the fast writer takes, but whose bytes `splice_wire` cannot
#: write as lxml would (or cannot place for sure): protect_wire serializes the element.
WIRE_DEPARTURES: dict[str, tuple[Callable[[], etree._Element], object, str | None]] = {
    "xenc in the Body's scope": (
        lambda: parse_xml(envelope().replace(b"<s:Body>", f'<s:Body xmlns:x="{ns.XENC}">'.encode())),
        _token(),
        None,
    ),
    "ds prefix on the Body": (
        lambda: parse_xml(envelope().replace(b"<s:Body>", b'<s:Body xmlns:ds="urn:not-ds">')),
        _token(),
        None,
    ),
    "non-ASCII SOAP prefix": (lambda: etree.fromstring(envelope(prefix="\u00e9")), _token(), "utf-8"),
    "a reference to escape": (lambda: parse_xml(envelope()), SctProtection(_ODD_REF, SECRET, False), None),
    "latin-1": (lambda: parse_xml(envelope()), _token(), "iso-8859-1"),
    "the header's stand-in in a comment": (_with_comment("header", _SEC_STAND_IN), _token(), None),
    "the Body's stand-in in the Header": (_with_comment("header", _ED_STAND_IN), _token(), None),
    "the Body's stand-in after the Body": (_with_comment("end", _ED_STAND_IN), _token(), "utf-8"),
}


@pytest.mark.parametrize("case", sorted(WIRE_DEPARTURES))
def test_each_wire_departure_serializes_the_element(
    case: str, pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    make, token, encoding = WIRE_DEPARTURES[case]
    before = PATHS["protect.header.fast"]
    wire, general, path = _wire_and_general(pinned, monkeypatch, make, token, encoding)
    assert PATHS["protect.header.fast"] == before + 1  # the layout's fast writer ran
    assert path == "element"
    assert wire == general
    # (a non-ASCII SOAP prefix too: `serialize_content` writes the Body's content in UTF-8)
    if encoding in (None, "utf-8"):
        res = ok(wire, MessagePolicy(), now=T0 + 1, resolver=lambda sct, sc: SECRET)
        assert res.body_signed and res.body_encrypted


def test_comments_elsewhere_keep_the_splice(
    pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A comment that holds neither stand-in's text changes nothing: still spliced, the
    same bytes (the stand-ins are found by their exact text, once each)."""
    for make in (_with_comment("header", "<o:Security/> s:mustUnderstand"), _with_comment("end", "x")):
        wire, general, path = _wire_and_general(pinned, monkeypatch, make, _token())
        assert path == "splice" and wire == general


def test_protect_wire_writes_bytes_only() -> None:
    with pytest.raises(ValueError, match="bytes"):
        protect_wire(parse_xml(envelope()), _token(), MessagePolicy(), now=T0, encoding="unicode")
