"""Per-message work the header reader now reuses or skips (issue 19, verify side).

Each fast path here recognises the exact layout it handles and otherwise steps aside for the
general reader, which alone refuses; ``wssc.tokens.paths.PATHS`` says which path ran.
"""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from wssc.crypto.psha1 import p_sha1
from wssc.errors import InvalidSecurity, InvalidSecurityToken
from wssc.tokens import dkt as dkt_mod
from wssc.tokens import str_ as str_mod
from wssc.tokens.dkt import DerivedKeyToken, read_derivation
from wssc.tokens.paths import PATHS
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.soap import Envelope

from .helpers import SECRET, drop_reference, message, ok, policy, reject, resign, tree

SCT_VT = "http://schemas.xmlsoap.org/ws/2005/02/sc/sct"


def _str(inner: str, attrs: str = "") -> etree._Element:
    decls = f'xmlns:o="{ns.WSSE}" xmlns:c="{ns.SC_2005}"'
    return etree.fromstring(f"<o:SecurityTokenReference {decls} {attrs}>{inner}</o:SecurityTokenReference>")


def _ref(uri: str, vt: str = SCT_VT, extra: str = "") -> str:
    return f'<o:Reference URI="{uri}" ValueType="{vt}" {extra}/>'


def _read(el: etree._Element) -> tuple[SecurityTokenReference, str]:
    before = PATHS.copy()
    got = SecurityTokenReference.from_xml(el)
    ran = [k for k in ("str.fast", "str.general") if PATHS[k] != before[k]]
    assert len(ran) == 1
    return got, ran[0]


def _general(el: etree._Element) -> SecurityTokenReference:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(str_mod, "_from_wcf_layout", lambda *a: None)
        return SecurityTokenReference.from_xml(el)


def test_str_cache_serves_one_frozen_reference_equal_to_the_general_answer() -> None:
    a, path_a = _read(_str(_ref("#uuid-cache-1")))
    b, path_b = _read(_str(_ref("#uuid-cache-1")))
    assert path_a == path_b == "str.fast"
    assert a is b  # reused: frozen, so sharing it across messages is safe
    assert a == _general(_str(_ref("#uuid-cache-1")))
    assert a.uri == "#uuid-cache-1" and a.value_type == SCT_VT and a.instance is None


def test_str_cache_never_answers_for_a_departure() -> None:
    # the same URI and ValueType, once cached, then with an Instance (an external-style
    # attribute): the layout differs, so the general reader runs and keeps the Instance
    cached, _ = _read(_str(_ref("#uuid-cache-2")))
    el = _str(_ref("#uuid-cache-2", extra='c:Instance="urn:i"'))
    got, path = _read(el)
    assert path == "str.general"
    assert got.instance == "urn:i" and got != cached and got == _general(el)
    # a TokenType on the STR: general too, and the TokenType is kept
    el = _str(_ref("#uuid-cache-2"), attrs=f'xmlns:k="{ns.WSSE11}" k:TokenType="urn:t"')
    got, path = _read(el)
    assert path == "str.general" and got.token_type == "urn:t"


def test_str_cache_refusals_still_happen() -> None:
    _read(_str(_ref("#uuid-cache-3")))
    with pytest.raises(InvalidSecurity, match="exactly one child"):
        SecurityTokenReference.from_xml(_str(_ref("#uuid-cache-3") + _ref("#uuid-cache-3")))
    with pytest.raises(InvalidSecurity, match="needs a URI"):
        SecurityTokenReference.from_xml(_str(f'<o:Reference URI="" ValueType="{SCT_VT}"/>'))


def test_str_cache_is_bounded() -> None:
    for i in range(3 * str_mod._MAX_LOCAL_REFS):
        _read(_str(_ref(f"#uuid-bound-{i}")))
        assert len(str_mod._LOCAL_REFS) <= str_mod._MAX_LOCAL_REFS
    long_vt = "urn:" + "v" * str_mod._MAX_CACHED_VALUE_TYPE
    a, path = _read(_str(_ref("#uuid-long", vt=long_vt)))
    b, _ = _read(_str(_ref("#uuid-long", vt=long_vt)))
    assert path == "str.fast" and a == b and a is not b  # read, not kept
    assert ("#uuid-long", long_vt) not in str_mod._LOCAL_REFS


# --- DerivedKeyToken: read for derivation, without building the token -----------------------
DKT_NS = f'xmlns:u="{ns.WSU}" xmlns:o="{ns.WSSE}" xmlns:c="{ns.SC_2005}"'
DKT_STR = f"<o:SecurityTokenReference>{_ref('#uuid-dk-base')}</o:SecurityTokenReference>"
DKT_NONCE = "<c:Nonce>Y3Q7U/nDU7JmTzXGrplVBw==</c:Nonce>"


def _dkt(inner: str, attrs: str = 'u:Id="_1"') -> etree._Element:
    return etree.fromstring(f"<c:DerivedKeyToken {DKT_NS} {attrs}>{inner}</c:DerivedKeyToken>")


def _derivation(el: etree._Element) -> tuple[object, str]:
    before = PATHS.copy()
    got = read_derivation(el, 32)
    ran = [k for k in ("dkt.fast", "dkt.general") if PATHS[k] != before[k]]
    assert len(ran) == 1
    return got, ran[0]


