"""SCT, DKT, STR, Timestamp and the custom token registry."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import pytest
from lxml import etree

from wssc.errors import (
    ConfigurationError,
    InvalidSecurity,
    InvalidSecurityToken,
    MessageExpired,
    TokenSerializationError,
    UnsupportedAlgorithm,
    WsscError,
)
from wssc.tokens import (
    DEFAULT_LABEL,
    CustomTokenType,
    DerivedKeyToken,
    SecurityContextToken,
    SecurityTokenReference,
    Timestamp,
    derived_key_base,
    format_time,
    parse_time,
    register_token_type,
    unregister_token_type,
)
from wssc.xml import ns
from wssc.xml.ns import SC_FEB2005, SC_V13, ScVersion
from wssc.xml.parse import parse_xml

from .helpers import T0, p_sha1_reference

SCS = [SC_FEB2005, SC_V13]
sc_ids = ["sc2005", "sc13"]


def reparse(el: etree._Element) -> etree._Element:
    """Serialize and parse again (hardened), as a receiver would see it."""
    return parse_xml(etree.tostring(el))


def children(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


# --- SCT ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sc", SCS, ids=sc_ids)
@pytest.mark.parametrize(
    "instance,cookie",
    [(None, None), ("urn:uuid:inst-1", None), (None, b"\x00opaque\xff" * 10), ("urn:uuid:inst-2", b"c")],
)
def test_sct_round_trip(sc: ScVersion, instance: str | None, cookie: bytes | None) -> None:
    sct = SecurityContextToken("urn:uuid:abc", instance, cookie, "uuid-x-1")
    el = reparse(sct.to_xml(sc))
    assert el.tag == f"{{{sc.ns}}}SecurityContextToken"
    assert el.get(f"{{{ns.WSU}}}Id") == "uuid-x-1"
    expected = ["Identifier"] + (["Instance"] if instance else []) + (["Cookie"] if cookie else [])
    assert children(el) == expected
    if cookie is not None:
        assert el.find(f"{{{ns.DNSE}}}Cookie") is not None
    back, got_sc = SecurityContextToken.from_xml(el)
    assert got_sc is sc
    assert back == sct


def test_sct_default_wsu_id_is_unique() -> None:
    assert SecurityContextToken("a").wsu_id != SecurityContextToken("a").wsu_id


@pytest.mark.parametrize("sc", SCS, ids=sc_ids)
def test_sct_external_reference(sc: ScVersion) -> None:
    sct = SecurityContextToken("urn:uuid:abc", "urn:uuid:i")
    ref = SecurityTokenReference.from_xml(reparse(sct.external_reference(sc)))
    assert (ref.uri, ref.value_type, ref.instance, ref.instance_ns) == (
        "urn:uuid:abc",
        sc.sct_token_type,
        "urn:uuid:i",
        sc.ns,
    )
    assert not ref.is_local
    no_inst = SecurityTokenReference.from_xml(sct.external_reference(sc, with_instance=False))
    assert no_inst.instance is None


def _sct_xml(inner: str, sc_ns: str = ns.SC_2005) -> etree._Element:
    return parse_xml(
        f'<c:SecurityContextToken xmlns:c="{sc_ns}" xmlns:d="{ns.DNSE}">{inner}'
        f"</c:SecurityContextToken>".encode()
    )


@pytest.mark.parametrize(
    "inner",
    [
        "",
        "<c:Identifier></c:Identifier>",
        "<c:Identifier>   </c:Identifier>",
        "<c:Identifier>" + "x" * 1025 + "</c:Identifier>",
        "<c:Identifier>urn:a</c:Identifier><d:Cookie>not base64!</d:Cookie>",
        "<c:Identifier>urn:a</c:Identifier><d:Cookie>" + "A" * (16 * 1024 + 4) + "</d:Cookie>",
    ],
)
def test_sct_refused(inner: str) -> None:
    with pytest.raises(InvalidSecurityToken):
        SecurityContextToken.from_xml(_sct_xml(inner))


def test_sct_wrong_namespace() -> None:
    with pytest.raises(InvalidSecurityToken):
        SecurityContextToken.from_xml(_sct_xml("<c:Identifier>a</c:Identifier>", "urn:other"))


def test_sct_identifier_trimmed() -> None:
    sct, _ = SecurityContextToken.from_xml(_sct_xml("<c:Identifier>\n urn:a \n</c:Identifier>"))
    assert sct.identifier == "urn:a"


# --- STR ---------------------------------------------------------------------------------
def test_str_local() -> None:
    r = SecurityTokenReference.local("uuid-1", SC_FEB2005.sct_token_type)
    el = reparse(r.to_xml())
    ref = el.find(f"{{{ns.WSSE}}}Reference")
    assert ref is not None and ref.get("URI") == "#uuid-1"
    back = SecurityTokenReference.from_xml(el)
    assert back.is_local and back.local_id == "uuid-1"
    assert back == r


def test_str_key_identifier() -> None:
    r = SecurityTokenReference(key_identifier="AAEC", value_type=ns.WSS_ENCRYPTED_KEY_SHA1)
    el = reparse(r.to_xml())
    ki = el.find(f"{{{ns.WSSE}}}KeyIdentifier")
    assert ki is not None and ki.text == "AAEC"
    assert ki.get("EncodingType") == ns.WSS_BASE64
    back = SecurityTokenReference.from_xml(el)
    assert back.key_identifier == "AAEC" and back.value_type == ns.WSS_ENCRYPTED_KEY_SHA1


def test_str_with_wsu_id() -> None:
    el = SecurityTokenReference(uri="#a", wsu_id="str-1").to_xml()
    assert el.get(f"{{{ns.WSU}}}Id") == "str-1"


def test_str_wrapping_custom_clause() -> None:
    clause = etree.Element("{urn:custom}KeyName")
    clause.text = "k1"
    el = reparse(SecurityTokenReference.wrapping(clause).to_xml())
    assert children(el) == ["KeyName"]
    back = SecurityTokenReference.from_xml(el)
    assert back.custom is not None and back.custom.text == "k1"
    assert clause.getparent() is None  # copied, not moved


@pytest.mark.parametrize(
    "inner",
    [
        "",
        "<o:Reference URI='#a'/><o:Reference URI='#b'/>",
        "<o:Reference/>",
        "<o:Reference URI=''/>",
        "<o:Reference URI='" + "x" * 1025 + "'/>",
    ],
)
def test_str_refused(inner: str) -> None:
    el = parse_xml(
        f'<o:SecurityTokenReference xmlns:o="{ns.WSSE}">{inner}</o:SecurityTokenReference>'.encode()
    )
    with pytest.raises(InvalidSecurity):
        SecurityTokenReference.from_xml(el)


def test_str_wrong_element() -> None:
    with pytest.raises(InvalidSecurity):
        SecurityTokenReference.from_xml(etree.Element("{urn:x}NotAnStr"))


# --- DKT ---------------------------------------------------------------------------------
NONCE = bytes(range(16))
SECRET = bytes(range(100, 132))


def _dkt(sc: ScVersion = SC_FEB2005, **kw) -> DerivedKeyToken:
    base = kw.pop("base", SecurityTokenReference.local("uuid-sct-1", sc.sct_token_type))
    kw.setdefault("nonce", NONCE)
    kw.setdefault("wsu_id", "_1")
    return DerivedKeyToken(base, **kw)


@pytest.mark.parametrize("sc", SCS, ids=sc_ids)
@pytest.mark.parametrize(
    "kw",
    [
        {"length": 24, "offset": 0},
        {"length": 32},
        {"length": 16, "offset": 16},
        {"length": 32, "generation": 2},
        {"length": 16, "generation": 0},
        {"length": 24, "offset": 0, "label": "custom label"},
        {"length": 32, "label": ""},
    ],
)
def test_dkt_round_trip(sc: ScVersion, kw: dict) -> None:
    tok = _dkt(sc, **kw)
    el = reparse(tok.to_xml(sc))
    assert el.tag == f"{{{sc.ns}}}DerivedKeyToken"
    assert el.get("Algorithm") is None  # WCF omits the attribute
    back, got_sc = DerivedKeyToken.from_xml(el, max_length=32)
    assert got_sc is sc
    assert back.base == tok.base
    assert (back.nonce, back.length, back.generation, back.label, back.wsu_id) == (
        tok.nonce,
        tok.length,
        tok.generation,
        tok.label,
        tok.wsu_id,
    )
    assert back.start == tok.start
    assert back.derive(SECRET) == tok.derive(SECRET)


@pytest.mark.parametrize("sc", SCS, ids=sc_ids)
def test_dkt_serialization_24_bytes_writes_offset_and_length(sc: ScVersion) -> None:
    el = _dkt(sc, length=24, offset=0).to_xml(sc)
    assert children(el) == ["SecurityTokenReference", "Offset", "Length", "Nonce"]
    assert el.find(f"{{{sc.ns}}}Offset").text == "0"
    assert el.find(f"{{{sc.ns}}}Length").text == "24"
    assert el.find(f"{{{sc.ns}}}Nonce").text == base64.b64encode(NONCE).decode()


@pytest.mark.parametrize("sc", SCS, ids=sc_ids)
@pytest.mark.parametrize("offset", [None, 0])
def test_dkt_serialization_32_bytes_writes_neither(sc: ScVersion, offset: int | None) -> None:
    el = _dkt(sc, length=32, offset=offset).to_xml(sc)
    assert children(el) == ["SecurityTokenReference", "Nonce"]


def test_dkt_serialization_generation() -> None:
    el = _dkt(length=32, generation=1).to_xml(SC_FEB2005)
    assert children(el) == ["SecurityTokenReference", "Generation", "Length", "Nonce"]


def test_dkt_label_is_written_as_label() -> None:
    # (WCF's writer puts a Label inside <Generation>; wssc must not copy that bug.)
    el = _dkt(length=24, offset=0, label="L").to_xml(SC_FEB2005)
    assert children(el) == ["SecurityTokenReference", "Offset", "Length", "Label", "Nonce"]
    assert el.find(f"{{{ns.SC_2005}}}Label").text == "L"


def test_dkt_algorithm_attribute() -> None:
    assert _dkt(algorithm=SC_FEB2005.p_sha1).to_xml(SC_FEB2005).get("Algorithm") is None
    el = _dkt(algorithm="urn:other").to_xml(SC_FEB2005)
    assert el.get("Algorithm") == "urn:other"
    with pytest.raises(UnsupportedAlgorithm):
        DerivedKeyToken.from_xml(el)


@pytest.mark.parametrize("sc", SCS, ids=sc_ids)
def test_dkt_explicit_p_sha1_algorithm_accepted(sc: ScVersion) -> None:
    el = _dkt(sc).to_xml(sc)
    el.set("Algorithm", sc.p_sha1)
    DerivedKeyToken.from_xml(el)


def test_dkt_without_base_cannot_be_serialized() -> None:
    with pytest.raises(TokenSerializationError):
        DerivedKeyToken(None, NONCE).to_xml(SC_FEB2005)


def test_dkt_derivation_default_label_offset() -> None:
    seed = DEFAULT_LABEL.encode() + NONCE
    assert DEFAULT_LABEL == "WS-SecureConversationWS-SecureConversation"
    assert _dkt(length=24, offset=0).derive(SECRET) == p_sha1_reference(SECRET, seed, 24)
    assert _dkt(length=16, offset=40).derive(SECRET) == p_sha1_reference(SECRET, seed, 16, 40)
    assert _dkt(length=32).derive(SECRET) == p_sha1_reference(SECRET, seed, 32)


def test_dkt_derivation_generation_times_length() -> None:
    seed = DEFAULT_LABEL.encode() + NONCE
    tok = _dkt(length=16, generation=3)
    assert tok.start == 48
    assert tok.derive(SECRET) == p_sha1_reference(SECRET, seed, 16, 48)


def test_dkt_derivation_custom_label() -> None:
    tok = _dkt(length=24, offset=0, label="mylabel")
    assert tok.derive(SECRET) == p_sha1_reference(SECRET, b"mylabel" + NONCE, 24)


# A WCF-shaped DKT read from text, then each limit.
def _dkt_text(body: str, sc_ns: str = ns.SC_2005, attrs: str = "") -> etree._Element:
    return parse_xml(
        f'<c:DerivedKeyToken xmlns:c="{sc_ns}" xmlns:o="{ns.WSSE}" xmlns:u="{ns.WSU}" '
        f'u:Id="_1" {attrs}><o:SecurityTokenReference><o:Reference URI="#uuid-1" '
        f'ValueType="{sc_ns}/sct"/></o:SecurityTokenReference>{body}</c:DerivedKeyToken>'.encode()
    )


N16 = base64.b64encode(NONCE).decode()


def nonce_of(n: int) -> str:
    return f"<c:Nonce>{base64.b64encode(bytes(n)).decode()}</c:Nonce>"


@pytest.mark.parametrize("sc", SCS, ids=sc_ids)
@pytest.mark.parametrize(
    "body",
    [
        f"<c:Nonce>{N16}</c:Nonce>",
        f"<c:Offset>64</c:Offset><c:Length>16</c:Length><c:Nonce>{N16}</c:Nonce>",
        f"<c:Generation>2</c:Generation><c:Length>32</c:Length><c:Nonce>{N16}</c:Nonce>",
        f"<c:Length>32</c:Length><c:Label>{'L' * 128}</c:Label><c:Nonce>{N16}</c:Nonce>",
        nonce_of(128),
        nonce_of(1),
    ],
    ids=["defaults", "offset-64", "gen2x32", "label-128", "nonce-128", "nonce-1"],
)
def test_dkt_limits_at_the_edge_accepted(sc: ScVersion, body: str) -> None:
    tok, got = DerivedKeyToken.from_xml(_dkt_text(body, sc.ns), max_length=32)
    assert got is sc
    assert tok.start <= 64 and tok.length <= 32


def test_dkt_reader_defaults() -> None:
    tok, _ = DerivedKeyToken.from_xml(_dkt_text(f"<c:Nonce>{N16}</c:Nonce>"), 32)
    assert (tok.length, tok.offset, tok.generation, tok.label, tok.start) == (32, None, None, None, 0)
    assert tok.wsu_id == "_1"
    assert tok.base == SecurityTokenReference(uri="#uuid-1", value_type=SC_FEB2005.sct_token_type)


LIMIT_CASES = {
    "offset-65": f"<c:Offset>65</c:Offset><c:Length>16</c:Length><c:Nonce>{N16}</c:Nonce>",
    "gen3x24": f"<c:Generation>3</c:Generation><c:Length>24</c:Length><c:Nonce>{N16}</c:Nonce>",
    "gen-huge": f"<c:Generation>9999999999</c:Generation><c:Nonce>{N16}</c:Nonce>",
    "length-33": f"<c:Length>33</c:Length><c:Nonce>{N16}</c:Nonce>",
    "length-0": f"<c:Length>0</c:Length><c:Nonce>{N16}</c:Nonce>",
    "length-huge": f"<c:Length>99999999999999999999</c:Length><c:Nonce>{N16}</c:Nonce>",
    "label-129": f"<c:Label>{'L' * 129}</c:Label><c:Nonce>{N16}</c:Nonce>",
    "nonce-129": nonce_of(129),
    "nonce-huge": nonce_of(100_000),
    "nonce-missing": "<c:Length>32</c:Length>",
    "nonce-empty": "<c:Nonce></c:Nonce>",
    "nonce-not-b64": "<c:Nonce>***</c:Nonce>",
    "offset-and-generation": (
        f"<c:Offset>0</c:Offset><c:Generation>0</c:Generation><c:Nonce>{N16}</c:Nonce>"
    ),
    "offset-negative": f"<c:Offset>-1</c:Offset><c:Nonce>{N16}</c:Nonce>",
    "offset-text": f"<c:Offset>zero</c:Offset><c:Nonce>{N16}</c:Nonce>",
    "offset-empty": f"<c:Offset/><c:Nonce>{N16}</c:Nonce>",
    "offset-plus": f"<c:Offset>+1</c:Offset><c:Nonce>{N16}</c:Nonce>",
    "offset-float": f"<c:Offset>1.0</c:Offset><c:Nonce>{N16}</c:Nonce>",
    "duplicate-length": f"<c:Length>16</c:Length><c:Length>16</c:Length><c:Nonce>{N16}</c:Nonce>",
    "duplicate-nonce": f"<c:Nonce>{N16}</c:Nonce><c:Nonce>{N16}</c:Nonce>",
    "properties": f"<c:Properties/><c:Nonce>{N16}</c:Nonce>",
    "unknown-child": f"<c:Whatever/><c:Nonce>{N16}</c:Nonce>",
    "foreign-child": f"<x:Nonce xmlns:x='urn:x'>{N16}</x:Nonce>",
    "two-strs": (
        f'<o:SecurityTokenReference><o:Reference URI="#b"/></o:SecurityTokenReference>'
        f"<c:Nonce>{N16}</c:Nonce>"
    ),
}


@pytest.mark.parametrize("sc", SCS, ids=sc_ids)
@pytest.mark.parametrize("body", list(LIMIT_CASES.values()), ids=list(LIMIT_CASES))
def test_dkt_limits_refused(sc: ScVersion, body: str) -> None:
    with pytest.raises(InvalidSecurityToken) as info:
        DerivedKeyToken.from_xml(_dkt_text(body, sc.ns), max_length=32)
    assert info.value.code == info.value.default_code
    assert len(str(info.value)) < 400


def test_dkt_length_limit_follows_suite_max() -> None:
    body = f"<c:Length>24</c:Length><c:Nonce>{N16}</c:Nonce>"
    DerivedKeyToken.from_xml(_dkt_text(body), max_length=24)
    with pytest.raises(InvalidSecurityToken):
        DerivedKeyToken.from_xml(_dkt_text(body), max_length=16)


def test_dkt_unknown_algorithm() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        DerivedKeyToken.from_xml(_dkt_text(f"<c:Nonce>{N16}</c:Nonce>", attrs='Algorithm="urn:md5-kdf"'))


def test_dkt_not_a_dkt() -> None:
    with pytest.raises(InvalidSecurityToken):
        DerivedKeyToken.from_xml(etree.Element(f"{{{ns.SC_2005}}}SecurityContextToken"))


def test_dkt_without_str_parses_with_no_base() -> None:
    el = parse_xml(
        f'<c:DerivedKeyToken xmlns:c="{ns.SC_13}"><c:Nonce>{N16}</c:Nonce></c:DerivedKeyToken>'.encode()
    )
    tok, sc = DerivedKeyToken.from_xml(el)
    assert tok.base is None and sc is SC_V13


@pytest.mark.parametrize("text", ["²", "٣", "１"])
def test_dkt_non_ascii_digits_refused_typed(text: str) -> None:
    with pytest.raises(InvalidSecurityToken):
        DerivedKeyToken.from_xml(_dkt_text(f"<c:Offset>{text}</c:Offset><c:Nonce>{N16}</c:Nonce>"))


def test_dkt_label_limit_counts_whitespace() -> None:
    body = f"<c:Label>{' ' * 5000}x</c:Label><c:Nonce>{N16}</c:Nonce>"
    with pytest.raises(InvalidSecurityToken):
        DerivedKeyToken.from_xml(_dkt_text(body))


# --- custom token registry ---------------------------------------------------------------
CUSTOM_TYPE = "urn:example:token:v1"


@pytest.fixture
def register() -> Iterator[Callable[[Callable[[object], etree._Element]], CustomTokenType]]:
    registered: list[str] = []

    def do(clause: Callable[[object], etree._Element]) -> CustomTokenType:
        t = CustomTokenType(
            token_type=CUSTOM_TYPE,
            element="{urn:example}MyToken",
            serialize=lambda tok: etree.Element("{urn:example}MyToken"),
            key_identifier_clause=clause,
        )
        register_token_type(t)
        registered.append(t.token_type)
        return t

    yield do
    for name in registered:
        unregister_token_type(name)


def _key_name(tok: object) -> etree._Element:
    el = etree.Element("{urn:example}KeyName")
    el.text = str(tok)
    return el


def test_custom_clause_not_an_str_refused_at_serialization(register) -> None:
    register(_key_name)
    base = derived_key_base(CUSTOM_TYPE, "token-7")  # building the clause is fine...
    tok = DerivedKeyToken(base, NONCE, 24, offset=0)
    assert tok.derive(SECRET)  # ...and so is deriving a key locally
    with pytest.raises(TokenSerializationError) as info:
        tok.to_xml(SC_FEB2005)  # ...writing it is not
    msg = str(info.value)
    assert CUSTOM_TYPE in msg
    assert "SecurityTokenReference.wrapping(clause)" in msg
    assert "KeyName" in msg
    assert isinstance(info.value, WsscError)


def test_custom_clause_wrapped_in_str_serializes(register) -> None:
    register(_key_name)
    clause = derived_key_base(CUSTOM_TYPE, "token-7").element
    tok = DerivedKeyToken(SecurityTokenReference.wrapping(clause), NONCE, 24, offset=0)
    el = reparse(tok.to_xml(SC_V13))
    back, _ = DerivedKeyToken.from_xml(el)
    assert isinstance(back.base, SecurityTokenReference)
    assert back.base.custom is not None
    assert back.base.custom.tag == "{urn:example}KeyName" and back.base.custom.text == "token-7"


def test_custom_clause_that_is_an_str_serializes(register) -> None:
    register(lambda tok: SecurityTokenReference.wrapping(_key_name(tok)).to_xml())
    base = derived_key_base(CUSTOM_TYPE, "t")
    el = DerivedKeyToken(base, NONCE, 24, offset=0).to_xml(SC_FEB2005)
    assert children(el)[0] == "SecurityTokenReference"


def test_registry_duplicates_and_unknown(register) -> None:
    t = register(_key_name)
    register_token_type(t)  # the same object again is fine
    other = CustomTokenType(CUSTOM_TYPE, "{urn:x}Other", lambda x: etree.Element("a"), _key_name)
    with pytest.raises(ConfigurationError):
        register_token_type(other)
    with pytest.raises(ConfigurationError):
        derived_key_base("urn:not-registered", object())
    unregister_token_type("urn:not-registered")  # no error


# --- Timestamp ---------------------------------------------------------------------------
def test_timestamp_round_trip() -> None:
    ts = Timestamp(T0 + 0.123, T0 + 300.123, "_0")
    el = reparse(ts.to_xml())
    assert el.find(f"{{{ns.WSU}}}Created").text == "2027-01-15T08:00:00.123Z"
    assert el.find(f"{{{ns.WSU}}}Expires").text == "2027-01-15T08:05:00.123Z"
    back = Timestamp.from_xml(el)
    assert back.wsu_id == "_0"
    assert abs(back.created - ts.created) < 1e-3 and abs(back.expires - ts.expires) < 1e-3


def test_timestamp_without_expires() -> None:
    el = reparse(Timestamp(T0, None).to_xml())
    assert children(el) == ["Created"]
    assert Timestamp.from_xml(el).expires is None


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2027-01-15T08:00:00Z", T0),
        ("2027-01-15T08:00:00.000Z", T0),
        ("2027-01-15T08:00:00.1234567Z", T0 + 0.123456),
        ("2027-01-15T09:00:00+01:00", T0),
        ("2027-01-15T08:00:00", T0),
        (" 2027-01-15T08:00:00Z\n", T0),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    assert abs(parse_time(text) - expected) < 1e-6


@pytest.mark.parametrize("text", ["", "yesterday", "2027-13-01T00:00:00Z", "x" * 41, "2027-01-15T25:00:00Z"])
def test_parse_time_refused(text: str) -> None:
    with pytest.raises(InvalidSecurity):
        parse_time(text)


def test_format_time() -> None:
    assert format_time(T0) == "2027-01-15T08:00:00.000Z"


def test_timestamp_missing_created() -> None:
    el = parse_xml(f'<u:Timestamp xmlns:u="{ns.WSU}"><u:Expires>x</u:Expires></u:Timestamp>'.encode())
    with pytest.raises(InvalidSecurity):
        Timestamp.from_xml(el)


def test_timestamp_check_rules() -> None:
    ts = Timestamp(T0, T0 + 300)
    ts.check(T0, 300)
    ts.check(T0 + 599, 300)  # expired 299 s ago, within skew
    ts.check(T0 - 299, 300)  # created 299 s in the future, within skew
    with pytest.raises(MessageExpired):
        ts.check(T0 + 601, 300)
    with pytest.raises(MessageExpired):
        ts.check(T0 - 301, 300)
    with pytest.raises(InvalidSecurity):
        Timestamp(T0, T0 - 1).check(T0, 300)
    with pytest.raises(MessageExpired):
        Timestamp(T0, None).check(T0 + 1000, 300, replay_window=300)
    Timestamp(T0, None).check(T0 + 1000, 300)