@pytest.mark.parametrize(
    ("inner", "attrs", "path"),
    [
        (DKT_STR + "<c:Offset>0</c:Offset><c:Length>24</c:Length>" + DKT_NONCE, 'u:Id="_1"', "dkt.fast"),
        (DKT_STR + DKT_NONCE, 'u:Id="_2"', "dkt.fast"),
        # departures: the general reader reads them (a Label, a Generation, an Algorithm)
        (DKT_STR + "<c:Label>mylabel</c:Label>" + DKT_NONCE, 'u:Id="_1"', "dkt.general"),
        (
            DKT_STR + "<c:Generation>1</c:Generation><c:Length>16</c:Length>" + DKT_NONCE,
            'u:Id="_1"',
            "dkt.general",
        ),
        (DKT_STR + DKT_NONCE, f'u:Id="_1" Algorithm="{ns.SC_FEB2005.p_sha1}"', "dkt.general"),
    ],
)
def test_read_derivation_derives_the_tokens_own_key(inner: str, attrs: str, path: str) -> None:
    el = _dkt(inner, attrs)
    (ref, sc, wsu_id, seed, length, start), ran = _derivation(el)
    assert ran == path
    token, token_sc = DerivedKeyToken.from_xml(el, 32)
    assert (ref, sc, wsu_id, seed, length, start) == (
        token.base,
        token_sc,
        token.wsu_id,
        token.seed,
        token.length,
        token.start,
    )
    assert p_sha1(SECRET, seed, length, start) == token.derive(SECRET)
    # forced onto the general reader: the very same answer
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dkt_mod, "_from_wcf_layout", lambda *a: None)
        general, ran = _derivation(_dkt(inner, attrs))
    assert ran == "dkt.general" and general == (ref, sc, wsu_id, seed, length, start)


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        (DKT_STR + "<c:Offset>0</c:Offset><c:Length>99</c:Length>" + DKT_NONCE, "Length 99 exceeds"),
        (DKT_STR + "<c:Offset>65</c:Offset><c:Length>24</c:Length>" + DKT_NONCE, "offset 65 exceeds"),
        (DKT_STR, "no Nonce"),
        (DKT_STR + "<c:Nonce>not base64!</c:Nonce>", "not base64"),
    ],
)
def test_read_derivation_refuses_as_the_general_reader(inner: str, message: str) -> None:
    before = PATHS.copy()
    with pytest.raises(InvalidSecurityToken, match=message):
        read_derivation(_dkt(inner), 32)
    assert PATHS["dkt.general"] - before["dkt.general"] == 1
    assert PATHS["dkt.fast"] == before["dkt.fast"]


def test_verify_derives_through_the_fast_reader_and_the_fallback() -> None:
    before = PATHS.copy()
    assert ok(message()).body_signed
    assert PATHS["dkt.fast"] - before["dkt.fast"] == 2
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dkt_mod, "_from_wcf_layout", lambda *a: None)
        before = PATHS.copy()
        assert ok(message()).body_signed
    assert PATHS["dkt.general"] - before["dkt.general"] == 2
    assert PATHS["dkt.fast"] == before["dkt.fast"]


# --- enforce: one set of signed identities for every "is it signed?" question ---------------
@pytest.mark.parametrize(
    ("local", "pol_kw", "detail"),
    [
        ("Timestamp", {}, "the Timestamp is not signed"),
        ("Body", {}, "the Body is not signed by the message signature"),
        ("To", {"require_signed_addressing": True}, "the addressing header To is not signed"),
        ("Action", {"require_signed_addressing": True}, "the addressing header Action is not signed"),
    ],
)
def test_enforce_still_refuses_each_unsigned_part(local: str, pol_kw: dict[str, bool], detail: str) -> None:
    root = tree(message(derived=False, encrypt=False))
    drop_reference(root, local)
    resign(root)
    exc = reject(InvalidSecurity, root, policy(derived=False, **pol_kw))
    assert exc.detail == detail
    if pol_kw:  # the same message passes where the policy does not ask for it
        ok(etree.tostring(root), policy(derived=False))


def test_enforce_still_refuses_a_duplicate_addressing_header() -> None:
    root = tree(message(derived=False, encrypt=False))
    header = Envelope(root).header
    assert header is not None
    action = header.find(f"{{{ns.WSA10}}}Action")
    assert action is not None
    dup = copy.deepcopy(action)
    del dup.attrib[f"{{{ns.WSU}}}Id"]
    header.insert(0, dup)
    exc = reject(InvalidSecurity, root, policy(derived=False))
    assert exc.detail == "duplicate addressing header Action"


def test_from_found_reads_as_from_xml_which_still_checks_the_tag() -> None:
    for el in (_str(_ref("#uuid-found")), _str(_ref("urn:external", extra='c:Instance="urn:i"'))):
        assert SecurityTokenReference.from_found(el) == SecurityTokenReference.from_xml(el)
    with pytest.raises(InvalidSecurity, match="expected wsse:SecurityTokenReference"):
        SecurityTokenReference.from_xml(etree.fromstring(f'<o:Reference xmlns:o="{ns.WSSE}" URI="#a"/>'))
